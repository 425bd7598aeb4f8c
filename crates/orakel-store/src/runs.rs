use serde::Serialize;
use sqlx::Row;

use crate::error::is_unique_violation;
use crate::{Error, Result, Store, json_column, now_micros};

/// Outcome of a job run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// Executing, or interrupted by a stop (resumed on start).
    Running,
    /// Every terminal task succeeded.
    Completed,
    /// At least one terminal task failed.
    Errored,
    /// Stopped because its request was cancelled.
    Cancelled,
}

impl RunState {
    /// Column value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Errored => "errored",
            Self::Cancelled => "cancelled",
        }
    }

    fn parse(s: &str, id: i64) -> Result<Self> {
        Ok(match s {
            "running" => Self::Running,
            "completed" => Self::Completed,
            "errored" => Self::Errored,
            "cancelled" => Self::Cancelled,
            other => {
                return Err(Error::Corrupt {
                    what: "job_runs.state",
                    id,
                    detail: other.to_string(),
                });
            }
        })
    }
}

/// A task's result to store with its run.
#[derive(Debug, Clone)]
pub struct NewTaskRun {
    /// DOT id of the task.
    pub dot_id: String,
    /// Task type.
    pub task_type: String,
    /// Output as JSON, when it succeeded.
    pub output: Option<serde_json::Value>,
    /// Error text, when it failed.
    pub error: Option<String>,
    /// Unix micros.
    pub started_at: i64,
    /// Duration in microseconds.
    pub elapsed_us: i64,
}

/// The end of a run, for [`Store::finish_runs`].
#[derive(Debug, Clone)]
pub struct FinishedRun {
    /// The run.
    pub run_id: i64,
    /// Its final state.
    pub state: RunState,
    /// Outputs of its terminal tasks.
    pub outputs: serde_json::Value,
    /// Root-cause errors.
    pub errors: Vec<String>,
    /// Every task's result.
    pub tasks: Vec<NewTaskRun>,
    /// The request it served and the state (and reason) the request moves to.
    pub request: Option<(i64, crate::RequestState, Option<String>)>,
}

/// A stored task result.
#[derive(Debug, Clone, Serialize)]
pub struct TaskRunRow {
    /// DOT id.
    pub dot_id: String,
    /// Task type.
    pub task_type: String,
    /// Output.
    pub output: Option<serde_json::Value>,
    /// Error.
    pub error: Option<String>,
    /// Unix micros.
    pub started_at: i64,
    /// Microseconds.
    pub elapsed_us: i64,
}

/// A stored job run.
#[derive(Debug, Clone, Serialize)]
pub struct RunRow {
    /// Database id.
    pub id: i64,
    /// Job.
    pub job_id: i64,
    /// The request it serves, for request-driven jobs.
    pub request_id: Option<i64>,
    /// State.
    pub state: RunState,
    /// `jobRun` variables it started with.
    pub inputs: serde_json::Value,
    /// Final outputs.
    pub outputs: Option<serde_json::Value>,
    /// Errors.
    pub errors: Vec<String>,
    /// Unix micros.
    pub created_at: i64,
    /// Unix micros.
    pub finished_at: Option<i64>,
    /// Task results in execution order (filled by [`Store::run`] only).
    pub tasks: Vec<TaskRunRow>,
}

const RUN_COLUMNS: &str =
    "id, job_id, request_id, state, inputs, outputs, errors, created_at, finished_at";

/// Writes task results inside an inline write: the one place they are written (finished
/// runs, suspended runs). Prepared once per transaction.
pub(crate) struct TaskRunWriter<'tx> {
    clear: rusqlite::Statement<'tx>,
    insert: rusqlite::Statement<'tx>,
}

