//! The WebSocket log subscription against anvil: logs arrive ahead of the poll without moving
//! the checkpoint, a filter change subscribes again, a dead endpoint is retried while polling
//! carries on.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256};
use alloy::rpc::types::Log;
use async_trait::async_trait;
use orakel_chain::{EarlyLog, ListenerConfig, LogBatch, LogHandler, LogListener, LogSubscription};
use orakel_store::Store;
use tokio_util::sync::CancellationToken;

use crate::listener::{deploy_link, transfer, transfer_topic};
use crate::{Anvil, closed_port, eventually};

/// Stores polled checkpoints and records what arrives early and what arrives by poll.
struct Watcher {
    store: Store,
    addresses: Mutex<Vec<Address>>,
    early: Mutex<Vec<Log>>,
    polled: Mutex<Vec<Log>>,
}

impl Watcher {
    fn new(store: &Store, addresses: Vec<Address>) -> Arc<Self> {
        Arc::new(Self {
            store: store.clone(),
            addresses: Mutex::new(addresses),
            early: Mutex::new(Vec::new()),
            polled: Mutex::new(Vec::new()),
        })
    }

    fn early_has(&self, tx: B256) -> bool {
        self.early
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.transaction_hash == Some(tx))
    }

    fn polled_has(&self, tx: B256) -> bool {
        self.polled
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.transaction_hash == Some(tx))
    }
}

#[async_trait]
impl LogHandler for Watcher {
    fn filter(&self) -> (Vec<Address>, Vec<B256>) {
        (
            self.addresses.lock().unwrap().clone(),
            vec![transfer_topic()],
        )
    }

    async fn handle(&self, listener: &str, batch: LogBatch) -> orakel_chain::Result<()> {
        self.store
            .record_logs(listener, &[], &[], &batch.checkpoint)
            .await?;
        self.polled.lock().unwrap().extend(batch.logs);
        Ok(())
    }

    async fn on_head(&self, _head: u64) {}

    async fn handle_early(&self, _listener: &str, logs: Vec<EarlyLog>) -> orakel_chain::Result<()> {
        assert!(
            logs.iter()
                .all(|e| e.received.elapsed() < Duration::from_secs(5))
        );
        self.early
            .lock()
            .unwrap()
            .extend(logs.into_iter().map(|e| e.log));
        Ok(())
    }
}

fn ws_url(anvil: &Anvil) -> String {
    anvil.url.replacen("http://", "ws://", 1)
}

/// A listener that polls once at start and then only every minute: within a test, anything
/// that arrives later can only have come through the subscription.
fn slow_poll() -> ListenerConfig {
    ListenerConfig {
        name: "sub-listener".into(),
        poll_interval: Duration::from_secs(60),
        max_range: 100,
        reorg_depth: 4,
        start_block: None,
        confirmations: 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribed_logs_arrive_before_the_poll_and_leave_the_checkpoint_alone() {
    let anvil = Anvil::start().await;
    let link = deploy_link(&anvil).await;
    let store = Store::in_memory().await.unwrap();
    let watcher = Watcher::new(&store, vec![link]);
    let cancel = CancellationToken::new();
    let poll = tokio::spawn(LogListener::run(
        anvil.rpc_pool().await,
        store.clone(),
        slow_poll(),
        watcher.clone(),
        cancel.clone(),
    ));
    let sub = tokio::spawn(LogSubscription::run(
        ws_url(&anvil),
        "sub-listener".into(),
        watcher.clone(),
        cancel.clone(),
    ));
    // The first poll stores the start checkpoint; the subscription opens meanwhile.
    let start = eventually("the first checkpoint", 10, || async {
        store.checkpoint("sub-listener").await.unwrap()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let (tx, index, block) = transfer(&anvil, link, 7).await;
    eventually("the transfer log over the subscription", 10, || async {
        watcher.early_has(tx).then_some(())
    })
    .await;
    let early = watcher.early.lock().unwrap().clone();
    let log = early
        .iter()
        .find(|l| l.transaction_hash == Some(tx))
        .unwrap();
    assert_eq!(
        (log.log_index, log.block_number),
        (Some(index), Some(block))
    );
    assert!(log.block_hash.is_some(), "a subscribed log names its block");
    assert!(
        !watcher.polled_has(tx),
        "the poll sleeps for a minute: the log came early"
    );
    assert_eq!(
        store.checkpoint("sub-listener").await.unwrap(),
        Some(start),
        "only the poll moves the checkpoint"
    );
    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(5), sub)
        .await
        .expect("the subscription stops when cancelled")
        .unwrap();
    poll.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_contract_in_the_filter_is_subscribed_without_a_restart() {
    let anvil = Anvil::start().await;
    let first = deploy_link(&anvil).await;
    let second = deploy_link(&anvil).await;
    let store = Store::in_memory().await.unwrap();
    let watcher = Watcher::new(&store, vec![first]);
    let cancel = CancellationToken::new();
    let sub = tokio::spawn(LogSubscription::run(
        ws_url(&anvil),
        "sub-listener".into(),
        watcher.clone(),
        cancel.clone(),
    ));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (unwatched, _, _) = transfer(&anvil, second, 1).await;
    let (watched, _, _) = transfer(&anvil, first, 2).await;
    eventually("the watched contract's log", 10, || async {
        watcher.early_has(watched).then_some(())
    })
    .await;
    assert!(
        !watcher.early_has(unwatched),
        "a contract outside the filter is not delivered"
    );

    // A job for the second contract appears: the filter check subscribes again.
    watcher.addresses.lock().unwrap().push(second);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (tx, _, _) = transfer(&anvil, second, 3).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        if watcher.early_has(tx) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the second contract's logs never arrived over the subscription"
        );
    }
    cancel.cancel();
    sub.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_websocket_endpoint_is_retried_while_polling_serves() {
    let anvil = Anvil::start().await;
    let link = deploy_link(&anvil).await;
    let store = Store::in_memory().await.unwrap();
    let watcher = Watcher::new(&store, vec![link]);
    let cancel = CancellationToken::new();
    let mut cfg = slow_poll();
    cfg.poll_interval = Duration::from_millis(50);
    let poll = tokio::spawn(LogListener::run(
        anvil.rpc_pool().await,
        store.clone(),
        cfg,
        watcher.clone(),
        cancel.clone(),
    ));
    let sub = tokio::spawn(LogSubscription::run(
        format!("ws://127.0.0.1:{}", closed_port()),
        "sub-listener".into(),
        watcher.clone(),
        cancel.clone(),
    ));
    eventually("the first checkpoint", 10, || async {
        store.checkpoint("sub-listener").await.unwrap()
    })
    .await;
    let (tx, _, _) = transfer(&anvil, link, 5).await;
    eventually("the log by poll", 10, || async {
        watcher.polled_has(tx).then_some(())
    })
    .await;
    assert!(watcher.early.lock().unwrap().is_empty());
    assert!(!sub.is_finished(), "the subscription keeps retrying");
    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(5), sub)
        .await
        .expect("a retrying subscription still stops when cancelled")
        .unwrap();
    poll.await.unwrap();
}
