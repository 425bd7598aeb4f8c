//! Engine throughput: a 6-task jsonparse → multiply → median → ethabiencode pipeline over
//! in-memory inputs, executed end to end by the runner on one thread.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use orakel_pipeline::{Pipeline, RunContext, RunState, Runner, RunnerConfig, Value};

const DOT: &str = r#"
    parse_a  [type=jsonparse data="$(jobRun.a)" path="data,price"]
    parse_b  [type=jsonparse data="$(jobRun.b)" path="data,price"]
    scale_a  [type=multiply times=100]
    scale_b  [type=multiply times=100]
    median   [type=median]
    encode   [type=ethabiencode abi="(uint256 value)" data=<{ "value": $(median) }>]

    parse_a -> scale_a -> median
    parse_b -> scale_b -> median
    median -> encode
"#;

fn engine(c: &mut Criterion) {
    let pipeline = Pipeline::parse(DOT, "bench.dot").unwrap();
    let runner = Runner::new(RunnerConfig::default(), None).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ctx = RunContext {
        run_id: "bench".into(),
        job_spec_vars: Value::Null,
        job_run_vars: Value::map([
            (
                "a",
                Value::from(r#"{"data": {"price": 1234.56, "volume": 10}}"#),
            ),
            (
                "b",
                Value::from(r#"{"data": {"price": 1234.58, "volume": 12}}"#),
            ),
        ]),
        max_task_duration: None,
        ..Default::default()
    };
    let check = rt.block_on(runner.execute(&pipeline, ctx.clone()));
    assert_eq!(check.state, RunState::Completed, "{:?}", check.errors);

    let mut group = c.benchmark_group("engine");
    group.throughput(Throughput::Elements(pipeline.len() as u64));
    group.bench_function("six_task_chain", |b| {
        b.iter(|| {
            let outcome = rt.block_on(runner.execute(black_box(&pipeline), ctx.clone()));
            black_box(outcome)
        })
    });
    group.finish();
}

criterion_group!(benches, engine);
criterion_main!(benches);
