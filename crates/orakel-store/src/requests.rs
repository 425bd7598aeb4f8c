use rusqlite::OptionalExtension;

use serde::Serialize;
use sqlx::Row;

use crate::{Error, Result, Store, now_micros};

/// Where a log listener has got to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Checkpoint {
    /// Last block whose logs are all stored.
    pub block_number: u64,
    /// Its hash, to notice a reorg below the checkpoint.
    pub block_hash: String,
}

/// An `OracleRequest` log matched to a job.
#[derive(Debug, Clone)]
pub struct NewRequest {
    /// The job it is for.
    pub job_id: i64,
    /// Emitting contract.
    pub oracle_address: String,
    /// `requestId` from the log.
    pub request_id: String,
    /// `requester` from the log.
    pub requester: String,
    /// `payment` (decimal string, juels).
    pub payment: String,
    /// `cancelExpiration` (unix seconds).
    pub cancel_expiration: i64,
    /// Block of the log.
    pub block_number: u64,
    /// Hash of that block.
    pub block_hash: String,
    /// Transaction that emitted it.
    pub tx_hash: String,
    /// Position in the block.
    pub log_index: u64,
    /// Topics, hex.
    pub log_topics: Vec<String>,
    /// Raw data.
    pub log_data: Vec<u8>,
    /// Set when the request is stored already decided (`ignored` with a reason).
    pub ignore_reason: Option<String>,
    /// When set, the request starts at once: it is stored as running and this run is created
    /// in the same write.
    pub start: Option<StartRun>,
}

/// The run a request starts with when it is stored (see [`NewRequest::start`]).
#[derive(Debug, Clone, PartialEq)]
pub struct StartRun {
    /// Its id, taken from [`Store::next_run_id`]: the run may already be executing while its
    /// request is written. Not used when the request was stored before (the id is skipped).
    pub run_id: i64,
    /// `job_runs.inputs`.
    pub inputs: serde_json::Value,
}

/// Life cycle of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    /// Waiting for confirmations.
    Pending,
    /// A run is executing (or was when the node stopped).
    Running,
    /// The fulfilment transaction was sent.
    Fulfilled,
    /// The run failed.
    Errored,
    /// Cancelled on chain, or its job was deleted.
    Cancelled,
    /// Not served (requester not allowed, payment too low, …): see `reason`.
    Ignored,
}

impl RequestState {
    /// Column value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Fulfilled => "fulfilled",
            Self::Errored => "errored",
            Self::Cancelled => "cancelled",
            Self::Ignored => "ignored",
        }
    }

    fn parse(s: &str, id: i64) -> Result<Self> {
        Ok(match s {
            "pending" => Self::Pending,
            "running" => Self::Running,
            "fulfilled" => Self::Fulfilled,
            "errored" => Self::Errored,
            "cancelled" => Self::Cancelled,
            "ignored" => Self::Ignored,
            other => {
                return Err(Error::Corrupt {
                    what: "oracle_requests.state",
                    id,
                    detail: other.to_string(),
                });
            }
        })
    }
}

/// A stored request.
#[derive(Debug, Clone, Serialize)]
pub struct RequestRow {
    /// Database id.
    pub id: i64,
    /// Job.
    pub job_id: i64,
    /// Emitting contract.
    pub oracle_address: String,
    /// `requestId`.
    pub request_id: String,
    /// `requester`.
    pub requester: String,
    /// `payment`.
    pub payment: String,
    /// `cancelExpiration`.
    pub cancel_expiration: i64,
    /// Block of the log.
    pub block_number: u64,
    /// Hash of that block.
    pub block_hash: String,
    /// Emitting transaction.
    pub tx_hash: String,
    /// Position in block.
    pub log_index: u64,
    /// Topics.
    pub log_topics: Vec<String>,
    /// Data.
    #[serde(skip)]
    pub log_data: Vec<u8>,
    /// State.
    pub state: RequestState,
    /// Why it ended as it did, if not fulfilled.
    pub reason: Option<String>,
    /// When the node first stored it (unix micros).
    pub received_at: i64,
}

const REQUEST_COLUMNS: &str = "id, job_id, oracle_address, request_id, requester, payment, cancel_expiration, \
     block_number, block_hash, tx_hash, log_index, log_topics, log_data, state, reason, received_at";

