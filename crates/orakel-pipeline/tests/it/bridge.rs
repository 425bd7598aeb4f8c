//! `bridge` tasks against fake external adapters served by axum on 127.0.0.1: the request
//! protocol, failure rules, JSON Schema contracts, async suspension and resumption, and the
//! `cacheTTL` fallback.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use orakel_pipeline::{
    BridgeDef, BridgeParams, BridgeRegistry, Pipeline, RunContext, RunOutcome, RunState, Runner,
    RunnerConfig, Value,
};
use serde_json::json;

/// What the fake adapter answers: status, extra headers, body.
type Reply = (u16, Vec<(&'static str, &'static str)>, String);

/// How the fake adapter answers a request.
type Script = Box<dyn Fn(&serde_json::Value) -> Reply + Send>;

/// A fake adapter that records every request and answers with a scripted function.
struct Adapter {
    base: String,
    requests: Mutex<Vec<(HeaderMap, serde_json::Value)>>,
    count: AtomicUsize,
    /// Milliseconds to wait before answering.
    delay_ms: AtomicU64,
    reply: Mutex<Script>,
}

impl Adapter {
    async fn start(reply: impl Fn(&serde_json::Value) -> Reply + Send + 'static) -> Arc<Adapter> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let adapter = Arc::new(Adapter {
            base: format!("http://{}", listener.local_addr().unwrap()),
            requests: Mutex::new(Vec::new()),
            count: AtomicUsize::new(0),
            delay_ms: AtomicU64::new(0),
            reply: Mutex::new(Box::new(reply)),
        });
        let app = axum::Router::new()
            .route("/", axum::routing::post(handle))
            .with_state(adapter.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        adapter
    }

    fn set_reply(&self, reply: impl Fn(&serde_json::Value) -> Reply + Send + 'static) {
        *self.reply.lock().unwrap() = Box::new(reply);
    }

    fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    fn last(&self) -> (HeaderMap, serde_json::Value) {
        self.requests.lock().unwrap().last().cloned().unwrap()
    }
}

async fn handle(
    State(adapter): State<Arc<Adapter>>,
    headers: HeaderMap,
    body: String,
) -> impl IntoResponse {
    let request: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    adapter.count.fetch_add(1, Ordering::SeqCst);
    let delay = adapter.delay_ms.load(Ordering::SeqCst);
    tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
    let (status, extra, body) = (adapter.reply.lock().unwrap())(&request);
    adapter.requests.lock().unwrap().push((headers, request));
    let mut out = HeaderMap::new();
    out.insert("content-type", "application/json".parse().unwrap());
    for (k, v) in extra {
        out.insert(k, v.parse().unwrap());
    }
    (StatusCode::from_u16(status).unwrap(), out, body)
}

fn ok(body: serde_json::Value) -> Reply {
    (200, Vec::new(), body.to_string())
}

#[derive(Default)]
struct Registry(HashMap<String, Arc<BridgeDef>>);

impl Registry {
    fn with(mut self, params: BridgeParams) -> Self {
        let def = BridgeDef::new(params).unwrap();
        self.0.insert(def.name().to_owned(), Arc::new(def));
        self
    }
}

impl BridgeRegistry for Registry {
    fn bridge(&self, name: &str) -> Option<Arc<BridgeDef>> {
        self.0.get(name).cloned()
    }
}

fn bridge(name: &str, adapter: &Adapter) -> BridgeParams {
    BridgeParams {
        name: name.into(),
        url: format!("{}/", adapter.base),
        outgoing_token: format!("token-{name}"),
        ..BridgeParams::default()
    }
}

fn runner(registry: Registry) -> Runner {
    Runner::new(
        RunnerConfig {
            resume_base_url: Some("http://node.example:6688/".into()),
            ..RunnerConfig::default()
        },
        None,
    )
    .unwrap()
    .with_bridges(Arc::new(registry))
}

fn ctx(run_id: &str) -> RunContext {
    RunContext {
        run_id: run_id.into(),
        job_run_vars: Value::map([(
            "meta",
            Value::map([(
                "oracleRequest",
                Value::map([("payment", Value::from(7u64))]),
            )]),
        )]),
        ..RunContext::default()
    }
}

