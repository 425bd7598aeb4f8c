//! The runner's request-size limit (`RunnerConfig::max_request_bytes`): a body over the
//! limit fails the task with a message naming the limit, and nothing reaches the server;
//! a body of exactly the limit is sent.

use std::sync::Arc;

use orakel_pipeline::{
    BridgeDef, BridgeParams, BridgeRegistry, Pipeline, RunContext, RunOutcome, Runner,
    RunnerConfig, Value, parse_json,
};

use crate::common::{Route, serve};

const LIMIT: usize = 64;

/// Loopback targets allowed (the test server), and a small request limit.
fn small_limit() -> RunnerConfig {
    RunnerConfig {
        allow_private_http: true,
        max_request_bytes: LIMIT,
        ..RunnerConfig::default()
    }
}

async fn run(runner: &Runner, dot: &str) -> RunOutcome {
    let pipeline = Pipeline::parse(dot, "limits.dot").unwrap_or_else(|e| panic!("{e}"));
    runner
        .execute(
            &pipeline,
            RunContext {
                run_id: "r".into(),
                ..Default::default()
            },
        )
        .await
}

fn result<'a>(o: &'a RunOutcome, id: &str) -> (Option<&'a Value>, Option<&'a str>) {
    let t = o
        .tasks
        .iter()
        .find(|t| t.dot_id == id)
        .unwrap_or_else(|| panic!("no task {id}: {o:?}"));
    (t.output.as_ref(), t.error.as_deref())
}

/// `{"pad": "xxx…"}` with `n` x's, and the length of the body the runner sends for it.
fn padded(n: usize) -> (String, usize) {
    let literal = format!(r#"{{"pad": "{}"}}"#, "x".repeat(n));
    let sent = parse_json(literal.as_bytes()).unwrap().to_json().len();
    (literal, sent)
}

/// The padding whose body is exactly `LIMIT` bytes.
fn pad_at_limit() -> usize {
    let (_, empty) = padded(0);
    assert!(empty < LIMIT);
    let n = LIMIT - empty;
    assert_eq!(padded(n).1, LIMIT);
    n
}

#[tokio::test]
async fn http_request_body_over_the_limit_is_refused_before_sending() {
    let server = serve(vec![Route::ok("/sink", r#"{"ok": true}"#)]).await;
    let runner = Runner::new(small_limit(), None).unwrap();
    let n = pad_at_limit();

    let (over, over_len) = padded(n + 1);
    assert_eq!(over_len, LIMIT + 1);
    let o = run(
        &runner,
        &format!(
            r#"send [type=http method=POST url="{}/sink" requestData=<{over}>]"#,
            server.base
        ),
    )
    .await;
    let (output, error) = result(&o, "send");
    assert_eq!(output, None);
    assert_eq!(
        error,
        Some(
            format!(
                r#"task "send" (http): requestData: body of {} bytes exceeds the limit of {LIMIT} bytes"#,
                LIMIT + 1
            )
            .as_str()
        )
    );
    assert!(
        server.requests.lock().unwrap().is_empty(),
        "a refused body reached the server: {:?}",
        server.requests.lock().unwrap()
    );

    // A body of exactly the limit is sent, so the refusal above is the limit at work and not
    // an unreachable server.
    let (at, _) = padded(n);
    let o = run(
        &runner,
        &format!(
            r#"send [type=http method=POST url="{}/sink" requestData=<{at}>]"#,
            server.base
        ),
    )
    .await;
    assert_eq!(result(&o, "send").1, None, "{o:?}");
    let seen = server.requests.lock().unwrap();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].starts_with("POST /sink "), "{}", seen[0]);
    let body = seen[0].rsplit('\n').next().unwrap_or_default();
    assert_eq!(body.len(), LIMIT, "{}", seen[0]);
}

struct OneBridge(Arc<BridgeDef>);

impl BridgeRegistry for OneBridge {
    fn bridge(&self, name: &str) -> Option<Arc<BridgeDef>> {
        (name == self.0.name()).then(|| Arc::clone(&self.0))
    }
}

#[tokio::test]
async fn bridge_request_body_over_the_limit_is_refused_before_sending() {
    let server = serve(vec![Route::ok("/ea", r#"{"data": {"result": 1}}"#)]).await;
    let def = BridgeDef::new(BridgeParams {
        name: "ea".into(),
        url: format!("{}/ea", server.base),
        ..BridgeParams::default()
    })
    .unwrap();
    let runner = Runner::new(small_limit(), None)
        .unwrap()
        .with_bridges(Arc::new(OneBridge(Arc::new(def))));

    let (over, _) = padded(LIMIT);
    let o = run(
        &runner,
        &format!(r#"ask [type=bridge name="ea" requestData=<{over}>]"#),
    )
    .await;
    let (output, error) = result(&o, "ask");
    assert_eq!(output, None);
    let error = error.unwrap_or_else(|| panic!("no error: {o:?}"));
    assert!(error.starts_with(r#"task "ask" (bridge): "#), "{error}");
    assert!(
        error.ends_with(&format!("exceeds the limit of {LIMIT} bytes")),
        "{error}"
    );
    assert!(
        server.requests.lock().unwrap().is_empty(),
        "a refused body reached the adapter: {:?}",
        server.requests.lock().unwrap()
    );

    // A small question is sent and answered.
    let o = run(
        &runner,
        r#"ask [type=bridge name="ea" requestData=<{"data": {"a": 1}}>]"#,
    )
    .await;
    assert_eq!(
        result(&o, "ask").0.map(Value::to_json),
        Some(parse_json(br#"{"data": {"result": 1}}"#).unwrap().to_json()),
        "{o:?}"
    );
    assert_eq!(server.requests.lock().unwrap().len(), 1);
}
