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

/// ABI-encodes `data` for a parsed `abi`: the task behind both `ethabiencode` and
/// `ethabiencode2`, which differ only in how `abi` is written and in `named_only`.
#[derive(Debug)]
pub(super) struct Encode {
    abi: Signature,
    selector: Option<[u8; 4]>,
    data: Option<JsonTpl>,
    /// Refuse `data` that is neither a map of named arguments nor null before encoding.
    named_only: bool,
}

impl Encode {
    /// Builds the task for `abi` (its selector is prepended when it has a name), reading the
    /// `data` parameter from `p`.
    pub(super) fn build(
        abi: Signature,
        p: &mut Params<'_>,
        named_only: bool,
    ) -> Result<Box<dyn Task>, ParamError> {
        let selector = (!abi.name.is_empty()).then(|| abi.selector());
        let data = p.json("data")?;
        Ok(Box::new(Self {
            abi,
            selector,
            data,
            named_only,
        }))
    }
}

fn build(p: &mut Params<'_>) -> Result<Box<dyn Task>, ParamError> {
    let abi_text = p.required_literal("abi")?;
    let abi = Signature::parse(abi_text)
        .map_err(|e| ParamError::at("abi", format!("invalid signature: {e}")))?;
    Encode::build(abi, p, false)
}

impl PureTask for Encode {
    fn eval(&self, cx: &TaskCx<'_>) -> Result<Value, String> {
        let args = match &self.data {
            Some(t) => t.eval(cx.scope).map_err(|e| format!("data: {e}"))?,
            None => Value::Map(Default::default()),
        };
        if self.named_only && !matches!(args, Value::Map(_) | Value::Null) {
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