async fn run(runner: &Runner, dot: &str, ctx: RunContext) -> RunOutcome {
    let pipeline = Pipeline::parse(dot, "test.dot").unwrap_or_else(|e| panic!("{e}"));
    runner.execute(&pipeline, ctx).await
}

fn task<'a>(o: &'a RunOutcome, id: &str) -> &'a orakel_pipeline::TaskResult {
    o.tasks.iter().find(|t| t.dot_id == id).unwrap()
}

fn error_of<'a>(o: &'a RunOutcome, id: &str) -> &'a str {
    task(o, id)
        .error
        .as_deref()
        .unwrap_or_else(|| panic!("task {id} did not fail: {o:?}"))
}

#[tokio::test]
async fn sync_bridge_speaks_the_established_protocol() {
    // Written by hand: the number must reach the node with all its digits.
    let adapter = Adapter::start(|_| {
        let body = r#"{"jobRunID": "r-1", "data": {"result": 1234.5678901234567890123}, "statusCode": 200}"#;
        (200, Vec::new(), body.to_owned())
    })
    .await;
    let runner = runner(Registry::default().with(bridge("prices", &adapter)));
    let o = run(
        &runner,
        r#"
        fetch [type=bridge name="prices"
               requestData=<{"data": {"from": "ETH", "to": $(jobRun.meta.oracleRequest.payment)}}>
               headers=<["X-Api-Key", "k1"]>]
        parse [type=jsonparse path="data,result"]
        scale [type=multiply times=100]
        fetch -> parse -> scale
        "#,
        ctx("r-1"),
    )
    .await;
    assert_eq!(o.state, RunState::Completed, "{:?}", o.errors);
    assert_eq!(
        o.outputs[0].as_ref().unwrap().to_json(),
        "123456.78901234567890123"
    );
    let (headers, body) = adapter.last();
    assert_eq!(headers["authorization"], "Bearer token-prices");
    assert_eq!(headers["x-api-key"], "k1");
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(
        body,
        json!({
            "id": "r-1",
            "data": {"from": "ETH", "to": 7},
            "meta": {"oracleRequest": {"payment": 7}},
        })
    );
}

