//! Everything the node does with an EVM chain: an RPC pool with failover, a log listener that
//! survives restarts and reorgs (with an optional WebSocket subscription for early delivery),
//! a transaction manager that never sends one job's transaction twice, and the encrypted
//! keystore holding the node's sending key.
//!
//! This crate owns RPC calls, signing and nonce discipline. It stores its state through
//! `orakel-store`; it must not know about jobs, pipelines or ABI of particular contracts —
//! the node hands it addresses, topics and calldata.

mod error;
pub mod keystore;
pub mod listener;
pub mod rpc;
mod rpc_read;
pub mod subscription;
pub mod txm;

pub use error::{Error, Result};
pub use listener::{EarlyLog, ListenerConfig, LogBatch, LogHandler, LogListener};
pub use rpc::{Rpc, redact_rpc_url};
pub use subscription::LogSubscription;
pub use txm::{TxManager, TxManagerConfig, TxRequest, TxSubmission};
