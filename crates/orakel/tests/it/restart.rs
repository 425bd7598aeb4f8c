use std::collections::HashMap;
use std::time::Duration;

use crate::harness::{self, PAYMENT, TIMES};

/// Requests keep arriving while the node is killed (SIGKILL, no shutdown code) and while it is
/// down; after a restart every one of them is fulfilled, and none twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_node_fulfils_every_request_exactly_once_after_restart() {
    let mut net = harness::start(1, false).await;
    let from = net.block_number().await.unwrap();
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(
            net.request_price(0, "ETH-USD", TIMES, PAYMENT)
                .await
                .unwrap()
                .request_id,
        );
    }
    // Kill in the middle of a burst: the node may be between storing a log, running the
    // pipeline and broadcasting the fulfilment.
    for i in 0..9 {
        ids.push(
            net.request_price(0, "LINK-USD", TIMES, PAYMENT)
                .await
                .unwrap()
                .request_id,
        );
        if i == 2 {
            net.nodes[0].process.kill().await;
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    net.nodes[0].process.start().await.expect("node restarts");

    for id in &ids {
        harness::fulfilled(&net, *id, from).await;
    }
    // Let any duplicate that might have been sent get mined, then count.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut per_request: HashMap<_, usize> = HashMap::new();
    for f in net.fulfilments(from, None).await.unwrap() {
        *per_request.entry(f.request_id).or_default() += 1;
    }
    for id in &ids {
        assert_eq!(
            per_request.get(id),
            Some(&1),
            "request {id:#x} fulfilled {:?} times",
            per_request.get(id)
        );
    }
    // The node sent exactly one transaction per request, and none of them reverted.
    let txs = harness::api_until(&net, 0, "/v2/txs?limit=100", Duration::from_secs(15), |b| {
        b["txs"]
            .as_array()
            .is_some_and(|t| t.iter().all(|t| t["state"] == "confirmed"))
    })
    .await;
    assert_eq!(txs["txs"].as_array().unwrap().len(), ids.len(), "{txs}");
    net.devnet.shutdown().await;
}