#[tokio::test]
async fn adapter_failures_fail_the_task() {
    let adapter = Adapter::start(|_| ok(json!({}))).await;
    let runner = runner(Registry::default().with(bridge("b", &adapter)));
    let dot = r#"fetch [type=bridge name="b"]"#;
    let cases: Vec<(Reply, &str)> = vec![
        (
            (
                500,
                Vec::new(),
                json!({"error": {"name": "AdapterError", "message": "boom"}}).to_string(),
            ),
            "adapter returned HTTP status 500: AdapterError: boom",
        ),
        (
            ok(json!({"statusCode": 504, "data": {}})),
            "adapter reported statusCode 504",
        ),
        (
            ok(json!({"statusCode": 200, "providerStatusCode": 401, "data": {}})),
            "adapter reported providerStatusCode 401",
        ),
        (
            ok(json!({"error": "rate limited"})),
            "adapter reported an error: rate limited",
        ),
        (
            ok(json!({"pending": true})),
            "the adapter answered \"pending\" but the task is not async=true",
        ),
    ];
    for (reply, expected) in cases {
        adapter.set_reply(move |_| reply.clone());
        let o = run(&runner, dot, ctx("r")).await;
        assert_eq!(o.state, RunState::Errored);
        assert_eq!(
            error_of(&o, "fetch"),
            format!("task \"fetch\" (bridge): bridge \"b\": {expected}")
        );
    }
    let o = run(&runner, r#"fetch [type=bridge name="nope"]"#, ctx("r")).await;
    assert_eq!(
        error_of(&o, "fetch"),
        "task \"fetch\" (bridge): bridge \"nope\" is not registered"
    );
    let bare = Runner::new(RunnerConfig::default(), None).unwrap();
    let o = run(&bare, dot, ctx("r")).await;
    assert_eq!(
        error_of(&o, "fetch"),
        "task \"fetch\" (bridge): no bridge registry is configured on this runner"
    );
}

#[tokio::test]
async fn schemas_guard_both_directions() {
    let adapter = Adapter::start(|req| {
        let result = req["data"]["answer"].clone();
        ok(json!({"data": {"result": result}, "statusCode": 200}))
    })
    .await;
    let runner = runner(Registry::default().with(BridgeParams {
        input_schema: Some(json!({
            "type": "object",
            "required": ["data"],
            "properties": {"data": {"type": "object", "required": ["answer"]}}
        })),
        output_schema: Some(json!({
            "type": "object",
            "properties": {"data": {"type": "object",
                "properties": {"result": {"type": "number"}}}}
        })),
        ..bridge("prices", &adapter)
    }));

    let o = run(
        &runner,
        r#"fetch [type=bridge name="prices" requestData=<{"data": {"answer": 42}}>]"#,
        ctx("r"),
    )
    .await;
    assert_eq!(o.state, RunState::Completed, "{:?}", o.errors);
    assert_eq!(adapter.count(), 1);

    let o = run(
        &runner,
        r#"fetch [type=bridge name="prices" requestData=<{"data": {"answer": "abc"}}>]"#,
        ctx("r"),
    )
    .await;
    assert_eq!(
        error_of(&o, "fetch"),
        "task \"fetch\" (bridge): bridge \"prices\": response violates output schema at \
         /data/result (schema /properties/data/properties/result/type): \"abc\" is not of \
         type \"number\""
    );

    // An invalid request is never sent.
    let o = run(
        &runner,
        r#"fetch [type=bridge name="prices" requestData=<{"data": {"question": 1}}>]"#,
        ctx("r"),
    )
    .await;
    assert_eq!(
        error_of(&o, "fetch"),
        "task \"fetch\" (bridge): bridge \"prices\": request violates input schema at /data \
         (schema /properties/data/required): \"answer\" is a required property"
    );
    assert_eq!(adapter.count(), 2);
}

const ASYNC_PIPELINE: &str = r#"
    quick [type=bridge name="quick" requestData=<{"data": {"x": 1}}>]
    slow  [type=bridge name="slow" async=true requestData=<{"data": {"q": "eth"}}>]
    pq    [type=jsonparse path="data,result"]
    ps    [type=jsonparse path="data,result"]
    total [type=sum values=<[$(pq), $(ps)]> allowedFaults=0]
    quick -> pq -> total
    slow -> ps -> total
"#;

#[tokio::test]
async fn async_bridge_suspends_and_resumes_without_rerunning_finished_tasks() {
    let quick = Adapter::start(|_| ok(json!({"data": {"result": 1.25}}))).await;
    let slow =
        Adapter::start(|_| (200, vec![("X-Chainlink-Pending", "true")], String::new())).await;
    let runner = runner(
        Registry::default()
            .with(bridge("quick", &quick))
            .with(bridge("slow", &slow)),
    );

    let first = run(&runner, ASYNC_PIPELINE, ctx("run-7")).await;
    assert_eq!(first.state, RunState::Suspended, "{:?}", first.errors);
    assert_eq!(first.suspended, vec!["slow".to_owned()]);
    assert_eq!(first.outputs, vec![None]);
    assert!(first.errors.is_empty(), "{:?}", first.errors);
    for id in ["slow", "ps", "total"] {
        let t = task(&first, id);
        assert!(t.output.is_none() && t.error.is_none(), "{t:?}");
    }
    assert_eq!(
        slow.last().1["responseURL"],
        "http://node.example:6688/v2/resume/run-7/slow"
    );
    assert_eq!(quick.count(), 1);
    assert_eq!(slow.count(), 1);

    // The node resumes with every finished task plus the adapter's late answer.
    let mut prior: HashMap<String, Result<Value, String>> = first
        .tasks
        .iter()
        .filter_map(|t| Some((t.dot_id.clone(), Ok(t.output.clone()?))))
        .collect();
    prior.insert(
        "slow".into(),
        Ok(Value::map([(
            "data",
            Value::map([("result", Value::from("2.5"))]),
        )])),
    );
    let resumed = run(
        &runner,
        ASYNC_PIPELINE,
        RunContext {
            prior_results: prior.clone(),
            ..ctx("run-7")
        },
    )
    .await;
    assert_eq!(resumed.state, RunState::Completed, "{:?}", resumed.errors);
    assert_eq!(resumed.outputs[0].as_ref().unwrap().to_json(), "3.75");
    assert!(resumed.suspended.is_empty());
    assert_eq!(quick.count(), 1, "a finished task was executed again");
    assert_eq!(slow.count(), 1, "the resumed task was executed again");

    // Resumed with an error: the run fails with it.
    prior.insert("slow".into(), Err("adapter gave up".into()));
    let failed = run(
        &runner,
        ASYNC_PIPELINE,
        RunContext {
            prior_results: prior,
            ..ctx("run-7")
        },
    )
    .await;
    assert_eq!(failed.state, RunState::Errored);
    assert_eq!(failed.errors[0], "adapter gave up");
    assert_eq!(quick.count(), 1);
}

#[tokio::test]
async fn pending_in_the_body_and_missing_resume_url() {
    let slow = Adapter::start(|_| ok(json!({"pending": true}))).await;
    let registry = || Registry::default().with(bridge("slow", &slow));
    let dot = r#"slow [type=bridge name="slow" async=true]"#;
    let o = run(&runner(registry()), dot, ctx("r")).await;
    assert_eq!(o.state, RunState::Suspended);
    assert_eq!(o.suspended, vec!["slow".to_owned()]);

    let no_url = Runner::new(RunnerConfig::default(), None)
        .unwrap()
        .with_bridges(Arc::new(registry()));
    let o = run(&no_url, dot, ctx("r")).await;
    assert_eq!(o.state, RunState::Errored);
    assert!(
        error_of(&o, "slow").contains("resume_base_url"),
        "{}",
        error_of(&o, "slow")
    );
}

#[tokio::test]
async fn a_failed_branch_ends_a_run_even_while_another_waits() {
    let slow = Adapter::start(|_| ok(json!({"pending": true}))).await;
    let broken = Adapter::start(|_| (503, Vec::new(), String::new())).await;
    let runner = runner(
        Registry::default()
            .with(bridge("slow", &slow))
            .with(bridge("broken", &broken)),
    );
    let o = run(
        &runner,
        r#"
        slow   [type=bridge name="slow" async=true index=0]
        broken [type=bridge name="broken" index=1]
        "#,
        ctx("r"),
    )
    .await;
    assert_eq!(o.state, RunState::Errored);
    assert!(o.suspended.is_empty());
    assert_eq!(
        o.errors,
        vec![
            "task \"broken\" (bridge): bridge \"broken\": adapter returned HTTP status 503"
                .to_owned()
        ]
    );
}

#[tokio::test]
async fn cache_ttl_answers_from_the_last_good_response_when_the_adapter_fails() {
    let adapter = Adapter::start(|req| ok(json!({"data": {"result": req["data"]["n"]}}))).await;
    let runner = runner(Registry::default().with(bridge("b", &adapter)));
    let cached = |n: u32| {
        format!(
            r#"fetch [type=bridge name="b" cacheTTL="1m" requestData=<{{"data": {{"n": {n}}}}}>]
               parse [type=jsonparse path="data,result"]
               fetch -> parse"#
        )
    };
    let o = run(&runner, &cached(1), ctx("r1")).await;
    assert_eq!(o.outputs[0], Some(Value::from(1u64)));

    adapter.set_reply(|_| (502, Vec::new(), "bad gateway".into()));
    // Same question, another run: the cached answer stands in.
    let o = run(&runner, &cached(1), ctx("r2")).await;
    assert_eq!(o.state, RunState::Completed, "{:?}", o.errors);
    assert_eq!(o.outputs[0], Some(Value::from(1u64)));
    // Another question has no cached answer.
    let o = run(&runner, &cached(2), ctx("r3")).await;
    assert_eq!(o.state, RunState::Errored);
    // Without cacheTTL the failure shows.
    let o = run(
        &runner,
        r#"fetch [type=bridge name="b" requestData=<{"data": {"n": 1}}>]"#,
        ctx("r4"),
    )
    .await;
    assert_eq!(
        error_of(&o, "fetch"),
        "task \"fetch\" (bridge): bridge \"b\": adapter returned HTTP status 502"
    );
    assert_eq!(adapter.count(), 4);

    // A hanging adapter is a failure too: the cached answer comes before the task's limit.
    adapter.delay_ms.store(5_000, Ordering::SeqCst);
    let started = std::time::Instant::now();
    let o = run(
        &runner,
        &cached(1).replace("cacheTTL=\"1m\"", "cacheTTL=\"1m\" timeout=\"500ms\""),
        ctx("r5"),
    )
    .await;
    assert_eq!(o.state, RunState::Completed, "{:?}", o.errors);
    assert_eq!(o.outputs[0], Some(Value::from(1u64)));
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}
