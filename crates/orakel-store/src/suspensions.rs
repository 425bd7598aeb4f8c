//! Runs that wait for asynchronous bridges (suspended runs), and the request-less (cron,
//! webhook) runs a stopped node left unfinished.
//!
//! A suspended run stays `running` in `job_runs`. Its `run_suspensions` row holds the results
//! of the tasks that finished; its `suspended_tasks` rows name each waiting task and the bridge
//! that may answer it. An answer is stored before the run continues, and the run continues
//! once every waiting task has its answer, so a crash after an adapter answered loses
//! nothing: the next start continues the run with the stored answers.

use serde::Serialize;
use sqlx::Row;

use crate::runs::{NewTaskRun, TaskRunWriter};
use crate::{Result, Store, json_column, now_micros};

/// A task that waits for its adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingTask {
    /// The task.
    pub dot_id: String,
    /// The bridge whose incoming token may answer it.
    pub bridge_name: String,
}

/// What to store when a run suspends.
#[derive(Debug, Clone)]
pub struct NewSuspension {
    /// Results of the finished tasks, in the caller's encoding.
    pub results: serde_json::Value,
    /// The waiting tasks, in pipeline order.
    pub waiting: Vec<WaitingTask>,
}

/// A waiting (or answered) task of a suspended run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SuspendedTask {
    /// The task.
    pub dot_id: String,
    /// The bridge whose incoming token may answer it.
    pub bridge_name: String,
    /// The answer (`{"value": …}` or `{"error": "…"}`), once given.
    pub answer: Option<serde_json::Value>,
    /// Unix micros.
    pub answered_at: Option<i64>,
}

/// A stored suspension of a run that is still running.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SuspensionRow {
    /// The run.
    pub run_id: i64,
    /// The run's job.
    pub job_id: i64,
    /// Results of the finished tasks.
    pub results: serde_json::Value,
    /// Unix micros.
    pub suspended_at: i64,
    /// The tasks it waits for, in pipeline order.
    pub tasks: Vec<SuspendedTask>,
}

impl SuspensionRow {
    /// True when every waiting task has its answer.
    pub fn all_answered(&self) -> bool {
        self.tasks.iter().all(|t| t.answer.is_some())
    }
}

/// What [`Store::answer_suspended_task`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum AnswerOutcome {
    /// The answer was stored and it was the last one missing: continue the run now.
    Ready(SuspensionRow),
    /// The answer was stored; other tasks of the run still wait.
    Waiting,
    /// The task already had an answer; nothing changed.
    AlreadyAnswered,
    /// The run does not wait for that task.
    NotSuspended,
}

/// A request-less run found `running` (not suspended) at start.
#[derive(Debug, Clone, PartialEq)]
pub struct InterruptedRun {
    /// The run.
    pub id: i64,
    /// Its job.
    pub job_id: i64,
    /// The `jobRun` variables it started with.
    pub inputs: serde_json::Value,
}

/// Reads the suspensions of running runs (all, or one run's) with their tasks.
async fn load_suspensions<'c, E>(exec: E, run_id: Option<i64>) -> Result<Vec<SuspensionRow>>
where
    E: sqlx::Executor<'c, Database = sqlx::Sqlite>,
{
    let rows = sqlx::query(
        "SELECT s.run_id, r.job_id, s.results, s.suspended_at, \
         t.dot_id, t.bridge_name, t.answer, t.answered_at \
         FROM run_suspensions s JOIN job_runs r ON r.id = s.run_id \
         JOIN suspended_tasks t ON t.run_id = s.run_id \
         WHERE r.state = 'running' AND ($1 IS NULL OR s.run_id = $1) \
         ORDER BY s.run_id, t.seq",
    )
    .bind(run_id)
    .fetch_all(exec)
    .await?;
    let mut out: Vec<SuspensionRow> = Vec::new();
    for row in &rows {
        let id: i64 = row.try_get("run_id")?;
        let task = SuspendedTask {
            dot_id: row.try_get("dot_id")?,
            bridge_name: row.try_get("bridge_name")?,
            answer: json_column(row, "answer", id)?,
            answered_at: row.try_get("answered_at")?,
        };
        match out.last_mut() {
            Some(last) if last.run_id == id => last.tasks.push(task),
            _ => out.push(SuspensionRow {
                run_id: id,
                job_id: row.try_get("job_id")?,
                results: json_column(row, "results", id)?.unwrap_or(serde_json::Value::Null),
                suspended_at: row.try_get("suspended_at")?,
                tasks: vec![task],
            }),
        }
    }
    Ok(out)
}

