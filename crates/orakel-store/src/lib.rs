//! Persistence for the orakel node: jobs, oracle requests, job runs with every task's result,
//! log-listener checkpoints, nonces and transactions with their signed attempts, and the SLAs
//! and commit–reveal rounds the node takes part in.
//!
//! The embedded default is one SQLite file (WAL mode), created and migrated on open. This crate
//! owns the schema (`migrations/`) and every SQL statement; it must not know about RPC, ABI
//! encoding or pipelines — callers hand it plain values (hex strings, bytes, JSON).
//!
//! Hot writes (storing request logs, creating transactions, finishing runs) run through
//! rusqlite on the calling thread (`Store::write_inline`): on a database file through a second
//! connection of our own, taken in turn with sqlx's writer so the two never write at once; on an
//! in-memory database (one connection only) on sqlx's handle, borrowed in the crate's one
//! `unsafe` block. Either way a commit costs taking the writer's turn, not a hand-over to a
//! connection thread per statement.
//!
//! Durability rule the node relies on: every method that records something the chain will not
//! tell us again (a received request, a signed transaction) commits before it returns, so a
//! process killed right after the call loses nothing.

mod bridges;
mod error;
mod jobs;
mod requests;
mod runs;
mod sla;
mod suspensions;
mod txs;
mod webhooks;

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use tokio::sync::Notify;

pub use bridges::{BridgeRow, BridgeUpdate, NewBridge};
pub use error::{Error, Result};
pub use jobs::{JobRow, NewJob};
pub use requests::{Checkpoint, NewRequest, RequestRow, RequestState, StartRun};
pub use runs::{FinishedRun, NewTaskRun, RunRow, RunState, TaskRunRow};
pub use sla::{
    DepositOutcome, NewSla, NewSlaRound, RoundStatus, SlaRoundRow, SlaRoundState, SlaRow, SlaState,
};
pub use suspensions::{
    AnswerOutcome, InterruptedRun, NewSuspension, SuspendedTask, SuspensionRow, WaitingTask,
};
pub use txs::{AttemptRow, EthTxRow, EthTxState, NewAttempt, NewEthTx};
pub use webhooks::{ExternalInitiatorRow, NewExternalInitiator};

/// Handle to the node's database. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    // sqlx's one writer connection (see `open`); holding it is the writer's turn.
    pool: SqlitePool,
    // Read-only connections: in WAL mode readers never wait for the writer, so reads on the
    // hot path do not queue behind background writes.
    reader: SqlitePool,
    // Lets the writes a fulfilment waits for go before bookkeeping writes.
    gate: Arc<WriteGate>,
    // The connection `write_inline` uses on a database file (none in memory).
    direct: Option<Arc<DirectWriter>>,
    // The background WAL checkpointer's connection (none in memory).
    checkpointer: Option<SqlitePool>,
    // The next `job_runs.id` to hand out. Run ids are given out here, not by SQLite, so that a
    // run can start before the write that creates it (`next_run_id`); every insert into
    // `job_runs` takes its id from here.
    next_run: Arc<AtomicI64>,
}

/// A rusqlite connection to the database file, used only while holding sqlx's writer
/// connection (the writer's turn), so this process never has two writers at once. `None`
/// after [`Store::close`], or after a connection stuck inside a transaction was dropped (the
/// next write opens a new one).
struct DirectWriter {
    path: std::path::PathBuf,
    db: std::sync::Mutex<Option<rusqlite::Connection>>,
}

impl DirectWriter {
    fn open(path: &std::path::Path) -> rusqlite::Result<Self> {
        // Absolute, so that reopening does not depend on the working directory.
        let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let db = Self::connect(&path)?;
        Ok(Self {
            path,
            db: std::sync::Mutex::new(Some(db)),
        })
    }

