//! Read access to the chain for `ethcall` and `estimategaslimit`, injected by the node (this
//! crate never speaks RPC itself).

use alloy_primitives::{Address, Bytes};

/// Which block a call runs against.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BlockRef {
    /// The latest block (the default).
    #[default]
    Latest,
    /// The pending block.
    Pending,
    /// A block by number.
    Number(u64),
}

/// A read-only call, built by an `ethcall` or `estimategaslimit` task.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChainCall {
    /// Caller (`from`); `None` lets the node choose (usually the zero address).
    pub from: Option<Address>,
    /// The contract called.
    pub to: Address,
    /// Calldata, selector included.
    pub data: Bytes,
    /// Gas for the call; `None` = the node's default (unlimited for `gasUnlimited=true`).
    pub gas: Option<u64>,
    /// Legacy gas price.
    pub gas_price: Option<u128>,
    /// EIP-1559 priority fee.
    pub gas_tip_cap: Option<u128>,
    /// EIP-1559 fee cap.
    pub gas_fee_cap: Option<u128>,
    /// Block to run against.
    pub block: BlockRef,
    /// Chain the task expects; the reader refuses a call for another chain.
    pub evm_chain_id: Option<u64>,
}

/// Where `ethcall` and `estimategaslimit` tasks read the chain (the node implements it over
/// its RPC pool).
#[async_trait::async_trait]
pub trait ChainReader: Send + Sync {
    /// `eth_call`: the returned bytes. A revert is an error carrying the revert reason when
    /// the node has one.
    async fn call(&self, call: ChainCall) -> Result<Bytes, String>;

    /// `eth_estimateGas`: the estimated gas.
    async fn estimate_gas(&self, call: ChainCall) -> Result<u64, String>;
}
