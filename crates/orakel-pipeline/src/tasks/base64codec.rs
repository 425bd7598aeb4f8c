//! `base64encode` / `base64decode` (standard alphabet with padding).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::{ParamError, Params, PureTask, Task, TaskCx, TaskDef, named, param_or_input};
use crate::template::StrTemplate;
use crate::value::Value;

pub(crate) const ENCODE: TaskDef = TaskDef {
    name: "base64encode",
    build: build_encode,
};
pub(crate) const DECODE: TaskDef = TaskDef {
    name: "base64decode",
    build: build_decode,
};

#[derive(Debug)]
struct Encode {
    input: Option<StrTemplate>,
}

#[derive(Debug)]
struct Decode {
    input: Option<StrTemplate>,
}

fn build_encode(p: &mut Params<'_>) -> Result<Box<dyn Task>, ParamError> {
    Ok(Box::new(Encode {
        input: p.string("input")?,
    }))
}

fn build_decode(p: &mut Params<'_>) -> Result<Box<dyn Task>, ParamError> {
    Ok(Box::new(Decode {
        input: p.string("input")?,
    }))
}

impl PureTask for Encode {
    fn eval(&self, cx: &TaskCx<'_>) -> Result<Value, String> {
        let input = param_or_input(self.input.as_ref(), "input", cx)?;
        let bytes = named("input", input.as_raw_bytes())?;
        Ok(Value::String(STANDARD.encode(bytes)))
    }
}

impl PureTask for Decode {
    fn eval(&self, cx: &TaskCx<'_>) -> Result<Value, String> {
        let input = param_or_input(self.input.as_ref(), "input", cx)?;
        let text = input.to_text();
        STANDARD
            .decode(text.trim())
            .map(Value::from)
            .map_err(|e| format!("input: invalid base64: {e}"))
    }
}
