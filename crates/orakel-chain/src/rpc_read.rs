//! Read-only calls on the RPC pool: `eth_call` and `eth_estimateGas` (for the pipeline's
//! `ethcall` and `estimategaslimit` tasks, through the node).

use alloy::eips::BlockId;
use alloy::primitives::Bytes;
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;

use crate::{Result, Rpc};

impl Rpc {
    /// `eth_call` at `block`: the returned bytes. A revert is the node's JSON-RPC error
    /// ([`Error::RpcResponse`](crate::Error::RpcResponse)), which carries the revert reason.
    pub async fn eth_call(&self, tx: &TransactionRequest, block: BlockId) -> Result<Bytes> {
        self.call("eth_call", |p| {
            let tx = tx.clone();
            async move { p.call(tx).block(block).await }
        })
        .await
    }

    /// `eth_estimateGas` at `block`.
    pub async fn estimate_gas(&self, tx: &TransactionRequest, block: BlockId) -> Result<u64> {
        self.call("eth_estimateGas", |p| {
            let tx = tx.clone();
            async move { p.estimate_gas(tx).block(block).await }
        })
        .await
    }
}
