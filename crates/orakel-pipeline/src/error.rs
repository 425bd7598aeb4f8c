//! The crate's error type.

use crate::spec::SpecError;

/// Errors of this crate's fallible setup functions. Task failures are not errors of this
/// type: they are reported inside [`RunOutcome`](crate::RunOutcome).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A job spec or pipeline is invalid.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(String),
    /// The runner configuration is invalid.
    #[error("invalid runner configuration: {0}")]
    Config(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
