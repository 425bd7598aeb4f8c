//! Pre-compiled task parameters: literal strings, `$(path)` variables, interpolated strings
//! and JSON documents with variables as values.
//!
//! Templates are compiled once when the spec is parsed; a run only walks them.

use std::borrow::Cow;

use crate::json::{self, JsonTemplate};
use crate::value::Value;

/// Where a variable path starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Root {
    /// The output of the task with this index.
    Task(usize),
    /// `jobSpec.*`
    JobSpec,
    /// `jobRun.*`
    JobRun,
}

/// One step of a variable path: a map key, or a list index when it parses as one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Seg {
    key: Box<str>,
    index: Option<i64>,
}

/// A compiled `$(root.a.b.0)` reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct VarRef {
    root: Root,
    segs: Box<[Seg]>,
    text: Box<str>,
}

/// Resolves the first segment of a variable path at compile time.
pub(crate) trait RootLookup {
    /// Maps `name` (a task id, `jobSpec` or `jobRun`) to a root, or explains why not.
    fn lookup(&self, name: &str) -> Result<Root, String>;
}

/// A template compile error at a byte offset inside the parameter value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CompileError {
    pub offset: usize,
    pub message: String,
}

/// A string-typed parameter.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum StrTemplate {
    /// No variables.
    Literal(Value),
    /// Exactly one variable and nothing else: keeps the value's type.
    Var(VarRef),
    /// Text with variables inside; the values are stringified into it.
    Interp(Vec<Piece>),
}

/// A piece of an interpolated string.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Piece {
    Text(String),
    Var(VarRef),
}

/// A JSON-shaped parameter whose variables are substituted as values.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum JsonTpl {
    Literal(Value),
    Var(VarRef),
    Text(StrTemplate),
    List(Vec<JsonTpl>),
    Map(Vec<(String, JsonTpl)>),
}

/// Run-time view of everything a variable can refer to.
pub(crate) struct Scope<'a> {
    pub outputs: &'a [Option<Result<Value, String>>],
    pub job_spec: &'a Value,
    pub job_run: &'a Value,
}

fn parse_var_body(body: &str, body_offset: usize) -> Result<(Vec<Seg>, String), CompileError> {
    let trimmed = body.trim();
    if trimmed.is_empty() {
        return Err(CompileError {
            offset: body_offset,
            message: "empty variable $()".to_owned(),
        });
    }
    let mut segs = Vec::new();
    for part in trimmed.split('.') {
        if part.is_empty() {
            return Err(CompileError {
                offset: body_offset,
                message: format!("invalid variable $({trimmed}): empty path segment"),
            });
        }
        if let Some(bad) = part
            .chars()
            .find(|c| c.is_whitespace() || matches!(c, '(' | ')' | '$' | '"' | '\\'))
        {
            return Err(CompileError {
                offset: body_offset,
                message: format!("invalid variable $({trimmed}): unexpected {bad:?}"),
            });
        }
        segs.push(Seg {
            key: part.into(),
            index: part.parse::<i64>().ok(),
        });
    }
    Ok((segs, trimmed.to_owned()))
}

fn compile_var(
    body: &str,
    body_offset: usize,
    lookup: &dyn RootLookup,
) -> Result<VarRef, CompileError> {
    let (mut segs, text) = parse_var_body(body, body_offset)?;
    if segs.is_empty() {
        return Err(CompileError {
            offset: body_offset,
            message: "empty variable $()".to_owned(),
        });
    }
    let first = segs.remove(0);
    let root = lookup.lookup(&first.key).map_err(|message| CompileError {
        offset: body_offset,
        message: format!("variable $({text}): {message}"),
    })?;
    Ok(VarRef {
        root,
        segs: segs.into_boxed_slice(),
        text: text.into(),
    })
}

/// Compiles a string parameter. `$(` without a closing `)` is an error; a `$` not followed
/// by `(` is literal text.
pub(crate) fn compile_str(src: &str, lookup: &dyn RootLookup) -> Result<StrTemplate, CompileError> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut pos = 0usize;
    while let Some(found) = src.get(pos..).and_then(|r| r.find("$(")) {
        let start = pos + found;
        text.push_str(src.get(pos..start).unwrap_or(""));
        let body_start = start + 2;
        let Some(close) = src.get(body_start..).and_then(|r| r.find(')')) else {
            return Err(CompileError {
                offset: start,
                message: "unterminated variable: missing ')'".to_owned(),
            });
        };
        let body = src.get(body_start..body_start + close).unwrap_or("");
        let var = compile_var(body, start, lookup)?;
        if !text.is_empty() {
            pieces.push(Piece::Text(std::mem::take(&mut text)));
        }
        pieces.push(Piece::Var(var));
        pos = body_start + close + 1;
    }
    text.push_str(src.get(pos..).unwrap_or(""));
    if pieces.is_empty() {
        return Ok(StrTemplate::Literal(Value::String(text)));
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    // A value that is only a variable (surrounding whitespace ignored) keeps its type.
    let only_var = pieces
        .iter()
        .filter(|p| match p {
            Piece::Text(t) => !t.trim().is_empty(),
            Piece::Var(_) => true,
        })
        .count()
        == 1;
    if only_var
        && let Some(pos) = pieces.iter().position(|p| matches!(p, Piece::Var(_)))
        && let Piece::Var(v) = pieces.swap_remove(pos)
    {
        return Ok(StrTemplate::Var(v));
    }
    Ok(StrTemplate::Interp(pieces))
}

