//! Polls the chain for logs of the configured contracts and hands them over in block order,
//! batch by batch, together with the checkpoint the handler must store atomically with them.
//! Because the checkpoint only moves once a batch is stored, a node killed at any point
//! re-reads from its last stored block on restart and misses nothing (the handler must make
//! storing a log twice harmless). Before each poll the checkpoint's block hash is compared with
//! the canonical chain; after a reorg the listener rewinds `reorg_depth` blocks and re-reads.

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, B256};
use alloy::rpc::types::{Filter, Log};
use async_trait::async_trait;
use orakel_store::{Checkpoint, Store};
use tokio_util::sync::CancellationToken;

use crate::{Result, Rpc};

/// Settings of a listener.
#[derive(Debug, Clone)]
pub struct ListenerConfig {
    /// Checkpoint key in the store (one per listener).
    pub name: String,
    /// Pause between polls when caught up.
    pub poll_interval: Duration,
    /// Most blocks asked for in one `eth_getLogs`.
    pub max_range: u64,
    /// How far to rewind when the checkpoint block was reorged away.
    pub reorg_depth: u64,
    /// First block to read when there is no checkpoint (default: the head at start).
    pub start_block: Option<u64>,
    /// Blocks a log's block must have (itself included) before the listener reads it: it
    /// reads up to `head - (confirmations - 1)`. 0 and 1 both mean "up to the head" (the
    /// direct-request listener counts confirmations itself, later).
    pub confirmations: u64,
}

impl Default for ListenerConfig {
    fn default() -> Self {
        Self {
            name: "oracle-requests".into(),
            poll_interval: Duration::from_millis(500),
            max_range: 2_000,
            reorg_depth: 64,
            start_block: None,
            confirmations: 0,
        }
    }
}

/// Logs of blocks `from_block..=to_block`, in chain order.
#[derive(Debug, Clone)]
pub struct LogBatch {
    /// Logs, ordered by block then log index.
    pub logs: Vec<Log>,
    /// First block covered.
    pub from_block: u64,
    /// Last block covered; the checkpoint after this batch.
    pub checkpoint: Checkpoint,
    /// Chain head when the batch was read.
    pub head: u64,
}

/// A log the subscription delivered, stamped when the subscription's reader took it off the
/// connection: latency counted from here includes any wait for the handler.
#[derive(Debug, Clone)]
pub struct EarlyLog {
    /// The log as notified.
    pub log: Log,
    /// When it arrived.
    pub received: std::time::Instant,
}

/// What the listener feeds.
#[async_trait]
pub trait LogHandler: Send + Sync {
    /// Contracts and event topics (topic 0) to read, asked before every poll so that job
    /// changes take effect without a restart.
    fn filter(&self) -> (Vec<Address>, Vec<B256>);
    /// Stores the batch and its checkpoint atomically. An error makes the listener retry the
    /// same batch later.
    async fn handle(&self, listener: &str, batch: LogBatch) -> Result<()>;
    /// Called after each poll with the current head (for confirmation counting).
    async fn on_head(&self, head: u64);
    /// New logs that a [`LogSubscription`](crate::LogSubscription) delivered ahead of the poll,
    /// each with when it came off the connection. They carry no checkpoint: the poll delivers
    /// the same logs again through [`handle`](Self::handle), so acting on them must be
    /// idempotent, and a failure here loses nothing. The default ignores them.
    async fn handle_early(&self, _listener: &str, _logs: Vec<EarlyLog>) -> Result<()> {
        Ok(())
    }
    /// True while the handler has nothing to watch and does not need heads either: the listener
    /// then skips the poll entirely (no RPC call, no checkpoint write), so an unused listener
    /// costs nothing. When it becomes busy again it resumes from its stored checkpoint.
    fn idle(&self) -> bool {
        false
    }
}

/// The polling log listener.
#[derive(Debug)]
pub struct LogListener;

