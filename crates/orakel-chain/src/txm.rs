//! The transaction manager: one sending key, nonces handed out from the store, every signed
//! attempt stored before it is broadcast, receipts awaited, stuck transactions re-sent with a
//! higher fee (same nonce, so at most one of the attempts can ever be mined).
//!
//! "Never two fulfilments for one request" rests on the idempotency key: a second submit with
//! the same key returns the first transaction and sends nothing.

use std::sync::Arc;
use std::time::Duration;

use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy::eips::eip2718::Encodable2718;
use alloy::network::TxSignerSync;
use alloy::primitives::{Address, B256, Bytes, TxKind, U256};
use alloy_signer_local::PrivateKeySigner;
use orakel_store::{EthTxRow, EthTxState, NewAttempt, NewEthTx, Store, now_micros};
use tokio_util::sync::CancellationToken;

use crate::{Error, Result, Rpc};

/// Settings of the transaction manager.
#[derive(Debug, Clone)]
pub struct TxManagerConfig {
    /// Gas limit when the caller gives none.
    pub default_gas_limit: u64,
    /// Tip when the node does not suggest one (wei).
    pub default_priority_fee: u128,
    /// Highest fee cap ever offered (wei).
    pub max_fee_cap: u128,
    /// Re-send with a higher fee when not mined after this long.
    pub bump_after: Duration,
    /// Fee increase per bump, percent (at least 10 for replacement to be accepted).
    pub bump_percent: u64,
    /// How often to look for receipts.
    pub poll_interval: Duration,
}

impl Default for TxManagerConfig {
    fn default() -> Self {
        Self {
            default_gas_limit: 500_000,
            default_priority_fee: 1_000_000_000,
            max_fee_cap: 500_000_000_000,
            bump_after: Duration::from_secs(30),
            bump_percent: 20,
            poll_interval: Duration::from_millis(500),
        }
    }
}

/// A transaction to send.
#[derive(Debug, Clone)]
pub struct TxRequest {
    /// Same key, same transaction.
    pub idempotency_key: String,
    /// Recipient.
    pub to: Address,
    /// Calldata.
    pub data: Bytes,
    /// Gas limit (default from config).
    pub gas_limit: Option<u64>,
    /// Run that asked for it.
    pub run_id: Option<i64>,
}

/// What a submit did.
#[derive(Debug, Clone)]
pub struct TxSubmission {
    /// Store id of the transaction.
    pub tx_id: i64,
    /// Hash of the latest attempt, once one was signed.
    pub tx_hash: Option<B256>,
    /// Nonce.
    pub nonce: u64,
    /// False when the idempotency key existed already (nothing new was sent).
    pub created: bool,
    /// When the first attempt was written to the RPC endpoint (its answer can take longer:
    /// anvil mines the block inside `eth_sendRawTransaction`).
    pub on_wire_at: Option<std::time::Instant>,
}

struct Inner {
    rpc: Rpc,
    store: Store,
    signer: PrivateKeySigner,
    address: Address,
    address_hex: String,
    cfg: TxManagerConfig,
    // Submissions waiting for the creation loop, the only place nonces are taken.
    creations: tokio::sync::mpsc::UnboundedSender<Creation>,
    outbox: tokio::sync::mpsc::UnboundedSender<Outgoing>,
    // Broadcast outcomes on their way to the store: `(sent ids, (id, error) of failures)`.
    broadcasts: tokio::sync::mpsc::UnboundedSender<BroadcastOutcome>,
    fees: fee_cache::FeeCache,
    missing_receipts: std::sync::Mutex<std::collections::HashMap<i64, std::time::Instant>>,
    last_rebroadcast: std::sync::Mutex<std::collections::HashMap<i64, std::time::Instant>>,
    // When each transaction stuck at the fee cap was last reported.
    cap_warned: std::sync::Mutex<std::collections::HashMap<i64, std::time::Instant>>,
    // The head-of-line transaction and the head when it was first seen stuck there.
    head_of_line: std::sync::Mutex<Option<(i64, u64)>>,
}

/// What one broadcast batch did: ids sent, and `(id, error)` of those that failed.
type BroadcastOutcome = (Vec<i64>, Vec<(i64, String)>);

/// A submission waiting for the creation loop.
struct Creation {
    new: NewEthTx,
    queued: std::time::Instant,
    reply: tokio::sync::oneshot::Sender<Result<Created>>,
}

