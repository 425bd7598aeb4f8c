//! Bridges: named external adapters. Only a hash of each bridge's incoming token is stored.

use serde::Serialize;
use sqlx::Row;

use crate::error::is_unique_violation;
use crate::{Error, Result, Store, json_column, now_micros};

/// A bridge to insert. The caller validates the name, URL and schemas.
#[derive(Clone)]
pub struct NewBridge {
    /// Unique name.
    pub name: String,
    /// Adapter URL.
    pub url: String,
    /// Confirmations the adapter asks for.
    pub confirmations: u64,
    /// Minimum contract payment, decimal juels.
    pub minimum_contract_payment: String,
    /// Hex SHA-256 of the incoming token.
    pub incoming_token_hash: String,
    /// The token sent to the adapter.
    pub outgoing_token: String,
    /// JSON Schema of the requests, if any.
    pub input_schema: Option<serde_json::Value>,
    /// JSON Schema of the responses, if any.
    pub output_schema: Option<serde_json::Value>,
}

impl std::fmt::Debug for NewBridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewBridge")
            .field("name", &self.name)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// A stored bridge. Serializes without its tokens.
#[derive(Clone, Serialize, PartialEq)]
pub struct BridgeRow {
    /// Database id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Adapter URL.
    pub url: String,
    /// Confirmations.
    pub confirmations: u64,
    /// Minimum contract payment, decimal juels.
    pub minimum_contract_payment: String,
    /// Hex SHA-256 of the incoming token.
    #[serde(skip)]
    pub incoming_token_hash: String,
    /// The token sent to the adapter.
    #[serde(skip)]
    pub outgoing_token: String,
    /// JSON Schema of the requests.
    pub input_schema: Option<serde_json::Value>,
    /// JSON Schema of the responses.
    pub output_schema: Option<serde_json::Value>,
    /// Unix micros.
    pub created_at: i64,
    /// Unix micros.
    pub updated_at: i64,
}

impl std::fmt::Debug for BridgeRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BridgeRow")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("url", &self.url)
            .field("confirmations", &self.confirmations)
            .finish_non_exhaustive()
    }
}

/// Changes to a bridge; `None` leaves a column as it is. For the schemas, `Some(None)`
/// removes the schema.
#[derive(Debug, Clone, Default)]
pub struct BridgeUpdate {
    /// New URL.
    pub url: Option<String>,
    /// New confirmations.
    pub confirmations: Option<u64>,
    /// New minimum contract payment.
    pub minimum_contract_payment: Option<String>,
    /// New input schema, or its removal.
    pub input_schema: Option<Option<serde_json::Value>>,
    /// New output schema, or its removal.
    pub output_schema: Option<Option<serde_json::Value>>,
}

const BRIDGE_COLUMNS: &str = "id, name, url, confirmations, minimum_contract_payment, \
     incoming_token_hash, outgoing_token, input_schema, output_schema, created_at, updated_at";

fn bridge_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<BridgeRow> {
    let id: i64 = row.try_get("id")?;
    let confirmations: i64 = row.try_get("confirmations")?;
    Ok(BridgeRow {
        id,
        name: row.try_get("name")?,
        url: row.try_get("url")?,
        confirmations: u64::try_from(confirmations).map_err(|_| Error::Corrupt {
            what: "bridges.confirmations",
            id,
            detail: confirmations.to_string(),
        })?,
        minimum_contract_payment: row.try_get("minimum_contract_payment")?,
        incoming_token_hash: row.try_get("incoming_token_hash")?,
        outgoing_token: row.try_get("outgoing_token")?,
        input_schema: json_column(row, "input_schema", id)?,
        output_schema: json_column(row, "output_schema", id)?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn db_confirmations(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Store {
    /// Inserts a bridge. A bridge with the same name is a [`Error::Conflict`].
    pub async fn insert_bridge(&self, bridge: &NewBridge) -> Result<BridgeRow> {
        let now = now_micros();
        let res = sqlx::query(
            "INSERT INTO bridges (name, url, confirmations, minimum_contract_payment, \
             incoming_token_hash, outgoing_token, input_schema, output_schema, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
        )
        .bind(&bridge.name)
        .bind(&bridge.url)
        .bind(db_confirmations(bridge.confirmations))
        .bind(&bridge.minimum_contract_payment)
        .bind(&bridge.incoming_token_hash)
        .bind(&bridge.outgoing_token)
        .bind(bridge.input_schema.as_ref().map(|v| v.to_string()))
        .bind(bridge.output_schema.as_ref().map(|v| v.to_string()))
        .bind(now)
        .execute(&self.pool)
        .await;
        match res {
            Ok(done) => Ok(BridgeRow {
                id: done.last_insert_rowid(),
                name: bridge.name.clone(),
                url: bridge.url.clone(),
                confirmations: bridge.confirmations,
                minimum_contract_payment: bridge.minimum_contract_payment.clone(),
                incoming_token_hash: bridge.incoming_token_hash.clone(),
                outgoing_token: bridge.outgoing_token.clone(),
                input_schema: bridge.input_schema.clone(),
                output_schema: bridge.output_schema.clone(),
                created_at: now,
                updated_at: now,
            }),
            Err(e) if is_unique_violation(&e) => Err(Error::Conflict(format!(
                "a bridge named {:?} already exists",
                bridge.name
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// Every bridge, by name.
    pub async fn list_bridges(&self) -> Result<Vec<BridgeRow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {BRIDGE_COLUMNS} FROM bridges ORDER BY name"
        )))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(bridge_from_row).collect()
    }

    /// A bridge by name.
    pub async fn bridge(&self, name: &str) -> Result<Option<BridgeRow>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {BRIDGE_COLUMNS} FROM bridges WHERE name = $1"
        )))
        .bind(name)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(bridge_from_row).transpose()
    }

    /// Applies `update` to the bridge named `name` and returns the new row; `None` when no
    /// bridge has that name.
    pub async fn update_bridge(
        &self,
        name: &str,
        update: &BridgeUpdate,
    ) -> Result<Option<BridgeRow>> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {BRIDGE_COLUMNS} FROM bridges WHERE name = $1"
        )))
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Ok(None);
        };
        let mut bridge = bridge_from_row(&row)?;
        if let Some(url) = &update.url {
            bridge.url = url.clone();
        }
        if let Some(c) = update.confirmations {
            bridge.confirmations = c;
        }
        if let Some(p) = &update.minimum_contract_payment {
            bridge.minimum_contract_payment = p.clone();
        }
        if let Some(s) = &update.input_schema {
            bridge.input_schema = s.clone();
        }
        if let Some(s) = &update.output_schema {
            bridge.output_schema = s.clone();
        }
        bridge.updated_at = now_micros();
        sqlx::query(
            "UPDATE bridges SET url = $1, confirmations = $2, minimum_contract_payment = $3, \
             input_schema = $4, output_schema = $5, updated_at = $6 WHERE id = $7",
        )
        .bind(&bridge.url)
        .bind(db_confirmations(bridge.confirmations))
        .bind(&bridge.minimum_contract_payment)
        .bind(bridge.input_schema.as_ref().map(|v| v.to_string()))
        .bind(bridge.output_schema.as_ref().map(|v| v.to_string()))
        .bind(bridge.updated_at)
        .bind(bridge.id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(bridge))
    }

    /// Deletes a bridge. Returns false when no bridge had that name.
    pub async fn delete_bridge(&self, name: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM bridges WHERE name = $1")
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