impl LogListener {
    /// Runs until `cancel` fires. Errors are logged and retried; it never returns early.
    pub async fn run(
        rpc: Rpc,
        store: Store,
        cfg: ListenerConfig,
        handler: Arc<dyn LogHandler>,
        cancel: CancellationToken,
    ) {
        let mut checkpoint: Option<Checkpoint> = None;
        let mut backoff = cfg.poll_interval;
        // The head when the listener started idle: without a stored checkpoint it starts reading
        // there once it has work, so nothing that happened while it idled is missed.
        let mut idle_since: Option<u64> = None;
        loop {
            if cancel.is_cancelled() {
                return;
            }
            if handler.idle() {
                if checkpoint.is_none() && idle_since.is_none() {
                    idle_since = rpc.block_number().await.ok();
                }
                tokio::select! {
                    () = cancel.cancelled() => return,
                    () = tokio::time::sleep(cfg.poll_interval) => {}
                }
                continue;
            }
            match poll_once(
                &rpc,
                &store,
                &cfg,
                handler.as_ref(),
                &mut checkpoint,
                idle_since,
                &cancel,
            )
            .await
            {
                Ok(()) => backoff = cfg.poll_interval,
                Err(e) => {
                    tracing::warn!(listener = %cfg.name, error = %e, "log poll failed; retrying");
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(backoff) => {}
            }
        }
    }
}

async fn poll_once(
    rpc: &Rpc,
    store: &Store,
    cfg: &ListenerConfig,
    handler: &dyn LogHandler,
    checkpoint: &mut Option<Checkpoint>,
    idle_since: Option<u64>,
    cancel: &CancellationToken,
) -> Result<()> {
    let chain_head = rpc.block_number().await?;
    // Only confirmed blocks are read; the handler still learns the real head.
    let head = chain_head.saturating_sub(cfg.confirmations.saturating_sub(1));
    let mut cp = match checkpoint.take() {
        Some(cp) => cp,
        None => match store.checkpoint(&cfg.name).await? {
            Some(cp) => {
                tracing::info!(listener = %cfg.name, block = cp.block_number, "resuming from stored checkpoint");
                cp
            }
            None => {
                let start = cfg.start_block.or(idle_since).unwrap_or(head);
                if start > head.saturating_add(1) {
                    // The first block to read is not even the next one yet: wait for it rather
                    // than reading blocks before it.
                    handler.on_head(chain_head).await;
                    return Ok(());
                }
                let number = start.saturating_sub(1);
                let hash = rpc.block_hash(number).await?.unwrap_or_default();
                Checkpoint {
                    block_number: number,
                    block_hash: format!("{hash:#x}"),
                }
            }
        },
    };
    // Reorg below the checkpoint: rewind and read again.
    if cp.block_number <= head {
        let canonical = rpc
            .block_hash(cp.block_number)
            .await?
            .map(|h| format!("{h:#x}"));
        if canonical.as_deref() != Some(cp.block_hash.as_str()) {
            let back = cp.block_number.saturating_sub(cfg.reorg_depth);
            tracing::warn!(listener = %cfg.name, from = cp.block_number, to = back, "checkpoint block was reorged away; rewinding");
            metrics::counter!("orakel_listener_reorgs_total").increment(1);
            let hash = rpc.block_hash(back).await?.unwrap_or_default();
            cp = Checkpoint {
                block_number: back,
                block_hash: format!("{hash:#x}"),
            };
        }
    }
    let result = catch_up(rpc, cfg, handler, &mut cp, head, cancel).await;
    *checkpoint = Some(cp);
    result?;
    handler.on_head(chain_head).await;
    metrics::gauge!("orakel_listener_head").set(chain_head as f64);
    Ok(())
}

async fn catch_up(
    rpc: &Rpc,
    cfg: &ListenerConfig,
    handler: &dyn LogHandler,
    cp: &mut Checkpoint,
    head: u64,
    cancel: &CancellationToken,
) -> Result<()> {
    while cp.block_number < head && !cancel.is_cancelled() {
        let from = cp.block_number + 1;
        let to = head.min(cp.block_number + cfg.max_range.max(1));
        // The checkpoint hash is read BEFORE the logs: if the range is reorged in between, the
        // stale hash makes the next poll rewind and re-read. Read after, a new chain's hash
        // could vouch for the old chain's logs and the replacing logs would never be read.
        let hash = rpc.block_hash(to).await?.unwrap_or_default();
        let (addresses, topics) = handler.filter();
        let mut logs = if addresses.is_empty() || topics.is_empty() {
            // An empty address list would mean "every contract" to eth_getLogs.
            Vec::new()
        } else {
            let filter = Filter::new()
                .address(addresses)
                .event_signature(topics)
                .from_block(from)
                .to_block(to);
            rpc.logs(&filter).await?
        };
        logs.retain(|l| !l.removed);
        logs.sort_by_key(|l| (l.block_number.unwrap_or(0), l.log_index.unwrap_or(0)));
        let next = Checkpoint {
            block_number: to,
            block_hash: format!("{hash:#x}"),
        };
        handler
            .handle(
                &cfg.name,
                LogBatch {
                    logs,
                    from_block: from,
                    checkpoint: next.clone(),
                    head,
                },
            )
            .await?;
        *cp = next;
    }
    Ok(())
}
