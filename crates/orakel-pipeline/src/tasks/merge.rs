//! `merge`: merges the map `right` into the map `left` (defaults to the first input);
//! keys of `right` win.

use super::{ParamError, Params, PureTask, Task, TaskCx, TaskDef, named};
use crate::template::JsonTpl;
use crate::value::Value;

pub(crate) const DEF: TaskDef = TaskDef {
    name: "merge",
    build,
};

#[derive(Debug)]
struct Merge {
    left: Option<JsonTpl>,
    right: JsonTpl,
}

fn build(p: &mut Params<'_>) -> Result<Box<dyn Task>, ParamError> {
    let left = p.json("left")?;
    let right = p.json("right")?.ok_or_else(|| ParamError {
        attr: None,
        offset: 0,
        at_key: false,
        message: "missing required parameter \"right\" for task type merge".to_owned(),
    })?;
    Ok(Box::new(Merge { left, right }))
}

impl PureTask for Merge {
    fn eval(&self, cx: &TaskCx<'_>) -> Result<Value, String> {
        let left = match &self.left {
            Some(t) => t.eval(cx.scope).map_err(|e| format!("left: {e}"))?,
            None => match cx.inputs.first() {
                Some(Ok(v)) => (*v).clone(),
                Some(Err(e)) => return Err(format!("left: input failed: {e}")),
                None => return Err("left: not set and the task has no inputs".to_owned()),
            },
        };
        let right = self
            .right
            .eval(cx.scope)
            .map_err(|e| format!("right: {e}"))?;
        let mut out = named("left", left.as_map())?.clone();
        for (k, v) in named("right", right.as_map())? {
            out.insert(k.clone(), v.clone());
        }
        Ok(Value::Map(out))
    }
}
