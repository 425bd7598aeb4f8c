//! `lowercase` and `uppercase`: convert `input` (defaults to the first input) to lower or upper
//! case. One task body, two names.

use super::{ParamError, Params, PureTask, Task, TaskCx, TaskDef, param_or_input};
use crate::template::StrTemplate;
use crate::value::Value;

pub(crate) const LOWERCASE: TaskDef = TaskDef {
    name: "lowercase",
    build: build_lower,
};

pub(crate) const UPPERCASE: TaskDef = TaskDef {
    name: "uppercase",
    build: build_upper,
};

struct Convert {
    input: Option<StrTemplate>,
    convert: fn(&str) -> String,
}

impl std::fmt::Debug for Convert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Convert")
            .field("input", &self.input)
            .finish_non_exhaustive()
    }
}

fn build(p: &mut Params<'_>, convert: fn(&str) -> String) -> Result<Box<dyn Task>, ParamError> {
    Ok(Box::new(Convert {
        input: p.string("input")?,
        convert,
    }))
}

fn build_lower(p: &mut Params<'_>) -> Result<Box<dyn Task>, ParamError> {
    build(p, str::to_lowercase)
}

fn build_upper(p: &mut Params<'_>) -> Result<Box<dyn Task>, ParamError> {
    build(p, str::to_uppercase)
}

impl PureTask for Convert {
    fn eval(&self, cx: &TaskCx<'_>) -> Result<Value, String> {
        let input = param_or_input(self.input.as_ref(), "input", cx)?;
        match input.as_ref() {
            Value::String(s) => Ok(Value::String((self.convert)(s))),
            other => Err(format!(
                "input: expected a string, got {}",
                other.describe()
            )),
        }
    }
}
