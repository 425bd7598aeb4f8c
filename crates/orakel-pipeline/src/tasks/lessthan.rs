//! `lessthan`: whether `left` (defaults to the first input) is less than `right`.

use super::{ParamError, Params, PureTask, Task, TaskCx, TaskDef, eval, named, param_or_input};
use crate::template::StrTemplate;
use crate::value::Value;

pub(crate) const DEF: TaskDef = TaskDef {
    name: "lessthan",
    build,
};

#[derive(Debug)]
struct LessThan {
    left: Option<StrTemplate>,
    right: StrTemplate,
}

fn build(p: &mut Params<'_>) -> Result<Box<dyn Task>, ParamError> {
    let left = p.string("left")?;
    let right = p.required("right")?;
    p.check("left", left.as_ref(), |v| v.as_decimal().map(drop))?;
    p.check("right", Some(&right), |v| v.as_decimal().map(drop))?;
    Ok(Box::new(LessThan { left, right }))
}

impl PureTask for LessThan {
    fn eval(&self, cx: &TaskCx<'_>) -> Result<Value, String> {
        let left = param_or_input(self.left.as_ref(), "left", cx)?;
        let right = eval(&self.right, "right", cx)?;
        let a = named("left", left.as_decimal())?;
        let b = named("right", right.as_decimal())?;
        Ok(Value::Bool(a < b))
    }
}