/// Compiles a JSON-shaped parameter: either one variable, or a JSON document with
/// variables as values.
pub(crate) fn compile_json(src: &str, lookup: &dyn RootLookup) -> Result<JsonTpl, CompileError> {
    if let StrTemplate::Var(v) = compile_str(src, lookup)? {
        return Ok(JsonTpl::Var(v));
    }
    let doc = json::parse_template(src).map_err(|e| CompileError {
        offset: e.offset,
        message: format!("invalid JSON: {}", e.message),
    })?;
    convert_json(doc, lookup)
}

fn convert_json(doc: JsonTemplate, lookup: &dyn RootLookup) -> Result<JsonTpl, CompileError> {
    Ok(match doc {
        JsonTemplate::Literal(v) => JsonTpl::Literal(v),
        JsonTemplate::Var(path, at) => JsonTpl::Var(compile_var(&path, at, lookup)?),
        JsonTemplate::Text(s, at) => {
            JsonTpl::Text(compile_str(&s, lookup).map_err(|e| CompileError {
                offset: at,
                message: e.message,
            })?)
        }
        JsonTemplate::List(items) => JsonTpl::List(
            items
                .into_iter()
                .map(|i| convert_json(i, lookup))
                .collect::<Result<_, _>>()?,
        ),
        JsonTemplate::Map(entries) => JsonTpl::Map(
            entries
                .into_iter()
                .map(|(k, v)| Ok((k, convert_json(v, lookup)?)))
                .collect::<Result<_, CompileError>>()?,
        ),
    })
}

impl<'a> Scope<'a> {
    /// Resolves a variable to a value borrowed from the run state.
    pub(crate) fn resolve(&self, var: &VarRef) -> Result<&'a Value, String> {
        let mut cur: &'a Value = match var.root {
            Root::JobSpec => self.job_spec,
            Root::JobRun => self.job_run,
            Root::Task(i) => match self.outputs.get(i) {
                Some(Some(Ok(v))) => v,
                Some(Some(Err(_))) => {
                    let name = var.text.split('.').next().unwrap_or("");
                    return Err(format!("variable $({}): task {name:?} failed", var.text));
                }
                _ => {
                    let name = var.text.split('.').next().unwrap_or("");
                    return Err(format!(
                        "variable $({}): task {name:?} has not run",
                        var.text
                    ));
                }
            },
        };
        for seg in var.segs.iter() {
            cur = match cur {
                Value::Map(m) => m.get(&*seg.key).ok_or_else(|| {
                    format!("variable $({}): key {:?} not found", var.text, seg.key)
                })?,
                Value::List(items) => {
                    let Some(idx) = seg.index else {
                        return Err(format!(
                            "variable $({}): {:?} is not a list index",
                            var.text, seg.key
                        ));
                    };
                    let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
                    let real = if idx < 0 {
                        len.saturating_add(idx)
                    } else {
                        idx
                    };
                    usize::try_from(real)
                        .ok()
                        .and_then(|r| items.get(r))
                        .ok_or_else(|| {
                            format!(
                                "variable $({}): index {idx} out of range (list has {len} items)",
                                var.text
                            )
                        })?
                }
                other => {
                    return Err(format!(
                        "variable $({}): cannot look up {:?} in {}",
                        var.text,
                        seg.key,
                        other.type_name()
                    ));
                }
            };
        }
        Ok(cur)
    }
}

impl StrTemplate {
    /// Evaluates the parameter.
    pub(crate) fn eval<'s>(&'s self, scope: &Scope<'s>) -> Result<Cow<'s, Value>, String> {
        match self {
            StrTemplate::Literal(v) => Ok(Cow::Borrowed(v)),
            StrTemplate::Var(var) => scope.resolve(var).map(Cow::Borrowed),
            StrTemplate::Interp(pieces) => {
                let mut out = String::new();
                for p in pieces {
                    match p {
                        Piece::Text(t) => out.push_str(t),
                        Piece::Var(v) => {
                            let value = scope.resolve(v)?;
                            out.push_str(&value.to_text());
                        }
                    }
                }
                Ok(Cow::Owned(Value::String(out)))
            }
        }
    }

