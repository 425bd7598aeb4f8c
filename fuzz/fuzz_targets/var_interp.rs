//! Variable interpolation end to end: a fuzzed parameter text (with `$(…)` variables) is
//! compiled into a pipeline and evaluated against fuzzed `jobRun` variables. Compiling and
//! evaluating must never panic — the runner turns a panicking task into an "internal
//! error" task error, so that message is what this target looks for.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use orakel_pipeline::{Pipeline, RunContext, Runner, RunnerConfig, Value};

fn runner() -> &'static Runner {
    static RUNNER: OnceLock<Runner> = OnceLock::new();
    RUNNER.get_or_init(|| Runner::new(RunnerConfig::default(), None).expect("runner"))
}

/// Quotes `text` as a DOT string.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

fuzz_target!(|data: &[u8]| {
    // Layout: parameter text, a 0 byte, then the jobRun variables as JSON.
    let (text, vars) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b"{}"[..]),
    };
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let job_run = orakel_pipeline::parse_json(vars).unwrap_or(Value::Null);
    let q = quoted(text);
    // The same text as a JSON-shaped parameter (memo value), a string parameter (lowercase
    // input) and a list of values (median), all downstream of a task with a known output.
    let dot = format!(
        "src [type=memo value=<{{\"a\": [1, \"x\", {{\"b\": 2.5}}], \"s\": \"t\"}}>]\n\
         m [type=memo value={q}]\n\
         l [type=lowercase input={q}]\n\
         j [type=jsonparse data=$(src) path={q} lax=true]\n\
         med [type=median values={q} allowedFaults=10]\n\
         src -> m\nsrc -> l\nsrc -> j\nsrc -> med\n"
    );
    let Ok(pipeline) = Pipeline::parse(&dot, "fuzz.dot") else {
        return;
    };
    let ctx = RunContext {
        run_id: "fuzz".to_owned(),
        job_spec_vars: Value::map([("name", Value::from("fuzz"))]),
        job_run_vars: job_run,
        ..RunContext::default()
    };
    let outcome = futures::executor::block_on(runner().execute(&pipeline, ctx));
    for task in &outcome.tasks {
        if let Some(e) = &task.error {
            assert!(!e.contains("internal error: the task panicked"), "{e}");
        }
    }
});
