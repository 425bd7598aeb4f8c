//! `multiply`: `input` (defaults to the first input) times `times`, exactly.

use super::{ParamError, Params, PureTask, Task, TaskCx, TaskDef, eval, named, param_or_input};
use crate::decimal::checked_result;
use crate::template::StrTemplate;
use crate::value::Value;

pub(crate) const DEF: TaskDef = TaskDef {
    name: "multiply",
    build,
};

#[derive(Debug)]
struct Multiply {
    input: Option<StrTemplate>,
    times: StrTemplate,
}

fn build(p: &mut Params<'_>) -> Result<Box<dyn Task>, ParamError> {
    let input = p.string("input")?;
    let times = p.required("times")?;
    p.check("input", input.as_ref(), |v| v.as_decimal().map(drop))?;
    p.check("times", Some(&times), |v| v.as_decimal().map(drop))?;
    Ok(Box::new(Multiply { input, times }))
}

impl PureTask for Multiply {
    fn eval(&self, cx: &TaskCx<'_>) -> Result<Value, String> {
        let input = param_or_input(self.input.as_ref(), "input", cx)?;
        let times = eval(&self.times, "times", cx)?;
        let a = named("input", input.as_decimal())?;
        let b = named("times", times.as_decimal())?;
        let product = checked_result(a.as_ref() * b.as_ref())?;
        Ok(Value::Decimal(product))
    }
}
