//! `ethabiencode2`: ABI-encodes `data` (a JSON map of named arguments; variables are
//! substituted as values) for `abi`, a JSON ABI description of a function:
//! `{"name": "f", "inputs": [{"name": "a", "type": "uint256"}, …]}` with `components` for
//! tuples. A non-empty `name` prepends the 4-byte selector; an empty one encodes the bare
//! arguments.

use super::ethabiencode::Encode;
use super::{ParamError, Params, Task, TaskDef};
use crate::abi::Signature;
use crate::json::parse_json;

pub(crate) const DEF: TaskDef = TaskDef {
    name: "ethabiencode2",
    build,
};

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
    Encode::build(abi, p, true)
}
