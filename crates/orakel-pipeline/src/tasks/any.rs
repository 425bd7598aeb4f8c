//! `any`: passes on one successful input (the first); fails only if every input failed.

use super::{ParamError, Params, PureTask, Task, TaskCx, TaskDef};
use crate::value::Value;

pub(crate) const DEF: TaskDef = TaskDef { name: "any", build };

#[derive(Debug)]
struct Any;

fn build(_p: &mut Params<'_>) -> Result<Box<dyn Task>, ParamError> {
    Ok(Box::new(Any))
}

impl PureTask for Any {
    fn eval(&self, cx: &TaskCx<'_>) -> Result<Value, String> {
        cx.inputs
            .iter()
            .find_map(|i| i.ok().cloned())
            .ok_or_else(|| "no successful inputs".to_owned())
    }

    fn tolerates_failed_inputs(&self) -> bool {
        true
    }
}
