//! Integration tests of the sample adapter: a real simulator server, the adapter served on
//! loopback, requests in the external-adapter protocol, answers checked against the
//! simulator's own model and against the published JSON Schemas.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::str::FromStr;
use std::time::Duration;

use bigdecimal::BigDecimal;
use orakel_adapter::{AdapterConfig, AdapterHandle, INPUT_SCHEMA, OUTPUT_SCHEMA};
use orakel_sim::{SimConfig, SimHandle, SimServer};
use serde_json::{Value, json};

fn sim_config() -> SimConfig {
    let mut cfg = SimConfig::default().without_faults();
    // Long ticks: "the current tick" stays put for the length of a test.
    cfg.tick = Duration::from_secs(3600);
    cfg
}

async fn sim(cfg: SimConfig) -> SimHandle {
    SimServer::start(cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

async fn adapter_for(sim_url: &str, timeout: Duration) -> AdapterHandle {
    let mut cfg = AdapterConfig::new(sim_url);
    cfg.timeout = timeout;
    orakel_adapter::serve(&cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// Posts a raw body; returns the HTTP status, the raw text and the parsed JSON.
async fn post(adapter: &AdapterHandle, body: &str) -> (u16, String, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{}/", adapter.url()))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    (status, text, json)
}

/// The exact decimal of a JSON number, read from the raw text (never through f64).
fn number_at(text: &str, pointer: &str) -> BigDecimal {
    #[derive(serde::Deserialize)]
    struct Raw {
        result: Box<serde_json::value::RawValue>,
        data: std::collections::BTreeMap<String, Box<serde_json::value::RawValue>>,
    }
    let raw: Raw = serde_json::from_str(text).unwrap();
    let field = match pointer {
        "/result" => raw.result,
        other => {
            let key = other.strip_prefix("/data/").unwrap();
            raw.data.get(key).unwrap().clone()
        }
    };
    BigDecimal::from_str(field.get()).unwrap()
}

fn validator(schema: &str) -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(schema).unwrap();
    jsonschema::draft202012::new(&schema).unwrap()
}

#[tokio::test]
async fn answers_the_simulators_exact_price_for_a_tick() {
    let sim = sim(sim_config()).await;
    let adapter = adapter_for(&sim.base_url(), Duration::from_secs(5)).await;
    let body = json!({"id": "run-7", "data": {"pair": "ETH-USD", "source": 2, "tick": 5}, "meta": {"x": 1}});
    let (status, text, json) = post(&adapter, &body.to_string()).await;
    assert_eq!(status, 200, "{text}");
    let expected = sim.simulator().source_price("ETH-USD", 2, 5).unwrap();
    assert_eq!(number_at(&text, "/result"), expected);
    assert_eq!(number_at(&text, "/data/result"), expected);
    assert_eq!(number_at(&text, "/data/price"), expected);
    // Exact digits: the simulator's 8 decimals are passed through unchanged.
    let digits = text.split("\"result\":").last().unwrap();
    assert!(
        digits.starts_with(&expected.with_scale(8).to_plain_string()),
        "{text}"
    );
    assert_eq!(json["jobRunID"], "run-7");
    assert_eq!(json["statusCode"], 200);
    assert_eq!(json["data"]["pair"], "ETH-USD");
    assert_eq!(json["data"]["source"], 2);
    assert_eq!(json["data"]["tick"], 5);
    let output = validator(OUTPUT_SCHEMA);
    let errors: Vec<String> = output.iter_errors(&json).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert!(validator(INPUT_SCHEMA).is_valid(&body));
}

#[tokio::test]
async fn current_tick_base_quote_aliases_and_numeric_ids() {
    let sim = sim(sim_config()).await;
    let adapter = adapter_for(&sim.base_url(), Duration::from_secs(5)).await;
    let (status, text, json) = post(
        &adapter,
        r#"{"id": 42, "data": {"base": "btc", "quote": "usd"}}"#,
    )
    .await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(json["jobRunID"], "42");
    assert_eq!(json["data"]["pair"], "BTC-USD");
    assert_eq!(json["data"]["source"], 0);
    let tick = json["data"]["tick"].as_u64().unwrap();
    assert_eq!(tick, sim.simulator().current_tick());
    assert_eq!(
        number_at(&text, "/result"),
        sim.simulator().source_price("BTC-USD", 0, tick).unwrap()
    );
    // Without an id the established default "1" is echoed.
    let (status, _, json) = post(&adapter, r#"{"data": {"pair": "link-usd"}}"#).await;
    assert_eq!(status, 200);
    assert_eq!(json["jobRunID"], "1");
    assert_eq!(json["data"]["pair"], "LINK-USD");
}

#[tokio::test]
async fn bad_input_is_a_400_naming_the_schema_location() {
    let sim = sim(sim_config()).await;
    let adapter = adapter_for(&sim.base_url(), Duration::from_secs(5)).await;
    let input = validator(INPUT_SCHEMA);
    let cases = [
        (r#"{"id": "a", "data": {}}"#, "/data"),
        (
            r#"{"id": "a", "data": {"pair": "ETH-USD", "source": -1}}"#,
            "/data/source",
        ),
        (r#"{"id": "a", "data": {"pair": "ETH/USD"}}"#, "/data/pair"),
        (
            r#"{"id": "a", "data": {"pair": "ETH-USD", "base": "ETH", "quote": "USD"}}"#,
            "/data",
        ),
        (
            r#"{"id": "a", "data": {"pair": "ETH-USD", "tick": "5"}}"#,
            "/data/tick",
        ),
        (r#"{"id": "a"}"#, "/"),
    ];
    for (body, at) in cases {
        let (status, text, json) = post(&adapter, body).await;
        assert_eq!(status, 400, "{body}: {text}");
        assert_eq!(json["statusCode"], 400, "{text}");
        assert_eq!(json["status"], "errored", "{text}");
        assert_eq!(json["jobRunID"], "a", "{text}");
        assert_eq!(json["error"]["name"], "AdapterInputError", "{text}");
        let message = json["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!("input schema violated at {at}:")),
            "{body}: {message}"
        );
        let request: Value = serde_json::from_str(body).unwrap();
        assert!(
            !input.is_valid(&request),
            "{body} should violate the schema"
        );
    }
    let (status, _, json) = post(&adapter, "not json").await;
    assert_eq!(status, 400);
    assert!(
        json["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("request body is not JSON"),
        "{json}"
    );
}

#[tokio::test]
async fn provider_errors_follow_the_protocol() {
    let sim = sim(sim_config()).await;
    let adapter = adapter_for(&sim.base_url(), Duration::from_secs(5)).await;
    // Unknown pair: the simulator answers 404.
    let (status, text, json) = post(&adapter, r#"{"id": "p", "data": {"pair": "DOGE-EUR"}}"#).await;
    assert_eq!(status, 502, "{text}");
    assert_eq!(json["statusCode"], 502);
    assert_eq!(json["providerStatusCode"], 404);
    assert_eq!(json["error"]["name"], "AdapterDataProviderError");
    assert_eq!(json["jobRunID"], "p");
    // Source index out of range: also the simulator's 404.
    let (status, _, json) = post(&adapter, r#"{"data": {"pair": "ETH-USD", "source": 99}}"#).await;
    assert_eq!(status, 502);
    assert_eq!(json["providerStatusCode"], 404);

    // Every source answers garbage (HTML with HTTP 200).
    let mut garbage = sim_config();
    garbage.garbage_probability = 1.0;
    let garbage = self::sim(garbage).await;
    let adapter = adapter_for(&garbage.base_url(), Duration::from_secs(5)).await;
    let (status, _, json) = post(&adapter, r#"{"data": {"pair": "ETH-USD"}}"#).await;
    assert_eq!(status, 502);
    assert_eq!(json["providerStatusCode"], 200);
    assert!(
        json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not a price"),
        "{json}"
    );

    // Every source answers 503.
    let mut down = sim_config();
    down.error_probability = 1.0;
    let down = self::sim(down).await;
    let adapter = adapter_for(&down.base_url(), Duration::from_secs(5)).await;
    let (status, _, json) = post(&adapter, r#"{"data": {"pair": "ETH-USD"}}"#).await;
    assert_eq!(status, 502);
    assert_eq!(json["providerStatusCode"], 503);
}

#[tokio::test]
async fn unreachable_and_slow_sources() {
    // Nothing listens on this port once the listener is dropped.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let adapter = adapter_for(&format!("http://{closed}"), Duration::from_secs(5)).await;
    let (status, _, json) = post(&adapter, r#"{"data": {"pair": "ETH-USD"}}"#).await;
    assert_eq!(status, 502);
    assert_eq!(json["error"]["name"], "AdapterConnectionError");
    assert!(json.get("providerStatusCode").is_none(), "{json}");

    let mut slow = sim_config();
    slow.timeout_probability = 1.0;
    slow.timeout_delay = Duration::from_secs(30);
    let slow = sim(slow).await;
    let adapter = adapter_for(&slow.base_url(), Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    let (status, _, json) = post(&adapter, r#"{"data": {"pair": "ETH-USD"}}"#).await;
    assert_eq!(status, 504, "{json}");
    assert_eq!(json["statusCode"], 504);
    assert_eq!(json["error"]["name"], "AdapterTimeoutError");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn publishes_its_schemas() {
    let sim = sim(sim_config()).await;
    let adapter = adapter_for(&sim.base_url(), Duration::from_secs(5)).await;
    let get = |path: &'static str| {
        let url = format!("{}{path}", adapter.url());
        async move {
            let resp = reqwest::get(url).await.unwrap();
            assert_eq!(resp.status().as_u16(), 200, "{path}");
            resp.json::<Value>().await.unwrap()
        }
    };
    let input: Value = serde_json::from_str(INPUT_SCHEMA).unwrap();
    let output: Value = serde_json::from_str(OUTPUT_SCHEMA).unwrap();
    assert_eq!(
        get("/schemas").await,
        json!({"input": input, "output": output})
    );
    assert_eq!(get("/schemas/input").await, input);
    assert_eq!(get("/schemas/output").await, output);
    assert_eq!(get("/health").await, json!({"status": "ok"}));
    for schema in [&input, &output] {
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        jsonschema::meta::validate(schema).unwrap();
    }
    // The committed files are the ones the crate embeds.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
    assert_eq!(
        std::fs::read_to_string(dir.join("input.json")).unwrap(),
        INPUT_SCHEMA
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("output.json")).unwrap(),
        OUTPUT_SCHEMA
    );
}

#[tokio::test]
async fn output_schema_rejects_what_is_not_a_success() {
    let output = validator(OUTPUT_SCHEMA);
    let ok = json!({"jobRunID": "1", "data": {"pair": "ETH-USD", "source": 0, "tick": 1, "price": 1.5, "result": 1.5}, "result": 1.5, "statusCode": 200});
    assert!(output.is_valid(&ok));
    let errored = json!({"jobRunID": "1", "status": "errored", "statusCode": 502, "error": {"name": "x", "message": "y"}});
    assert!(!output.is_valid(&errored));
    let mut string_result = ok.clone();
    string_result["result"] = json!("1.5");
    assert!(!output.is_valid(&string_result));
    let mut negative = ok;
    negative["data"]["price"] = json!(-1);
    assert!(!output.is_valid(&negative));
}

#[test]
fn rejects_unusable_simulator_urls() {
    for url in ["", "ftp://x", "not a url", "mailto:a@b"] {
        let err = orakel_adapter::router(&AdapterConfig::new(url)).unwrap_err();
        assert!(
            err.to_string().starts_with("invalid simulator URL"),
            "{url}: {err}"
        );
    }
}
