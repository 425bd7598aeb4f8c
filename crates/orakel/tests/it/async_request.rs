//! A direct-request job whose price comes from an asynchronous external adapter: the run
//! suspends and sends nothing on chain, survives a SIGKILL of the node without asking the
//! adapter again, and is resumed only by the bridge's own incoming token through the
//! `responseURL` the adapter was given; then the request is fulfilled exactly once with the
//! adapter's value, scaled exactly.

use std::collections::HashMap;
use std::time::Duration;

use alloy::primitives::{Address, B256, U256};
use orakel_devnet::DevnetNode;
use orakel_devnet::spec::{Fulfil, ORACLE_REQUEST_ABI, fulfil_tasks};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::bridges::{Adapter, op};
use crate::harness::{self, PAYMENT, TIMES};

const BRIDGE: &str = "async-price";

/// The adapter's late answer, sent as raw JSON so the price keeps every digit (a float
/// would round it): 1234.567890123456789 × 10^18.
const ANSWER: &str = r#"{"value": {"data": {"result": 1234.567890123456789}}}"#;

/// [`ANSWER`] times the request's `times` (10^18), exactly.
fn scaled_answer() -> U256 {
    "1234567890123456789000".parse().unwrap()
}

/// The `specId` our consumer sends for a job: its id's 32 hex digits as ASCII.
pub(crate) fn spec_id_of(job_id: &Uuid) -> B256 {
    let mut out = [0u8; 32];
    out.copy_from_slice(job_id.simple().to_string().as_bytes());
    B256::from(out)
}

/// The devnet's median price job with the `http` sources replaced by one async bridge task.
fn async_bridge_job(job_id: Uuid, oracle: Address) -> String {
    format!(
        r#"type = "directrequest"
schemaVersion = 1
name = "async adapter price"
externalJobID = "{job_id}"
contractAddress = "{oracle:#x}"
minIncomingConfirmations = 1
maxTaskDuration = "10s"
observationSource = """
    decode_log   [type="ethabidecodelog"
                  abi="{ORACLE_REQUEST_ABI}"
                  data="$(jobRun.logData)"
                  topics="$(jobRun.logTopics)"]
    decode_cbor  [type="cborparse" data="$(decode_log.data)"]
    ask          [type="bridge" name="{BRIDGE}" async="true" timeout="5s"
                  requestData=<{{"data": {{"pair": $(decode_cbor.pair)}}}}>]
    parse        [type="jsonparse" path="data,result" data="$(ask)"]
    scale        [type="multiply" input="$(parse)" times="$(decode_cbor.times)"]
{fulfil}    submit_tx    [type="ethtx" to="{oracle:#x}" data="$(encode_tx)"]

    decode_log -> decode_cbor -> ask -> parse -> scale -> encode_data -> encode_tx -> submit_tx
"""
"#,
        fulfil = fulfil_tasks(Fulfil::Word, "scale"),
    )
}

