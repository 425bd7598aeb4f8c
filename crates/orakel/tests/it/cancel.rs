use std::time::Duration;

use alloy::providers::Provider;
use alloy::sol_types::SolEvent;

use crate::harness::{self, PAYMENT, TIMES};

/// A request made while the node is down, cancelled by its requester after expiry, is never
/// fulfilled when the node comes back; the node keeps serving later requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_cancelled_after_expiry_is_not_fulfilled() {
    let mut net = harness::start(1, false).await;
    let from = net.block_number().await.unwrap();
    net.nodes[0].process.kill().await;

    let req = net
        .request_price(0, "ETH-USD", TIMES, PAYMENT)
        .await
        .unwrap();
    let receipt = net
        .provider
        .get_transaction_receipt(req.tx_hash)
        .await
        .unwrap()
        .unwrap();
    let event = receipt
        .inner
        .logs()
        .iter()
        .find_map(|l| orakel_contracts::Oracle::OracleRequest::decode_log_data(l.data()).ok())
        .expect("OracleRequest in receipt");

    // Too early: the Oracle refuses to cancel before expiry (simulated, so no nonce is spent).
    let consumer = orakel_contracts::PriceConsumer::new(net.nodes[0].consumer, &net.provider);
    let early = consumer
        .cancelRequest(
            event.requestId,
            event.payment,
            event.callbackFunctionId,
            event.cancelExpiration,
        )
        .from(net.deployer)
        .call()
        .await;
    assert!(early.is_err(), "cancel before expiry must revert");

    net.advance_time(6 * 60).await.unwrap();
    let cancel = consumer
        .cancelRequest(
            event.requestId,
            event.payment,
            event.callbackFunctionId,
            event.cancelExpiration,
        )
        .from(net.deployer)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(cancel.status());

    net.nodes[0].process.start().await.unwrap();
    // A later request is served, so the node has read past the cancellation.
    let later = net
        .request_price(0, "BTC-USD", TIMES, PAYMENT)
        .await
        .unwrap();
    harness::fulfilled(&net, later.request_id, from).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let answered: Vec<_> = net
        .fulfilments(from, None)
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.request_id)
        .collect();
    assert!(
        !answered.contains(&req.request_id),
        "cancelled request was fulfilled"
    );

    let requests = harness::api_until(&net, 0, "/v2/requests", Duration::from_secs(5), |b| {
        b["requests"].as_array().is_some_and(|r| r.len() == 2)
    })
    .await;
    let cancelled = requests["requests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["request_id"] == format!("{:#x}", req.request_id))
        .expect("cancelled request recorded");
    assert_eq!(cancelled["state"], "cancelled", "{cancelled}");
    let txs = harness::api_until(&net, 0, "/v2/txs", Duration::from_secs(5), |_| true).await;
    assert_eq!(
        txs["txs"].as_array().unwrap().len(),
        1,
        "only the later request gets a transaction: {txs}"
    );
    net.devnet.shutdown().await;
}
