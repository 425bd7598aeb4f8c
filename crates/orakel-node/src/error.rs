use thiserror::Error;

/// Errors of the node service.
#[derive(Debug, Error)]
pub enum Error {
    /// Configuration file or environment is wrong.
    #[error("config: {0}")]
    Config(String),
    /// A job spec was rejected; the error names the line, column and field.
    #[error("{0}")]
    Spec(#[from] orakel_pipeline::SpecError),
    /// A job spec is valid but cannot run on this node.
    #[error("job spec not accepted: {0}")]
    Unsupported(String),
    /// Persistence failed.
    #[error(transparent)]
    Store(#[from] orakel_store::Error),
    /// Chain access failed.
    #[error(transparent)]
    Chain(#[from] orakel_chain::Error),
    /// The pipeline engine could not be built.
    #[error(transparent)]
    Pipeline(#[from] orakel_pipeline::Error),
    /// A file or socket failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The SLA service failed.
    #[error("sla: {0}")]
    Sla(String),
    /// Metrics exporter could not be installed.
    #[error("metrics: {0}")]
    Metrics(String),
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
