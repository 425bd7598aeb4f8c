//! The log listener against anvil: order, exactly-once hand-off with the checkpoint, resume
//! after a restart, retry of a failed batch, rewind after a reorg.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use alloy::sol_types::SolCall;
use async_trait::async_trait;
use orakel_chain::{Error, ListenerConfig, LogBatch, LogHandler, LogListener};
use orakel_contracts::{LinkToken, deploy};
use orakel_store::Store;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::{Anvil, eventually};

pub(crate) fn transfer_topic() -> B256 {
    keccak256("Transfer(address,address,uint256)")
}

fn approval_topic() -> B256 {
    keccak256("Approval(address,address,uint256)")
}

/// Records every batch it is handed and stores its checkpoint, like the node's handler.
struct Recorder {
    store: Store,
    addresses: Vec<Address>,
    batches: Mutex<Vec<LogBatch>>,
    heads: Mutex<Vec<u64>>,
    /// Number of upcoming `handle` calls that fail (a database hiccup).
    fail_next: AtomicUsize,
    failed: AtomicUsize,
    /// While set, the handler reports itself idle (nothing to watch).
    idle: std::sync::atomic::AtomicBool,
}

impl Recorder {
    fn new(store: &Store, addresses: Vec<Address>) -> Arc<Self> {
        Arc::new(Self {
            store: store.clone(),
            addresses,
            batches: Mutex::new(Vec::new()),
            heads: Mutex::new(Vec::new()),
            fail_next: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            idle: std::sync::atomic::AtomicBool::new(false),
        })
    }

    fn batches(&self) -> Vec<LogBatch> {
        self.batches.lock().unwrap().clone()
    }

    /// (tx hash, log index) of every delivered log, in delivery order.
    fn delivered(&self) -> Vec<(B256, u64)> {
        self.delivered_since(0)
    }

    fn delivered_since(&self, batch: usize) -> Vec<(B256, u64)> {
        self.batches()
            .iter()
            .skip(batch)
            .flat_map(|b| b.logs.iter())
            .map(|l| (l.transaction_hash.unwrap(), l.log_index.unwrap()))
            .collect()
    }
}

#[async_trait]
impl LogHandler for Recorder {
    fn filter(&self) -> (Vec<Address>, Vec<B256>) {
        (
            self.addresses.clone(),
            vec![transfer_topic(), approval_topic()],
        )
    }

    async fn handle(&self, listener: &str, batch: LogBatch) -> orakel_chain::Result<()> {
        if self
            .fail_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            self.failed.fetch_add(1, Ordering::SeqCst);
            return Err(Error::Rpc {
                method: "test",
                last: "injected failure".into(),
            });
        }
        self.store
            .record_logs(listener, &[], &[], &batch.checkpoint)
            .await?;
        self.batches.lock().unwrap().push(batch);
        Ok(())
    }

    async fn on_head(&self, head: u64) {
        self.heads.lock().unwrap().push(head);
    }

    fn idle(&self) -> bool {
        self.idle.load(Ordering::SeqCst)
    }
}

fn config(start_block: Option<u64>) -> ListenerConfig {
    ListenerConfig {
        name: "test-listener".into(),
        poll_interval: Duration::from_millis(50),
        max_range: 2,
        reorg_depth: 4,
        start_block,
        confirmations: 0,
    }
}

fn spawn(
    rpc: orakel_chain::Rpc,
    store: &Store,
    cfg: ListenerConfig,
    handler: Arc<Recorder>,
) -> (CancellationToken, JoinHandle<()>) {
    let cancel = CancellationToken::new();
    let task = tokio::spawn(LogListener::run(
        rpc,
        store.clone(),
        cfg,
        handler,
        cancel.clone(),
    ));
    (cancel, task)
}