/// `PATCH`es `url` with a raw JSON body and an optional bearer token.
async fn patch_raw(url: &str, body: &str, token: Option<&str>) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .patch(url)
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn get(node: &DevnetNode, net: &harness::TestNet, path: &str) -> Value {
    let (status, body) = net
        .api(node, reqwest::Method::GET, path, None)
        .await
        .unwrap();
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

/// What the node shows while the run waits: the run running with only the tasks before the
/// bridge done, listed as suspended on `ask`, its request running, no transaction.
async fn assert_still_waiting(net: &harness::TestNet, run_id: i64, request_id: B256, from: u64) {
    let node = &net.nodes[0];
    let waiting = get(node, net, "/v2/suspended_runs").await;
    let runs = waiting["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{waiting}");
    assert_eq!(runs[0]["run_id"], run_id, "{waiting}");
    assert_eq!(
        runs[0]["tasks"],
        json!([{"dot_id": "ask", "bridge": BRIDGE, "answered": false}]),
        "{waiting}"
    );
    let run = get(node, net, &format!("/v2/runs/{run_id}")).await;
    assert_eq!(run["run"]["state"], "running", "{run}");
    let done: Vec<&str> = run["run"]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["dot_id"].as_str().unwrap())
        .collect();
    assert!(
        done.contains(&"decode_log") && done.contains(&"decode_cbor"),
        "{run}"
    );
    for later in ["ask", "parse", "scale", "encode_tx", "submit_tx"] {
        assert!(
            !done.contains(&later),
            "{later} ran before the answer: {run}"
        );
    }
    let requests = get(node, net, "/v2/requests").await;
    let ours: Vec<&Value> = requests["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["request_id"] == format!("{request_id:#x}"))
        .collect();
    assert_eq!(ours.len(), 1, "{requests}");
    assert_eq!(ours[0]["state"], "running", "{requests}");
    let txs = get(node, net, "/v2/txs").await;
    assert_eq!(
        txs["txs"],
        json!([]),
        "a transaction was sent while waiting"
    );
    assert!(
        net.fulfilments(from, None).await.unwrap().is_empty(),
        "fulfilled on chain while waiting"
    );
}

/// A devnet whose consumer's request waits in a suspended run for the async adapter.
struct Suspended {
    net: harness::TestNet,
    adapter: Adapter,
    /// The bridge's incoming token.
    token: String,
    /// Another bridge's incoming token.
    other_token: String,
    from: u64,
    request_id: B256,
    run_id: i64,
    response_url: String,
}

/// Registers the async bridge (and another one), creates the job, sends a request and waits
/// until its run is suspended; checks what the adapter was sent.
async fn suspended_request() -> Suspended {
    let mut net = harness::start(1, false).await;
    let adapter = Adapter::start(json!({"pending": true})).await;
    let post = reqwest::Method::POST;
    let (status, created) = op(
        &net,
        post.clone(),
        "/v2/bridge_types",
        Some(json!({"name": BRIDGE, "url": adapter.url})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let token = created["incomingToken"].as_str().unwrap().to_string();
    let (status, created) = op(
        &net,
        post,
        "/v2/bridge_types",
        Some(json!({"name": "other-adapter", "url": adapter.url})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let other_token = created["incomingToken"].as_str().unwrap().to_string();

    let job_id = Uuid::new_v4();
    let spec = async_bridge_job(job_id, net.nodes[0].oracle);
    net.create_job(&net.nodes[0], &spec).await.unwrap();
    net.nodes[0].spec_id = spec_id_of(&job_id);

    // The request suspends the run at the bridge; the adapter got the pair, the request's
    // meta and the run's resume URL.
    let from = net.block_number().await.unwrap();
    let req = net
        .request_price(0, "ETH-USD", TIMES, PAYMENT)
        .await
        .unwrap();
    let waiting = harness::api_until(
        &net,
        0,
        "/v2/suspended_runs",
        Duration::from_secs(20),
        |b| b["runs"].as_array().is_some_and(|r| r.len() == 1),
    )
    .await;
    let run_id = waiting["runs"][0]["run_id"].as_i64().unwrap();
    let seen = adapter.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let body = &seen[0].body;
    assert_eq!(body["data"]["pair"], "ETH-USD", "{body}");
    assert_eq!(
        body["meta"]["oracleRequest"]["requestId"],
        format!("{:#x}", req.request_id),
        "{body}"
    );
    let response_url = body["responseURL"].as_str().unwrap().to_string();
    assert_eq!(
        response_url,
        format!("{}/v2/resume/{run_id}/ask", net.nodes[0].process.api_url)
    );
    let run = get(&net.nodes[0], &net, &format!("/v2/runs/{run_id}")).await;
    assert!(
        run["run"]["request_id"].as_i64().is_some(),
        "the suspended run serves no request: {run}"
    );
    Suspended {
        net,
        adapter,
        token,
        other_token,
        from,
        request_id: req.request_id,
        run_id,
        response_url,
    }
}

/// After the answer: the request is fulfilled on chain exactly once with the scaled value,
/// by one confirmed transaction of the run; the run completed with every task; the request
/// shows fulfilled; the adapter was asked once; nothing waits any more.
async fn assert_fulfilled_once(s: &Suspended) {
    let Suspended {
        net,
        adapter,
        from,
        request_id,
        run_id,
        ..
    } = s;
    let (from, request_id, run_id) = (*from, *request_id, *run_id);
    let expected = scaled_answer();
    let f = harness::fulfilled(net, request_id, from).await;
    assert_eq!(f.value, expected);
    assert_eq!(f.consumer, net.nodes[0].consumer);
    let consumer = orakel_contracts::PriceConsumer::new(net.nodes[0].consumer, &net.provider);
    assert_eq!(consumer.latestRequestId().call().await.unwrap(), request_id);
    assert_eq!(consumer.latestAnswer().call().await.unwrap(), expected);

    let run = harness::api_until(
        net,
        0,
        &format!("/v2/runs/{run_id}"),
        Duration::from_secs(10),
        |b| b["run"]["state"] != "running",
    )
    .await;
    assert_eq!(run["run"]["state"], "completed", "{run}");
    let tasks = run["run"]["tasks"].as_array().unwrap();
    let task = |id: &str| {
        tasks
            .iter()
            .find(|t| t["dot_id"] == id)
            .unwrap_or_else(|| panic!("no task {id} in {run}"))
    };
    for id in [
        "decode_log",
        "decode_cbor",
        "ask",
        "parse",
        "scale",
        "encode_data",
        "encode_tx",
        "submit_tx",
    ] {
        assert!(task(id)["error"].is_null(), "{id}: {run}");
    }
    assert_eq!(task("parse")["output"], "1234.567890123456789", "{run}");
    assert_eq!(
        task("scale")["output"],
        expected.to_string().as_str(),
        "{run}"
    );

    harness::api_until(net, 0, "/v2/requests", Duration::from_secs(10), |b| {
        b["requests"].as_array().is_some_and(|r| {
            r.iter()
                .any(|r| r["request_id"] == format!("{request_id:#x}") && r["state"] == "fulfilled")
        })
    })
    .await;
    let txs = harness::api_until(net, 0, "/v2/txs", Duration::from_secs(10), |b| {
        b["txs"]
            .as_array()
            .is_some_and(|t| !t.is_empty() && t.iter().all(|t| t["state"] == "confirmed"))
    })
    .await;

    // Let a duplicate that might have been sent get mined, then count.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut per_request: HashMap<B256, usize> = HashMap::new();
    for f in net.fulfilments(from, None).await.unwrap() {
        *per_request.entry(f.request_id).or_default() += 1;
    }
    assert_eq!(per_request, HashMap::from([(request_id, 1)]));
    let txs_now = get(&net.nodes[0], net, "/v2/txs").await;
    assert_eq!(txs_now, txs, "transactions changed after confirmation");
    let txs = txs["txs"].as_array().unwrap();
    assert_eq!(txs.len(), 1, "{txs:?}");
    assert_eq!(txs[0]["run_id"], run_id, "{txs:?}");
    assert_eq!(txs[0]["to_address"], format!("{:#x}", net.nodes[0].oracle));
    assert_eq!(adapter.requests().len(), 1, "the adapter was asked again");
    let waiting = get(&net.nodes[0], net, "/v2/suspended_runs").await;
    assert_eq!(waiting, json!({"runs": []}));
}

/// The whole async direct-request path: suspended with nothing sent, a SIGKILL while
/// waiting, 401 for every token but the bridge's own, then one exact fulfilment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_adapter_request_survives_a_kill_and_is_fulfilled_once_when_resumed() {
    // 1. The request's run is suspended at the bridge, nothing is sent on chain.
    let mut s = suspended_request().await;
    let (from, request_id, run_id) = (s.from, s.request_id, s.run_id);
    let response_url = s.response_url.clone();
    // Give a wrong implementation time to go on anyway.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_still_waiting(&s.net, run_id, request_id, from).await;

    // 2. SIGKILL and restart: the run still waits, and the adapter is not asked again.
    s.net.nodes[0].process.kill().await;
    s.net.nodes[0].process.start().await.expect("node restarts");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        s.adapter.requests().len(),
        1,
        "the adapter was asked again after the restart"
    );
    assert_still_waiting(&s.net, run_id, request_id, from).await;

    // 3. Only this bridge's incoming token may answer.
    let api_token = s.net.api_token(&s.net.nodes[0]);
    for (t, why) in [
        (Some(api_token.as_str()), "the API token"),
        (Some(s.other_token.as_str()), "another bridge's token"),
        (Some("not-a-token"), "a garbage token"),
        (None, "no token"),
    ] {
        let (status, body) = patch_raw(&response_url, ANSWER, t).await;
        assert_eq!(status, 401, "{why}: {body}");
    }
    assert_still_waiting(&s.net, run_id, request_id, from).await;

    let (status, body) = patch_raw(&response_url, ANSWER, Some(&s.token)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["continued"], true, "{body}");
    assert_eq!(body["task"], "ask", "{body}");

    // 4. Fulfilled with the adapter's value scaled exactly, once.
    assert_fulfilled_once(&s).await;

    // The answer is spent: a second one is refused.
    let (status, body) = patch_raw(&response_url, ANSWER, Some(&s.token)).await;
    assert_eq!(status, 409, "{body}");
    s.net.devnet.shutdown().await;
}

/// A kill right after the adapter answered (the fulfilment may already be with the
/// transaction manager, the finished run not yet written) must not lose the stored answer:
/// after the restart the run continues with it, the adapter is not asked again and the
/// request is fulfilled once.
///
/// The suspension is removed only after the finished run is stored (the result writer
/// lingers 50 ms), so a restart in between still finds it and continues from the stored
/// answer instead of running the request from scratch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_adapter_answer_survives_a_kill_right_after_the_resume() {
    let mut s = suspended_request().await;
    let (status, body) = patch_raw(&s.response_url, ANSWER, Some(&s.token)).await;
    assert_eq!(status, 200, "{body}");
    s.net.nodes[0].process.kill().await;
    s.net.nodes[0].process.start().await.expect("node restarts");
    assert_fulfilled_once(&s).await;
    s.net.devnet.shutdown().await;
}
