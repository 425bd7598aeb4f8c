//! The local devnet: a chain (anvil, or any RPC endpoint), the orakel contracts, the source
//! simulator, optionally the sample external adapter (registered on every node as a bridge),
//! and a set of orakel nodes running as separate processes — what `orakel devnet`
//! and `make demo` run, and the harness of the end-to-end tests and the load benchmark.
//!
//! It owns process supervision, deployment wiring and request driving. It must not reach into
//! a node's internals: it talks to nodes only through their CLI, config files and REST API, as
//! an operator would.

pub mod bench;
pub mod demo;
mod devnet;
pub mod pool;
pub mod process;
pub mod sla;
pub mod spec;

pub use devnet::{
    ADAPTER_BRIDGE, ANVIL_DEFAULT_KEY, Devnet, DevnetAdapter, DevnetConfig, DevnetNode, Fulfilment,
    SentRequest,
};

use thiserror::Error;

/// Devnet errors.
#[derive(Debug, Error)]
pub enum Error {
    /// A process or file operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Cause.
        source: std::io::Error,
    },
    /// Setting up failed (a process did not start, anvil not found, …).
    #[error("{0}")]
    Setup(String),
    /// A chain call failed.
    #[error("chain: {0}")]
    Chain(String),
    /// A node API call failed.
    #[error("node API {url}: {message}")]
    Api {
        /// The URL called.
        url: String,
        /// What went wrong.
        message: String,
    },
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<orakel_contracts::Error> for Error {
    fn from(e: orakel_contracts::Error) -> Self {
        Self::Chain(e.to_string())
    }
}

impl From<orakel_node::Error> for Error {
    fn from(e: orakel_node::Error) -> Self {
        Self::Setup(e.to_string())
    }
}