/// What the creation loop did with a submission.
enum Created {
    /// Stored and handed to the broadcaster; `on_wire` fires when it is written out.
    New {
        row: EthTxRow,
        hash: Option<B256>,
        on_wire: tokio::sync::oneshot::Receiver<std::time::Instant>,
    },
    /// The idempotency key existed already.
    Existing(EthTxRow),
}

/// A signed first attempt waiting for the broadcaster.
struct Outgoing {
    queued: std::time::Instant,
    row: EthTxRow,
    raw: Vec<u8>,
    sent: tokio::sync::oneshot::Sender<std::time::Instant>,
}

/// How old a never-broadcast attempt must be before the loop sends it itself.
const UNSENT_GRACE: Duration = Duration::from_secs(2);

/// How long broadcast outcomes are gathered before they are recorded.
const RECORD_LINGER: Duration = Duration::from_millis(50);

/// How often the fee cache is refreshed (it counts as fresh for a second).
const FEE_REFRESH: Duration = Duration::from_millis(400);

/// Most broadcast batches awaiting their answer at once.
const MAX_BATCHES_IN_FLIGHT: usize = 16;

/// Most transactions taken from the queue at once.
const MAX_BATCH: usize = 256;

/// Blocks mined past a head-of-line transaction the endpoint already has before it is replaced
/// at a higher fee, whatever `bump_after` says (the established node's default bump threshold).
const HEAD_OF_LINE_BUMP_BLOCKS: u64 = 3;

/// How often a transaction stuck at the fee cap is reported.
const CAP_WARNING_EVERY: Duration = Duration::from_secs(60);

/// How long a mined nonce may lack a receipt of ours before the transaction is given up.
const MISSING_RECEIPT_GRACE: Duration = Duration::from_secs(60);

/// Handle to the transaction manager. Cheap to clone.
#[derive(Clone)]
pub struct TxManager {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for TxManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TxManager")
            .field("address", &self.inner.address)
            .finish_non_exhaustive()
    }
}

mod fee_cache {
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    /// Last known (base fee, tip) and when they were read; refreshed at most every second.
    #[derive(Default)]
    pub struct FeeCache(Mutex<Option<(u128, u128, Instant)>>);

    impl FeeCache {
        pub fn fresh(&self) -> Option<(u128, u128)> {
            let guard = self.0.lock().ok()?;
            guard.and_then(|(b, t, at)| (at.elapsed() < Duration::from_secs(1)).then_some((b, t)))
        }
        pub fn set(&self, base: u128, tip: u128) {
            if let Ok(mut g) = self.0.lock() {
                *g = Some((base, tip, Instant::now()));
            }
        }
    }
}

