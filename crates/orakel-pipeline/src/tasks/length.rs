//! `length`: the length in bytes of `input` (a string or bytes), or the number of items of a
//! list or map.

use super::{ParamError, Params, PureTask, Task, TaskCx, TaskDef, param_or_input};
use crate::template::StrTemplate;
use crate::value::Value;

pub(crate) const DEF: TaskDef = TaskDef {
    name: "length",
    build,
};

#[derive(Debug)]
struct Length {
    input: Option<StrTemplate>,
}

fn build(p: &mut Params<'_>) -> Result<Box<dyn Task>, ParamError> {
    Ok(Box::new(Length {
        input: p.string("input")?,
    }))
}

impl PureTask for Length {
    fn eval(&self, cx: &TaskCx<'_>) -> Result<Value, String> {
        let input = param_or_input(self.input.as_ref(), "input", cx)?;
        let n = match input.as_ref() {
            Value::String(s) => s.len(),
            Value::Bytes(b) => b.len(),
            Value::List(l) => l.len(),
            Value::Map(m) => m.len(),
            other => {
                return Err(format!(
                    "input: cannot take the length of {}",
                    other.describe()
                ));
            }
        };
        Ok(Value::from(n as u64))
    }
}
