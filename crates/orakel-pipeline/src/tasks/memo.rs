//! `memo`: outputs `value` (JSON, variables allowed; plain text is kept as a string).

use super::{ParamError, Params, PureTask, Task, TaskCx, TaskDef};
use crate::template::JsonTpl;
use crate::value::Value;

pub(crate) const DEF: TaskDef = TaskDef {
    name: "memo",
    build,
};

#[derive(Debug)]
struct Memo {
    value: JsonTpl,
}

fn build(p: &mut Params<'_>) -> Result<Box<dyn Task>, ParamError> {
    let value = match p.json("value") {
        Ok(Some(v)) => v,
        Ok(None) => JsonTpl::Literal(Value::Null),
        // Not JSON: keep it as (possibly interpolated) text.
        Err(_) => match p.string("value")? {
            Some(t) => JsonTpl::Text(t),
            None => JsonTpl::Literal(Value::Null),
        },
    };
    Ok(Box::new(Memo { value }))
}

impl PureTask for Memo {
    fn eval(&self, cx: &TaskCx<'_>) -> Result<Value, String> {
        self.value.eval(cx.scope).map_err(|e| format!("value: {e}"))
    }
}
