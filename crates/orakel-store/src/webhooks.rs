//! External initiators: services allowed to start webhook runs. Only a hash of each
//! initiator's secret is stored.

use serde::Serialize;
use sqlx::Row;

use crate::error::is_unique_violation;
use crate::{Error, Result, Store, now_micros};

/// An external initiator to insert.
#[derive(Clone)]
pub struct NewExternalInitiator {
    /// Unique name, as listed in webhook specs.
    pub name: String,
    /// Where the initiator can be reached, if it said.
    pub url: Option<String>,
    /// Identifies the initiator (`X-Chainlink-EA-AccessKey`).
    pub access_key: String,
    /// Hex SHA-256 of its secret (`X-Chainlink-EA-Secret`).
    pub secret_hash: String,
}

impl std::fmt::Debug for NewExternalInitiator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewExternalInitiator")
            .field("name", &self.name)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// A stored external initiator. Serializes without its secret hash.
#[derive(Clone, Serialize, PartialEq, Eq)]
pub struct ExternalInitiatorRow {
    /// Database id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// URL, if given.
    pub url: Option<String>,
    /// Access key.
    pub access_key: String,
    /// Hex SHA-256 of the secret.
    #[serde(skip)]
    pub secret_hash: String,
    /// Unix micros.
    pub created_at: i64,
}

impl std::fmt::Debug for ExternalInitiatorRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternalInitiatorRow")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

const EI_COLUMNS: &str = "id, name, url, access_key, secret_hash, created_at";

fn ei_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<ExternalInitiatorRow> {
    Ok(ExternalInitiatorRow {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        url: row.try_get("url")?,
        access_key: row.try_get("access_key")?,
        secret_hash: row.try_get("secret_hash")?,
        created_at: row.try_get("created_at")?,
    })
}

impl Store {
    /// Inserts an external initiator. A taken name (or access key) is a [`Error::Conflict`].
    pub async fn insert_external_initiator(
        &self,
        ei: &NewExternalInitiator,
    ) -> Result<ExternalInitiatorRow> {
        let now = now_micros();
        let res = sqlx::query(
            "INSERT INTO external_initiators (name, url, access_key, secret_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&ei.name)
        .bind(&ei.url)
        .bind(&ei.access_key)
        .bind(&ei.secret_hash)
        .bind(now)
        .execute(&self.pool)
        .await;
        match res {
            Ok(done) => Ok(ExternalInitiatorRow {
                id: done.last_insert_rowid(),
                name: ei.name.clone(),
                url: ei.url.clone(),
                access_key: ei.access_key.clone(),
                secret_hash: ei.secret_hash.clone(),
                created_at: now,
            }),
            Err(e) if is_unique_violation(&e) => Err(Error::Conflict(format!(
                "an external initiator named {:?} already exists",
                ei.name
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// Every external initiator, by name.
    pub async fn list_external_initiators(&self) -> Result<Vec<ExternalInitiatorRow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {EI_COLUMNS} FROM external_initiators ORDER BY name"
        )))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(ei_from_row).collect()
    }

    /// An external initiator by name.
    pub async fn external_initiator(&self, name: &str) -> Result<Option<ExternalInitiatorRow>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {EI_COLUMNS} FROM external_initiators WHERE name = $1"
        )))
        .bind(name)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(ei_from_row).transpose()
    }

    /// An external initiator by access key.
    pub async fn external_initiator_by_access_key(
        &self,
        access_key: &str,
    ) -> Result<Option<ExternalInitiatorRow>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {EI_COLUMNS} FROM external_initiators WHERE access_key = $1"
        )))
        .bind(access_key)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(ei_from_row).transpose()
    }

    /// Deletes an external initiator. Returns false when none had that name.
    pub async fn delete_external_initiator(&self, name: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM external_initiators WHERE name = $1")
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
