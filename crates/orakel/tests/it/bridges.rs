//! Bridges end to end: registration over the API and the CLI (tokens, schemas, name rules,
//! 409 while used), `bridge` tasks calling a real adapter process-local HTTP server, and
//! asynchronous bridges resumed with the bridge's incoming token — across a node restart.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use orakel_devnet::DevnetNode;
use serde_json::{Value, json};

use crate::harness::{self, TestNet};

/// Calls a node's API with a JSON body and an explicit bearer token (`None`: no header).
pub async fn call(
    node: &DevnetNode,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
    token: Option<&str>,
) -> (u16, Value) {
    let mut req = reqwest::Client::new().request(method, format!("{}{path}", node.process.api_url));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Calls a node's API as its operator.
pub async fn op(
    net: &TestNet,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let token = net.api_token(&net.nodes[0]);
    call(&net.nodes[0], method, path, body, Some(&token)).await
}

/// Creates a job from TOML; panics with the node's answer unless it is accepted.
pub async fn create_job(net: &TestNet, spec: &str) -> i64 {
    let body = net.create_job(&net.nodes[0], spec).await.unwrap();
    body["job"]["id"].as_i64().unwrap()
}

/// Runs the `orakel` binary against the node; returns (success, stdout, stderr).
pub fn cli(net: &TestNet, args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_orakel"))
        .args(args)
        .arg("--root")
        .arg(&net.nodes[0].process.root)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Polls a run until it is no longer `running`.
pub async fn finished_run(net: &TestNet, run_id: i64) -> Value {
    harness::api_until(
        net,
        0,
        &format!("/v2/runs/{run_id}"),
        Duration::from_secs(20),
        |b| b["run"]["state"] != "running",
    )
    .await["run"]
        .clone()
}

/// A request an adapter received.
#[derive(Clone, Debug)]
pub struct Received {
    pub authorization: Option<String>,
    pub body: Value,
}

/// An external adapter on loopback: answers every request with `reply` and records it.
pub struct Adapter {
    pub url: String,
    pub received: Arc<Mutex<Vec<Received>>>,
}

impl Adapter {
    pub async fn start(reply: Value) -> Adapter {
        let received = Arc::new(Mutex::new(Vec::new()));
        let state = (received.clone(), reply);
        let app = axum::Router::new()
            .route(
                "/",
                axum::routing::post(
                    |State((log, reply)): State<(Arc<Mutex<Vec<Received>>>, Value)>,
                     headers: HeaderMap,
                     body: String| async move {
                        log.lock().unwrap().push(Received {
                            authorization: headers
                                .get("authorization")
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_string),
                            body: serde_json::from_str(&body).unwrap_or(Value::Null),
                        });
                        axum::Json(reply)
                    },
                ),
            )
            .with_state(state);
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Adapter {
            url: format!("http://{addr}/"),
            received,
        }
    }

    pub fn requests(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

const SCHEMA_PAIR: &str =
    r#"{"type": "object", "required": ["pair"], "properties": {"pair": {"type": "string"}}}"#;

fn webhook_spec(name: &str, bridge: &str, extra: &str) -> String {
    format!(
        r#"type = "webhook"
schemaVersion = 1
name = "{name}"
observationSource = """
    ask   [type="bridge" name="{bridge}" {extra} requestData=<{{"pair": "ETH-USD"}}>]
    parse [type="jsonparse" path="data,price" data="$(ask)"]
    ask -> parse
"""
"#
    )
}

/// Registration, listing, updates, name and schema checks, 409 while used, over the API;
/// then a job's `bridge` task calls the adapter with the outgoing token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bridges_over_the_api_and_a_sync_bridge_task() {
    let net = harness::start(1, false).await;
    let adapter = Adapter::start(json!({"data": {"price": "3085.25"}, "statusCode": 200})).await;
    let post = reqwest::Method::POST;

    // Bad input is refused with the field named.
    let (status, body) = op(
        &net,
        post.clone(),
        "/v2/bridge_types",
        Some(json!({"name": "has space", "url": adapter.url})),
    )
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (400, Some("name")),
        "{body}"
    );
    let (status, body) = op(
        &net,
        post.clone(),
        "/v2/bridge_types",
        Some(json!({"name": "price", "url": "ftp://example.com"})),
    )
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (400, Some("url")),
        "{body}"
    );
    let (status, body) = op(
        &net,
        post.clone(),
        "/v2/bridge_types",
        Some(json!({"name": "price", "url": adapter.url, "inputSchema": {"type": "objekt"}})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["field"], "inputSchema", "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("invalid input schema"),
        "{body}"
    );
    let (status, body) = op(
        &net,
        post.clone(),
        "/v2/bridge_types",
        Some(json!({"name": "price", "url": adapter.url, "minimumContractPayment": "-5"})),
    )
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (400, Some("minimumContractPayment")),
        "{body}"
    );
    let (status, body) = op(
        &net,
        post.clone(),
        "/v2/bridge_types",
        Some(json!({"name": "price", "url": adapter.url, "colour": "red"})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("colour"), "{body}");

    // Created: both tokens are shown once; names are folded to lower case.
    let (status, created) = op(
        &net,
        post.clone(),
        "/v2/bridge_types",
        Some(json!({
            "name": "Price-Adapter",
            "url": adapter.url,
            "confirmations": 2,
            "minimumContractPayment": 1000,
            "inputSchema": serde_json::from_str::<Value>(SCHEMA_PAIR).unwrap(),
        })),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let incoming = created["incomingToken"].as_str().unwrap().to_string();
    let outgoing = created["outgoingToken"].as_str().unwrap().to_string();
    assert_eq!((incoming.len(), outgoing.len()), (48, 48));
    assert_ne!(incoming, outgoing);
    assert_eq!(created["bridge"]["name"], "price-adapter");
    assert_eq!(created["bridge"]["minimum_contract_payment"], "1000");
    let (status, dup) = op(
        &net,
        post.clone(),
        "/v2/bridge_types",
        Some(json!({"name": "price-adapter", "url": adapter.url})),
    )
    .await;
    assert_eq!(status, 409, "{dup}");

    // Listing and showing never reveal a token.
    let (_, list) = op(&net, reqwest::Method::GET, "/v2/bridge_types", None).await;
    let text = list.to_string();
    assert!(
        !text.contains(&incoming) && !text.contains(&outgoing),
        "{text}"
    );
    assert_eq!(list["bridges"].as_array().unwrap().len(), 1);
    let (status, shown) = op(
        &net,
        reqwest::Method::GET,
        "/v2/bridge_types/PRICE-ADAPTER",
        None,
    )
    .await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["bridge"]["confirmations"], 2);
    assert_eq!(shown["bridge"]["input_schema"]["required"][0], "pair");

    // A partial update keeps the rest; a bad schema in an update changes nothing.
    let (status, updated) = op(
        &net,
        reqwest::Method::PATCH,
        "/v2/bridge_types/price-adapter",
        Some(json!({"confirmations": 5, "outputSchema": {"type": "object", "required": ["data"]}})),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["bridge"]["confirmations"], 5);
    assert_eq!(updated["bridge"]["url"], adapter.url);
    assert_eq!(updated["bridge"]["input_schema"]["required"][0], "pair");
    let (status, body) = op(
        &net,
        reqwest::Method::PATCH,
        "/v2/bridge_types/price-adapter",
        Some(json!({"outputSchema": {"minimum": "zero"}})),
    )
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (400, Some("outputSchema")),
        "{body}"
    );
    let (status, _) = op(
        &net,
        reqwest::Method::PATCH,
        "/v2/bridge_types/nope",
        Some(json!({"confirmations": 1})),
    )
    .await;
    assert_eq!(status, 404);

    // A job naming an unknown bridge is refused at the task's name, with line and column.
    let bad = webhook_spec("unknown bridge", "no-such-bridge", "");
    let (status, body) = net
        .api(&net.nodes[0], post.clone(), "/v2/jobs", Some(bad.clone()))
        .await
        .unwrap();
    assert_eq!(status, 400, "{body}");
    let line = bad
        .lines()
        .position(|l| l.contains("no-such-bridge"))
        .unwrap()
        + 1;
    let column = bad
        .lines()
        .nth(line - 1)
        .unwrap()
        .find("no-such-bridge")
        .unwrap()
        + 1;
    assert_eq!(
        (body["line"].as_u64(), body["column"].as_u64()),
        (Some(line as u64), Some(column as u64)),
        "{body}"
    );
    assert!(
        body["error"].as_str().unwrap().contains("no bridge named"),
        "{body}"
    );

    // A job using the bridge: the task calls the adapter with the outgoing token and the
    // request data, and parses its answer.
    let job = create_job(&net, &webhook_spec("sync bridge", "Price-Adapter", "")).await;
    let token = net.api_token(&net.nodes[0]);
    let (status, started) = call(
        &net.nodes[0],
        post.clone(),
        &format!("/v2/jobs/{job}/runs"),
        None,
        Some(&token),
    )
    .await;
    assert_eq!(status, 201, "{started}");
    let run = finished_run(&net, started["run"]["id"].as_i64().unwrap()).await;
    assert_eq!(run["state"], "completed", "{run}");
    assert_eq!(run["outputs"], json!(["3085.25"]), "{run}");
    let seen = adapter.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].authorization.as_deref(),
        Some(format!("Bearer {outgoing}").as_str())
    );
    assert_eq!(seen[0].body["pair"], "ETH-USD", "{:?}", seen[0].body);

    // Deleting a bridge a job uses is refused; after the job is gone it works.
    let (status, body) = op(
        &net,
        reqwest::Method::DELETE,
        "/v2/bridge_types/price-adapter",
        None,
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains(&format!("job {job}")),
        "{body}"
    );
    let (status, _) = op(
        &net,
        reqwest::Method::DELETE,
        &format!("/v2/jobs/{job}"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = op(
        &net,
        reqwest::Method::DELETE,
        "/v2/bridge_types/price-adapter",
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = op(
        &net,
        reqwest::Method::GET,
        "/v2/bridge_types/price-adapter",
        None,
    )
    .await;
    assert_eq!(status, 404);
    net.devnet.shutdown().await;
}

/// The CLI: create from flags and from a TOML file with schema files, list, show, update,
/// delete; a bad schema file is refused with the node's reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bridges_over_the_cli() {
    let net = harness::start(1, false).await;
    let dir = net.root().join("cli-bridges");
    std::fs::create_dir_all(&dir).unwrap();
    let schema = dir.join("in.json");
    std::fs::write(&schema, SCHEMA_PAIR).unwrap();
    let bad_schema = dir.join("bad.json");
    std::fs::write(&bad_schema, r#"{"type": 12}"#).unwrap();

    let (ok, out, err) = cli(
        &net,
        &[
            "bridges",
            "create",
            "--name",
            "flagged",
            "--url",
            "http://127.0.0.1:9/a",
            "--confirmations",
            "3",
            "--min-payment",
            "42",
            "--input-schema",
            schema.to_str().unwrap(),
        ],
    );
    assert!(ok, "{out}{err}");
    assert!(out.contains("created bridge flagged"), "{out}");
    let incoming = out
        .lines()
        .find_map(|l| l.strip_prefix("incoming token: "))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .unwrap();
    assert_eq!(incoming.len(), 48, "{out}");

    let file = dir.join("bridge.toml");
    std::fs::write(
        &file,
        "name = \"from-file\"\nurl = \"https://adapter.example/v1\"\nminimumContractPayment = \"7\"\n\n[outputSchema]\ntype = \"object\"\nrequired = [\"data\"]\n",
    )
    .unwrap();
    let (ok, out, err) = cli(&net, &["bridges", "create", file.to_str().unwrap()]);
    assert!(ok, "{out}{err}");

    let (ok, out, err) = cli(
        &net,
        &[
            "bridges",
            "create",
            "--name",
            "broken",
            "--url",
            "http://127.0.0.1:9/",
            "--input-schema",
            bad_schema.to_str().unwrap(),
        ],
    );
    assert!(!ok, "{out}");
    assert!(
        err.contains("inputSchema") && err.contains("invalid input schema"),
        "{err}"
    );
    let (ok, _, err) = cli(&net, &["bridges", "create", "--url", "http://127.0.0.1:9/"]);
    assert!(!ok && err.contains("`name` is missing"), "{err}");

    let (ok, out, _) = cli(&net, &["bridges", "list"]);
    assert!(ok);
    let names: Vec<&str> = out
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(names, ["flagged", "from-file"], "{out}");
    assert!(out.contains("in ") && out.contains("out "), "{out}");
    assert!(!out.contains(&incoming));

    let (ok, out, err) = cli(
        &net,
        &[
            "bridges",
            "update",
            "flagged",
            "--min-payment",
            "100",
            "--no-input-schema",
        ],
    );
    assert!(ok, "{out}{err}");
    let (ok, out, _) = cli(&net, &["bridges", "show", "flagged"]);
    assert!(ok);
    assert!(out.contains("minimum contract payment  100"), "{out}");
    assert!(out.contains("input schema              none"), "{out}");
    assert!(out.contains("confirmations             3"), "{out}");

    let (ok, out, err) = cli(&net, &["bridges", "delete", "from-file"]);
    assert!(ok, "{out}{err}");
    let (ok, _, err) = cli(&net, &["bridges", "show", "from-file"]);
    assert!(!ok && err.contains("no bridge named"), "{err}");
    net.devnet.shutdown().await;
}

/// An async bridge suspends the run; the resume must carry that bridge's incoming token
/// (the API token and other bridges' tokens get 401); the suspension survives a SIGKILL of
/// the node; the resumed value completes the run; a second resume is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_bridge_is_resumed_only_with_its_own_token() {
    let mut net = harness::start(1, false).await;
    let slow = Adapter::start(json!({"pending": true})).await;
    let other = Adapter::start(json!({"data": {"price": "1"}})).await;
    let post = reqwest::Method::POST;
    let (_, created) = op(
        &net,
        post.clone(),
        "/v2/bridge_types",
        Some(json!({"name": "slow", "url": slow.url, "outputSchema": {"type": "object", "required": ["data"]}})),
    )
    .await;
    let token = created["incomingToken"].as_str().unwrap().to_string();
    let (_, created) = op(
        &net,
        post.clone(),
        "/v2/bridge_types",
        Some(json!({"name": "other", "url": other.url})),
    )
    .await;
    let other_token = created["incomingToken"].as_str().unwrap().to_string();
    let job = create_job(
        &net,
        &webhook_spec("async bridge", "slow", "async=\"true\""),
    )
    .await;

    // Run twice: one run is answered with a value, the other with a schema violation.
    let api_token = net.api_token(&net.nodes[0]);
    let mut runs = Vec::new();
    for _ in 0..2 {
        let (status, started) = call(
            &net.nodes[0],
            post.clone(),
            &format!("/v2/jobs/{job}/runs"),
            Some(json!({})),
            Some(&api_token),
        )
        .await;
        assert_eq!(status, 201, "{started}");
        runs.push(started["run"]["id"].as_i64().unwrap());
    }
    let waiting = harness::api_until(
        &net,
        0,
        "/v2/suspended_runs",
        Duration::from_secs(15),
        |b| b["runs"].as_array().is_some_and(|r| r.len() == 2),
    )
    .await;
    assert_eq!(
        waiting["runs"][0]["tasks"][0]["bridge"], "slow",
        "{waiting}"
    );
    let seen = slow.requests();
    let urls: Vec<String> = seen
        .iter()
        .map(|r| r.body["responseURL"].as_str().unwrap().to_string())
        .collect();
    for run in &runs {
        let expected = format!("{}/v2/resume/{run}/ask", net.nodes[0].process.api_url);
        assert!(urls.contains(&expected), "{urls:?} lacks {expected}");
    }
    let (run, second) = (runs[0], runs[1]);
    // The bare run path answers the run's first waiting task of the caller's bridge.
    let path = format!("/v2/resume/{run}");
    let patch = reqwest::Method::PATCH;
    let value = json!({"value": {"data": {"price": "64000.5"}}});

    // The node survives a SIGKILL with the runs suspended.
    net.nodes[0].process.kill().await;
    net.nodes[0].process.start().await.expect("node restarts");
    let node = &net.nodes[0];

    for (token, why) in [
        (Some(api_token.as_str()), "API token"),
        (Some(other_token.as_str()), "other bridge's token"),
        (None, "no token"),
        (Some("0123"), "garbage"),
    ] {
        let (status, body) = call(node, patch.clone(), &path, Some(value.clone()), token).await;
        assert_eq!(status, 401, "{why}: {body}");
    }
    let (status, _) = call(
        node,
        patch.clone(),
        "/v2/resume/999999",
        Some(value.clone()),
        Some(&token),
    )
    .await;
    assert_eq!(status, 404);
    let (status, body) = call(
        node,
        patch.clone(),
        &path,
        Some(json!({"result": 1})),
        Some(&token),
    )
    .await;
    assert_eq!(status, 400, "{body}");

    let (status, body) = call(
        node,
        patch.clone(),
        &path,
        Some(value.clone()),
        Some(&token),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["continued"], true, "{body}");
    let finished = finished_run(&net, run).await;
    assert_eq!(finished["state"], "completed", "{finished}");
    assert_eq!(finished["outputs"], json!(["64000.5"]), "{finished}");
    let (status, body) = call(
        node,
        patch.clone(),
        &path,
        Some(value.clone()),
        Some(&token),
    )
    .await;
    assert_eq!(status, 409, "{body}");

    // A value violating the bridge's output schema fails the task with the schema path.
    let (status, body) = call(
        node,
        patch.clone(),
        &format!("/v2/resume/{second}"),
        Some(json!({"value": {"price": 1}})),
        Some(&token),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let failed = finished_run(&net, second).await;
    assert_eq!(failed["state"], "errored", "{failed}");
    let errors = failed["errors"].to_string();
    assert!(
        errors.contains("output schema") && errors.contains("required"),
        "{errors}"
    );
    net.devnet.shutdown().await;
}

/// Two async tasks of one run wait on the same bridge. Each gets its own `responseURL`, so
/// answering them in the reverse order still puts every answer on its own task.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_waiting_tasks_on_one_bridge_keep_their_own_answers() {
    let net = harness::start(1, false).await;
    let slow = Adapter::start(json!({"pending": true})).await;
    let post = reqwest::Method::POST;
    let (_, created) = op(
        &net,
        post.clone(),
        "/v2/bridge_types",
        Some(json!({"name": "slow", "url": slow.url})),
    )
    .await;
    let token = created["incomingToken"].as_str().unwrap().to_string();
    let spec = r#"type = "webhook"
schemaVersion = 1
name = "two waits"
observationSource = """
    eth [type="bridge" name="slow" async="true" requestData=<{"pair": "ETH-USD"}> index=0]
    btc [type="bridge" name="slow" async="true" requestData=<{"pair": "BTC-USD"}> index=1]
    eth_price [type="jsonparse" path="price" data="$(eth)" index=0]
    btc_price [type="jsonparse" path="price" data="$(btc)" index=1]
    eth -> eth_price
    btc -> btc_price
"""
"#;
    let job = create_job(&net, spec).await;
    let api_token = net.api_token(&net.nodes[0]);
    let (status, started) = call(
        &net.nodes[0],
        post,
        &format!("/v2/jobs/{job}/runs"),
        Some(json!({})),
        Some(&api_token),
    )
    .await;
    assert_eq!(status, 201, "{started}");
    let run = started["run"]["id"].as_i64().unwrap();
    harness::api_until(
        &net,
        0,
        "/v2/suspended_runs",
        Duration::from_secs(15),
        |b| {
            b["runs"]
                .as_array()
                .is_some_and(|r| r.len() == 1 && r[0]["tasks"].as_array().map(Vec::len) == Some(2))
        },
    )
    .await;
    let url_of = |pair: &str| {
        slow.requests()
            .iter()
            .find(|r| r.body["pair"] == pair)
            .map(|r| r.body["responseURL"].as_str().unwrap().to_string())
            .unwrap_or_else(|| panic!("no request for {pair}"))
    };
    let (eth_url, btc_url) = (url_of("ETH-USD"), url_of("BTC-USD"));
    assert!(
        eth_url.ends_with(&format!("/v2/resume/{run}/eth")),
        "{eth_url}"
    );
    assert!(
        btc_url.ends_with(&format!("/v2/resume/{run}/btc")),
        "{btc_url}"
    );

    // The BTC answer first, through its own URL.
    let client = reqwest::Client::new();
    for (url, price) in [(&btc_url, "97000.25"), (&eth_url, "3100.5")] {
        let resp = client
            .patch(url.as_str())
            .bearer_auth(&token)
            .header("content-type", "application/json")
            // Adapters send their whole response shape; extra fields are ignored.
            .body(format!(
                r#"{{"value": {{"price": {price}}}, "statusCode": 200, "jobRunID": "{run}"}}"#
            ))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        assert_eq!(status, 200, "{}", resp.text().await.unwrap());
    }
    let done = finished_run(&net, run).await;
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(done["outputs"], json!(["3100.5", "97000.25"]), "{done}");
    net.devnet.shutdown().await;
}
