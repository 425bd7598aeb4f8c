//! Connects the pipeline's `ethtx` tasks to the transaction manager.

use std::sync::Arc;

use async_trait::async_trait;
use orakel_chain::{TxManager, TxRequest};
use orakel_pipeline::{EthTxRequest, EthTxSink, TxSubmitted};
use orakel_store::{EthTxState, Store};

use crate::directrequest::{RunStart, RunStarts};

/// The node's [`EthTxSink`].
pub struct ChainTxSink {
    txm: TxManager,
    store: Store,
    chain_id: u64,
    starts: Arc<RunStarts>,
}

impl ChainTxSink {
    /// Creates the sink.
    pub fn new(txm: TxManager, store: Store, chain_id: u64, starts: Arc<RunStarts>) -> Self {
        Self {
            txm,
            store,
            chain_id,
            starts,
        }
    }
}

#[async_trait]
impl EthTxSink for ChainTxSink {
    async fn submit(&self, tx: EthTxRequest) -> Result<TxSubmitted, String> {
        if let Some(chain) = tx.evm_chain_id
            && chain != self.chain_id
        {
            return Err(format!(
                "evmChainID {chain} does not match this node's chain {}",
                self.chain_id
            ));
        }
        if let Some(from) = tx.from
            && from != self.txm.address()
        {
            return Err(format!(
                "from {from:#x} is not this node's key {:#x}",
                self.txm.address()
            ));
        }
        let run_id: Option<i64> = tx
            .idempotency_key
            .split('/')
            .next()
            .and_then(|r| r.parse().ok());
        let start = run_id.and_then(|r| self.starts.get(r));
        if let Some(start) = &start {
            start.clear_to_send(&self.starts, &self.store).await?;
            metrics::histogram!("orakel_request_to_tx_submit_seconds")
                .record(start.received.elapsed().as_secs_f64());
        }
        let key = tx.idempotency_key.clone();
        let sub = self
            .txm
            .submit(TxRequest {
                idempotency_key: tx.idempotency_key,
                to: tx.to,
                data: tx.data,
                gas_limit: tx.gas_limit.or(start.as_ref().and_then(|s| s.gas_limit)),
                run_id,
            })
            .await
            .map_err(|e| e.to_string())?;
        // Node-side latency ends when the fulfilment is on the wire to the endpoint.
        if let (Some(RunStart { received, .. }), Some(on_wire)) = (start, sub.on_wire_at) {
            metrics::histogram!("orakel_request_to_broadcast_seconds")
                .record(on_wire.saturating_duration_since(received).as_secs_f64());
        }
        if tx.min_confirmations > 0 {
            return self
                .await_outcome(&key, tx.min_confirmations, tx.fail_on_revert)
                .await;
        }
        Ok(TxSubmitted {
            tx_hash: sub.tx_hash,
            tx_id: sub.tx_id,
        })
    }
}

/// How often a task waiting for confirmations looks at its transaction.
const CONFIRMATION_POLL: std::time::Duration = std::time::Duration::from_millis(200);

impl ChainTxSink {
    /// `minConfirmations`: waits until the transaction is mined with that many confirmations
    /// (its own block counts as one). A reverted transaction fails the task when
    /// `failOnRevert` is set; a transaction given up as fatal always does. The task's own
    /// timeout (or the job's `maxTaskDuration`) bounds the wait; the receipt loop of the
    /// transaction manager records what the task reads here.
    async fn await_outcome(
        &self,
        key: &str,
        min_confirmations: u64,
        fail_on_revert: bool,
    ) -> Result<TxSubmitted, String> {
        loop {
            let row = self
                .store
                .eth_tx_by_key(key)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("transaction {key} disappeared from the store"))?;
            let done = TxSubmitted {
                tx_hash: row.mined_tx_hash.as_deref().and_then(|h| h.parse().ok()),
                tx_id: row.id,
            };
            match (row.state, row.mined_block) {
                (EthTxState::Fatal, _) => {
                    return Err(format!(
                        "transaction {} failed: {}",
                        row.id,
                        row.error.as_deref().unwrap_or("given up")
                    ));
                }
                (EthTxState::Reverted, Some(_)) if fail_on_revert => {
                    return Err(format!(
                        "transaction {} reverted on chain (failOnRevert)",
                        row.mined_tx_hash.as_deref().unwrap_or("?")
                    ));
                }
                (EthTxState::Confirmed | EthTxState::Reverted, Some(block)) => {
                    let head = self.txm.head().await.map_err(|e| e.to_string())?;
                    if head + 1 >= block + min_confirmations {
                        return Ok(done);
                    }
                }
                _ => {}
            }
            tokio::time::sleep(CONFIRMATION_POLL).await;
        }
    }
}