/// Sends a LINK transfer from the owner and returns (tx hash, log index, block) of its log.
pub(crate) async fn transfer(anvil: &Anvil, link: Address, amount: u64) -> (B256, u64, u64) {
    let receipt = LinkToken::new(link, &anvil.provider)
        .transfer(Address::repeat_byte(0x77), U256::from(amount))
        .from(anvil.owner().await)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status());
    let log = &receipt.inner.logs()[0];
    (
        receipt.transaction_hash,
        log.log_index.unwrap(),
        receipt.block_number.unwrap(),
    )
}

async fn approve(anvil: &Anvil, link: Address) -> (B256, u64, u64) {
    let receipt = LinkToken::new(link, &anvil.provider)
        .approve(Address::repeat_byte(0x55), U256::from(5u64))
        .from(anvil.owner().await)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let log = &receipt.inner.logs()[0];
    (
        receipt.transaction_hash,
        log.log_index.unwrap(),
        receipt.block_number.unwrap(),
    )
}

/// Logs of `link` on the canonical chain from `from` to the head.
async fn canonical_logs(anvil: &Anvil, link: Address, from: u64) -> Vec<(B256, u64)> {
    let logs = anvil
        .provider
        .get_logs(
            &Filter::new()
                .address(link)
                .event_signature(vec![transfer_topic(), approval_topic()])
                .from_block(from),
        )
        .await
        .unwrap();
    logs.iter()
        .map(|l| (l.transaction_hash.unwrap(), l.log_index.unwrap()))
        .collect()
}

async fn canonical_hash(anvil: &Anvil, number: u64) -> String {
    let block = anvil
        .provider
        .get_block_by_number(number.into())
        .await
        .unwrap()
        .unwrap();
    format!("{:#x}", block.header.hash)
}

/// Waits until the listener has stored a checkpoint at the current head.
async fn caught_up(anvil: &Anvil, store: &Store) -> u64 {
    let head = anvil.provider.get_block_number().await.unwrap();
    eventually("the listener to reach the head", 20, || async {
        store
            .checkpoint("test-listener")
            .await
            .unwrap()
            .filter(|cp| cp.block_number >= head)
            .map(|cp| cp.block_number)
    })
    .await
}

