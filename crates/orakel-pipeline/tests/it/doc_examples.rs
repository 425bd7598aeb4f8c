//! The task examples in `docs/tasks.md` ("Examples" table) run and give the outputs the
//! page shows, and every task type has an example somewhere on the page.

use std::path::PathBuf;

use orakel_pipeline::{Pipeline, RunContext, RunState, Runner, RunnerConfig, parse_json};

/// Task types whose examples need a network, a transaction manager or log variables: their
/// output is described in words and they are not run here.
const DESCRIBED_ONLY: [&str; 3] = ["http", "ethtx", "ethabidecodelog"];

struct Example {
    line: usize,
    task_type: String,
    dot: String,
    output: String,
}

fn tasks_md() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/tasks.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The text between the first pair of backticks.
fn code(cell: &str) -> Option<&str> {
    let rest = cell.strip_prefix('`')?;
    rest.split_once('`').map(|(c, _)| c)
}

fn examples(doc: &str) -> Vec<Example> {
    let start = doc
        .find("### Examples")
        .expect("docs/tasks.md has an Examples section");
    let first_line = doc[..start].lines().count() + 1;
    let mut out = Vec::new();
    for (n, line) in doc[start..].lines().enumerate().skip(1) {
        if line.starts_with('#') {
            break;
        }
        let Some(row) = line
            .strip_prefix("| ")
            .filter(|r| r.starts_with('`'))
            .and_then(|r| r.strip_suffix(" |"))
        else {
            continue;
        };
        let cells: Vec<&str> = row.split(" | ").map(str::trim).collect();
        let [ty, dot, output] = cells[..] else {
            panic!("docs/tasks.md:{}: expected 3 cells: {line}", first_line + n);
        };
        out.push(Example {
            line: first_line + n,
            task_type: code(ty).unwrap_or_default().to_owned(),
            dot: code(dot).unwrap_or_default().to_owned(),
            output: output.to_owned(),
        });
    }
    out
}

#[tokio::test]
async fn the_documented_examples_give_the_documented_outputs() {
    let doc = tasks_md();
    let examples = examples(&doc);
    assert!(examples.len() >= 25, "only {} examples", examples.len());
    let runner = Runner::new(RunnerConfig::default(), None).unwrap();
    let mut failures = Vec::new();
    for ex in &examples {
        let at = format!("docs/tasks.md:{} ({})", ex.line, ex.task_type);
        let ty = &ex.task_type;
        if !ex.dot.contains(&format!("type={ty} ")) && !ex.dot.contains(&format!("type={ty}]")) {
            failures.push(format!("{at}: the example does not use type={ty}"));
            continue;
        }
        if DESCRIBED_ONLY.contains(&ty.as_str()) {
            continue;
        }
        let Some(want) = code(&ex.output) else {
            failures.push(format!("{at}: the output is not given as a value"));
            continue;
        };
        let want = match parse_json(want.as_bytes()) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!("{at}: output {want} is not JSON: {}", e.message));
                continue;
            }
        };
        let pipeline = match Pipeline::parse(&ex.dot, "example.dot") {
            Ok(p) => p,
            Err(e) => {
                failures.push(format!("{at}: does not parse: {e}"));
                continue;
            }
        };
        let outcome = runner
            .execute(
                &pipeline,
                RunContext {
                    run_id: "doc".into(),
                    ..Default::default()
                },
            )
            .await;
        let got: Vec<Option<String>> = outcome
            .outputs
            .iter()
            .map(|o| o.as_ref().map(|v| v.to_json()))
            .collect();
        if outcome.state != RunState::Completed || got != [Some(want.to_json())] {
            failures.push(format!(
                "{at}: got {:?} {got:?} (errors {:?}), want {}",
                outcome.state,
                outcome.errors,
                want.to_json()
            ));
            continue;
        }
        for marked in ["bytes", "string"] {
            let got = outcome.outputs[0].as_ref().map(|v| v.type_name());
            if ex.output.contains(&format!("({marked})")) && got != Some(marked) {
                failures.push(format!("{at}: output is {got:?}, the page says {marked}"));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn every_task_type_has_an_example() {
    let doc = tasks_md();
    let missing: Vec<&str> = orakel_pipeline::task_types()
        .filter(|t| !doc.contains(&format!("type={t} ")) && !doc.contains(&format!("type={t}]")))
        .collect();
    assert!(
        missing.is_empty(),
        "task types without an example in docs/tasks.md: {missing:?}"
    );
}
