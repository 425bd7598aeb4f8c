use std::time::Duration;

use alloy::primitives::{I256, U256};
use alloy::sol_types::SolEvent;
use orakel_devnet::Devnet;

use crate::harness::{self, PAYMENT};

async fn request_url(net: &Devnet, url: &str, path: &str, times: i64) -> alloy::primitives::B256 {
    let consumer = orakel_contracts::PriceConsumer::new(net.nodes[0].consumer, &net.provider);
    let receipt = consumer
        .requestUrl(
            net.nodes[0].spec_id,
            url.into(),
            path.into(),
            I256::try_from(times).unwrap(),
            PAYMENT,
        )
        .from(net.deployer)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    receipt
        .inner
        .logs()
        .iter()
        .find_map(|l| {
            orakel_contracts::PriceConsumer::PriceRequested::decode_log_data(l.data())
                .ok()
                .map(|e| e.requestId)
        })
        .unwrap()
}

/// A source answering garbage, or too slowly, fails that run with a reason a person can act
/// on; other requests are served meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_or_slow_source_fails_the_run_readably_and_node_keeps_serving() {
    let net = harness::start(1, true).await;
    let base = net.sim.base_url();
    let from = net.block_number().await.unwrap();

    let slow = request_url(&net, &format!("{base}/fault/slow?ms=6000"), "price", 100).await;
    let garbage = request_url(&net, &format!("{base}/fault/garbage"), "price", 100).await;
    let broken = request_url(&net, &format!("{base}/fault/status/500"), "price", 100).await;
    let good = request_url(&net, &format!("{base}/fixed?value=123.45"), "price", 100).await;

    // The good one is answered while the slow one is still waiting for its source.
    let f = net
        .wait_for_fulfilment(good, from, Duration::from_secs(3))
        .await
        .unwrap()
        .expect("good request answered");
    assert_eq!(f.value, U256::from(12_345u64));

    let runs = harness::api_until(&net, 0, "/v2/runs", Duration::from_secs(20), |b| {
        b["runs"]
            .as_array()
            .is_some_and(|r| r.len() == 4 && r.iter().all(|r| r["state"] != "running"))
    })
    .await;
    let (_, requests) = net
        .api(&net.nodes[0], reqwest::Method::GET, "/v2/requests", None)
        .await
        .unwrap();
    let reason_of = |id: alloy::primitives::B256| -> String {
        let r = requests["requests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["request_id"] == format!("{id:#x}"))
            .unwrap_or_else(|| panic!("request {id:#x} recorded: {requests}"));
        assert_eq!(r["state"], "errored", "{r}");
        r["reason"].as_str().unwrap_or_default().to_string()
    };
    let slow_reason = reason_of(slow);
    assert!(
        slow_reason.contains("fetch") && slow_reason.contains("timed out"),
        "{slow_reason}"
    );
    let garbage_reason = reason_of(garbage);
    assert!(
        garbage_reason.contains("parse") && garbage_reason.to_lowercase().contains("json"),
        "{garbage_reason}"
    );
    let broken_reason = reason_of(broken);
    assert!(
        broken_reason.contains("fetch") && broken_reason.contains("500"),
        "{broken_reason}"
    );
    assert_eq!(
        runs["runs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["state"] == "errored")
            .count(),
        3
    );

    for id in [slow, garbage, broken] {
        let answered = net
            .fulfilments(from, None)
            .await
            .unwrap()
            .into_iter()
            .any(|f| f.request_id == id);
        assert!(!answered, "failed run must not be fulfilled");
    }
    net.devnet.shutdown().await;
}
