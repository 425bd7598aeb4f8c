use thiserror::Error;

/// Everything that can go wrong talking to the store.
#[derive(Debug, Error)]
pub enum Error {
    /// Only `sqlite:` URLs are supported by this build.
    #[error("unsupported database URL {0:?}: expected sqlite://<path> or sqlite::memory:")]
    UnsupportedUrl(String),
    /// A URL option the store cannot honour on both of its writer connections.
    #[error(
        "database URL {url:?}: option `{option}` is not supported (the store opens the file \
         with two connections that must see the same database with the same locking)"
    )]
    UnsupportedUrlOption {
        /// The URL, with credentials redacted.
        url: String,
        /// The option.
        option: &'static str,
    },
    /// The store's own writer connection could not be opened.
    #[error("cannot open database {url} for writing: {source}")]
    OpenWriter {
        /// The URL, with credentials redacted.
        url: String,
        /// The driver's error.
        source: rusqlite::Error,
    },
    /// The database could not be opened.
    #[error("cannot open database {url}: {source}")]
    Open {
        /// The URL, with credentials redacted.
        url: String,
        /// The driver's error.
        source: sqlx::Error,
    },
    /// Applying migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A statement failed.
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    /// A statement of an inline write failed.
    #[error("database error: {0}")]
    Inline(#[from] rusqlite::Error),
    /// A unique constraint was hit where the caller asked for a new row.
    #[error("{0}")]
    Conflict(String),
    /// A stored value could not be decoded (corrupt or hand-edited row).
    #[error("corrupt {what} in row {id}: {detail}")]
    Corrupt {
        /// Which column.
        what: &'static str,
        /// Row id.
        id: i64,
        /// What was wrong.
        detail: String,
    },
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}
