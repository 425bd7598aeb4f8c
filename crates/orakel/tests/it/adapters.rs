//! External adapters end to end: the adapter built with the established npm framework
//! (`adapters/ea-framework`, run with `node`) and the repo's sample adapter
//! (`orakel-adapter`), both reading the source simulator.
//!
//! 1. The framework adapter alone, spoken to in the external-adapter protocol.
//! 2. A node's `bridge` tasks calling both adapters, registered as bridges with JSON
//!    Schemas (the sample adapter's own published ones), from a webhook job.
//!
//! They need `node` and the adapter's packages (`make setup` installs both).

use std::path::PathBuf;
use std::process::Stdio;
use std::str::FromStr;
use std::time::Duration;

use bigdecimal::BigDecimal;
use orakel_sim::{SimConfig, SimServer};
use serde_json::{Value, json};

use crate::bridges::{call, create_job, finished_run, op};
use crate::harness;

/// The framework adapter running as a `node` child process (killed on drop).
struct FrameworkAdapter {
    url: String,
    _child: tokio::process::Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl FrameworkAdapter {
    /// Starts `adapters/ea-framework` against the simulator at `sim_url` on a free port.
    async fn start(sim_url: &str) -> FrameworkAdapter {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../adapters/ea-framework");
        assert!(
            root.join("node_modules/@chainlink/external-adapter-framework")
                .is_dir(),
            "the framework adapter's packages are missing: run `make setup`"
        );
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("adapter.log");
        let child = tokio::process::Command::new("node")
            .arg("src/index.js")
            .current_dir(&root)
            .env("SIM_URL", sim_url)
            .env("EA_PORT", port.to_string())
            .env("EA_HOST", "127.0.0.1")
            .env("LOG_LEVEL", "warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .kill_on_drop(true)
            .spawn()
            .expect("`node` not found: run `make setup`");
        FrameworkAdapter {
            url: format!("http://127.0.0.1:{port}/"),
            _child: child,
            log,
            _dir: dir,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Posts a request; returns the HTTP status and the raw body (`None` if not connected).
    async fn post(&self, body: &Value) -> Option<(u16, String)> {
        let resp = reqwest::Client::new()
            .post(&self.url)
            .json(body)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .ok()?;
        let status = resp.status().as_u16();
        Some((status, resp.text().await.unwrap_or_default()))
    }

    /// Posts `body` until the adapter answers 200 (it starts listening, then warms its cache).
    async fn until_ok(&self, body: &Value) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        let mut last = None;
        loop {
            if let Some((status, text)) = self.post(body).await {
                if status == 200 {
                    return text;
                }
                last = Some((status, text));
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the framework adapter never answered 200; last {last:?}\nlog:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// The exact decimal of the JSON number at `path` in `text` (never through f64).
fn exact_number(text: &str, path: &[&str]) -> BigDecimal {
    let mut raw: Box<serde_json::value::RawValue> = serde_json::from_str(text).unwrap();
    for key in path {
        let map: std::collections::BTreeMap<String, Box<serde_json::value::RawValue>> =
            serde_json::from_str(raw.get()).unwrap();
        raw = map
            .get(*key)
            .unwrap_or_else(|| panic!("no {key} in {text}"))
            .clone();
    }
    BigDecimal::from_str(raw.get()).unwrap_or_else(|e| panic!("{}: {e}", raw.get()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn framework_adapter_answers_the_simulators_price() {
    let mut cfg = SimConfig::default().without_faults();
    cfg.tick = Duration::from_secs(2);
    let sim = SimServer::start(cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let adapter = FrameworkAdapter::start(&sim.base_url()).await;

    for (pair, source) in [("ETH-USD", 0u64), ("BTC-USD", 3)] {
        let request = json!({"id": "run-1", "data": {"pair": pair, "source": source}, "meta": {}});
        let text = adapter.until_ok(&request).await;
        let body: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(body["statusCode"], 200, "{text}");
        assert_eq!(body["data"]["pair"], pair, "{text}");
        assert_eq!(body["data"]["source"], source, "{text}");
        // The adapter's answer is the price that source served in the tick it names.
        let tick = body["data"]["tick"].as_u64().unwrap();
        let want = sim
            .simulator()
            .source_price(pair, source as usize, tick)
            .unwrap();
        assert_eq!(exact_number(&text, &["result"]), want, "{text}");
        assert_eq!(exact_number(&text, &["data", "result"]), want, "{text}");
    }

    // Established error answers: bad input is a 400 from the framework's validation; a
    // source that fails is the provider error the framework caches for the request.
    let (status, text) = adapter.post(&json!({"id": "x", "data": {}})).await.unwrap();
    assert_eq!(status, 400, "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["status"], "errored", "{text}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("pair"),
        "{text}"
    );

    let unknown = json!({"id": "y", "data": {"pair": "DOGE-EUR"}});
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (status, text) = adapter.post(&unknown).await.unwrap();
        assert_ne!(status, 200, "{text}");
        if status == 502 {
            let body: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(body["statusCode"], 502, "{text}");
            assert!(
                body["errorMessage"].as_str().unwrap().contains("404"),
                "{text}"
            );
            break;
        }
        // 504 while the background fetch has not finished yet.
        assert_eq!(status, 504, "{text}");
        assert!(
            tokio::time::Instant::now() < deadline,
            "no provider error: {text}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A webhook job whose `bridge` tasks call both adapters through a node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_bridges_to_the_sample_and_the_framework_adapter() {
    let net = harness::start(1, false).await;
    let sim_url = net.sim.base_url();
    let sample = orakel_adapter::serve(
        &orakel_adapter::AdapterConfig::new(sim_url.clone()),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let framework = FrameworkAdapter::start(&sim_url).await;
    // Warm the framework adapter's cache for the request the job makes.
    framework
        .until_ok(&json!({"id": "warm", "data": {"pair": "ETH-USD", "source": 1}}))
        .await;

    // The sample adapter publishes its contract; the node enforces it on every call.
    let schemas: Value = reqwest::get(format!("{}/schemas", sample.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let post = reqwest::Method::POST;
    let (status, body) = op(
        &net,
        post.clone(),
        "/v2/bridge_types",
        Some(json!({
            "name": "sim-sample",
            "url": format!("{}/", sample.url()),
            "inputSchema": schemas["input"],
            "outputSchema": schemas["output"],
        })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = op(
        &net,
        post.clone(),
        "/v2/bridge_types",
        Some(json!({
            "name": "sim-framework",
            "url": framework.url,
            "outputSchema": {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "required": ["result", "data"],
                "properties": {
                    "result": {"type": "number"},
                    "data": {"type": "object", "required": ["tick"]}
                }
            },
        })),
    )
    .await;
    assert_eq!(status, 201, "{body}");

    let tick = net.sim.simulator().current_tick();
    let spec = format!(
        r#"type = "webhook"
schemaVersion = 1
name = "two adapters"
observationSource = """
    sample      [type="bridge" name="sim-sample" requestData=<{{"data": {{"pair": "ETH-USD", "source": 2, "tick": {tick}}}}}>]
    sample_px   [type="jsonparse" path="data,result" index=0]
    framework   [type="bridge" name="sim-framework" requestData=<{{"data": {{"pair": "ETH-USD", "source": 1}}}}>]
    fw_px       [type="jsonparse" path="result" index=1]
    fw_tick     [type="jsonparse" data="$(framework)" path="data,tick" index=2]
    bad_input   [type="bridge" name="sim-sample" requestData=<{{"data": {{"pair": "ETH/USD"}}}}> index=3]
    sample -> sample_px
    framework -> fw_px
    framework -> fw_tick
"""
"#
    );
    let job = create_job(&net, &spec).await;
    let token = net.api_token(&net.nodes[0]);
    let (status, started) = call(
        &net.nodes[0],
        post,
        &format!("/v2/jobs/{job}/runs"),
        None,
        Some(&token),
    )
    .await;
    assert_eq!(status, 201, "{started}");
    let run = finished_run(&net, started["run"]["id"].as_i64().unwrap()).await;

    // The input schema stops the malformed request before it is sent, so the run errors
    // on that task alone; the two good calls completed.
    assert_eq!(run["state"], "errored", "{run}");
    let outputs = run["outputs"].as_array().unwrap();
    let number =
        |v: &Value| BigDecimal::from_str(v.as_str().unwrap_or_else(|| panic!("{run}"))).unwrap();
    let sim = net.sim.simulator();
    assert_eq!(
        number(&outputs[0]),
        sim.source_price("ETH-USD", 2, tick).unwrap(),
        "{run}"
    );
    let fw_tick = number(&outputs[2]).to_string().parse::<u64>().unwrap();
    assert_eq!(
        number(&outputs[1]),
        sim.source_price("ETH-USD", 1, fw_tick).unwrap(),
        "{run}"
    );
    assert!(outputs[3].is_null(), "{run}");
    let errors = run.to_string();
    assert!(errors.contains("violates input schema"), "{run}");
    sample.shutdown().await;
    net.devnet.shutdown().await;
}
