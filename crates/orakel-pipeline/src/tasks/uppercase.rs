//! `uppercase`: converts `input` (defaults to the first input) to uppercase.

use super::{ParamError, Params, PureTask, Task, TaskCx, TaskDef, param_or_input};
use crate::template::StrTemplate;
use crate::value::Value;

pub(crate) const DEF: TaskDef = TaskDef {
    name: "uppercase",
    build,
};

#[derive(Debug)]
struct Convert {
    input: Option<StrTemplate>,
}

fn build(p: &mut Params<'_>) -> Result<Box<dyn Task>, ParamError> {
    Ok(Box::new(Convert {
        input: p.string("input")?,
    }))
}

impl PureTask for Convert {
    fn eval(&self, cx: &TaskCx<'_>) -> Result<Value, String> {
        let input = param_or_input(self.input.as_ref(), "input", cx)?;
        match input.as_ref() {
            Value::String(s) => Ok(Value::String(s.to_uppercase())),
            other => Err(format!(
                "input: expected a string, got {}",
                other.describe()
            )),
        }
    }
}
