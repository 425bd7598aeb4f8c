//! `cborparse`: decodes CBOR `data` (bytes) — `mode="diet"` (default: the request buffer's
//! implicit map) or `mode="standard"` (one complete CBOR item).

use super::{ParamError, Params, PureTask, Task, TaskCx, TaskDef, eval, named};
use crate::cbor::{decode_cbor, decode_diet_cbor};
use crate::template::StrTemplate;
use crate::value::Value;

pub(crate) const DEF: TaskDef = TaskDef {
    name: "cborparse",
    build,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Diet,
    Standard,
}

#[derive(Debug)]
struct CborParse {
    data: StrTemplate,
    mode: Mode,
}

fn build(p: &mut Params<'_>) -> Result<Box<dyn Task>, ParamError> {
    let data = p.required("data")?;
    let mode = match p.literal("mode")? {
        None | Some("diet") => Mode::Diet,
        Some("standard") => Mode::Standard,
        Some(other) => {
            return Err(ParamError::at(
                "mode",
                format!("unknown mode {other:?} (expected \"diet\" or \"standard\")"),
            ));
        }
    };
    Ok(Box::new(CborParse { data, mode }))
}

impl PureTask for CborParse {
    fn eval(&self, cx: &TaskCx<'_>) -> Result<Value, String> {
        let data = eval(&self.data, "data", cx)?;
        let bytes = named("data", data.as_bytes())?;
        let decoded = match self.mode {
            Mode::Diet => decode_diet_cbor(&bytes),
            Mode::Standard => decode_cbor(&bytes),
        };
        decoded.map_err(|e| format!("data is not valid CBOR {e}"))
    }
}
