use serde::Serialize;
use sqlx::Row;

use crate::error::is_unique_violation;
use crate::{Error, Result, Store, now_micros};

/// A job to insert: the parsed spec's identity plus the spec text as submitted.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// The spec's `externalJobID` (UUID, hyphenated lower case).
    pub external_job_id: String,
    /// The spec's `name`.
    pub name: Option<String>,
    /// The spec's `type`, e.g. `directrequest`.
    pub job_type: String,
    /// The TOML exactly as submitted.
    pub spec_toml: String,
}

/// A stored job.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct JobRow {
    /// Database id.
    pub id: i64,
    /// `externalJobID`.
    pub external_job_id: String,
    /// `name`.
    pub name: Option<String>,
    /// `type`.
    pub job_type: String,
    /// The spec text.
    pub spec_toml: String,
    /// Unix micros.
    pub created_at: i64,
}

const JOB_COLUMNS: &str = "id, external_job_id, name, job_type, spec_toml, created_at";

fn job_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<JobRow> {
    Ok(JobRow {
        id: row.try_get("id")?,
        external_job_id: row.try_get("external_job_id")?,
        name: row.try_get("name")?,
        job_type: row.try_get("job_type")?,
        spec_toml: row.try_get("spec_toml")?,
        created_at: row.try_get("created_at")?,
    })
}

impl Store {
    /// Inserts a job. A live job with the same external id is a [`Error::Conflict`].
    pub async fn insert_job(&self, job: &NewJob) -> Result<JobRow> {
        let now = now_micros();
        let res = sqlx::query(
            "INSERT INTO jobs (external_job_id, name, job_type, spec_toml, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&job.external_job_id)
        .bind(&job.name)
        .bind(&job.job_type)
        .bind(&job.spec_toml)
        .bind(now)
        .execute(&self.pool)
        .await;
        match res {
            Ok(done) => Ok(JobRow {
                id: done.last_insert_rowid(),
                external_job_id: job.external_job_id.clone(),
                name: job.name.clone(),
                job_type: job.job_type.clone(),
                spec_toml: job.spec_toml.clone(),
                created_at: now,
            }),
            Err(e) if is_unique_violation(&e) => Err(Error::Conflict(format!(
                "a job with externalJobID {} already exists",
                job.external_job_id
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// Every live (not deleted) job, oldest first.
    pub async fn list_jobs(&self) -> Result<Vec<JobRow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE deleted_at IS NULL ORDER BY id"
        )))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(job_from_row).collect()
    }

    /// A live job by database id.
    pub async fn job(&self, id: i64) -> Result<Option<JobRow>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1 AND deleted_at IS NULL"
        )))
        .bind(id)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// A live job by external id.
    pub async fn job_by_external_id(&self, external_job_id: &str) -> Result<Option<JobRow>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE external_job_id = $1 AND deleted_at IS NULL"
        )))
        .bind(external_job_id)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// Deletes a job (soft: its runs stay readable). Its pending requests are cancelled; a
    /// running one finishes, or is cancelled when the node next picks it up.
    /// Returns false when no live job had that id.
    pub async fn delete_job(&self, id: i64) -> Result<bool> {
        let now = now_micros();
        let mut tx = self.pool.begin().await?;
        let done =
            sqlx::query("UPDATE jobs SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL")
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE oracle_requests SET state = 'cancelled', reason = 'job deleted', updated_at = $1 \
             WHERE job_id = $2 AND state = 'pending'",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}
