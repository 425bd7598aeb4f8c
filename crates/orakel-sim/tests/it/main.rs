//! End-to-end tests of the simulator server: start it on 127.0.0.1:0 and hit every route.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use orakel_sim::{
    BigDecimal, Error, Observation, ObservationKind, PairConfig, SimConfig, SimHandle, SimServer,
    Simulator,
};
use serde_json::Value;

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

async fn start(config: SimConfig) -> SimHandle {
    SimServer::start(config, loopback()).await.unwrap()
}

thread_local! {
    // One client per test thread (each `#[tokio::test]` runs on its own thread and runtime):
    // building a client is costly, and its pool must not outlive the runtime.
    static CLIENT: reqwest::Client = reqwest::Client::new();
}

async fn get(url: &str) -> (u16, String, String) {
    let client = CLIENT.with(Clone::clone);
    let resp = client.get(url).send().await.unwrap();
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, ct, resp.text().await.unwrap())
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

fn expected_price_body(pair: &str, source: usize, price: &BigDecimal, tick: u64) -> String {
    format!(
        r#"{{"pair":"{pair}","source":{source},"price":{},"tick":{tick}}}"#,
        price.to_plain_string()
    )
}

/// Asserts a 400 whose JSON error names `parameter`.
fn assert_bad(resp: (u16, String, String), parameter: &str) {
    let (status, ct, body) = resp;
    assert_eq!(status, 400, "{body}");
    assert!(ct.starts_with("application/json"), "{ct}");
    let v = json(&body);
    assert_eq!(v["parameter"], parameter, "{body}");
    assert!(v["error"].as_str().unwrap().contains(parameter), "{body}");
}

#[tokio::test]
async fn every_source_serves_exactly_its_observation() {
    let config = SimConfig {
        outlier_probability: 0.2,
        garbage_probability: 0.1,
        timeout_probability: 0.1,
        error_probability: 0.1,
        timeout_delay: Duration::from_millis(50),
        ..SimConfig::default()
    };
    let h = start(config).await;
    let sim = h.simulator().clone();
    let mut seen: HashMap<ObservationKind, u64> = HashMap::new();
    for pair in ["ETH-USD", "LINK-USD"] {
        for tick in 1_000..1_040u64 {
            for source in 0..5 {
                let obs = sim.observation(pair, source, tick).unwrap();
                *seen.entry(obs.kind()).or_default() += 1;
                let url = format!("{}&tick={tick}", h.source_url(source, pair));
                let started = Instant::now();
                let (status, ct, body) = get(&url).await;
                match &obs {
                    Observation::Price(v) | Observation::Outlier(v) => {
                        assert_eq!(status, 200);
                        assert_eq!(ct, "application/json");
                        assert_eq!(body, expected_price_body(pair, source, v, tick));
                        let parsed = json(&body);
                        assert_eq!(parsed["source"], source);
                        assert_eq!(parsed["tick"], tick);
                    }
                    Observation::Garbage => {
                        assert_eq!(status, 200);
                        assert!(serde_json::from_str::<Value>(&body).is_err(), "{body}");
                    }
                    Observation::ServerError => {
                        assert_eq!(status, 503);
                        assert!(json(&body)["error"].is_string());
                    }
                    Observation::Timeout => {
                        assert!(started.elapsed() >= Duration::from_millis(50));
                        assert_eq!(status, 200);
                        let honest = sim.source_price(pair, source, tick).unwrap();
                        assert_eq!(body, expected_price_body(pair, source, &honest, tick));
                    }
                }
                // Same tick, same answer.
                if obs.value().is_some() {
                    assert_eq!(get(&url).await.2, body);
                    *seen.entry(obs.kind()).or_default() += 1;
                }
            }
        }
    }
    for kind in [
        ObservationKind::Price,
        ObservationKind::Outlier,
        ObservationKind::Garbage,
        ObservationKind::Timeout,
        ObservationKind::ServerError,
    ] {
        assert!(
            seen.get(&kind).copied().unwrap_or(0) > 0,
            "never saw {kind:?}"
        );
    }
    let stats = h.stats();
    assert_eq!(stats.price, seen[&ObservationKind::Price]);
    assert_eq!(stats.outlier, seen[&ObservationKind::Outlier]);
    assert_eq!(stats.garbage, seen[&ObservationKind::Garbage]);
    assert_eq!(stats.timeout, seen[&ObservationKind::Timeout]);
    assert_eq!(stats.server_error, seen[&ObservationKind::ServerError]);
    h.shutdown().await;
}

