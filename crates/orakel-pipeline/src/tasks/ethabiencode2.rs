//! `ethabiencode2`: ABI-encodes `data` (a JSON map of named arguments; variables are
//! substituted as values) for `abi`, a JSON ABI description of a function:
//! `{"name": "f", "inputs": [{"name": "a", "type": "uint256"}, …]}` with `components` for
//! tuples. A non-empty `name` prepends the 4-byte selector; an empty one encodes the bare
//! arguments.

use alloy_primitives::Bytes;

use super::{ParamError, Params, PureTask, Task, TaskCx, TaskDef};
use crate::abi::Signature;
use crate::json::parse_json;
use crate::template::JsonTpl;
use crate::value::Value;

pub(crate) const DEF: TaskDef = TaskDef {
    name: "ethabiencode2",
    build,
};

#[derive(Debug)]
struct Encode2 {
    abi: Signature,
    selector: Option<[u8; 4]>,
    data: Option<JsonTpl>,
}

fn build(p: &mut Params<'_>) -> Result<Box<dyn Task>, ParamError> {
    let abi_text = p.required_literal("abi")?;
    let abi_json = parse_json(abi_text.as_bytes()).map_err(|e| {
        ParamError::at(
            "abi",
            format!("invalid JSON at byte {}: {}", e.offset, e.message),
        )
    })?;
    let abi = Signature::from_json_abi(&abi_json)
        .map_err(|e| ParamError::at("abi", format!("invalid ABI: {e}")))?;
    let selector = (!abi.name.is_empty()).then(|| abi.selector());
    let data = p.json("data")?;
    Ok(Box::new(Encode2 {
        abi,
        selector,
        data,
    }))
}

impl PureTask for Encode2 {
    fn eval(&self, cx: &TaskCx<'_>) -> Result<Value, String> {
        let args = match &self.data {
            Some(t) => t.eval(cx.scope).map_err(|e| format!("data: {e}"))?,
            None => Value::Map(Default::default()),
        };
        if !matches!(args, Value::Map(_) | Value::Null) {
            return Err(format!(
                "data: expected a map of named arguments, got {}",
                args.describe()
            ));
        }
        let encoded = self.abi.encode_params(&args)?;
        let mut out = Vec::with_capacity(encoded.len() + 4);
        if let Some(sel) = self.selector {
            out.extend_from_slice(&sel);
        }
        out.extend_from_slice(&encoded);
        Ok(Value::Bytes(Bytes::from(out)))
    }
}