impl<'tx> TaskRunWriter<'tx> {
    pub(crate) fn new(tx: &'tx rusqlite::Transaction<'_>) -> Result<Self> {
        Ok(Self {
            clear: tx.prepare("DELETE FROM task_runs WHERE run_id = ?1")?,
            insert: tx.prepare(
                "INSERT INTO task_runs (run_id, dot_id, task_type, output, error, started_at, elapsed_us) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?,
        })
    }

    /// Replaces the stored task results of run `run_id` with `tasks`.
    pub(crate) fn replace(&mut self, run_id: i64, tasks: &[NewTaskRun]) -> Result<()> {
        self.clear.execute([run_id])?;
        for t in tasks {
            self.insert.execute(rusqlite::params![
                run_id,
                t.dot_id,
                t.task_type,
                t.output.as_ref().map(|v| v.to_string()),
                t.error,
                t.started_at,
                t.elapsed_us,
            ])?;
        }
        Ok(())
    }
}

fn run_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<RunRow> {
    let id: i64 = row.try_get("id")?;
    let state: String = row.try_get("state")?;
    let errors = match json_column(row, "errors", id)? {
        Some(v) => serde_json::from_value(v).map_err(|e| Error::Corrupt {
            what: "job_runs.errors",
            id,
            detail: e.to_string(),
        })?,
        None => Vec::new(),
    };
    Ok(RunRow {
        id,
        job_id: row.try_get("job_id")?,
        request_id: row.try_get("request_id")?,
        state: RunState::parse(&state, id)?,
        inputs: json_column(row, "inputs", id)?.unwrap_or(serde_json::Value::Null),
        outputs: json_column(row, "outputs", id)?,
        errors,
        created_at: row.try_get("created_at")?,
        finished_at: row.try_get("finished_at")?,
        tasks: Vec::new(),
    })
}

impl Store {
    /// Starts a run. For a request-driven run this is idempotent: a run that already exists for
    /// the request is returned (so a run resumed after a crash keeps its id, and with it the
    /// idempotency keys of its transactions). Returns the run id.
    pub async fn start_run(
        &self,
        job_id: i64,
        request_id: Option<i64>,
        inputs: &serde_json::Value,
    ) -> Result<i64> {
        if let Some(req) = request_id {
            let existing = sqlx::query("SELECT id FROM job_runs WHERE request_id = $1")
                .bind(req)
                .fetch_optional(&self.pool)
                .await?;
            if let Some(row) = existing {
                return Ok(row.try_get("id")?);
            }
        }
        let run_id = self.next_run_id();
        let res = sqlx::query(
            "INSERT INTO job_runs (id, job_id, request_id, state, inputs, created_at) VALUES ($1, $2, $3, 'running', $4, $5)",
        )
        .bind(run_id)
        .bind(job_id)
        .bind(request_id)
        .bind(inputs.to_string())
        .bind(now_micros())
        .execute(&self.pool)
        .await;
        match res {
            Ok(_) => Ok(run_id),
            // Two starters raced for one request: the other one's run wins.
            Err(e) if is_unique_violation(&e) => {
                let row = sqlx::query("SELECT id FROM job_runs WHERE request_id = $1")
                    .bind(request_id)
                    .fetch_one(&self.pool)
                    .await?;
                Ok(row.try_get("id")?)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Starts (or resumes) the run of a request in one write: moves the request to `running`
    /// unless it was cancelled or finished meanwhile (then returns `None`), and returns the
    /// request's run, creating it on first start. The run id is stable across restarts.
    pub async fn begin_request_run(
        &self,
        job_id: i64,
        request_id: i64,
        inputs: &serde_json::Value,
    ) -> Result<Option<i64>> {
        let now = now_micros();
        let mut tx = self.pool.begin().await?;
        let moved = sqlx::query(
            "UPDATE oracle_requests SET state = 'running', reason = NULL, updated_at = $1 \
             WHERE id = $2 AND state IN ('pending', 'running')",
        )
        .bind(now)
        .bind(request_id)
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(None);
        }
        let row = sqlx::query(
            "INSERT INTO job_runs (id, job_id, request_id, state, inputs, created_at) \
             VALUES ($1, $2, $3, 'running', $4, $5) \
             ON CONFLICT (request_id) WHERE request_id IS NOT NULL DO UPDATE SET state = job_runs.state \
             RETURNING id",
        )
        .bind(self.next_run_id())
        .bind(job_id)
        .bind(request_id)
        .bind(inputs.to_string())
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let run_id: i64 = row.try_get("id")?;
        tx.commit().await?;
        Ok(Some(run_id))
    }

    /// Records the end of a run with every task's result, and (atomically) the state its
    /// request moves to, unless the request was cancelled meanwhile.
    pub async fn finish_run(
        &self,
        run_id: i64,
        state: RunState,
        outputs: &serde_json::Value,
        errors: &[String],
        tasks: &[NewTaskRun],
        request: Option<(i64, crate::RequestState, Option<&str>)>,
    ) -> Result<()> {
        self.finish_runs(&[FinishedRun {
            run_id,
            state,
            outputs: outputs.clone(),
            errors: errors.to_vec(),
            tasks: tasks.to_vec(),
            request: request.map(|(id, st, why)| (id, st, why.map(str::to_owned))),
        }])
        .await
    }

    /// Records the ends of many runs in one commit (group commit), each as
    /// [`Store::finish_run`] would, directly on the writer connection (ADR 0008).
    pub async fn finish_runs(&self, runs: &[FinishedRun]) -> Result<()> {
        if runs.is_empty() {
            return Ok(());
        }
        self.background_write().await;
        let now = now_micros();
        self.write_inline_bulk(|tx| {
            let mut task_runs = TaskRunWriter::new(tx)?;
            let mut finish = tx.prepare(
                "UPDATE job_runs SET state = ?2, outputs = ?3, errors = ?4, finished_at = ?5 WHERE id = ?1",
            )?;
            let mut settle = tx.prepare(
                "UPDATE oracle_requests SET state = ?2, reason = ?3, updated_at = ?4 \
                 WHERE id = ?1 AND state IN ('pending', 'running')",
            )?;
            for r in runs {
                // Tasks stored earlier for this run (suspended, resumed) are replaced.
                task_runs.replace(r.run_id, &r.tasks)?;
                let errors_json =
                    serde_json::to_string(&r.errors).unwrap_or_else(|_| "[]".to_string());
                finish.execute(rusqlite::params![
                    r.run_id,
                    r.state.as_str(),
                    r.outputs.to_string(),
                    errors_json,
                    now,
                ])?;
                if let Some((id, state, why)) = &r.request {
                    settle.execute(rusqlite::params![id, state.as_str(), why, now])?;
                }
            }
            Ok(())
        })
        .await
    }

    /// Recent runs, newest first, optionally of one job (without task details).
    pub async fn list_runs(&self, job_id: Option<i64>, limit: u32) -> Result<Vec<RunRow>> {
        let rows =
            match job_id {
                Some(job) => sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {RUN_COLUMNS} FROM job_runs WHERE job_id = $1 ORDER BY id DESC LIMIT $2"
                )))
                .bind(job)
                .bind(i64::from(limit))
                .fetch_all(&self.reader)
                .await?,
                None => {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {RUN_COLUMNS} FROM job_runs ORDER BY id DESC LIMIT $1"
                    )))
                    .bind(i64::from(limit))
                    .fetch_all(&self.reader)
                    .await?
                }
            };
        rows.iter().map(run_from_row).collect()
    }

    /// One run with its task results.
    pub async fn run(&self, id: i64) -> Result<Option<RunRow>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {RUN_COLUMNS} FROM job_runs WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.reader)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let mut run = run_from_row(&row)?;
        let tasks = sqlx::query(
            "SELECT dot_id, task_type, output, error, started_at, elapsed_us FROM task_runs WHERE run_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.reader)
        .await?;
        for t in &tasks {
            run.tasks.push(TaskRunRow {
                dot_id: t.try_get("dot_id")?,
                task_type: t.try_get("task_type")?,
                output: json_column(t, "output", id)?,
                error: t.try_get("error")?,
                started_at: t.try_get("started_at")?,
                elapsed_us: t.try_get("elapsed_us")?,
            });
        }
        Ok(Some(run))
    }

    /// The run serving a request, if one started.
    pub async fn run_for_request(&self, request_id: i64) -> Result<Option<i64>> {
        let row = sqlx::query("SELECT id FROM job_runs WHERE request_id = $1")
            .bind(request_id)
            .fetch_optional(&self.reader)
            .await?;
        Ok(row.map(|r| r.try_get("id")).transpose()?)
    }
}