impl Store {
    /// Records, in one transaction, that a running run waits for adapters: the results of its
    /// finished tasks (readable through [`Store::run`]), and the waiting tasks. A suspension
    /// the run had before (it continued and suspended again at a later task) is replaced.
    pub async fn suspend_run(
        &self,
        run_id: i64,
        suspension: &NewSuspension,
        tasks: &[NewTaskRun],
    ) -> Result<()> {
        let now = now_micros();
        self.write_inline(|tx| {
            TaskRunWriter::new(tx)?.replace(run_id, tasks)?;
            // Replacing cascades to the old waiting tasks.
            tx.execute("DELETE FROM run_suspensions WHERE run_id = ?1", [run_id])?;
            tx.execute(
                "INSERT INTO run_suspensions (run_id, results, suspended_at) VALUES (?1, ?2, ?3)",
                rusqlite::params![run_id, suspension.results.to_string(), now],
            )?;
            let mut wait = tx.prepare(
                "INSERT INTO suspended_tasks (run_id, dot_id, seq, bridge_name) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (seq, t) in suspension.waiting.iter().enumerate() {
                wait.execute(rusqlite::params![
                    run_id,
                    t.dot_id,
                    i64::try_from(seq).unwrap_or(i64::MAX),
                    t.bridge_name,
                ])?;
            }
            Ok(())
        })
        .await
    }

    /// The suspension of a run that is still running, if any.
    pub async fn suspension(&self, run_id: i64) -> Result<Option<SuspensionRow>> {
        Ok(load_suspensions(&self.pool, Some(run_id)).await?.pop())
    }

    /// Stores the answer of one waiting task, unless it already has one (two concurrent
    /// answers: exactly one is stored). Reports whether the run can continue now: exactly one
    /// caller gets [`AnswerOutcome::Ready`] per suspension.
    pub async fn answer_suspended_task(
        &self,
        run_id: i64,
        dot_id: &str,
        answer: &serde_json::Value,
    ) -> Result<AnswerOutcome> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE suspended_tasks SET answer = $1, answered_at = $2 \
             WHERE run_id = $3 AND dot_id = $4 AND answer IS NULL \
             AND EXISTS (SELECT 1 FROM job_runs r WHERE r.id = $3 AND r.state = 'running')",
        )
        .bind(answer.to_string())
        .bind(now_micros())
        .bind(run_id)
        .bind(dot_id)
        .execute(&mut *tx)
        .await?;
        let current = load_suspensions(&mut *tx, Some(run_id)).await?.pop();
        tx.commit().await?;
        let Some(current) = current else {
            return Ok(AnswerOutcome::NotSuspended);
        };
        if !current.tasks.iter().any(|t| t.dot_id == dot_id) {
            return Ok(AnswerOutcome::NotSuspended);
        }
        Ok(match (done.rows_affected(), current.all_answered()) {
            (0, _) => AnswerOutcome::AlreadyAnswered,
            (_, true) => AnswerOutcome::Ready(current),
            (_, false) => AnswerOutcome::Waiting,
        })
    }

    /// Suspensions whose every task has its answer but whose run did not finish (the node
    /// stopped in between): continue them with the stored answers.
    pub async fn ready_suspensions(&self) -> Result<Vec<SuspensionRow>> {
        let mut all = load_suspensions(&self.pool, None).await?;
        all.retain(SuspensionRow::all_answered);
        Ok(all)
    }

    /// Suspensions with at least one task still waiting, oldest run first.
    pub async fn waiting_suspensions(&self, limit: u32) -> Result<Vec<SuspensionRow>> {
        let mut all = load_suspensions(&self.reader, None).await?;
        all.retain(|s| !s.all_answered());
        all.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(all)
    }

    /// Deletes a run's suspension (the run finished). Also drops the suspensions of every run
    /// that is no longer running (left behind by a stop between finishing a run and this call).
    pub async fn clear_suspension(&self, run_id: i64) -> Result<()> {
        sqlx::query(
            "DELETE FROM run_suspensions WHERE run_id = $1 \
             OR run_id IN (SELECT s.run_id FROM run_suspensions s \
             JOIN job_runs r ON r.id = s.run_id WHERE r.state != 'running')",
        )
        .bind(run_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Request-less runs (cron, webhook) still `running` that do not wait for a bridge: runs a
    /// stopped node left unfinished. Oldest first.
    pub async fn interrupted_runs(&self) -> Result<Vec<InterruptedRun>> {
        let rows = sqlx::query(
            "SELECT id, job_id, inputs FROM job_runs \
             WHERE state = 'running' AND request_id IS NULL \
             AND id NOT IN (SELECT run_id FROM run_suspensions) ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let id: i64 = row.try_get("id")?;
                Ok(InterruptedRun {
                    id,
                    job_id: row.try_get("job_id")?,
                    inputs: json_column(row, "inputs", id)?.unwrap_or(serde_json::Value::Null),
                })
            })
            .collect()
    }
}
