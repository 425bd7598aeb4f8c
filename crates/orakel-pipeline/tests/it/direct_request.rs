//! End-to-end direct request runs: the corpus specs under `tests/specs`, a local HTTP
//! server, a capturing transaction sink, and calldata checked against an independent ABI
//! encoding (`alloy_sol_types::sol!`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy_primitives::{Address, B256, U256, address};
use alloy_sol_types::{SolCall, SolValue};
use orakel_pipeline::{
    JobType, RunContext, RunState, Runner, RunnerConfig, Value, parse_job_spec, spec_id_forms,
};

use crate::common::{
    CaptureSink, CborBuf, Request, Route, fulfillOracleRequest2Call, fulfillOracleRequestCall,
    serve, spec_text,
};

const ORACLE: Address = address!("5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");

fn runner(sink: Arc<CaptureSink>) -> Runner {
    // The test sources listen on loopback, which a default runner refuses.
    let cfg = RunnerConfig {
        allow_private_http: true,
        ..RunnerConfig::default()
    };
    Runner::new(cfg, Some(sink)).unwrap()
}

#[tokio::test]
async fn established_direct_request_spec_fulfils_with_exact_calldata() {
    let server = serve(vec![Route::ok(
        "/price",
        r#"{"data": {"price": 1234.5678, "other": [1, 2]}}"#,
    )])
    .await;
    let spec = parse_job_spec(
        &spec_text("direct_request.toml", &server.base),
        "direct_request.toml",
    )
    .unwrap();
    assert_eq!(spec.job_type, JobType::DirectRequest);
    assert_eq!(spec.name.as_deref(), Some("ETH/USD direct request"));
    assert_eq!(spec.max_task_duration, Some(Duration::from_secs(10)));
    assert_eq!(spec.evm_chain_id, Some(31337));
    let dr = spec.direct_request.as_ref().unwrap();
    assert_eq!(dr.contract_address, ORACLE);
    assert_eq!(dr.min_incoming_confirmations, 2);
    assert_eq!(
        dr.min_contract_payment,
        U256::from(100_000_000_000_000_000u64)
    );
    assert_eq!(dr.requesters, vec![Address::repeat_byte(0x11)]);
    assert!(spec.warnings.is_empty(), "{:?}", spec.warnings);
    assert_eq!(spec.pipeline.len(), 8);
    assert_eq!(spec.pipeline.terminal_ids(), vec!["submit_tx"]);

    let mut cbor = CborBuf::default();
    cbor.add("get", &format!("{}/price", server.base))
        .add("path", "data,price")
        .add_int("times", 10_000);
    let [ascii_id, _] = spec_id_forms(&spec.external_job_id);
    let request = Request::new(ascii_id, cbor.0.clone());

    let sink = Arc::new(CaptureSink::default());
    let outcome = runner(sink.clone())
        .execute(
            &spec.pipeline,
            RunContext {
                run_id: "run-1".into(),
                job_spec_vars: spec.job_spec_vars(7),
                job_run_vars: request.job_run_vars(ORACLE),
                max_task_duration: spec.max_task_duration,
                ..Default::default()
            },
        )
        .await;
    assert_eq!(outcome.state, RunState::Completed, "{:?}", outcome.errors);
    assert!(outcome.errors.is_empty());

    let decoded = outcome.tasks[0].output.as_ref().unwrap().as_map().unwrap();
    assert_eq!(decoded["requester"], Value::Address(request.requester));
    assert_eq!(decoded["payment"].to_string(), "100000000000000000");
    assert_eq!(
        decoded["callbackFunctionId"],
        Value::from(vec![0xde, 0xad, 0xbe, 0xef])
    );
    assert_eq!(
        outcome.tasks[4].output.as_ref().unwrap().to_string(),
        "12345678"
    );

    let txs = sink.txs.lock().unwrap();
    assert_eq!(txs.len(), 1);
    let tx = &txs[0];
    assert_eq!(tx.idempotency_key, "run-1/submit_tx");
    assert_eq!(tx.to, ORACLE);
    assert_eq!(tx.min_confirmations, 0);
    let expected = fulfillOracleRequestCall {
        requestId: request.request_id,
        payment: request.payment,
        callbackAddress: request.callback,
        callbackFunctionId: request.callback_fn.into(),
        expiration: request.expiration,
        data: B256::from(U256::from(12_345_678u64)),
    }
    .abi_encode();
    assert_eq!(tx.data.as_ref(), expected.as_slice());
    let out = outcome.outputs[0].as_ref().unwrap().as_map().unwrap();
    assert_eq!(out["txId"].to_string(), "1");

    let requests = server.requests.lock().unwrap();
    assert_eq!(requests.len(), 1);
    assert!(
        requests[0].starts_with("GET /price HTTP/1.1"),
        "{}",
        requests[0]
    );
}