    /// The literal value, if the template has no variables.
    pub(crate) fn literal(&self) -> Option<&Value> {
        match self {
            StrTemplate::Literal(v) => Some(v),
            _ => None,
        }
    }
}

impl JsonTpl {
    /// Evaluates the document into an owned value.
    pub(crate) fn eval(&self, scope: &Scope<'_>) -> Result<Value, String> {
        match self {
            JsonTpl::Literal(v) => Ok(v.clone()),
            JsonTpl::Var(var) => scope.resolve(var).cloned(),
            JsonTpl::Text(t) => t.eval(scope).map(Cow::into_owned),
            JsonTpl::List(items) => items
                .iter()
                .map(|i| i.eval(scope))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::List),
            JsonTpl::Map(entries) => {
                let mut map = std::collections::BTreeMap::new();
                for (k, v) in entries {
                    map.insert(k.clone(), v.eval(scope)?);
                }
                Ok(Value::Map(map))
            }
        }
    }

    /// Evaluates a list document item by item, keeping per-item errors (used by tasks that
    /// tolerate faulty inputs). A non-list document evaluates as a whole.
    pub(crate) fn eval_items(&self, scope: &Scope<'_>) -> Vec<Result<Value, String>> {
        match self {
            JsonTpl::List(items) => items.iter().map(|i| i.eval(scope)).collect(),
            other => match other.eval(scope) {
                Ok(Value::List(items)) => items.into_iter().map(Ok).collect(),
                Ok(v) => vec![Ok(v)],
                Err(e) => vec![Err(e)],
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Names;
    impl RootLookup for Names {
        fn lookup(&self, name: &str) -> Result<Root, String> {
            match name {
                "a" => Ok(Root::Task(0)),
                "jobRun" => Ok(Root::JobRun),
                "jobSpec" => Ok(Root::JobSpec),
                other => Err(format!("unknown task {other:?}")),
            }
        }
    }

    fn scope_with<'a>(outputs: &'a [Option<Result<Value, String>>], run: &'a Value) -> Scope<'a> {
        Scope {
            outputs,
            job_spec: &Value::Null,
            job_run: run,
        }
    }

    #[test]
    fn compiles_and_evaluates() {
        let outputs = vec![Some(Ok(Value::map([(
            "list",
            Value::List(vec![Value::from(1u64), Value::from(2u64)]),
        )])))];
        let run = Value::map([("x", Value::from("y"))]);
        let scope = scope_with(&outputs, &run);

        let t = compile_str(" $(a.list.-1) ", &Names).unwrap();
        assert_eq!(t.eval(&scope).unwrap().as_u64().unwrap(), 2);
        let t = compile_str("v=$(a.list.0)/$(jobRun.x)", &Names).unwrap();
        assert_eq!(t.eval(&scope).unwrap().into_owned(), Value::from("v=1/y"));
        let t = compile_str("cost: $5", &Names).unwrap();
        assert_eq!(t.literal(), Some(&Value::from("cost: $5")));

        let e = compile_str("$(b.c)", &Names).unwrap_err();
        assert_eq!(e.message, "variable $(b.c): unknown task \"b\"");
        assert!(compile_str("$(a", &Names).is_err());
        assert!(compile_str("$(a..b)", &Names).is_err());

        let t = compile_str("$(a.nope)", &Names).unwrap();
        assert_eq!(
            t.eval(&scope).unwrap_err(),
            "variable $(a.nope): key \"nope\" not found"
        );
    }

    #[test]
    fn json_templates() {
        let outputs = vec![Some(Ok(Value::from(vec![1u8, 2])))];
        let run = Value::Null;
        let scope = scope_with(&outputs, &run);
        let t = compile_json(r#"{"id": $(a), "s": "x$(a)", "n": [1, "two"]}"#, &Names).unwrap();
        let v = t.eval(&scope).unwrap();
        assert_eq!(
            v.to_string(),
            r#"{"id":"0x0102","n":[1,"two"],"s":"x0x0102"}"#
        );
        let m = v.as_map().unwrap();
        assert_eq!(m["id"], Value::from(vec![1u8, 2]));
        assert!(compile_json("{\"a\": }", &Names).is_err());
        let t = compile_json("$(a)", &Names).unwrap();
        assert!(matches!(t, JsonTpl::Var(_)));
    }
}