    /// The connection slot. A panic while it was held left no transaction open (rusqlite
    /// rolls back on drop), so a poisoned lock is still good to use.
    fn slot(&self) -> std::sync::MutexGuard<'_, Option<rusqlite::Connection>> {
        self.db
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Opens the file with the writer's per-connection settings (see `Store::open`).
    fn connect(path: &std::path::Path) -> rusqlite::Result<rusqlite::Connection> {
        let db = rusqlite::Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        db.busy_timeout(BUSY_TIMEOUT)?;
        db.pragma_update(None, "synchronous", "NORMAL")?;
        db.pragma_update(None, "foreign_keys", "ON")?;
        db.pragma_update(None, "wal_autocheckpoint", 0)?;
        Ok(db)
    }
}

/// Write priority on the single writer connection. Urgent writes (storing request logs,
/// creating transactions) announce themselves; background writes (finished runs, broadcast
/// and receipt bookkeeping) wait while any is announced, for at most [`BACKGROUND_MAX_WAIT`],
/// so they never starve. A background write that already holds the connection finishes first:
/// the gate only stops new ones from queueing ahead.
#[derive(Default)]
struct WriteGate {
    urgent: AtomicUsize,
    idle: Notify,
}

/// How long a connection waits for another process's write lock before failing. Within this
/// process the writers take turns and never wait (see `Store::open`); the same on every
/// connection, sqlx's and the store's own.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest a background write yields to urgent ones.
const BACKGROUND_MAX_WAIT: Duration = Duration::from_millis(250);

/// How long an inline write may hold its thread.
#[derive(Clone, Copy)]
enum Hold {
    /// A few statements: run on the task's thread.
    Short,
    /// A batch that may take milliseconds.
    Long,
}

/// Held while an urgent write is queued or running.
struct UrgentWrite(Arc<WriteGate>);