pub(crate) async fn deploy_link(anvil: &Anvil) -> Address {
    let owner = anvil.owner().await;
    deploy::deploy_link_token(&anvil.provider, owner, owner)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivers_each_log_once_in_order_with_its_checkpoint() {
    let anvil = Anvil::start().await;
    let link = deploy_link(&anvil).await;
    let unwatched = deploy_link(&anvil).await;

    // History before the listener starts, read from `start_block`.
    let mut expected = vec![transfer(&anvil, link, 1).await];
    let first_block = expected[0].2;
    transfer(&anvil, unwatched, 99).await;
    expected.push(approve(&anvil, link).await);
    expected.push(transfer(&anvil, link, 2).await);
    anvil.mine().await;
    anvil.mine().await;
    expected.push(transfer(&anvil, link, 3).await);

    let store = Store::in_memory().await.unwrap();
    let recorder = Recorder::new(&store, vec![link]);
    let (cancel, task) = spawn(
        anvil.rpc_pool().await,
        &store,
        config(Some(first_block)),
        recorder.clone(),
    );
    caught_up(&anvil, &store).await;

    // New logs while it runs.
    expected.push(transfer(&anvil, link, 4).await);
    transfer(&anvil, unwatched, 98).await;
    expected.push(transfer(&anvil, link, 5).await);
    let final_cp = caught_up(&anvil, &store).await;
    cancel.cancel();
    task.await.unwrap();

    let expected_ids: Vec<(B256, u64)> = expected.iter().map(|(h, i, _)| (*h, *i)).collect();
    assert_eq!(recorder.delivered(), expected_ids);

    // Batches cover contiguous ranges, at most max_range blocks each, and each carries the
    // canonical hash of its last block as checkpoint.
    let batches = recorder.batches();
    assert_eq!(batches[0].from_block, first_block);
    let mut next = first_block;
    for b in &batches {
        assert_eq!(b.from_block, next, "no gap, no overlap");
        assert!(b.checkpoint.block_number >= b.from_block);
        assert!(b.checkpoint.block_number - b.from_block < 2, "max_range");
        assert!(b.checkpoint.block_number <= b.head);
        assert_eq!(
            b.checkpoint.block_hash,
            canonical_hash(&anvil, b.checkpoint.block_number).await
        );
        for l in &b.logs {
            let n = l.block_number.unwrap();
            assert!(n >= b.from_block && n <= b.checkpoint.block_number);
            assert_eq!(l.address(), link);
        }
        next = b.checkpoint.block_number + 1;
    }
    assert_eq!(next - 1, final_cp);
    assert_eq!(
        store.checkpoint("test-listener").await.unwrap(),
        Some(batches.last().unwrap().checkpoint.clone())
    );
    let heads = recorder.heads.lock().unwrap().clone();
    assert!(heads.windows(2).all(|w| w[0] <= w[1]), "{heads:?}");
    assert!(*heads.last().unwrap() >= final_cp);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_handler_is_not_polled_until_it_has_work() {
    let anvil = Anvil::start().await;
    let link = deploy_link(&anvil).await;
    let store = Store::in_memory().await.unwrap();
    let recorder = Recorder::new(&store, vec![link]);
    recorder.idle.store(true, Ordering::SeqCst);
    let (cancel, task) = spawn(
        anvil.rpc_pool().await,
        &store,
        config(None),
        recorder.clone(),
    );
    // Let the listener start (it notes the head once), then a log arrives while it idles.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let while_idle = transfer(&anvil, link, 1).await;
    // Ten poll intervals: an idle handler sees no head, no batch and stores no checkpoint.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        recorder.heads.lock().unwrap().is_empty(),
        "no poll while idle"
    );
    assert!(recorder.batches().is_empty(), "no batch while idle");
    assert_eq!(store.checkpoint("test-listener").await.unwrap(), None);
    recorder.idle.store(false, Ordering::SeqCst);
    let new = transfer(&anvil, link, 2).await;
    caught_up(&anvil, &store).await;
    cancel.cancel();
    task.await.unwrap();
    // Reading starts at the head the listener saw when it started (that block's logs included).
    assert!(
        recorder
            .delivered()
            .ends_with(&[(while_idle.0, while_idle.1), (new.0, new.1)]),
        "once busy it reads from where it started idling: the log sent while idle is not missed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_checkpoint_or_start_block_it_starts_at_the_head() {
    let anvil = Anvil::start().await;
    let link = deploy_link(&anvil).await;
    let old = transfer(&anvil, link, 1).await;
    let store = Store::in_memory().await.unwrap();
    let recorder = Recorder::new(&store, vec![link]);
    let (cancel, task) = spawn(
        anvil.rpc_pool().await,
        &store,
        config(None),
        recorder.clone(),
    );
    eventually("a first poll", 20, || async {
        (!recorder.heads.lock().unwrap().is_empty()).then_some(())
    })
    .await;
    let new = transfer(&anvil, link, 2).await;
    caught_up(&anvil, &store).await;
    cancel.cancel();
    task.await.unwrap();
    // The head block at start is the first one read; the deployment's mint before it is not.
    assert_eq!(recorder.batches()[0].from_block, old.2);
    assert_eq!(recorder.delivered(), vec![(old.0, old.1), (new.0, new.1)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_block_ahead_of_the_chain_is_waited_for() {
    let anvil = Anvil::start().await;
    let link = deploy_link(&anvil).await;
    let head = anvil.provider.get_block_number().await.unwrap();
    let start = head + 3;
    let store = Store::in_memory().await.unwrap();
    let recorder = Recorder::new(&store, vec![link]);
    let (cancel, task) = spawn(
        anvil.rpc_pool().await,
        &store,
        config(Some(start)),
        recorder.clone(),
    );
    eventually("a first poll", 20, || async {
        (!recorder.heads.lock().unwrap().is_empty()).then_some(())
    })
    .await;
    let early1 = transfer(&anvil, link, 1).await;
    let early2 = transfer(&anvil, link, 2).await;
    assert_eq!(early2.2, start - 1);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let wanted = transfer(&anvil, link, 3).await;
    assert_eq!(wanted.2, start);
    caught_up(&anvil, &store).await;
    cancel.cancel();
    task.await.unwrap();
    let delivered = recorder.delivered();
    assert_eq!(
        delivered,
        vec![(wanted.0, wanted.1)],
        "early: {early1:?} {early2:?}"
    );
    assert_eq!(recorder.batches()[0].from_block, start);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_listener_resumes_from_its_checkpoint() {
    let anvil = Anvil::start().await;
    let link = deploy_link(&anvil).await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("node.sqlite").display());
    let start = anvil.provider.get_block_number().await.unwrap() + 1;

    let before: Vec<(B256, u64)> = {
        let store = Store::open(&url).await.unwrap();
        let recorder = Recorder::new(&store, vec![link]);
        let (cancel, task) = spawn(
            anvil.rpc_pool().await,
            &store,
            config(Some(start)),
            recorder.clone(),
        );
        let mut sent = Vec::new();
        for amount in 1..=3 {
            let (h, i, _) = transfer(&anvil, link, amount).await;
            sent.push((h, i));
        }
        caught_up(&anvil, &store).await;
        cancel.cancel();
        task.await.unwrap();
        store.close().await;
        assert_eq!(recorder.delivered(), sent);
        sent
    };

    // While the node is down: more logs, and some empty blocks.
    let mut missed = Vec::new();
    for amount in 4..=6 {
        let (h, i, _) = transfer(&anvil, link, amount).await;
        missed.push((h, i));
        anvil.mine().await;
    }

    // Restart on the same database. The stored checkpoint wins over start_block, and the
    // first two hand-offs fail (database trouble): they are retried, nothing is lost.
    let store = Store::open(&url).await.unwrap();
    let stored = store.checkpoint("test-listener").await.unwrap().unwrap();
    let recorder = Recorder::new(&store, vec![link]);
    recorder.fail_next.store(2, Ordering::SeqCst);
    let (cancel, task) = spawn(
        anvil.rpc_pool().await,
        &store,
        config(Some(start)),
        recorder.clone(),
    );
    caught_up(&anvil, &store).await;
    cancel.cancel();
    task.await.unwrap();

    assert_eq!(recorder.failed.load(Ordering::SeqCst), 2);
    let delivered = recorder.delivered();
    assert_eq!(
        delivered, missed,
        "only the logs it had not handed over yet"
    );
    assert!(delivered.iter().all(|d| !before.contains(d)));
    assert_eq!(recorder.batches()[0].from_block, stored.block_number + 1);
}

/// A LINK transfer from the owner as a JSON transaction for `anvil_reorg`.
async fn transfer_json(anvil: &Anvil, link: Address, amount: u64) -> serde_json::Value {
    let data = LinkToken::transferCall {
        to: Address::repeat_byte(0x66),
        value: U256::from(amount),
    }
    .abi_encode();
    serde_json::json!({
        "from": anvil.owner().await,
        "to": link,
        "data": alloy::primitives::Bytes::from(data),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reorg_below_the_checkpoint_rewinds_and_redelivers() {
    let anvil = Anvil::start().await;
    let link = deploy_link(&anvil).await;
    let base = anvil.provider.get_block_number().await.unwrap();
    let store = Store::in_memory().await.unwrap();
    let recorder = Recorder::new(&store, vec![link]);
    let mut cfg = config(Some(base + 1));
    cfg.max_range = 100;
    let (cancel, task) = spawn(
        anvil.rpc_pool().await,
        &store,
        cfg.clone(),
        recorder.clone(),
    );

    let a = transfer(&anvil, link, 1).await;
    let b = transfer(&anvil, link, 2).await;
    assert_eq!((a.2, b.2), (base + 1, base + 2));
    caught_up(&anvil, &store).await;
    assert_eq!(recorder.delivered(), vec![(a.0, a.1), (b.0, b.1)]);
    let old_cp = store.checkpoint("test-listener").await.unwrap().unwrap();
    assert_eq!(old_cp.block_number, base + 2);
    let seen = recorder.batches().len();

    // Replace the last two blocks: other transactions at the same heights.
    let c = transfer_json(&anvil, link, 3).await;
    let d = transfer_json(&anvil, link, 4).await;
    let _: serde_json::Value = anvil
        .rpc("anvil_reorg", serde_json::json!([2, [[c, 0], [d, 1]]]))
        .await;
    let new_hash = canonical_hash(&anvil, base + 2).await;
    assert_ne!(new_hash, old_cp.block_hash, "the checkpoint block is gone");
    let canonical = canonical_logs(&anvil, link, base + 1).await;
    assert_eq!(canonical.len(), 2);
    assert!(!canonical.contains(&(a.0, a.1)) && !canonical.contains(&(b.0, b.1)));

    // The listener notices, rewinds and hands over the new chain's logs.
    eventually("the reorged logs", 20, || async {
        let after = recorder.delivered_since(seen);
        canonical.iter().all(|l| after.contains(l)).then_some(())
    })
    .await;
    let after = recorder.batches()[seen..].to_vec();
    assert!(
        after[0].from_block <= base + 1,
        "rewound below the reorged blocks: {}",
        after[0].from_block
    );
    // Everything on the canonical chain from the rewind point (the rewind may re-deliver
    // older logs too: handlers store idempotently), in order, and none of the lost ones.
    let redelivered = recorder.delivered_since(seen);
    assert_eq!(
        redelivered,
        canonical_logs(&anvil, link, after[0].from_block).await,
        "exactly the new chain's logs, in order"
    );
    assert!(!redelivered.contains(&(a.0, a.1)) && !redelivered.contains(&(b.0, b.1)));
    let cp = store.checkpoint("test-listener").await.unwrap().unwrap();
    assert_eq!(cp.block_hash, canonical_hash(&anvil, cp.block_number).await);

    // A reorg while the listener is stopped is noticed from the stored checkpoint.
    cancel.cancel();
    task.await.unwrap();
    let e = transfer_json(&anvil, link, 5).await;
    let _: serde_json::Value = anvil
        .rpc("anvil_reorg", serde_json::json!([1, [[e, 0]]]))
        .await;
    let recorder = Recorder::new(&store, vec![link]);
    let (cancel, task) = spawn(anvil.rpc_pool().await, &store, cfg, recorder.clone());
    caught_up(&anvil, &store).await;
    eventually("the checkpoint to be canonical again", 20, || async {
        let cp = store.checkpoint("test-listener").await.unwrap().unwrap();
        (cp.block_hash == canonical_hash(&anvil, cp.block_number).await).then_some(())
    })
    .await;
    cancel.cancel();
    task.await.unwrap();
    let batches = recorder.batches();
    assert!(
        batches[0].from_block <= base + 2,
        "rewound from the stale stored checkpoint: {}",
        batches[0].from_block
    );
    assert_eq!(
        recorder.delivered(),
        canonical_logs(&anvil, link, batches[0].from_block).await
    );
    let replaced = anvil
        .provider
        .get_block_by_number((base + 2).into())
        .await
        .unwrap()
        .unwrap();
    let e_hash = replaced.transactions.hashes().next().unwrap();
    assert!(recorder.delivered().iter().any(|(h, _)| *h == e_hash));
}

/// A JSON-RPC proxy in front of anvil that can hold back one `eth_getLogs` answer, so a test
/// can change the chain between that call and the listener's next one.
struct PausingProxy {
    url: String,
    /// When set, the next `eth_getLogs` answer signals the first sender and waits on the
    /// second receiver before it is returned.
    pause: Pause,
    task: JoinHandle<()>,
}

impl Drop for PausingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl PausingProxy {
    async fn start(anvil: &Anvil) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let pause = Arc::new(Mutex::new(None));
        let upstream = anvil.provider.clone();
        let shared = pause.clone();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(serve_connection(socket, upstream.clone(), shared.clone()));
            }
        });
        Self { url, pause, task }
    }

    /// Arms the pause; returns (fires when a getLogs answer is held, release it).
    fn arm(&self) -> (oneshot::Receiver<()>, oneshot::Sender<()>) {
        let (hit_tx, hit_rx) = oneshot::channel();
        let (go_tx, go_rx) = oneshot::channel();
        *self.pause.lock().unwrap() = Some((hit_tx, go_rx));
        (hit_rx, go_tx)
    }
}

/// A held answer: (tell the test it is held, wait for its go-ahead).
type Held = (oneshot::Sender<()>, oneshot::Receiver<()>);
type Pause = Arc<Mutex<Option<Held>>>;

async fn serve_connection(
    mut socket: tokio::net::TcpStream,
    upstream: alloy::providers::DynProvider,
    pause: Pause,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = Vec::new();
    loop {
        // One HTTP/1.1 request: headers, then Content-Length bytes of JSON.
        let header_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 4096];
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let headers = String::from_utf8_lossy(&buf[..header_end]).to_ascii_lowercase();
        let length: usize = headers
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map(|v| v.trim().parse().unwrap())
            .unwrap_or(0);
        while buf.len() < header_end + length {
            let mut chunk = [0u8; 4096];
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body: Vec<u8> = buf.drain(..header_end + length).skip(header_end).collect();
        let request: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let method = request["method"].as_str().unwrap().to_string();
        let result: Result<serde_json::Value, _> = upstream
            .raw_request(method.clone().into(), request["params"].clone())
            .await;
        if method == "eth_getLogs" {
            let held = pause.lock().unwrap().take();
            if let Some((hit, go)) = held {
                let _ = hit.send(());
                let _ = go.await;
            }
        }
        let answer = match result {
            Ok(v) => serde_json::json!({"jsonrpc": "2.0", "id": request["id"], "result": v}),
            Err(e) => serde_json::json!({
                "jsonrpc": "2.0",
                "id": request["id"],
                "error": {"code": -32000, "message": e.to_string()},
            }),
        };
        let text = answer.to_string();
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{text}",
            text.len()
        );
        if socket.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reorg_between_reading_logs_and_the_checkpoint_is_not_missed() {
    let anvil = Anvil::start().await;
    let link = deploy_link(&anvil).await;
    let base = anvil.provider.get_block_number().await.unwrap();
    let proxy = PausingProxy::start(&anvil).await;
    let rpc = orakel_chain::Rpc::connect(std::slice::from_ref(&proxy.url), crate::CHAIN_ID)
        .await
        .unwrap();
    let store = Store::in_memory().await.unwrap();
    let recorder = Recorder::new(&store, vec![link]);
    let (hit, go) = proxy.arm();
    let (cancel, task) = spawn(rpc, &store, config(Some(base + 1)), recorder.clone());

    // The listener reads block base+1 with transfer A in it ...
    let a = transfer(&anvil, link, 1).await;
    assert_eq!(a.2, base + 1);
    tokio::time::timeout(Duration::from_secs(20), hit)
        .await
        .expect("the listener asks for the logs of A's block")
        .unwrap();
    // ... and before it continues, that block is replaced by one holding transfer C.
    let c = transfer_json(&anvil, link, 3).await;
    let _: serde_json::Value = anvil
        .rpc("anvil_reorg", serde_json::json!([1, [[c, 0]]]))
        .await;
    let canonical = canonical_logs(&anvil, link, base + 1).await;
    assert_eq!(canonical.len(), 1);
    assert_ne!(canonical[0].0, a.0);
    go.send(()).unwrap();

    // A was handed over (it was on the chain when read); C must follow, not be skipped.
    eventually("the log of the replacing block", 10, || async {
        recorder.delivered().contains(&canonical[0]).then_some(())
    })
    .await;
    let cp = store.checkpoint("test-listener").await.unwrap().unwrap();
    assert_eq!(cp.block_hash, canonical_hash(&anvil, cp.block_number).await);
    cancel.cancel();
    task.await.unwrap();
}
