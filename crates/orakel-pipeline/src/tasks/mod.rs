//! Task types. Each task type lives in its own module and registers one [`TaskDef`] in
//! [`REGISTRY`]: adding a task type is one new file plus one line here.
//!
//! A task is built once at spec-parse time from its DOT attributes (through [`Params`], which
//! compiles every parameter into a template and rejects unknown parameters) and is then run
//! many times. Pure tasks answer synchronously ([`Exec::Ready`]); I/O tasks resolve their
//! parameters synchronously and return a future ([`Exec::Pending`]) that owns everything it
//! needs, so independent I/O tasks can run concurrently.

use std::borrow::Cow;
use std::fmt;

use futures::future::BoxFuture;

use crate::dot::DotAttr;
use crate::runner::Shared;
use crate::template::{self, JsonTpl, RootLookup, Scope, StrTemplate};
use crate::value::{Value, ValueError};

mod any;
mod base64codec;
mod bridge;
mod cborparse;
mod divide;
mod estimategaslimit;
mod ethabidecode;
mod ethabidecodelog;
mod ethabiencode;
mod ethabiencode2;
mod ethcall;
mod ethtx;
mod hexcodec;
mod http;
pub(crate) use http::is_restricted_ip;
mod case;
mod conditional;
mod jsonparse;
mod length;
mod lessthan;
mod lookup;
mod mean;
mod median;
mod memo;
mod merge;
mod mode;
mod multiply;
mod sum;

/// How to build one task type.
pub(crate) struct TaskDef {
    /// The established type name (`type="…"`).
    pub name: &'static str,
    /// Builds the task from its parameters.
    pub build: fn(&mut Params<'_>) -> Result<Box<dyn Task>, ParamError>,
}

/// Every task type this crate knows.
pub(crate) static REGISTRY: &[TaskDef] = &[
    ethabidecodelog::DEF,
    ethabidecode::DEF,
    cborparse::DEF,
    http::DEF,
    jsonparse::DEF,
    multiply::DEF,
    divide::DEF,
    median::DEF,
    ethabiencode::DEF,
    ethtx::DEF,
    sum::DEF,
    mean::DEF,
    mode::DEF,
    any::DEF,
    case::LOWERCASE,
    case::UPPERCASE,
    hexcodec::ENCODE,
    hexcodec::DECODE,
    base64codec::ENCODE,
    base64codec::DECODE,
    length::DEF,
    lessthan::DEF,
    conditional::DEF,
    lookup::DEF,
    merge::DEF,
    memo::DEF,
    bridge::DEF,
    ethabiencode2::DEF,
    ethcall::DEF,
    estimategaslimit::DEF,
];

/// Finds a task type by its name.
pub(crate) fn find(name: &str) -> Option<&'static TaskDef> {
    REGISTRY.iter().find(|d| d.name == name)
}

/// The names of all supported task types.
pub fn task_types() -> impl Iterator<Item = &'static str> {
    REGISTRY.iter().map(|d| d.name)
}

/// Outcome of starting a task.
pub(crate) enum Exec<'a> {
    /// Finished synchronously.
    Ready(Result<Value, String>),
    /// Needs to await I/O. The future owns its resolved parameters.
    Pending(BoxFuture<'a, Result<Value, String>>),
    /// Needs to await I/O whose answer may be "later" (async bridges): the run suspends.
    Suspendable(BoxFuture<'a, Result<IoOutcome, String>>),
}

/// What a suspendable I/O task ended with.
pub(crate) enum IoOutcome {
    /// The task's output.
    Done(Value),
    /// The answer comes later; the run suspends until the node resumes it.
    Suspend,
}

/// What a task sees while it runs synchronously.
pub(crate) struct TaskCx<'s> {
    /// Variables: task outputs and `jobSpec` / `jobRun`.
    pub scope: &'s Scope<'s>,
    /// Predecessor results in edge order (`Err` holds the predecessor's error).
    pub inputs: &'s [Result<&'s Value, &'s str>],
}

/// Run-level services and identity handed to a task.
#[derive(Clone, Copy)]
pub(crate) struct TaskEnv<'a> {
    pub shared: &'a Shared,
    pub run_id: &'a str,
    pub dot_id: &'a str,
    /// The runner's time limit for this task.
    pub timeout: std::time::Duration,
}

