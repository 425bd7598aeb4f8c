//! Bridge round trip over loopback: a one-task `bridge` pipeline against an in-process axum
//! adapter on 127.0.0.1 that answers at once, so the figure is the node-side overhead of a
//! bridge call (request building, schema checks, HTTP over loopback, decoding). Goal: p50
//! ≤ 1 ms. The median is in `target/criterion/bridge/roundtrip/new/estimates.json`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use orakel_pipeline::{
    BridgeDef, BridgeParams, BridgeRegistry, Pipeline, RunContext, RunState, Runner, RunnerConfig,
    Value,
};

const DOT: &str = r#"
    fetch [type=bridge name="prices" requestData=<{"data": {"from": "ETH", "to": "USD"}}>]
"#;

const ANSWER: &str = r#"{"jobRunID": "bench", "data": {"result": 3021.4455}, "result": 3021.4455, "statusCode": 200}"#;

struct One(Arc<BridgeDef>);

impl BridgeRegistry for One {
    fn bridge(&self, name: &str) -> Option<Arc<BridgeDef>> {
        (name == self.0.name()).then(|| self.0.clone())
    }
}

fn bridge(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let base = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new().route(
            "/",
            axum::routing::post(|_body: String| async {
                ([("content-type", "application/json")], ANSWER)
            }),
        );
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        base
    });
    // Schemas on both sides, as a careful operator would register the bridge.
    let def = BridgeDef::new(BridgeParams {
        name: "prices".into(),
        url: format!("{base}/"),
        outgoing_token: "bench-token".into(),
        input_schema: Some(serde_json::json!({
            "type": "object", "required": ["data"],
            "properties": {"data": {"type": "object", "required": ["from", "to"]}}
        })),
        output_schema: Some(serde_json::json!({
            "type": "object", "required": ["data"],
            "properties": {"data": {"type": "object",
                "properties": {"result": {"type": "number"}}}}
        })),
        ..BridgeParams::default()
    })
    .unwrap();
    let runner = Runner::new(RunnerConfig::default(), None)
        .unwrap()
        .with_bridges(Arc::new(One(Arc::new(def))));
    let pipeline = Pipeline::parse(DOT, "bench.dot").unwrap();
    let ctx = RunContext {
        run_id: "bench".into(),
        job_run_vars: Value::Null,
        ..RunContext::default()
    };
    let check = rt.block_on(runner.execute(&pipeline, ctx.clone()));
    assert_eq!(check.state, RunState::Completed, "{:?}", check.errors);

    let mut group = c.benchmark_group("bridge");
    group.bench_function("roundtrip", |b| {
        b.iter(|| {
            let outcome = rt.block_on(runner.execute(black_box(&pipeline), ctx.clone()));
            black_box(outcome)
        })
    });
    group.finish();
}

criterion_group!(benches, bridge);
criterion_main!(benches);
