use thiserror::Error;

/// Errors of chain access.
#[derive(Debug, Error)]
pub enum Error {
    /// Every configured endpoint failed the call.
    #[error("rpc call {method} failed on every endpoint: {last}")]
    Rpc {
        /// The JSON-RPC method.
        method: &'static str,
        /// The last endpoint's error (URL redacted).
        last: String,
    },
    /// The node answered the call with a JSON-RPC error (not retried on other endpoints).
    #[error("rpc call {method} returned error {code}: {message}")]
    RpcResponse {
        /// The JSON-RPC method.
        method: &'static str,
        /// JSON-RPC error code.
        code: i64,
        /// Error message from the node.
        message: String,
    },
    /// A configured URL is not usable.
    #[error("invalid rpc url {url}: {reason}")]
    BadUrl {
        /// The URL, redacted.
        url: String,
        /// Why.
        reason: String,
    },
    /// No RPC URL was configured.
    #[error("no rpc url configured")]
    NoEndpoints,
    /// The endpoint serves another chain than configured.
    #[error("rpc endpoint {url} serves chain {actual}, configured chain is {expected}")]
    WrongChain {
        /// The endpoint (redacted).
        url: String,
        /// Configured chain id.
        expected: u64,
        /// Reported chain id.
        actual: u64,
    },
    /// Storing state failed.
    #[error(transparent)]
    Store(#[from] orakel_store::Error),
    /// Keystore problems: missing file, wrong password, corrupt JSON.
    #[error("keystore {path}: {reason}")]
    Keystore {
        /// The keystore file.
        path: String,
        /// What went wrong (never contains the password or key).
        reason: String,
    },
    /// Signing a transaction failed.
    #[error("signing failed: {0}")]
    Signing(String),
    /// The transaction was refused in a way retrying cannot fix.
    #[error("transaction {key} rejected: {reason}")]
    Rejected {
        /// Idempotency key.
        key: String,
        /// Node's reason.
        reason: String,
    },
    /// Creating (storing) a transaction failed; nothing was sent.
    #[error("creating the transaction failed: {0}")]
    Create(String),
    /// The component is shutting down.
    #[error("shutting down")]
    Shutdown,
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