/// A built task.
pub(crate) trait Task: Send + Sync + fmt::Debug {
    /// Starts the task.
    fn run<'a>(&'a self, cx: &TaskCx<'_>, env: TaskEnv<'a>) -> Exec<'a>;

    /// Whether the task runs even when some of its inputs failed (e.g. `median` with
    /// `allowedFaults`). Otherwise it fails with "upstream task … failed".
    fn tolerates_failed_inputs(&self) -> bool {
        false
    }

    /// Whether the task performs I/O.
    fn is_io(&self) -> bool {
        false
    }
}

/// A task that computes its output synchronously from its parameters and inputs.
pub(crate) trait PureTask: Send + Sync + fmt::Debug {
    /// Computes the output.
    fn eval(&self, cx: &TaskCx<'_>) -> Result<Value, String>;

    /// See [`Task::tolerates_failed_inputs`].
    fn tolerates_failed_inputs(&self) -> bool {
        false
    }
}

impl<T: PureTask> Task for T {
    fn run<'a>(&'a self, cx: &TaskCx<'_>, _env: TaskEnv<'a>) -> Exec<'a> {
        Exec::Ready(self.eval(cx))
    }

    fn tolerates_failed_inputs(&self) -> bool {
        PureTask::tolerates_failed_inputs(self)
    }
}

/// A problem with a task's parameters found while building it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ParamError {
    /// The attribute concerned; `None` for problems of the task as a whole.
    pub attr: Option<String>,
    /// Byte offset inside the attribute value (0 = start of the value).
    pub offset: usize,
    /// Point at the attribute name instead of its value.
    pub at_key: bool,
    pub message: String,
}

impl ParamError {
    pub(crate) fn at(attr: &str, message: impl Into<String>) -> Self {
        ParamError {
            attr: Some(attr.to_owned()),
            offset: 0,
            at_key: false,
            message: message.into(),
        }
    }
}

/// The parameters of one task, as written in the DOT attributes.
pub(crate) struct Params<'p> {
    type_name: &'static str,
    attrs: &'p [DotAttr],
    used: Vec<bool>,
    lookup: &'p dyn RootLookup,
    /// Non-fatal remarks (ignored parameters…).
    pub warnings: Vec<String>,
}

impl<'p> Params<'p> {
    pub(crate) fn new(
        type_name: &'static str,
        attrs: &'p [DotAttr],
        lookup: &'p dyn RootLookup,
        reserved: &[&str],
    ) -> Self {
        let used = attrs
            .iter()
            .map(|a| reserved.contains(&a.key.as_str()))
            .collect();
        Params {
            type_name,
            attrs,
            used,
            lookup,
            warnings: Vec::new(),
        }
    }

