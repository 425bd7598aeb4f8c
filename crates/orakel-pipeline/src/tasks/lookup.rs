//! `lookup`: the value under `key` in the map given as `input` (defaults to the first
//! input); `null` when the key is absent.

use super::{ParamError, Params, PureTask, Task, TaskCx, TaskDef, eval, named, param_or_input};
use crate::template::StrTemplate;
use crate::value::Value;

pub(crate) const DEF: TaskDef = TaskDef {
    name: "lookup",
    build,
};

#[derive(Debug)]
struct Lookup {
    input: Option<StrTemplate>,
    key: StrTemplate,
}

fn build(p: &mut Params<'_>) -> Result<Box<dyn Task>, ParamError> {
    let input = p.string("input")?;
    let key = p.required("key")?;
    Ok(Box::new(Lookup { input, key }))
}

impl PureTask for Lookup {
    fn eval(&self, cx: &TaskCx<'_>) -> Result<Value, String> {
        let input = param_or_input(self.input.as_ref(), "input", cx)?;
        let key = eval(&self.key, "key", cx)?;
        let map = named("input", input.as_map())?;
        Ok(map
            .get(key.to_text().as_ref())
            .cloned()
            .unwrap_or(Value::Null))
    }
}
