//! `ethabiencode`: ABI-encodes `data` (a JSON map of named arguments; variables are
//! substituted as values) for `abi`. A function signature (`name(types…)`) gets its 4-byte
//! selector prepended; a bare tuple `(uint256 value)` does not.

use alloy_primitives::Bytes;

use super::{ParamError, Params, PureTask, Task, TaskCx, TaskDef};
use crate::abi::Signature;
use crate::template::JsonTpl;
use crate::value::Value;

pub(crate) const DEF: TaskDef = TaskDef {
    name: "ethabiencode",
    build,
};

#[derive(Debug)]
struct Encode {
    abi: Signature,
    selector: Option<[u8; 4]>,
    data: Option<JsonTpl>,
}

fn build(p: &mut Params<'_>) -> Result<Box<dyn Task>, ParamError> {
    let abi_text = p.required_literal("abi")?;
    let abi = Signature::parse(abi_text)
        .map_err(|e| ParamError::at("abi", format!("invalid signature: {e}")))?;
    let selector = (!abi.name.is_empty()).then(|| abi.selector());
    let data = p.json("data")?;
    Ok(Box::new(Encode {
        abi,
        selector,
        data,
    }))
}

impl PureTask for Encode {
    fn eval(&self, cx: &TaskCx<'_>) -> Result<Value, String> {
        let args = match &self.data {
            Some(t) => t.eval(cx.scope).map_err(|e| format!("data: {e}"))?,
            None => Value::Map(Default::default()),
        };
        let encoded = self.abi.encode_params(&args)?;
        let mut out = Vec::with_capacity(encoded.len() + 4);
        if let Some(sel) = self.selector {
            out.extend_from_slice(&sel);
        }
        out.extend_from_slice(&encoded);
        Ok(Value::Bytes(Bytes::from(out)))
    }
}
