//! `conditional`: fails unless `data` (defaults to the first input) is true; used to stop a
//! pipeline branch.

use super::{ParamError, Params, PureTask, Task, TaskCx, TaskDef, named, param_or_input};
use crate::template::StrTemplate;
use crate::value::Value;

pub(crate) const DEF: TaskDef = TaskDef {
    name: "conditional",
    build,
};

#[derive(Debug)]
struct Conditional {
    data: Option<StrTemplate>,
}

fn build(p: &mut Params<'_>) -> Result<Box<dyn Task>, ParamError> {
    let data = p.string("data")?;
    p.check("data", data.as_ref(), Value::as_bool)?;
    Ok(Box::new(Conditional { data }))
}

impl PureTask for Conditional {
    fn eval(&self, cx: &TaskCx<'_>) -> Result<Value, String> {
        let data = param_or_input(self.data.as_ref(), "data", cx)?;
        if named("data", data.as_bool())? {
            Ok(Value::Bool(true))
        } else {
            Err("condition is false".to_owned())
        }
    }
}