#[tokio::test]
async fn price_route_uses_the_current_tick() {
    let h = start(SimConfig {
        tick: Duration::from_secs(3_600),
        ..SimConfig::default().without_faults()
    })
    .await;
    let sim = h.simulator();
    for source in 0..5 {
        let before = sim.tick_at(SystemTime::now());
        let (status, _, body) = get(&h.source_url(source, "BTC-USD")).await;
        let after = sim.tick_at(SystemTime::now());
        assert_eq!(status, 200);
        let v = json(&body);
        let tick = v["tick"].as_u64().unwrap();
        assert!(before <= tick && tick <= after);
        let Some(Observation::Price(p)) = sim.observation("BTC-USD", source, tick) else {
            panic!("faults are off");
        };
        assert_eq!(body, expected_price_body("BTC-USD", source, &p, tick));
        // The number keeps exactly 8 decimals in the body.
        let raw = body
            .split("\"price\":")
            .nth(1)
            .unwrap()
            .split(',')
            .next()
            .unwrap();
        assert_eq!(raw.split('.').nth(1).unwrap().len(), 8, "{raw}");
    }
    assert_eq!(h.stats().price, 5);
    h.shutdown().await;
}

#[tokio::test]
async fn timeouts_outlast_the_client_and_do_not_block_shutdown() {
    let h = start(SimConfig {
        timeout_probability: 1.0,
        timeout_delay: Duration::from_secs(30),
        ..SimConfig::default().without_faults()
    })
    .await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = client
        .get(h.source_url(1, "ETH-USD"))
        .send()
        .await
        .expect_err("the source should time out");
    assert!(err.is_timeout(), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(h.stats().timeout, 1);

    // A request still sleeping when the server stops does not hold the shutdown up.
    let url = h.source_url(2, "ETH-USD");
    let pending = tokio::spawn(async move { reqwest::get(url).await.map(|r| r.status()) });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    h.shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(4));
    // The client sees either a 503 or a closed connection.
    if let Ok(status) = pending.await.unwrap() {
        assert_eq!(status.as_u16(), 503);
    }
}

#[tokio::test]
async fn sim_info_and_expected() {
    let h = start(SimConfig::default()).await;
    let sim = h.simulator();
    let base = h.base_url();

    let (status, _, body) = get(&format!("{base}/sim/info")).await;
    assert_eq!(status, 200);
    let info = json(&body);
    let tick = info["tick"].as_u64().unwrap();
    assert!(tick.abs_diff(sim.current_tick()) <= 1);
    assert_eq!(info["tick_ms"], 10_000);
    assert_eq!(info["sources_per_pair"], 5);
    assert_eq!(info["pairs"].as_array().unwrap().len(), 3);
    assert_eq!(info["pairs"][0]["name"], "ETH-USD");
    assert_eq!(info["pairs"][0]["decimals"], 8);

    for tick in [0u64, 42, 123_456, 1_790_000_000] {
        for pair in ["ETH-USD", "BTC-USD", "LINK-USD"] {
            let url = format!("{base}/sim/expected?pair={pair}&tick={tick}");
            let (status, _, body) = get(&url).await;
            assert_eq!(status, 200);
            let v = json(&body);
            let expected = sim.expected_median(pair, tick).map(|m| m.to_plain_string());
            assert_eq!(v["median"].as_str().map(str::to_owned), expected, "{body}");
            assert_eq!(v["tick"], tick);
        }
    }
    let (status, _, body) = get(&format!("{base}/sim/expected?pair=ETH-USD")).await;
    assert_eq!(status, 200);
    assert!(json(&body)["tick"].as_u64().unwrap() >= tick);

    let (status, _, _) = get(&format!("{base}/sim/expected?pair=DOGE-USD&tick=1")).await;
    assert_eq!(status, 404);
    assert_bad(
        get(&format!("{base}/sim/expected?pair=ETH-USD&tick=soon")).await,
        "tick",
    );
    assert_bad(get(&format!("{base}/sim/expected?tick=1")).await, "pair");
    h.shutdown().await;
}

#[tokio::test]
async fn bad_input_is_a_clear_client_error() {
    let h = start(SimConfig::default()).await;
    let base = h.base_url();
    assert_bad(
        get(&format!("{base}/sources/abc/price?pair=ETH-USD")).await,
        "source",
    );
    assert_bad(
        get(&format!("{base}/sources/-1/price?pair=ETH-USD")).await,
        "source",
    );
    assert_bad(
        get(&format!(
            "{base}/sources/99999999999999999999999/price?pair=ETH-USD"
        ))
        .await,
        "source",
    );
    assert_bad(get(&format!("{base}/sources/0/price")).await, "pair");
    assert_bad(
        get(&format!("{base}/sources/0/price?pair=ETH-USD&tick=-3")).await,
        "tick",
    );

    for url in [
        format!("{base}/sources/5/price?pair=ETH-USD"),
        format!("{base}/sources/0/price?pair=DOGE-USD"),
        format!("{base}/sources/0/price?pair=eth-usd"),
    ] {
        let (status, ct, body) = get(&url).await;
        assert_eq!(status, 404, "{url}");
        assert_eq!(ct, "application/json");
        assert!(json(&body)["error"].is_string());
    }
    let (status, _, body) = get(&format!("{base}/no/such/route")).await;
    assert_eq!(status, 404);
    assert_eq!(json(&body)["path"], "/no/such/route");

    let stats = h.stats();
    assert_eq!((stats.bad_request, stats.not_found), (5, 3));
    assert_eq!(stats.total(), 8);
    h.shutdown().await;
}