impl TxManager {
    /// Prepares the key's nonce and spawns the receipt/bump loop, which first re-sends what a
    /// previous process left unconfirmed.
    pub async fn start(
        rpc: Rpc,
        store: Store,
        signer: PrivateKeySigner,
        cfg: TxManagerConfig,
        cancel: CancellationToken,
    ) -> Result<Self> {
        let address = signer.address();
        let address_hex = format!("{address:#x}");
        let chain_nonce = rpc.pending_nonce(address).await?;
        let next = store
            .sync_nonce(&address_hex, rpc.chain_id(), chain_nonce)
            .await?;
        tracing::info!(address = %address_hex, chain_nonce, next_nonce = next, "transaction manager ready");
        let (outbox, outbox_rx) = tokio::sync::mpsc::unbounded_channel();
        let (creations, creations_rx) = tokio::sync::mpsc::unbounded_channel();
        let (broadcasts, broadcasts_rx) = tokio::sync::mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            rpc,
            store,
            signer,
            address,
            address_hex,
            cfg,
            creations,
            broadcasts,
            outbox,
            fees: fee_cache::FeeCache::default(),
            missing_receipts: std::sync::Mutex::new(std::collections::HashMap::new()),
            last_rebroadcast: std::sync::Mutex::new(std::collections::HashMap::new()),
            cap_warned: std::sync::Mutex::new(std::collections::HashMap::new()),
            head_of_line: std::sync::Mutex::new(None),
        });
        let tm = Self { inner };
        let looper = tm.clone();
        let loop_cancel = cancel.clone();
        tokio::spawn(async move { looper.confirm_loop(loop_cancel).await });
        let creator = tm.clone();
        let creator_cancel = cancel.clone();
        tokio::spawn(async move { creator.creation_loop(creations_rx, creator_cancel).await });
        let fees = tm.clone();
        let fees_cancel = cancel.clone();
        tokio::spawn(async move { fees.fee_loop(fees_cancel).await });
        tokio::spawn(record_broadcasts(tm.inner.store.clone(), broadcasts_rx));
        let broadcaster = tm.clone();
        tokio::spawn(async move { broadcaster.broadcast_loop(outbox_rx, cancel).await });
        Ok(tm)
    }

    /// The sending address.
    pub fn address(&self) -> Address {
        self.inner.address
    }

    /// The chain's current block number.
    pub async fn head(&self) -> Result<u64> {
        self.inner.rpc.block_number().await
    }

    /// Creates (once per idempotency key), signs, stores and broadcasts a transaction.
    /// A broadcast that fails for a passing reason is retried by the background loop; the
    /// transaction is recorded either way.
    pub async fn submit(&self, req: TxRequest) -> Result<TxSubmission> {
        let inner = &self.inner;
        let new = NewEthTx {
            idempotency_key: req.idempotency_key,
            chain_id: inner.rpc.chain_id(),
            from_address: inner.address_hex.clone(),
            to_address: format!("{:#x}", req.to),
            data: req.data.to_vec(),
            gas_limit: req.gas_limit.unwrap_or(inner.cfg.default_gas_limit),
            run_id: req.run_id,
        };
        let (reply, answer) = tokio::sync::oneshot::channel();
        inner
            .creations
            .send(Creation {
                new,
                queued: std::time::Instant::now(),
                reply,
            })
            .map_err(|_| Error::Shutdown)?;
        match answer.await.map_err(|_| Error::Shutdown)?? {
            Created::New { row, hash, on_wire } => Ok(TxSubmission {
                tx_id: row.id,
                tx_hash: hash,
                nonce: row.nonce,
                created: true,
                on_wire_at: on_wire.await.ok(),
            }),
            Created::Existing(row) => self.describe_existing(row).await,
        }
    }

    /// The only place nonces are taken: whatever submissions are waiting are created, signed
    /// and stored in one commit (group commit), then handed to the broadcaster in nonce order.
    /// One writer taking nonces in memory order replaces a lock that every run queued on
    /// while its own commit went through.
    async fn creation_loop(
        self,
        mut rx: tokio::sync::mpsc::UnboundedReceiver<Creation>,
        cancel: CancellationToken,
    ) {
        loop {
            let Some(batch) = next_batch(&mut rx, &cancel).await else {
                return;
            };
            let (max_fee, tip) = self.current_fees().await;
            for c in &batch {
                metrics::histogram!("orakel_txm_create_wait_seconds")
                    .record(c.queued.elapsed().as_secs_f64());
            }
            metrics::histogram!("orakel_txm_create_batch_size").record(batch.len() as f64);
            let (news, replies): (Vec<NewEthTx>, Vec<_>) =
                batch.into_iter().map(|c| (c.new, c.reply)).unzip();
            let started = std::time::Instant::now();
            let stored = self
                .inner
                .store
                .create_eth_txs_signed(&news, |new, nonce| {
                    self.sign(new, nonce, max_fee, tip)
                        .map(Some)
                        .map_err(|e| e.to_string())
                })
                .await;
            metrics::histogram!("orakel_txm_create_commit_seconds")
                .record(started.elapsed().as_secs_f64());
            match stored {
                Ok(rows) => {
                    // Answers first, the broadcaster last: the task woken last runs next on
                    // this thread, so the send starts without waiting for another thread.
                    let mut outgoing = Vec::with_capacity(rows.len());
                    for ((row, attempt, created), reply) in rows.into_iter().zip(replies) {
                        let answer = match attempt.filter(|_| created) {
                            Some(attempt) => {
                                let (sent, on_wire) = tokio::sync::oneshot::channel();
                                let hash = attempt.tx_hash.parse().ok();
                                outgoing.push(Outgoing {
                                    queued: std::time::Instant::now(),
                                    row: row.clone(),
                                    raw: attempt.raw,
                                    sent,
                                });
                                Created::New { row, hash, on_wire }
                            }
                            None => Created::Existing(row),
                        };
                        let _ = reply.send(Ok(answer));
                    }
                    // Handed over in slice order, which is nonce order.
                    for item in outgoing {
                        let _ = self.inner.outbox.send(item);
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, count = replies.len(), "cannot create transactions");
                    let why = e.to_string();
                    for reply in replies {
                        let _ = reply.send(Err(Error::Create(why.clone())));
                    }
                }
            }
        }
    }

    /// Signs the transaction `new` with `nonce` at the given fees.
    fn sign(&self, new: &NewEthTx, nonce: u64, max_fee: u128, tip: u128) -> Result<NewAttempt> {
        let to: Address = new.to_address.parse().map_err(|e| Error::Rejected {
            key: new.idempotency_key.clone(),
            reason: format!("bad recipient: {e}"),
        })?;
        let mut tx = TxEip1559 {
            chain_id: new.chain_id,
            nonce,
            gas_limit: new.gas_limit,
            max_fee_per_gas: max_fee,
            max_priority_fee_per_gas: tip,
            to: TxKind::Call(to),
            value: U256::ZERO,
            access_list: Default::default(),
            input: Bytes::from(new.data.clone()),
        };
        let signature = self
            .inner
            .signer
            .sign_transaction_sync(&mut tx)
            .map_err(|e| Error::Signing(e.to_string()))?;
        let signed = tx.into_signed(signature);
        let hash = *signed.hash();
        Ok(NewAttempt {
            tx_hash: format!("{hash:#x}"),
            max_fee_per_gas: max_fee.to_string(),
            max_priority_fee_per_gas: tip.to_string(),
            raw: TxEnvelope::from(signed).encoded_2718(),
        })
    }

    async fn describe_existing(&self, row: EthTxRow) -> Result<TxSubmission> {
        let attempts = self.inner.store.attempts(row.id).await?;
        let hash = attempts.last().and_then(|a| a.tx_hash.parse().ok());
        Ok(TxSubmission {
            tx_id: row.id,
            tx_hash: hash,
            nonce: row.nonce,
            created: false,
            on_wire_at: None,
        })
    }

    /// Keeps the fee cache warm so creating transactions never waits for a fee query.
    async fn fee_loop(self, cancel: CancellationToken) {
        loop {
            // A failed read keeps the last fees until they go stale.
            if let (Ok(base), tip) = self.read_fees().await {
                self.inner.fees.set(base, tip);
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(FEE_REFRESH) => {}
            }
        }
    }

    /// The latest base fee, and the tip the endpoint suggests (the configured default when it
    /// suggests none).
    async fn read_fees(&self) -> (Result<u128>, u128) {
        let rpc = &self.inner.rpc;
        let base = rpc.latest_base_fee().await;
        let tip = rpc
            .max_priority_fee()
            .await
            .unwrap_or(self.inner.cfg.default_priority_fee);
        (base, tip)
    }

    async fn current_fees(&self) -> (u128, u128) {
        let inner = &self.inner;
        let (base, tip) = match inner.fees.fresh() {
            Some(f) => f,
            None => {
                let (base, tip) = self.read_fees().await;
                let base = base.unwrap_or(1_000_000_000);
                inner.fees.set(base, tip);
                (base, tip)
            }
        };
        let max_fee = base
            .saturating_mul(2)
            .saturating_add(tip)
            .min(inner.cfg.max_fee_cap);
        (max_fee, tip.min(max_fee))
    }

    /// Signs an attempt at the given fees, stores it, broadcasts it. Returns its hash.
    async fn sign_store_send(&self, row: &EthTxRow, max_fee: u128, tip: u128) -> Result<B256> {
        let (hash, raw) = self.sign_and_store(row, max_fee, tip).await?;
        self.broadcast(row, &raw).await;
        Ok(hash)
    }

    /// Signs an attempt at the given fees and stores it — before any broadcast, so a crash
    /// cannot lose a transaction that may already be on the network.
    async fn sign_and_store(
        &self,
        row: &EthTxRow,
        max_fee: u128,
        tip: u128,
    ) -> Result<(B256, Vec<u8>)> {
        let inner = &self.inner;
        let to: Address = row.to_address.parse().map_err(|e| Error::Rejected {
            key: row.idempotency_key.clone(),
            reason: format!("bad recipient: {e}"),
        })?;
        let mut tx = TxEip1559 {
            chain_id: row.chain_id,
            nonce: row.nonce,
            gas_limit: row.gas_limit,
            max_fee_per_gas: max_fee,
            max_priority_fee_per_gas: tip,
            to: TxKind::Call(to),
            value: U256::ZERO,
            access_list: Default::default(),
            input: Bytes::from(row.data.clone()),
        };
        let signature = inner
            .signer
            .sign_transaction_sync(&mut tx)
            .map_err(|e| Error::Signing(e.to_string()))?;
        let signed = tx.into_signed(signature);
        let hash = *signed.hash();
        let raw = TxEnvelope::from(signed).encoded_2718();
        inner
            .store
            .insert_attempt(
                row.id,
                &NewAttempt {
                    tx_hash: format!("{hash:#x}"),
                    max_fee_per_gas: max_fee.to_string(),
                    max_priority_fee_per_gas: tip.to_string(),
                    raw: raw.clone(),
                },
            )
            .await?;
        Ok((hash, raw))
    }

    /// Sends signed bytes; records the outcome. Passing failures are left to the loop.
    async fn broadcast(&self, row: &EthTxRow, raw: &[u8]) {
        if self.send_once(row, raw).await
            && let Err(e) = self.inner.store.mark_broadcast(row.id).await
        {
            tracing::error!(tx = row.id, error = %e, "cannot record broadcast");
        }
    }

    /// Sends signed bytes once. True when the endpoint has the transaction (accepted now or
    /// known already); a failure is noted on the transaction for the loop to retry.
    async fn send_once(&self, row: &EthTxRow, raw: &[u8]) -> bool {
        let inner = &self.inner;
        let started = std::time::Instant::now();
        let sent = inner.rpc.send_raw(raw).await;
        metrics::histogram!("orakel_txm_broadcast_rpc_seconds")
            .record(started.elapsed().as_secs_f64());
        match sent {
            Ok(_) => {
                metrics::counter!("orakel_txm_broadcasts_total").increment(1);
                true
            }
            Err(Error::RpcResponse { message, .. }) if is_already_known(&message) => true,
            Err(e) => {
                tracing::warn!(tx = row.id, nonce = row.nonce, error = %e, "broadcast failed; will retry");
                metrics::counter!("orakel_txm_broadcast_errors_total").increment(1);
                let _ = inner.store.note_tx_error(row.id, &e.to_string()).await;
                false
            }
        }
    }

    /// Sends handed-over first attempts in arrival (nonce) order; what is waiting when a send
    /// starts goes out as one JSON-RPC batch. Batches go out in order without waiting for the
    /// previous answer (anvil, for one, mines inside `eth_sendRawTransaction`); up to
    /// [`MAX_BATCHES_IN_FLIGHT`] await their answers at once, driven by this task rather than
    /// spawned, so a batch is on the wire in the same turn that took it from the queue.
    async fn broadcast_loop(
        self,
        mut rx: tokio::sync::mpsc::UnboundedReceiver<Outgoing>,
        cancel: CancellationToken,
    ) {
        use futures::StreamExt as _;
        let mut in_flight = futures::stream::FuturesUnordered::new();
        loop {
            // In-flight batches first: a batch just taken is polled (put on the wire) before
            // the next is taken, so batches leave in the order they were taken.
            tokio::select! {
                biased;
                () = cancel.cancelled() => break,
                Some(()) = in_flight.next(), if !in_flight.is_empty() => {}
                first = rx.recv(), if in_flight.len() < MAX_BATCHES_IN_FLIGHT => {
                    let Some(first) = first else { break };
                    in_flight.push(self.send_batch(take_waiting(first, &mut rx)));
                }
            }
        }
        // Batches already sent still get their answers recorded.
        while in_flight.next().await.is_some() {}
    }

    /// Sends one batch of first attempts and hands the outcomes on.
    async fn send_batch(&self, batch: Vec<Outgoing>) {
        // What is waiting goes out in nonce order as one JSON-RPC batch: one round trip however
        // many runs finished at once. Endpoints may work through a batch's items concurrently;
        // a nonce that arrives after its successor is fine for real nodes, and the head-of-line
        // re-send in `check_open` covers endpoints that drop it.
        let on_wire = std::time::Instant::now();
        for item in &batch {
            metrics::histogram!("orakel_txm_outbox_wait_seconds")
                .record(on_wire.saturating_duration_since(item.queued).as_secs_f64());
        }
        let raws: Vec<Vec<u8>> = batch.iter().map(|o| o.raw.clone()).collect();
        let started = std::time::Instant::now();
        let results = if let [one] = raws.as_slice() {
            vec![self.inner.rpc.send_raw(one).await]
        } else {
            match self.inner.rpc.send_raw_batch(&raws).await {
                Ok(r) => r,
                Err(e) => {
                    let text = e.to_string();
                    raws.iter()
                        .map(|_| {
                            Err(Error::Rpc {
                                method: "eth_sendRawTransaction",
                                last: text.clone(),
                            })
                        })
                        .collect()
                }
            }
        };
        metrics::histogram!("orakel_txm_broadcast_rpc_seconds")
            .record(started.elapsed().as_secs_f64());
        metrics::histogram!("orakel_txm_broadcast_batch_size").record(raws.len() as f64);
        let mut sent_ids = Vec::with_capacity(batch.len());
        let mut failed = Vec::new();
        for (item, result) in batch.into_iter().zip(results) {
            match result {
                Ok(_) => sent_ids.push(item.row.id),
                Err(Error::RpcResponse { message, .. }) if is_already_known(&message) => {
                    sent_ids.push(item.row.id)
                }
                Err(e) => {
                    tracing::warn!(tx = item.row.id, nonce = item.row.nonce, error = %e, "broadcast failed; will retry");
                    metrics::counter!("orakel_txm_broadcast_errors_total").increment(1);
                    failed.push((item.row.id, e.to_string()));
                }
            }
            let _ = item.sent.send(on_wire);
        }
        metrics::counter!("orakel_txm_broadcasts_total").increment(sent_ids.len() as u64);
        // Recorded off the sending path: an unrecorded broadcast is only re-sent later, which
        // is harmless.
        let _ = self.inner.broadcasts.send((sent_ids, failed));
    }

    async fn confirm_loop(self, cancel: CancellationToken) {
        loop {
            if let Err(e) = self.check_open().await {
                tracing::warn!(error = %e, "checking open transactions failed");
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(self.inner.cfg.poll_interval) => {}
            }
        }
    }

    /// One pass over unconfirmed transactions: record receipts, re-send unbroadcast ones, bump
    /// stuck ones.
    pub async fn check_open(&self) -> Result<()> {
        let inner = &self.inner;
        let open: Vec<EthTxRow> = inner
            .store
            .open_eth_txs()
            .await?
            .into_iter()
            .filter(|r| r.from_address == inner.address_hex && r.chain_id == inner.rpc.chain_id())
            .collect();
        if open.is_empty() {
            return Ok(());
        }
        let mined_nonce = inner.rpc.mined_nonce(inner.address).await?;
        let ids: Vec<i64> = open.iter().map(|r| r.id).collect();
        let mut attempts = inner.store.attempts_of(&ids).await?;

        // Mined nonces: which attempt made it? Ask for every attempt's receipt in one batch.
        let mined_rows: Vec<&EthTxRow> = open.iter().filter(|r| r.nonce < mined_nonce).collect();
        let mut asked: Vec<(i64, String, B256)> = Vec::new();
        for row in &mined_rows {
            for a in attempts.get(&row.id).into_iter().flatten() {
                if let Ok(h) = a.tx_hash.parse::<B256>() {
                    asked.push((row.id, a.tx_hash.clone(), h));
                }
            }
        }
        let hashes: Vec<B256> = asked.iter().map(|(_, _, h)| *h).collect();
        let receipts = if hashes.is_empty() {
            Vec::new()
        } else {
            inner.rpc.receipts_batch(&hashes).await?
        };
        let mut mined = Vec::new();
        let mut found = std::collections::HashSet::new();
        for ((id, hash_text, _), receipt) in asked.iter().zip(receipts) {
            let Some(receipt) = receipt else { continue };
            if !found.insert(*id) {
                continue;
            }
            let ok = receipt.status();
            metrics::counter!("orakel_txm_mined_total", "status" => if ok { "ok" } else { "reverted" }).increment(1);
            if !ok {
                tracing::warn!(tx = id, hash = %hash_text, "transaction reverted");
            }
            mined.push((
                *id,
                hash_text.clone(),
                receipt.block_number.unwrap_or(0),
                receipt.gas_used,
                ok,
            ));
        }
        inner.store.mark_mined_many(&mined).await?;
        for row in &mined_rows {
            if found.contains(&row.id) {
                self.clear_missing(row.id);
                continue;
            }
            // After a failover the nonce count and the receipts may come from endpoints at
            // different heights: only give up when the receipt stays missing.
            if self.missing_since(row.id).elapsed() >= MISSING_RECEIPT_GRACE {
                let why = "nonce was used by a transaction this node did not send";
                tracing::error!(tx = row.id, nonce = row.nonce, why);
                inner.store.mark_fatal(row.id, why).await?;
                self.clear_missing(row.id);
            }
        }

        // Not mined yet: send what was never sent, bump what is stuck.
        for row in open.iter().filter(|r| r.nonce >= mined_nonce) {
            match attempts.remove(&row.id).and_then(|mut a| a.pop()) {
                None => {
                    let (max_fee, tip) = self.current_fees().await;
                    self.sign_store_send(row, max_fee, tip).await?;
                }
                Some(last) => {
                    let age = since_micros(last.created_at);
                    if age >= inner.cfg.bump_after {
                        // Stuck in the pool, or refused at broadcast (e.g. fee too low): a new
                        // attempt at a higher fee, same nonce.
                        self.bump(row, &last).await?;
                    } else if row.state == EthTxState::Unbroadcast && age >= UNSENT_GRACE {
                        // Left unsent by a previous process or a failed broadcast (younger
                        // ones may still be queued for the broadcaster).
                        self.broadcast(row, &last.raw).await;
                    } else if row.nonce == mined_nonce
                        && age >= UNSENT_GRACE
                        && self.rebroadcast_due(row.id)
                    {
                        // The lowest unmined nonce holds every later one back: once per
                        // UNSENT_GRACE it is sent again or, when passed over, replaced.
                        if self.passed_over(row.id).await? {
                            // Blocks keep coming without it. A pool may hold a transaction it
                            // wrongly counts as not ready (anvil can, under concurrent
                            // submissions) and answers a re-send of the same bytes with "already
                            // known"; a replacement at a higher fee is looked at afresh.
                            tracing::warn!(
                                tx = row.id,
                                nonce = row.nonce,
                                blocks = HEAD_OF_LINE_BUMP_BLOCKS,
                                "head-of-line transaction passed over; replacing it"
                            );
                            self.bump(row, &last).await?;
                        } else {
                            // Endpoints do drop transactions: send it again (same bytes,
                            // harmless if known).
                            tracing::debug!(
                                tx = row.id,
                                nonce = row.nonce,
                                "re-sending the head-of-line transaction"
                            );
                            metrics::counter!("orakel_txm_rebroadcasts_total").increment(1);
                            self.broadcast(row, &last.raw).await;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether [`HEAD_OF_LINE_BUMP_BLOCKS`] blocks were mined since the head-of-line
    /// transaction `tx_id` was first seen stuck there (re-armed after it says so).
    async fn passed_over(&self, tx_id: i64) -> Result<bool> {
        let head = self.head().await?;
        let Ok(mut seen) = self.inner.head_of_line.lock() else {
            return Ok(false);
        };
        match *seen {
            Some((id, since)) if id == tx_id => {
                let passed = head >= since.saturating_add(HEAD_OF_LINE_BUMP_BLOCKS);
                if passed {
                    *seen = None;
                }
                Ok(passed)
            }
            _ => {
                *seen = Some((tx_id, head));
                Ok(false)
            }
        }
    }

    /// True at most once per [`UNSENT_GRACE`] per transaction.
    fn rebroadcast_due(&self, tx_id: i64) -> bool {
        once_per(&self.inner.last_rebroadcast, tx_id, UNSENT_GRACE)
    }

    fn missing_since(&self, tx_id: i64) -> std::time::Instant {
        match self.inner.missing_receipts.lock() {
            Ok(mut m) => *m.entry(tx_id).or_insert_with(std::time::Instant::now),
            Err(_) => std::time::Instant::now(),
        }
    }

    fn clear_missing(&self, tx_id: i64) {
        if let Ok(mut m) = self.inner.missing_receipts.lock() {
            m.remove(&tx_id);
        }
    }

    async fn bump(&self, row: &EthTxRow, last: &orakel_store::AttemptRow) -> Result<()> {
        let pct = u128::from(self.inner.cfg.bump_percent.max(10));
        let old_fee: u128 = last.max_fee_per_gas.parse().unwrap_or(0);
        let old_tip: u128 = last.max_priority_fee_per_gas.parse().unwrap_or(0);
        let (market_fee, market_tip) = self.current_fees().await;
        let cap = self.inner.cfg.max_fee_cap;
        let fee = (old_fee.saturating_mul(100 + pct) / 100 + 1)
            .max(market_fee)
            .min(cap);
        let tip = (old_tip.saturating_mul(100 + pct) / 100 + 1)
            .max(market_tip)
            .min(fee);
        if fee <= old_fee {
            // Asked again on every pass while it stays stuck: say so now and then, not each time.
            if once_per(&self.inner.cap_warned, row.id, CAP_WARNING_EVERY) {
                tracing::warn!(
                    tx = row.id,
                    fee,
                    "transaction stuck at the fee cap; not bumping further"
                );
            }
            return Ok(());
        }
        tracing::info!(
            tx = row.id,
            nonce = row.nonce,
            old_fee,
            fee,
            "bumping stuck transaction"
        );
        metrics::counter!("orakel_txm_bumps_total").increment(1);
        self.sign_store_send(row, fee, tip).await?;
        Ok(())
    }
}

/// Waits for the next item, then takes whatever else is already waiting (up to
/// [`MAX_BATCH`]). `None` when cancelled or when every sender is gone.
async fn next_batch<T>(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<T>,
    cancel: &CancellationToken,
) -> Option<Vec<T>> {
    let first = tokio::select! {
        () = cancel.cancelled() => return None,
        item = rx.recv() => item?,
    };
    Some(take_waiting(first, rx))
}

/// True when `tx_id` has no entry in `last` younger than `every`, and records now as its
/// entry then. Bounded: the map starts over past 1,024 entries (at worst one early repeat).
fn once_per(
    last: &std::sync::Mutex<std::collections::HashMap<i64, std::time::Instant>>,
    tx_id: i64,
    every: Duration,
) -> bool {
    let Ok(mut m) = last.lock() else {
        return false;
    };
    let now = std::time::Instant::now();
    match m.get(&tx_id) {
        Some(at) if now.duration_since(*at) < every => false,
        _ => {
            if m.len() > 1024 {
                m.clear();
            }
            m.insert(tx_id, now);
            true
        }
    }
}

/// `first` and whatever else is already waiting in `rx`, up to [`MAX_BATCH`] in all.
fn take_waiting<T>(first: T, rx: &mut tokio::sync::mpsc::UnboundedReceiver<T>) -> Vec<T> {
    let mut batch = vec![first];
    while batch.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(item) => batch.push(item),
            Err(_) => break,
        }
    }
    batch
}

/// Records broadcast outcomes, gathered for a moment so that they cost few commits on the
/// writer the next transactions' creation waits for. Ends when the manager is gone.
async fn record_broadcasts(
    store: Store,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<BroadcastOutcome>,
) {
    while let Some((mut sent, mut failed)) = rx.recv().await {
        tokio::time::sleep(RECORD_LINGER).await;
        while let Ok((more_sent, more_failed)) = rx.try_recv() {
            sent.extend(more_sent);
            failed.extend(more_failed);
        }
        if let Err(e) = store.mark_broadcast_many(&sent).await {
            tracing::error!(error = %e, "cannot record broadcasts");
        }
        for (id, why) in failed {
            let _ = store.note_tx_error(id, &why).await;
        }
    }
}

fn is_already_known(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("already known") || m.contains("known transaction") || m.contains("already imported")
}

/// Time since a stored micro timestamp.
fn since_micros(at: i64) -> Duration {
    Duration::from_micros(u64::try_from(now_micros() - at).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_per_lets_each_transaction_through_once_per_interval() {
        let last = std::sync::Mutex::new(std::collections::HashMap::new());
        let hour = Duration::from_secs(3_600);
        assert!(once_per(&last, 7, hour), "first time");
        assert!(!once_per(&last, 7, hour), "again within the interval");
        assert!(
            once_per(&last, 8, hour),
            "another transaction is not held back"
        );
        assert!(once_per(&last, 7, Duration::ZERO), "after the interval");
    }

    #[test]
    fn once_per_stays_bounded() {
        let last = std::sync::Mutex::new(std::collections::HashMap::new());
        for id in 0..5_000 {
            assert!(once_per(&last, id, Duration::from_secs(60)));
        }
        assert!(last.lock().unwrap().len() <= 1_025);
    }
}