fn request_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<RequestRow> {
    let id: i64 = row.try_get("id")?;
    let topics: String = row.try_get("log_topics")?;
    let state: String = row.try_get("state")?;
    Ok(RequestRow {
        id,
        job_id: row.try_get("job_id")?,
        oracle_address: row.try_get("oracle_address")?,
        request_id: row.try_get("request_id")?,
        requester: row.try_get("requester")?,
        payment: row.try_get("payment")?,
        cancel_expiration: row.try_get("cancel_expiration")?,
        block_number: u64::try_from(row.try_get::<i64, _>("block_number")?).unwrap_or(0),
        block_hash: row.try_get("block_hash")?,
        tx_hash: row.try_get("tx_hash")?,
        log_index: u64::try_from(row.try_get::<i64, _>("log_index")?).unwrap_or(0),
        log_topics: serde_json::from_str(&topics).map_err(|e| Error::Corrupt {
            what: "oracle_requests.log_topics",
            id,
            detail: e.to_string(),
        })?,
        log_data: row.try_get("log_data")?,
        state: RequestState::parse(&state, id)?,
        reason: row.try_get("reason")?,
        received_at: row.try_get("received_at")?,
    })
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Store {
    /// Atomically stores a batch of requests and cancellations seen by `listener` and moves its
    /// checkpoint. A request already stored (same oracle, request id and job) is kept as it is,
    /// except that a still-pending one takes the new block position (it was re-mined after a
    /// reorg). Returns `(index into requests, row id)` of the rows that are newly pending.
    pub async fn record_logs(
        &self,
        listener: &str,
        requests: &[NewRequest],
        cancellations: &[(String, String)],
        checkpoint: &Checkpoint,
    ) -> Result<Vec<(usize, i64)>> {
        let recorded = self
            .record_logs_starting(listener, requests, cancellations, Some(checkpoint))
            .await?;
        Ok(recorded.into_iter().map(|(i, id, _)| (i, id)).collect())
    }

    /// Like [`Store::record_logs`], and creates the runs of requests that carry
    /// [`NewRequest::start`] in the same write: `(index, request row id, run id)`. One commit per
    /// listener batch instead of one more per request on the way to its answer. Without a
    /// checkpoint (logs a subscription delivered ahead of the poll) the listener's checkpoint
    /// stays where it is.
    pub async fn record_logs_starting(
        &self,
        listener: &str,
        requests: &[NewRequest],
        cancellations: &[(String, String)],
        checkpoint: Option<&Checkpoint>,
    ) -> Result<Vec<(usize, i64, Option<i64>)>> {
        let _urgent = self.urgent_write();
        let now = now_micros();
        self.write_inline(|tx| {
            // A log seen again (re-read after a reorg) only moves a still-pending request; a
            // row comes back only when the statement wrote one, `fresh` when it inserted it.
            let mut upsert = tx.prepare(
                "INSERT INTO oracle_requests (job_id, oracle_address, request_id, requester, payment, \
                 cancel_expiration, block_number, block_hash, tx_hash, log_index, log_topics, log_data, state, \
                 reason, received_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?15) \
                 ON CONFLICT (oracle_address, request_id, job_id) DO UPDATE SET \
                   block_number = excluded.block_number, block_hash = excluded.block_hash, \
                   tx_hash = excluded.tx_hash, log_index = excluded.log_index, updated_at = excluded.updated_at \
                 WHERE oracle_requests.state = 'pending' \
                 RETURNING id, received_at = ?15",
            )?;
            let mut insert_run = tx.prepare(
                "INSERT INTO job_runs (id, job_id, request_id, state, inputs, created_at) \
                 VALUES (?1, ?2, ?3, 'running', ?4, ?5)",
            )?;
            let mut inserted: Vec<(usize, i64, Option<i64>)> = Vec::new();
            // A key twice in one batch: the first occurrence is the one inserted.
            let mut taken: std::collections::HashSet<i64> = std::collections::HashSet::new();
            for (index, r) in requests.iter().enumerate() {
                let topics =
                    serde_json::to_string(&r.log_topics).unwrap_or_else(|_| "[]".to_string());
                let (state, reason) = match (&r.ignore_reason, &r.start) {
                    (Some(why), _) => (RequestState::Ignored.as_str(), Some(why.as_str())),
                    (None, Some(_)) => (RequestState::Running.as_str(), None),
                    (None, None) => (RequestState::Pending.as_str(), None),
                };
                let written: Option<(i64, bool)> = upsert
                    .query_row(
                        rusqlite::params![
                            r.job_id,
                            r.oracle_address,
                            r.request_id,
                            r.requester,
                            r.payment,
                            r.cancel_expiration,
                            to_i64(r.block_number),
                            r.block_hash,
                            r.tx_hash,
                            to_i64(r.log_index),
                            topics,
                            r.log_data,
                            state,
                            reason,
                            now,
                        ],
                        |row| Ok((row.get(0)?, row.get(1)?)),
                    )
                    .optional()?;
                let Some((id, true)) = written else {
                    continue;
                };
                if r.ignore_reason.is_some() || !taken.insert(id) {
                    continue;
                }
                let run_id = match &r.start {
                    Some(start) => {
                        insert_run.execute(rusqlite::params![
                            start.run_id,
                            r.job_id,
                            id,
                            start.inputs.to_string(),
                            now
                        ])?;
                        Some(start.run_id)
                    }
                    None => None,
                };
                inserted.push((index, id, run_id));
            }
            if !cancellations.is_empty() {
                let mut cancel = tx.prepare(
                    "UPDATE oracle_requests SET state = 'cancelled', reason = 'cancelled on chain', updated_at = ?1 \
                     WHERE oracle_address = ?2 AND request_id = ?3 AND state IN ('pending', 'running')",
                )?;
                for (oracle, request_id) in cancellations {
                    cancel.execute(rusqlite::params![now, oracle, request_id])?;
                }
            }
            if let Some(checkpoint) = checkpoint {
                tx.execute(
                    "INSERT INTO log_checkpoints (listener, block_number, block_hash, updated_at) VALUES (?1, ?2, ?3, ?4) \
                     ON CONFLICT (listener) DO UPDATE SET block_number = excluded.block_number, \
                     block_hash = excluded.block_hash, updated_at = excluded.updated_at",
                    rusqlite::params![listener, to_i64(checkpoint.block_number), checkpoint.block_hash, now],
                )?;
            }
            Ok(inserted)
        })
        .await
    }

    /// The checkpoint of a listener, if it ever stored one.
    pub async fn checkpoint(&self, listener: &str) -> Result<Option<Checkpoint>> {
        let row =
            sqlx::query("SELECT block_number, block_hash FROM log_checkpoints WHERE listener = $1")
                .bind(listener)
                .fetch_optional(&self.reader)
                .await?;
        row.map(|row| {
            Ok(Checkpoint {
                block_number: u64::try_from(row.try_get::<i64, _>("block_number")?).unwrap_or(0),
                block_hash: row.try_get("block_hash")?,
            })
        })
        .transpose()
    }

    /// Requests not yet finished (pending or running), oldest first: what a node must still
    /// serve, e.g. after a restart.
    pub async fn open_requests(&self) -> Result<Vec<RequestRow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {REQUEST_COLUMNS} FROM oracle_requests WHERE state IN ('pending', 'running') ORDER BY id"
        )))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(request_from_row).collect()
    }

    /// One request by database id.
    pub async fn request(&self, id: i64) -> Result<Option<RequestRow>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {REQUEST_COLUMNS} FROM oracle_requests WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(request_from_row).transpose()
    }

    /// Recent requests, newest first.
    pub async fn list_requests(&self, limit: u32) -> Result<Vec<RequestRow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {REQUEST_COLUMNS} FROM oracle_requests ORDER BY id DESC LIMIT $1"
        )))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(request_from_row).collect()
    }

    /// Moves a request to `to` if it is currently in one of `from`. Returns whether it moved, so
    /// that a request cancelled meanwhile is not resurrected.
    pub async fn transition_request(
        &self,
        id: i64,
        from: &[RequestState],
        to: RequestState,
        reason: Option<&str>,
    ) -> Result<bool> {
        // `from` is a short fixed list of states; build the IN list from our own enum names.
        let list = from
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        let done = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE oracle_requests SET state = $1, reason = $2, updated_at = $3 WHERE id = $4 AND state IN ({list})"
        )))
        .bind(to.as_str())
        .bind(reason)
        .bind(now_micros())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Current state of a request.
    pub async fn request_state(&self, id: i64) -> Result<Option<RequestState>> {
        let row = sqlx::query("SELECT state FROM oracle_requests WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        row.map(|r| {
            let s: String = r.try_get("state")?;
            RequestState::parse(&s, id)
        })
        .transpose()
    }
}
