//! `ethabidecodelog`: decodes an event log (`data` bytes and `topics` list) with the event
//! signature `abi` (e.g. `OracleRequest(bytes32 indexed specId, …)`) into a map of named
//! arguments: bytesN and bytes → bytes, address → address, integers → decimals.

use super::{ParamError, Params, PureTask, Task, TaskCx, TaskDef, eval, named};
use crate::abi::Signature;
use crate::template::StrTemplate;
use crate::value::Value;

pub(crate) const DEF: TaskDef = TaskDef {
    name: "ethabidecodelog",
    build,
};

#[derive(Debug)]
struct DecodeLog {
    abi: Signature,
    data: StrTemplate,
    topics: StrTemplate,
}

fn build(p: &mut Params<'_>) -> Result<Box<dyn Task>, ParamError> {
    let abi_text = p.required_literal("abi")?;
    let abi = Signature::parse(abi_text)
        .map_err(|e| ParamError::at("abi", format!("invalid event signature: {e}")))?;
    if abi.name.is_empty() {
        return Err(ParamError::at("abi", "the event signature needs a name"));
    }
    let data = p.required("data")?;
    let topics = p.required("topics")?;
    Ok(Box::new(DecodeLog { abi, data, topics }))
}

impl PureTask for DecodeLog {
    fn eval(&self, cx: &TaskCx<'_>) -> Result<Value, String> {
        let data = eval(&self.data, "data", cx)?;
        let data = named("data", data.as_bytes())?;
        let topics_value = eval(&self.topics, "topics", cx)?;
        let topics = named("topics", topics_value.as_list())?
            .iter()
            .enumerate()
            .map(|(i, t)| t.as_b256().map_err(|e| format!("topics.{i}: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        self.abi.decode_log(&data, &topics)
    }
}
