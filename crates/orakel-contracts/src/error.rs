//! The crate's error type.

use alloy::primitives::TxHash;

/// Everything that can go wrong while deploying or driving the contracts.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A contract call, deployment or its gas estimation failed (includes reverts seen while
    /// estimating, RPC errors and deployments that produced no contract).
    #[error("contract interaction failed: {0}")]
    Contract(#[from] alloy::contract::Error),
    /// Sending a transaction or waiting for its receipt failed.
    #[error("waiting for the transaction receipt failed: {0}")]
    PendingTransaction(#[from] alloy::providers::PendingTransactionError),
    /// A transaction was mined but reverted.
    #[error("transaction {tx_hash} ({action}) reverted")]
    Reverted {
        /// What the transaction was for.
        action: &'static str,
        /// The mined transaction.
        tx_hash: TxHash,
    },
    /// A transaction succeeded but lacked the event it should have emitted.
    #[error("transaction {tx_hash} ({action}) emitted no {event} event")]
    MissingEvent {
        /// What the transaction was for.
        action: &'static str,
        /// The event expected.
        event: &'static str,
        /// The mined transaction.
        tx_hash: TxHash,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
