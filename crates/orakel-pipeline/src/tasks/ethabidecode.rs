//! `ethabidecode`: decodes ABI-encoded `data` with the parameter list `abi`
//! (e.g. `uint256 price, bytes32 id` or `(uint256 price, bytes32 id)`) into a map.

use super::{ParamError, Params, PureTask, Task, TaskCx, TaskDef, eval, named};
use crate::abi::Signature;
use crate::template::StrTemplate;
use crate::value::Value;

pub(crate) const DEF: TaskDef = TaskDef {
    name: "ethabidecode",
    build,
};

#[derive(Debug)]
struct Decode {
    abi: Signature,
    data: StrTemplate,
}

fn build(p: &mut Params<'_>) -> Result<Box<dyn Task>, ParamError> {
    let abi_text = p.required_literal("abi")?.trim();
    let wrapped;
    let sig_text = if abi_text.contains('(') && abi_text.ends_with(')') {
        abi_text
    } else {
        wrapped = format!("({abi_text})");
        &wrapped
    };
    let abi = Signature::parse(sig_text)
        .map_err(|e| ParamError::at("abi", format!("invalid parameter list: {e}")))?;
    let data = p.required("data")?;
    Ok(Box::new(Decode { abi, data }))
}

impl PureTask for Decode {
    fn eval(&self, cx: &TaskCx<'_>) -> Result<Value, String> {
        let data = eval(&self.data, "data", cx)?;
        let bytes = named("data", data.as_bytes())?;
        self.abi.decode_params(&bytes)
    }
}