impl Drop for UrgentWrite {
    fn drop(&mut self) {
        if self.0.urgent.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating if missing) the database at `url` and applies pending migrations.
    ///
    /// `url` is `sqlite://path/to/file.sqlite` or `sqlite::memory:`.
    pub async fn open(url: &str) -> Result<Self> {
        if !url.starts_with("sqlite:") {
            return Err(Error::UnsupportedUrl(redact_url(url)));
        }
        let memory = url.contains(":memory:") || url.contains("mode=memory");
        // The store's own writer connection opens the file by its path alone: options that
        // change which database or which locking a connection uses would split the two.
        if let Some(query) = url.split_once('?').map(|(_, q)| q) {
            for option in ["vfs", "immutable"] {
                if query
                    .split('&')
                    .any(|kv| kv.split('=').next() == Some(option))
                {
                    return Err(Error::UnsupportedUrlOption {
                        url: redact_url(url),
                        option,
                    });
                }
            }
        }
        let mut options = SqliteConnectOptions::from_str(url)
            .map_err(|e| Error::Open {
                url: redact_url(url),
                source: e,
            })?
            .create_if_missing(true)
            .journal_mode(if memory {
                SqliteJournalMode::Memory
            } else {
                SqliteJournalMode::Wal
            })
            // WAL + NORMAL survives a killed process (not a power cut) and keeps commits cheap.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        if !memory {
            // No connection checkpoints inside its own commit (a checkpoint fsyncs and stalls
            // every statement queued behind it); a background connection does it passively,
            // which never blocks the writer. Set per connection, so also on connections sqlx
            // opens later to replace old ones.
            options = options.pragma("wal_autocheckpoint", "0");
        }
        // One sqlx writer connection: SQLite has one writer at a time anyway, and a second
        // connection waiting on the lock sleeps in SQLite's busy handler (milliseconds), which
        // would dominate request latency. Writes take turns on it instead; the store's own
        // writer connection (`DirectWriter`) writes only during such a turn. An in-memory
        // database also exists per connection, so it must be one.
        let max = 1;
        // No ping before handing the connection out: it is local and cannot have hung up, and
        // each ping is one more hand-over to its thread in front of every write.
        let pool = SqlitePoolOptions::new()
            .max_connections(max)
            .min_connections(1)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await
            .map_err(|e| Error::Open {
                url: redact_url(url),
                source: e,
            })?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        // Past every id stored, and every id AUTOINCREMENT ever handed out (never reused).
        let last_run: i64 = sqlx::query_scalar(
            "SELECT MAX(COALESCE((SELECT MAX(id) FROM job_runs), 0), \
             COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'job_runs'), 0))",
        )
        .fetch_one(&pool)
        .await?;
        let checkpointer = if memory {
            None
        } else {
            let checkpointer = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options.clone())
                .await
                .map_err(|e| Error::Open {
                    url: redact_url(url),
                    source: e,
                })?;
            spawn_checkpointer(checkpointer.clone());
            Some(checkpointer)
        };
        let direct = if memory {
            None
        } else {
            let writer =
                DirectWriter::open(options.get_filename()).map_err(|source| Error::OpenWriter {
                    url: redact_url(url),
                    source,
                })?;
            Some(Arc::new(writer))
        };
        let reader = if memory {
            pool.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(4)
                .min_connections(1)
                .test_before_acquire(false)
                .connect_with(options.read_only(true).create_if_missing(false))
                .await
                .map_err(|e| Error::Open {
                    url: redact_url(url),
                    source: e,
                })?
        };
        Ok(Self {
            pool,
            reader,
            gate: Arc::default(),
            direct,
            checkpointer,
            next_run: Arc::new(AtomicI64::new(last_run + 1)),
        })
    }

    /// A new run id: past every run stored when the database was opened, and never handed out
    /// before by this handle (or its clones). A run may use it before its row is written; an id
    /// given out and never written is a gap, and may be handed out again after a reopen. Only
    /// the node's process writes its database, and it opens it once, so two counters never
    /// hand out the same id.
    pub fn next_run_id(&self) -> i64 {
        self.next_run.fetch_add(1, Ordering::Relaxed)
    }

    /// Announces an urgent write until the guard drops.
    fn urgent_write(&self) -> UrgentWrite {
        self.gate.urgent.fetch_add(1, Ordering::AcqRel);
        UrgentWrite(self.gate.clone())
    }

    /// Waits until no urgent write is announced (or [`BACKGROUND_MAX_WAIT`] passed).
    async fn background_write(&self) {
        let wait = async {
            loop {
                let idle = self.gate.idle.notified();
                tokio::pin!(idle);
                idle.as_mut().enable();
                if self.gate.urgent.load(Ordering::Acquire) == 0 {
                    return;
                }
                idle.await;
            }
        };
        let _ = tokio::time::timeout(BACKGROUND_MAX_WAIT, wait).await;
    }

    /// Runs `work` as one transaction on the writer connection, on the calling thread, and
    /// commits it (an error rolls it back).
    ///
    /// Through sqlx every statement, `BEGIN` and `COMMIT` is a hand-over to the connection's
    /// own thread and back, and on a busy machine each hand-over waits for a core. This takes
    /// the writer's turn (sqlx's writer connection, which sqlx pings on its thread when it goes
    /// back) and runs the statements directly: on a file through [`DirectWriter`], with no
    /// hand-over at all; in memory through the locked handle of sqlx's connection (one more).
    /// The writes a fulfilment waits for hold the writer only as long as SQLite needs
    /// (ADRs 0008, 0009).
    async fn write_inline<T, F>(&self, work: F) -> Result<T>
    where
        F: FnOnce(&rusqlite::Transaction<'_>) -> Result<T>,
    {
        self.write_inline_as(Hold::Short, work).await
    }

    /// [`Store::write_inline`] for a write that may take milliseconds (a large batch): on a
    /// multi-threaded runtime the runtime's other tasks move off this thread meanwhile.
    async fn write_inline_bulk<T, F>(&self, work: F) -> Result<T>
    where
        F: FnOnce(&rusqlite::Transaction<'_>) -> Result<T>,
    {
        self.write_inline_as(Hold::Long, work).await
    }

    async fn write_inline_as<T, F>(&self, hold: Hold, work: F) -> Result<T>
    where
        F: FnOnce(&rusqlite::Transaction<'_>) -> Result<T>,
    {
        // The writer's turn: no sqlx write runs while this one does.
        let mut conn = self.pool.acquire().await?;
        if let Some(direct) = &self.direct {
            let mut slot = direct.slot();
            let db = match slot.take() {
                Some(db) => db,
                None => DirectWriter::connect(&direct.path)?,
            };
            let (result, stuck) = run_inline(&db, hold, work);
            if stuck {
                // Dropped (releasing whatever it holds); the next write opens a new one.
                tracing::error!("direct writer connection left inside a transaction; closing it");
            } else {
                *slot = Some(db);
            }
            return result;
        }
        let mut handle = conn.lock_handle().await?;
        let db = borrow_handle(&mut handle)?;
        let (result, stuck) = run_inline(&db, hold, work);
        // Statements are finalized before the connection's thread gets its handle back.
        drop(db);
        drop(handle);
        if stuck {
            tracing::error!("writer connection left inside a transaction; closing it");
            conn.close_on_drop();
        }
        result
    }

    /// Opens a fresh private in-memory database (tests, tools).
    pub async fn in_memory() -> Result<Self> {
        Self::open("sqlite::memory:").await
    }

    /// Closes every connection, waiting for in-flight statements. The last connection to a
    /// file checkpoints the WAL into it and removes it.
    pub async fn close(&self) {
        let _ = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&self.pool)
            .await;
        if let Some(checkpointer) = &self.checkpointer {
            checkpointer.close().await;
        }
        self.reader.close().await;
        self.pool.close().await;
        if let Some(direct) = &self.direct {
            let mut slot = direct.slot();
            // Pool closed: no write can take a turn and reopen it.
            *slot = None;
        }
    }

    /// A trivial query, for health checks.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }
}

/// Checkpoints the WAL every half second until the pool is closed or dropped.
fn spawn_checkpointer(pool: SqlitePool) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        loop {
            tick.tick().await;
            if pool.is_closed() {
                return;
            }
            match sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&pool)
                .await
            {
                Ok(_) => {}
                Err(sqlx::Error::PoolClosed) => return,
                Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
            }
        }
    });
}