#[tokio::test]
async fn raw_uuid_spec_id_form_also_runs_and_upstream_errors_propagate() {
    let server = serve(vec![Route::ok("/price", r#"{"data": {"price": 1.5}}"#)]).await;
    let spec = parse_job_spec(&spec_text("direct_request.toml", &server.base), "dr.toml").unwrap();
    let [_, raw_id] = spec_id_forms(&spec.external_job_id);
    assert_eq!(
        orakel_pipeline::job_id_from_spec_id(raw_id),
        Some(spec.external_job_id)
    );
    // times=1 leaves 1.5: not an integer, so encoding must fail with a clear error.
    let mut cbor = CborBuf::default();
    cbor.add("get", &format!("{}/price", server.base))
        .add("path", "data,price")
        .add_int("times", 1);
    let request = Request::new(raw_id, cbor.0);
    let sink = Arc::new(CaptureSink::default());
    let outcome = runner(sink.clone())
        .execute(
            &spec.pipeline,
            RunContext {
                run_id: "run-2".into(),
                job_spec_vars: spec.job_spec_vars(7),
                job_run_vars: request.job_run_vars(ORACLE),
                max_task_duration: None,
                ..Default::default()
            },
        )
        .await;
    assert_eq!(outcome.state, RunState::Errored);
    assert_eq!(
        outcome.errors,
        vec![
            "task \"encode_data\" (ethabiencode): data.value: expected an integer for uint256, got 1.5"
                .to_owned()
        ]
    );
    assert_eq!(
        outcome.tasks[6].error.as_deref(),
        Some("task \"encode_tx\" (ethabiencode): upstream task \"encode_data\" failed")
    );
    assert!(sink.txs.lock().unwrap().is_empty());
    assert_eq!(outcome.outputs, vec![None]);
}

#[tokio::test]
async fn multi_source_median_tolerates_one_fault_and_fetches_concurrently() {
    let delay = Duration::from_millis(400);
    let server = serve(vec![
        Route {
            delay,
            ..Route::ok("/a", r#"{"data": {"price": "2001.25"}}"#)
        },
        Route {
            delay,
            ..Route::ok("/b", r#"{"data": {"price": 1999.75}}"#)
        },
        Route {
            path: "/broken",
            status: 500,
            body: r#"{"error": "upstream exploded"}"#.to_owned(),
            delay,
        },
    ])
    .await;
    let spec = parse_job_spec(
        &spec_text("multi_source.toml", &server.base),
        "multi_source.toml",
    )
    .unwrap();
    assert_eq!(
        spec.direct_request
            .as_ref()
            .unwrap()
            .min_incoming_confirmations,
        orakel_pipeline::DEFAULT_MIN_INCOMING_CONFIRMATIONS
    );
    let [ascii_id, _] = spec_id_forms(&spec.external_job_id);
    let request = Request::new(ascii_id, Vec::new());
    let sink = Arc::new(CaptureSink::default());
    let started = Instant::now();
    let outcome = runner(sink.clone())
        .execute(
            &spec.pipeline,
            RunContext {
                run_id: "run-3".into(),
                job_spec_vars: spec.job_spec_vars(1),
                job_run_vars: request.job_run_vars(ORACLE),
                max_task_duration: None,
                ..Default::default()
            },
        )
        .await;
    let took = started.elapsed();
    assert_eq!(outcome.state, RunState::Completed, "{:?}", outcome.errors);
    assert!(
        took < delay * 2,
        "three {delay:?} fetches took {took:?}: not concurrent"
    );
    let ds3 = outcome.tasks.iter().find(|t| t.dot_id == "ds3").unwrap();
    let err = ds3.error.as_deref().unwrap();
    assert!(
        err.starts_with("task \"ds3\" (http): GET http://127.0.0.1:"),
        "{err}"
    );
    assert!(
        err.ends_with("/broken returned status 500: upstream exploded"),
        "{err}"
    );
    assert_eq!(outcome.errors.len(), 1);
    let median = outcome
        .tasks
        .iter()
        .find(|t| t.dot_id == "medianized")
        .unwrap();
    assert_eq!(median.output.as_ref().unwrap().to_string(), "2000.5");

    let txs = sink.txs.lock().unwrap();
    assert_eq!(txs[0].gas_limit, Some(500_000));
    let expected = fulfillOracleRequestCall {
        requestId: request.request_id,
        payment: request.payment,
        callbackAddress: request.callback,
        callbackFunctionId: request.callback_fn.into(),
        expiration: request.expiration,
        data: B256::from(U256::from(200_050u64)),
    }
    .abi_encode();
    assert_eq!(txs[0].data.as_ref(), expected.as_slice());
}

#[tokio::test]
async fn multi_source_fails_when_faults_exceed_the_allowance() {
    let server = serve(vec![Route::ok("/a", r#"{"data": {"price": 1}}"#)]).await;
    let spec = parse_job_spec(&spec_text("multi_source.toml", &server.base), "m.toml").unwrap();
    let request = Request::new(spec_id_forms(&spec.external_job_id)[0], Vec::new());
    let outcome = runner(Arc::new(CaptureSink::default()))
        .execute(
            &spec.pipeline,
            RunContext {
                run_id: "run-4".into(),
                job_spec_vars: spec.job_spec_vars(1),
                job_run_vars: request.job_run_vars(ORACLE),
                max_task_duration: None,
                ..Default::default()
            },
        )
        .await;
    assert_eq!(outcome.state, RunState::Errored);
    let median = outcome
        .tasks
        .iter()
        .find(|t| t.dot_id == "medianized")
        .unwrap();
    let err = median.error.as_deref().unwrap();
    assert!(
        err.starts_with(
            "task \"medianized\" (median): too many faulty inputs: 2 of 3 failed, 1 allowed"
        ),
        "{err}"
    );
}

#[tokio::test]
async fn fulfill_oracle_request2_encodes_bytes_payload() {
    let server = serve(vec![Route::ok(
        "/v",
        r#"{"result": {"values": [10, 20, 3.14159]}}"#,
    )])
    .await;
    let spec = parse_job_spec(&spec_text("fulfill2.toml", &server.base), "fulfill2.toml").unwrap();
    assert_eq!(spec.gas_limit, Some(400_000));
    assert!(spec.direct_request.as_ref().unwrap().requesters.is_empty());
    let mut cbor = CborBuf::default();
    cbor.add("get", &format!("{}/v", server.base))
        .add_string_array("path", &["result", "values", "-1"])
        .add_int("times", 100_000);
    let request = Request::new(spec_id_forms(&spec.external_job_id)[0], cbor.0);
    let sink = Arc::new(CaptureSink::default());
    let outcome = runner(sink.clone())
        .execute(
            &spec.pipeline,
            RunContext {
                run_id: "run-5".into(),
                job_spec_vars: spec.job_spec_vars(3),
                job_run_vars: request.job_run_vars(ORACLE),
                max_task_duration: None,
                ..Default::default()
            },
        )
        .await;
    assert_eq!(outcome.state, RunState::Completed, "{:?}", outcome.errors);
    let txs = sink.txs.lock().unwrap();
    let tx = &txs[0];
    assert_eq!(tx.evm_chain_id, Some(31337));
    assert!(tx.fail_on_revert);
    let inner = (request.request_id, U256::from(314_159u64)).abi_encode_params();
    let expected = fulfillOracleRequest2Call {
        requestId: request.request_id,
        payment: request.payment,
        callbackAddress: request.callback,
        callbackFunctionId: request.callback_fn.into(),
        expiration: request.expiration,
        data: inner.into(),
    }
    .abi_encode();
    assert_eq!(tx.data.as_ref(), expected.as_slice());
}

#[test]
fn every_valid_corpus_spec_parses() {
    let dir = crate::common::specs_dir();
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("{{BASE}}", "http://127.0.0.1:1");
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let spec = parse_job_spec(&text, &name).unwrap_or_else(|e| panic!("{e}"));
        assert!(!spec.pipeline.is_empty());
        count += 1;
    }
    assert!(count >= 3);
}