    /// The raw attribute, marked as used. Empty (all-whitespace) values count as absent,
    /// as in the established format.
    pub(crate) fn raw(&mut self, name: &str) -> Option<&'p DotAttr> {
        let attrs = self.attrs;
        let (i, attr) = attrs.iter().enumerate().find(|(_, a)| a.key == name)?;
        if let Some(u) = self.used.get_mut(i) {
            *u = true;
        }
        if attr.value.trim().is_empty() {
            None
        } else {
            Some(attr)
        }
    }

    /// A string parameter (literal, one variable, or interpolated text).
    pub(crate) fn string(&mut self, name: &str) -> Result<Option<StrTemplate>, ParamError> {
        let Some(attr) = self.raw(name) else {
            return Ok(None);
        };
        template::compile_str(&attr.value, self.lookup)
            .map(Some)
            .map_err(|e| ParamError {
                attr: Some(name.to_owned()),
                offset: e.offset,
                at_key: false,
                message: e.message,
            })
    }

    /// A required string parameter.
    pub(crate) fn required(&mut self, name: &str) -> Result<StrTemplate, ParamError> {
        self.string(name)?.ok_or_else(|| ParamError {
            attr: None,
            offset: 0,
            at_key: false,
            message: format!(
                "missing required parameter {name:?} for task type {}",
                self.type_name
            ),
        })
    }

    /// A JSON-shaped parameter whose variables are substituted as values.
    pub(crate) fn json(&mut self, name: &str) -> Result<Option<JsonTpl>, ParamError> {
        let Some(attr) = self.raw(name) else {
            return Ok(None);
        };
        template::compile_json(&attr.value, self.lookup)
            .map(Some)
            .map_err(|e| ParamError {
                attr: Some(name.to_owned()),
                offset: e.offset,
                at_key: false,
                message: e.message,
            })
    }

    /// A parameter that must be a literal (no variables), e.g. an ABI signature.
    pub(crate) fn literal(&mut self, name: &str) -> Result<Option<&'p str>, ParamError> {
        let Some(attr) = self.raw(name) else {
            return Ok(None);
        };
        if let Some(at) = attr.value.find("$(") {
            return Err(ParamError {
                attr: Some(name.to_owned()),
                offset: at,
                at_key: false,
                message: "must be a literal: variables are not supported here".to_owned(),
            });
        }
        Ok(Some(attr.value.as_str()))
    }

    /// A required literal parameter.
    pub(crate) fn required_literal(&mut self, name: &str) -> Result<&'p str, ParamError> {
        self.literal(name)?.ok_or_else(|| ParamError {
            attr: None,
            offset: 0,
            at_key: false,
            message: format!(
                "missing required parameter {name:?} for task type {}",
                self.type_name
            ),
        })
    }

    /// Checks a literal string parameter at parse time with the same conversion the task
    /// applies at run time.
    pub(crate) fn check<T>(
        &self,
        name: &str,
        tpl: Option<&StrTemplate>,
        convert: impl FnOnce(&Value) -> Result<T, ValueError>,
    ) -> Result<(), ParamError> {
        if let Some(v) = tpl.and_then(StrTemplate::literal) {
            convert(v).map_err(|e| ParamError::at(name, e.0))?;
        }
        Ok(())
    }

    /// Accepts a parameter of the established format that this implementation ignores.
    pub(crate) fn ignored(&mut self, name: &str, why: &str) {
        if self.raw(name).is_some() {
            self.warnings.push(format!(
                "parameter {name:?} of task type {} is ignored: {why}",
                self.type_name
            ));
        }
    }

    /// Fails on the first attribute no one asked for.
    pub(crate) fn finish(self) -> Result<Vec<String>, ParamError> {
        for (attr, used) in self.attrs.iter().zip(&self.used) {
            if !used {
                return Err(ParamError {
                    attr: Some(attr.key.clone()),
                    offset: 0,
                    at_key: true,
                    message: format!(
                        "unknown parameter {:?} for task type {}",
                        attr.key, self.type_name
                    ),
                });
            }
        }
        Ok(self.warnings)
    }
}

/// Evaluates a parameter, or falls back to the first input when it is absent.
pub(crate) fn param_or_input<'s>(
    tpl: Option<&'s StrTemplate>,
    name: &str,
    cx: &TaskCx<'s>,
) -> Result<Cow<'s, Value>, String> {
    match tpl {
        Some(t) => t.eval(cx.scope).map_err(|e| format!("{name}: {e}")),
        None => match cx.inputs.first() {
            Some(Ok(v)) => Ok(Cow::Borrowed(*v)),
            Some(Err(e)) => Err(format!("{name}: input failed: {e}")),
            None => Err(format!("{name}: not set and the task has no inputs")),
        },
    }
}

/// Evaluates a required parameter.
pub(crate) fn eval<'s>(
    tpl: &'s StrTemplate,
    name: &str,
    cx: &TaskCx<'s>,
) -> Result<Cow<'s, Value>, String> {
    tpl.eval(cx.scope).map_err(|e| format!("{name}: {e}"))
}

/// Evaluates an optional parameter.
pub(crate) fn eval_opt<'s>(
    tpl: Option<&'s StrTemplate>,
    name: &str,
    cx: &TaskCx<'s>,
) -> Result<Option<Cow<'s, Value>>, String> {
    tpl.map(|t| eval(t, name, cx)).transpose()
}

/// Adds the parameter name to a conversion error.
pub(crate) fn named<T>(name: &str, r: Result<T, ValueError>) -> Result<T, String> {
    r.map_err(|e| format!("{name}: {e}"))
}

/// The values of a list-valued parameter (`values`), or all inputs when it is absent.
/// Failed items are kept as `Err`.
pub(crate) fn values_or_inputs(
    tpl: Option<&JsonTpl>,
    cx: &TaskCx<'_>,
) -> Vec<Result<Value, String>> {
    match tpl {
        Some(t) => t.eval_items(cx.scope),
        None => cx
            .inputs
            .iter()
            .map(|i| match i {
                Ok(v) => Ok((*v).clone()),
                Err(e) => Err((*e).to_owned()),
            })
            .collect(),
    }
}
