//! `jsonparse`: parses JSON text and walks a key path.
//!
//! Parameters: `data` (defaults to the first input), `path` (comma-separated, or a list, or
//! empty for the whole document), `separator` (default `,`), `lax` (missing path → `null`
//! instead of an error). Array indexes may be negative (from the end). Numbers stay exact.

use std::borrow::Cow;

use super::{ParamError, Params, PureTask, Task, TaskCx, TaskDef, eval_opt, named, param_or_input};
use crate::json::parse_json;
use crate::template::StrTemplate;
use crate::value::Value;

pub(crate) const DEF: TaskDef = TaskDef {
    name: "jsonparse",
    build,
};

#[derive(Debug)]
struct JsonParse {
    data: Option<StrTemplate>,
    path: Option<StrTemplate>,
    separator: String,
    lax: Option<StrTemplate>,
}

fn build(p: &mut Params<'_>) -> Result<Box<dyn Task>, ParamError> {
    let data = p.string("data")?;
    let path = p.string("path")?;
    let separator = p.literal("separator")?.unwrap_or(",").to_owned();
    let lax = p.string("lax")?;
    p.check("lax", lax.as_ref(), Value::as_bool)?;
    Ok(Box::new(JsonParse {
        data,
        path,
        separator,
        lax,
    }))
}

/// Splits a path value into its parts.
fn path_parts<'v>(path: &'v Value, sep: &str) -> Result<Vec<Cow<'v, str>>, String> {
    match path {
        Value::Null => Ok(Vec::new()),
        Value::String(s) if s.is_empty() => Ok(Vec::new()),
        Value::String(s) => Ok(s.split(sep).map(|p| Cow::Borrowed(p.trim())).collect()),
        Value::List(items) => Ok(items.iter().map(Value::to_text).collect()),
        other => Err(format!(
            "path: expected a string or a list, got {}",
            other.describe()
        )),
    }
}

/// Walks `parts` into `doc`. `Ok(None)` means "not found" (the caller decides on lax).
pub(crate) fn walk<'d>(doc: &'d Value, parts: &[Cow<'_, str>]) -> Result<&'d Value, String> {
    let mut cur = doc;
    for part in parts {
        cur = match cur {
            Value::Map(m) => m
                .get(part.as_ref())
                .ok_or_else(|| format!("key {:?} not found", part.as_ref()))?,
            Value::List(items) => {
                let idx: i64 = part
                    .parse()
                    .map_err(|_| format!("{:?} is not a valid array index", part.as_ref()))?;
                let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
                let real = if idx < 0 {
                    len.saturating_add(idx)
                } else {
                    idx
                };
                usize::try_from(real)
                    .ok()
                    .and_then(|r| items.get(r))
                    .ok_or_else(|| format!("index {idx} out of range (array has {len} items)"))?
            }
            other => {
                return Err(format!(
                    "cannot look up {:?} in {}",
                    part.as_ref(),
                    other.type_name()
                ));
            }
        };
    }
    Ok(cur)
}

impl PureTask for JsonParse {
    fn eval(&self, cx: &TaskCx<'_>) -> Result<Value, String> {
        if cx.inputs.len() > 1 && self.data.is_none() {
            return Err(format!(
                "data: not set and the task has {} inputs (at most 1 allowed)",
                cx.inputs.len()
            ));
        }
        let data = param_or_input(self.data.as_ref(), "data", cx)?;
        let lax = match eval_opt(self.lax.as_ref(), "lax", cx)? {
            Some(v) => named("lax", v.as_bool())?,
            None => false,
        };
        let path_value = eval_opt(self.path.as_ref(), "path", cx)?;
        let parts = match &path_value {
            Some(v) => path_parts(v, &self.separator)?,
            None => Vec::new(),
        };
        let parsed;
        let doc: &Value = match data.as_ref() {
            // Already structured (e.g. an adapter's output).
            v @ (Value::Map(_) | Value::List(_)) => v,
            v => {
                let bytes = named("data", v.as_raw_bytes())?;
                parsed = parse_json(bytes).map_err(|e| {
                    format!("data is not valid JSON at byte {}: {}", e.offset, e.message)
                })?;
                &parsed
            }
        };
        match walk(doc, &parts) {
            Ok(v) => Ok(v.clone()),
            Err(_) if lax => Ok(Value::Null),
            Err(e) => {
                let joined: Vec<&str> = parts.iter().map(|p| p.as_ref()).collect();
                Err(format!("path {:?}: {e}", joined.join(&self.separator)))
            }
        }
    }
}