/// Current time as unix microseconds, the unit of every timestamp column.
pub fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Reads the nullable JSON text column `col` of row `id`: `None` for SQL NULL, otherwise the
/// parsed value, or [`Error::Corrupt`] naming the column when the text is not JSON.
pub(crate) fn json_column(
    row: &sqlx::sqlite::SqliteRow,
    col: &'static str,
    id: i64,
) -> Result<Option<serde_json::Value>> {
    let text: Option<String> = row.try_get(col)?;
    text.map(|t| {
        serde_json::from_str(&t).map_err(|e| Error::Corrupt {
            what: col,
            id,
            detail: e.to_string(),
        })
    })
    .transpose()
}

/// Hides passwords in a database URL before it is logged or shown.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            match creds.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &creds[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Whether `block_in_place` may be used here (it panics on a current-thread runtime).
fn on_multi_thread_runtime() -> bool {
    matches!(
        tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()),
        Ok(tokio::runtime::RuntimeFlavor::MultiThread)
    )
}

/// Runs `work` as one transaction on `db` and commits it; also says whether `db` is stuck
/// inside a transaction afterwards (its caller must not hand it on).
fn run_inline<T, F>(db: &rusqlite::Connection, hold: Hold, work: F) -> (Result<T>, bool)
where
    F: FnOnce(&rusqlite::Transaction<'_>) -> Result<T>,
{
    let run = || -> Result<T> {
        // IMMEDIATE: the write lock from the start, so a read-then-write transaction can never
        // fail on a snapshot another process's write made stale (free within the turn).
        let tx =
            rusqlite::Transaction::new_unchecked(db, rusqlite::TransactionBehavior::Immediate)?;
        let out = work(&tx)?;
        tx.commit()?;
        Ok(out)
    };
    let result = match hold {
        Hold::Long if on_multi_thread_runtime() => tokio::task::block_in_place(run),
        _ => run(),
    };
    // A failed COMMIT whose rollback failed too would leave the connection inside a
    // transaction, and its later writes would never commit: roll back once more.
    if !db.is_autocommit() {
        let _ = db.execute_batch("ROLLBACK");
    }
    (result, !db.is_autocommit())
}

/// A rusqlite view of the writer connection's SQLite handle, for [`Store::write_inline`].
#[allow(unsafe_code)]
fn borrow_handle(
    handle: &mut sqlx::sqlite::LockedSqliteHandle<'_>,
) -> Result<rusqlite::Connection> {
    let raw = handle.as_raw_handle().as_ptr();
    // SAFETY: `raw` is the open handle of a live sqlx connection, and the lock `handle` holds
    // keeps the connection's own thread off it until `handle` drops; the caller drops the
    // returned connection first. `from_handle` does not take ownership: dropping the rusqlite
    // connection finalizes its own statements and leaves the handle open for sqlx.
    unsafe { rusqlite::Connection::from_handle(raw) }.map_err(Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_password_only() {
        assert_eq!(
            redact_url("postgres://bob:secret@db:5432/x"),
            "postgres://bob:***@db:5432/x"
        );
        assert_eq!(
            redact_url("sqlite:///tmp/a.sqlite"),
            "sqlite:///tmp/a.sqlite"
        );
        assert_eq!(redact_url("postgres://bob@db/x"), "postgres://bob@db/x");
    }

    async fn checkpoint_count(store: &Store) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM log_checkpoints")
            .fetch_one(&store.reader)
            .await
            .unwrap()
    }

    /// On a file the inline path has its own connection: what it commits is seen by the
    /// readers, what fails is rolled back whole, it enforces foreign keys like sqlx's
    /// connection, and the two see each other's writes.
    #[tokio::test]
    async fn direct_inline_writes_commit_or_roll_back_whole_and_see_sqlx_writes() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("inline.sqlite").display());
        let store = Store::open(&url).await.unwrap();
        // The writer's settings: never checkpoints inside a commit, no fsync per commit.
        let settings = |name: &str| -> i64 {
            let direct = store.direct.as_ref().unwrap();
            let slot = direct.slot();
            let db = slot.as_ref().unwrap();
            db.pragma_query_value(None, name, |row| row.get(0)).unwrap()
        };
        assert_eq!(settings("wal_autocheckpoint"), 0);
        assert_eq!(settings("synchronous"), 1, "NORMAL");
        assert_eq!(settings("foreign_keys"), 1);
        let sqlx_writer: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(sqlx_writer, 0);
        inline_writes_behave(&store).await;
        store.close().await;
    }

    /// In memory the inline path borrows sqlx's one connection and hands it back usable.
    #[tokio::test]
    async fn borrowed_inline_writes_commit_or_roll_back_whole_and_hand_the_connection_back() {
        let store = Store::in_memory().await.unwrap();
        assert!(store.direct.is_none());
        inline_writes_behave(&store).await;
        store.close().await;
    }

    /// URL options that would give the two writer connections different databases or locking
    /// are refused by name; `mode=memory` is an in-memory store.
    #[tokio::test]
    async fn url_options_the_writer_connections_cannot_share_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("opts.sqlite");
        for (query, option) in [
            ("vfs=unix-none", "vfs"),
            ("mode=rwc&immutable=1", "immutable"),
        ] {
            let url = format!("sqlite://{}?{query}", file.display());
            match Store::open(&url).await {
                Err(Error::UnsupportedUrlOption { option: o, .. }) => assert_eq!(o, option),
                other => panic!("{url}: {other:?}"),
            }
        }
        let store = Store::open(&format!("sqlite://{}?mode=memory", file.display()))
            .await
            .unwrap();
        assert!(store.direct.is_none());
        store.close().await;
    }

    async fn inline_writes_behave(store: &Store) {
        let insert = "INSERT INTO log_checkpoints (listener, block_number, block_hash, updated_at) \
                      VALUES (?1, 1, '0x01', 0)";

        let failed = store
            .write_inline(|tx| {
                tx.execute(insert, ["first"])?;
                // The same key again: the second statement fails, so the first must go too.
                tx.execute(insert, ["first"])?;
                Ok(())
            })
            .await;
        assert!(matches!(failed, Err(Error::Inline(_))), "{failed:?}");
        assert_eq!(checkpoint_count(store).await, 0);

        // A closure's own error rolls back as well.
        let refused: Result<()> = store
            .write_inline(|tx| {
                tx.execute(insert, ["second"])?;
                Err(Error::Conflict("changed my mind".into()))
            })
            .await;
        assert!(matches!(refused, Err(Error::Conflict(_))));
        assert_eq!(checkpoint_count(store).await, 0);

        let stored = store
            .write_inline(|tx| Ok(tx.execute(insert, ["third"])?))
            .await
            .unwrap();
        assert_eq!(stored, 1);
        assert_eq!(checkpoint_count(store).await, 1);

        // sqlx writes on the same connection after it, inside and outside a transaction.
        sqlx::query("UPDATE log_checkpoints SET block_number = 2")
            .execute(&store.pool)
            .await
            .unwrap();
        let mut tx = store.pool.begin().await.unwrap();
        sqlx::query("DELETE FROM log_checkpoints")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(checkpoint_count(store).await, 0);

        // The inline path sees what sqlx wrote, and sqlx what it wrote after that.
        sqlx::query(
            "INSERT INTO log_checkpoints (listener, block_number, block_hash, updated_at) \
             VALUES ('shared', 7, '0x07', 0)",
        )
        .execute(&store.pool)
        .await
        .unwrap();
        store
            .write_inline(|tx| {
                Ok(tx.execute(
                    "UPDATE log_checkpoints SET block_number = block_number + 1",
                    [],
                )?)
            })
            .await
            .unwrap();
        let block: i64 = sqlx::query_scalar("SELECT block_number FROM log_checkpoints")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(block, 8);

        // Foreign keys hold on the inline path too: a task result needs its run.
        let orphan = store
            .write_inline(|tx| {
                Ok(tx.execute(
                    "INSERT INTO task_runs (run_id, dot_id, task_type, started_at, elapsed_us) \
                     VALUES (424242, 'fetch', 'http', 0, 0)",
                    [],
                )?)
            })
            .await;
        assert!(matches!(orphan, Err(Error::Inline(_))), "{orphan:?}");
    }

    #[tokio::test]
    async fn background_writes_yield_to_urgent_ones_but_never_starve() {
        let store = Store::in_memory().await.unwrap();
        // Paused clock (after opening, which needs real time): waits are measured in the
        // runtime's time, unaffected by machine load.
        tokio::time::pause();
        // Nothing urgent: no wait.
        let started = tokio::time::Instant::now();
        store.background_write().await;
        assert_eq!(started.elapsed(), Duration::ZERO);

        // An urgent write announced: the background write waits until it is done.
        let urgent = store.urgent_write();
        let waiting = store.clone();
        let task = tokio::spawn(async move {
            let started = tokio::time::Instant::now();
            waiting.background_write().await;
            started.elapsed()
        });
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert!(!task.is_finished(), "went ahead of an urgent write");
        drop(urgent);
        let waited = task.await.unwrap();
        // (The paused clock advances in whole milliseconds.)
        assert!(
            (Duration::from_millis(80)..Duration::from_millis(85)).contains(&waited),
            "{waited:?}"
        );

        // Urgent writes that never end hold it back only for the longest wait.
        let _forever = store.urgent_write();
        let started = tokio::time::Instant::now();
        store.background_write().await;
        let waited = started.elapsed();
        assert!(
            (BACKGROUND_MAX_WAIT..BACKGROUND_MAX_WAIT + Duration::from_millis(5)).contains(&waited),
            "{waited:?}"
        );
    }
}