#[tokio::test]
async fn fixed_route_echoes_the_value_literally() {
    let h = start(SimConfig::default()).await;
    let base = h.base_url();
    for value in [
        "123.45",
        "0.000000000000000000000001",
        "-7",
        "90000.10000000",
        "1e3",
    ] {
        let (status, ct, body) = get(&format!("{base}/fixed?value={value}")).await;
        assert_eq!(status, 200);
        assert_eq!(ct, "application/json");
        assert_eq!(body, format!(r#"{{"price":{value}}}"#));
        json(&body);
    }
    for value in ["abc", "1.", "01", "1,5", "NaN", "%3Cb%3E", ""] {
        assert_bad(get(&format!("{base}/fixed?value={value}")).await, "value");
    }
    assert_bad(get(&format!("{base}/fixed")).await, "value");
    h.shutdown().await;
}

#[tokio::test]
async fn fault_routes() {
    let h = start(SimConfig::default()).await;
    let base = h.base_url();

    let (status, ct, body) = get(&format!("{base}/fault/garbage")).await;
    assert_eq!(status, 200);
    assert!(ct.starts_with("text/html"));
    assert!(serde_json::from_str::<Value>(&body).is_err());

    for code in [200u16, 400, 418, 429, 500, 502, 503, 504] {
        let (status, _, body) = get(&format!("{base}/fault/status/{code}")).await;
        assert_eq!(status, code);
        assert_eq!(json(&body)["status"], code);
    }
    for bad in ["99", "600", "abc", "-1"] {
        assert_bad(get(&format!("{base}/fault/status/{bad}")).await, "code");
    }

    let started = Instant::now();
    let (status, _, body) = get(&format!("{base}/fault/slow?ms=300")).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!((status, body.as_str()), (200, r#"{"price":1}"#));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let err = client
        .get(format!("{base}/fault/slow?ms=2000"))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout());
    assert_bad(get(&format!("{base}/fault/slow?ms=soon")).await, "ms");
    assert_bad(get(&format!("{base}/fault/slow")).await, "ms");
    assert_bad(get(&format!("{base}/fault/slow?ms=999999999")).await, "ms");

    for bytes in [10usize, 1_000, 2_000_000] {
        let (status, _, body) = get(&format!("{base}/fault/huge?bytes={bytes}")).await;
        assert_eq!(status, 200);
        assert_eq!(body.len(), bytes.max(24));
        assert_eq!(json(&body)["price"], 1);
    }
    assert_bad(
        get(&format!("{base}/fault/huge?bytes=999999999999")).await,
        "bytes",
    );
    assert_bad(get(&format!("{base}/fault/huge?bytes=lots")).await, "bytes");
    h.shutdown().await;
}

#[tokio::test]
async fn odd_pair_names_and_custom_decimals() {
    let h = start(SimConfig {
        pairs: vec![PairConfig {
            decimals: 2,
            ..PairConfig::new("EUR/USD spot", "1.0834".parse().unwrap())
        }],
        sources_per_pair: 3,
        ..SimConfig::default().without_faults()
    })
    .await;
    let sim = h.simulator();
    for source in 0..3 {
        let url = format!("{}&tick=77", h.source_url(source, "EUR/USD spot"));
        let (status, _, body) = get(&url).await;
        assert_eq!(status, 200, "{url}");
        let p = sim.observation("EUR/USD spot", source, 77).unwrap();
        let v = p.value().unwrap();
        assert_eq!(v.fractional_digit_count(), 2);
        assert_eq!(
            body,
            format!(
                r#"{{"pair":"EUR/USD spot","source":{source},"price":{},"tick":77}}"#,
                v.to_plain_string()
            )
        );
    }
    h.shutdown().await;
}

#[tokio::test]
async fn start_rejects_bad_config_and_busy_ports() {
    let err = SimServer::start(
        SimConfig {
            sources_per_pair: 0,
            ..SimConfig::default()
        },
        loopback(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::InvalidConfig(_)), "{err}");

    let h = start(SimConfig::default()).await;
    let err = SimServer::start(SimConfig::default(), h.addr)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Bind { .. }), "{err}");
    assert!(h.base_url().starts_with("http://127.0.0.1:"));
    assert_eq!(
        h.source_url(2, "ETH-USD"),
        Simulator::source_url(&h.base_url(), 2, "ETH-USD")
    );
    h.shutdown().await;
}

#[tokio::test]
async fn dropping_the_handle_stops_the_server() {
    let h = start(SimConfig::default()).await;
    let url = format!("{}/sim/info", h.base_url());
    assert_eq!(get(&url).await.0, 200);
    drop(h);
    let mut stopped = false;
    for _ in 0..50 {
        // A fresh connection each time: the listener must be gone.
        let fresh = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        if fresh.get(&url).send().await.is_err() {
            stopped = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(stopped, "the server should stop once its handle is dropped");
}
