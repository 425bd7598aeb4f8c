//! Bridges (external adapters): the in-memory registry `bridge` tasks look adapters up in,
//! loaded from the store at start and kept in step by the API (`/v2/bridge_types`), and the
//! checks a job's bridge references must pass.
//!
//! Each bridge has two generated tokens, shown once when it is created: the *outgoing* token
//! the node sends to the adapter, and the *incoming* token the adapter presents when it
//! resumes a run. Only a SHA-256 hash of the incoming token is stored.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use alloy::primitives::U256;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use orakel_pipeline::{BridgeDef, BridgeError, BridgeParams, JobSpec};
use orakel_store::{BridgeRow, BridgeUpdate, NewBridge, Store};
use serde::{Deserialize, Deserializer};
use serde_json::json;

use crate::NodeShared;
use crate::routes::{HttpError, HttpResult};
use crate::secrets::{random_hex, sha256_hex};

/// Longest bridge name.
const MAX_NAME_LEN: usize = 255;

/// The registered bridges, by (lower-case) name. Implements the pipeline's
/// [`orakel_pipeline::BridgeRegistry`].
#[derive(Default)]
pub struct Bridges {
    by_name: RwLock<HashMap<String, Arc<BridgeDef>>>,
}

impl std::fmt::Debug for Bridges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bridges")
            .field("bridges", &self.len())
            .finish()
    }
}

impl orakel_pipeline::BridgeRegistry for Bridges {
    fn bridge(&self, name: &str) -> Option<Arc<BridgeDef>> {
        // Names are stored lower case; specs may spell them in any case (as established).
        self.by_name
            .read()
            .ok()?
            .get(&name.trim().to_ascii_lowercase())
            .cloned()
    }
}

impl Bridges {
    /// Loads every stored bridge. A stored bridge that no longer validates (e.g. after an
    /// upgrade that tightened schema checks) is logged and left out.
    pub async fn load(store: &Store) -> crate::Result<Self> {
        let bridges = Self::default();
        for row in store.list_bridges().await? {
            match def_from_row(&row) {
                Ok(def) => bridges.insert(def),
                Err(e) => {
                    tracing::error!(bridge = %row.name, error = %e, "stored bridge no longer validates; not serving it")
                }
            }
        }
        Ok(bridges)
    }

    fn insert(&self, def: BridgeDef) {
        if let Ok(mut m) = self.by_name.write() {
            m.insert(def.name().to_owned(), Arc::new(def));
        }
    }

    fn remove(&self, name: &str) {
        if let Ok(mut m) = self.by_name.write() {
            m.remove(name);
        }
    }

    /// Number of bridges served.
    pub fn len(&self) -> usize {
        self.by_name.read().map(|m| m.len()).unwrap_or(0)
    }

    /// True when no bridge is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Checks a bridge name: 1 to 255 ASCII letters, digits, `_` or `-`. Returns it in lower case
/// (the established node folds case the same way).
pub fn normalize_name(name: &str) -> Result<String, String> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(name.to_ascii_lowercase())
    } else {
        Err(format!(
            "invalid bridge name {name:?}: use 1 to {MAX_NAME_LEN} letters, digits, '_' or '-'"
        ))
    }
}

fn parse_payment(text: &str) -> Result<U256, String> {
    let t = text.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "invalid amount {text:?}: expected a non-negative integer number of juels"
        ));
    }
    U256::from_str_radix(t, 10).map_err(|_| format!("amount {text:?} does not fit in uint256"))
}

fn def_from_row(row: &BridgeRow) -> Result<BridgeDef, BridgeError> {
    BridgeDef::new(BridgeParams {
        name: row.name.clone(),
        url: row.url.clone(),
        outgoing_token: row.outgoing_token.clone(),
        confirmations: row.confirmations,
        minimum_contract_payment: parse_payment(&row.minimum_contract_payment).unwrap_or_default(),
        input_schema: row.input_schema.clone(),
        output_schema: row.output_schema.clone(),
    })
}

/// Maps a definition error to the API field it concerns.
fn bridge_error(e: BridgeError) -> HttpError {
    let field = match &e {
        BridgeError::InvalidName(_) => "name",
        BridgeError::InvalidUrl { .. } => "url",
        BridgeError::InvalidSchema { which: "input", .. } => "inputSchema",
        BridgeError::InvalidSchema { .. } => "outputSchema",
    };
    HttpError::field(field, e.to_string())
}

/// Rejects a spec whose `bridge` tasks name unregistered bridges (located at the task's
/// `name`), or a webhook spec listing unregistered external initiators.
pub async fn check_job_references(
    shared: &NodeShared,
    spec: &JobSpec,
    origin: &str,
) -> crate::Result<()> {
    for task in &spec.bridge_tasks {
        if orakel_pipeline::BridgeRegistry::bridge(shared.bridges.as_ref(), &task.name).is_none() {
            return Err(crate::Error::Spec(task.error(
                origin,
                format!(
                    "no bridge named {:?} is registered (create it first: POST /v2/bridge_types or `orakel bridges create`)",
                    task.name
                ),
            )));
        }
    }
    if let Some(webhook) = &spec.webhook {
        for ei in &webhook.external_initiators {
            let known = shared
                .store
                .external_initiator(&ei.name.to_ascii_lowercase())
                .await?;
            if known.is_none() {
                return Err(crate::Error::Unsupported(format!(
                    "externalInitiators: no external initiator named {:?} is registered (create it first: POST /v2/external_initiators)",
                    ei.name
                )));
            }
        }
    }
    Ok(())
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<serde_json::Value>>, D::Error> {
    Option::<serde_json::Value>::deserialize(d).map(Some)
}

/// An amount written as a JSON string or number.
#[derive(Deserialize)]
#[serde(untagged)]
enum Amount {
    Text(String),
    Number(serde_json::Number),
}

impl Amount {
    fn text(&self) -> String {
        match self {
            Amount::Text(t) => t.clone(),
            Amount::Number(n) => n.to_string(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CreateBody {
    name: String,
    url: String,
    #[serde(default)]
    confirmations: u64,
    #[serde(default, alias = "minimum_contract_payment")]
    minimum_contract_payment: Option<Amount>,
    #[serde(default, alias = "input_schema")]
    input_schema: Option<serde_json::Value>,
    #[serde(default, alias = "output_schema")]
    output_schema: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct UpdateBody {
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    confirmations: Option<u64>,
    #[serde(default, alias = "minimum_contract_payment")]
    minimum_contract_payment: Option<Amount>,
    #[serde(default, alias = "input_schema", deserialize_with = "present")]
    input_schema: Option<Option<serde_json::Value>>,
    #[serde(default, alias = "output_schema", deserialize_with = "present")]
    output_schema: Option<Option<serde_json::Value>>,
}

fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> HttpResult<T> {
    serde_json::from_slice(body).map_err(|e| HttpError::bad_request(format!("body: {e}")))
}

fn payment_field(amount: Option<&Amount>) -> HttpResult<Option<U256>> {
    amount
        .map(|a| {
            parse_payment(&a.text()).map_err(|m| HttpError::field("minimumContractPayment", m))
        })
        .transpose()
}

fn schema_field(field: &str, schema: Option<&serde_json::Value>) -> HttpResult<()> {
    match schema {
        None | Some(serde_json::Value::Object(_)) | Some(serde_json::Value::Bool(_)) => Ok(()),
        Some(other) => Err(HttpError::field(
            field,
            format!("a JSON Schema is an object (or a boolean), got {other}"),
        )),
    }
}

/// `POST /v2/bridge_types`
pub(crate) async fn create(
    State(shared): State<Arc<NodeShared>>,
    body: axum::body::Bytes,
) -> HttpResult<(StatusCode, Json<serde_json::Value>)> {
    let body: CreateBody = parse_body(&body)?;
    let name = normalize_name(body.name.trim()).map_err(|m| HttpError::field("name", m))?;
    let payment = payment_field(body.minimum_contract_payment.as_ref())?.unwrap_or_default();
    schema_field("inputSchema", body.input_schema.as_ref())?;
    schema_field("outputSchema", body.output_schema.as_ref())?;
    let incoming = random_hex::<24>();
    let outgoing = random_hex::<24>();
    let def = BridgeDef::new(BridgeParams {
        name: name.clone(),
        url: body.url.trim().to_owned(),
        outgoing_token: outgoing.clone(),
        confirmations: body.confirmations,
        minimum_contract_payment: payment,
        input_schema: body.input_schema.clone(),
        output_schema: body.output_schema.clone(),
    })
    .map_err(bridge_error)?;
    let row = shared
        .store
        .insert_bridge(&NewBridge {
            name,
            url: def.url().to_string(),
            confirmations: body.confirmations,
            minimum_contract_payment: payment.to_string(),
            incoming_token_hash: sha256_hex(&incoming),
            outgoing_token: outgoing.clone(),
            input_schema: body.input_schema,
            output_schema: body.output_schema,
        })
        .await?;
    shared.bridges.insert(def);
    tracing::info!(bridge = %row.name, url = %orakel_chain::redact_rpc_url(&row.url), "bridge created");
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "bridge": row,
            "incomingToken": incoming,
            "outgoingToken": outgoing,
        })),
    ))
}

/// `GET /v2/bridge_types`
pub(crate) async fn list(
    State(shared): State<Arc<NodeShared>>,
) -> HttpResult<Json<serde_json::Value>> {
    Ok(Json(
        json!({ "bridges": shared.store.list_bridges().await? }),
    ))
}

async fn find(shared: &NodeShared, name: &str) -> HttpResult<BridgeRow> {
    shared
        .store
        .bridge(&name.to_ascii_lowercase())
        .await?
        .ok_or_else(|| HttpError::not_found(format!("no bridge named {name:?}")))
}

/// `GET /v2/bridge_types/{name}`
pub(crate) async fn show(
    State(shared): State<Arc<NodeShared>>,
    Path(name): Path<String>,
) -> HttpResult<Json<serde_json::Value>> {
    let row = find(&shared, &name).await?;
    Ok(Json(json!({ "bridge": row })))
}

/// `PATCH /v2/bridge_types/{name}`: url, confirmations, minimum payment and schemas; a schema
/// set to `null` is removed. The tokens stay.
pub(crate) async fn update(
    State(shared): State<Arc<NodeShared>>,
    Path(name): Path<String>,
    body: axum::body::Bytes,
) -> HttpResult<Json<serde_json::Value>> {
    let body: UpdateBody = parse_body(&body)?;
    let current = find(&shared, &name).await?;
    let payment = payment_field(body.minimum_contract_payment.as_ref())?;
    if let Some(s) = &body.input_schema {
        schema_field("inputSchema", s.as_ref())?;
    }
    if let Some(s) = &body.output_schema {
        schema_field("outputSchema", s.as_ref())?;
    }
    let change = BridgeUpdate {
        url: body.url.map(|u| u.trim().to_owned()),
        confirmations: body.confirmations,
        minimum_contract_payment: payment.map(|p| p.to_string()),
        input_schema: body.input_schema,
        output_schema: body.output_schema,
    };
    // Validate the merged definition before anything is stored.
    let mut merged = current.clone();
    if let Some(u) = &change.url {
        merged.url.clone_from(u);
    }
    if let Some(c) = change.confirmations {
        merged.confirmations = c;
    }
    if let Some(p) = &change.minimum_contract_payment {
        merged.minimum_contract_payment.clone_from(p);
    }
    if let Some(s) = &change.input_schema {
        merged.input_schema.clone_from(s);
    }
    if let Some(s) = &change.output_schema {
        merged.output_schema.clone_from(s);
    }
    let checked = def_from_row(&merged).map_err(bridge_error)?;
    // Store the URL in the form the definition parsed it to, as `create` does.
    let change = BridgeUpdate {
        url: change.url.map(|_| checked.url().to_string()),
        ..change
    };
    let row = shared
        .store
        .update_bridge(&current.name, &change)
        .await?
        .ok_or_else(|| HttpError::not_found(format!("no bridge named {name:?}")))?;
    let def = def_from_row(&row).map_err(bridge_error)?;
    shared.bridges.insert(def);
    tracing::info!(bridge = %row.name, "bridge updated");
    Ok(Json(json!({ "bridge": row })))
}

/// `DELETE /v2/bridge_types/{name}`: refused (409) while a job's `bridge` task names it.
pub(crate) async fn delete(
    State(shared): State<Arc<NodeShared>>,
    Path(name): Path<String>,
) -> HttpResult<StatusCode> {
    let current = find(&shared, &name).await?;
    let users: Vec<String> = shared
        .registry
        .jobs()
        .iter()
        .filter(|j| {
            j.spec
                .bridge_tasks
                .iter()
                .any(|t| t.name.eq_ignore_ascii_case(&current.name))
        })
        .map(|j| match &j.row.name {
            Some(n) => format!("{} ({n})", j.row.id),
            None => j.row.id.to_string(),
        })
        .collect();
    if !users.is_empty() {
        return Err(HttpError::conflict(format!(
            "bridge {:?} is used by job {}; delete the job first",
            current.name,
            users.join(", ")
        )));
    }
    if !shared.store.delete_bridge(&current.name).await? {
        return Err(HttpError::not_found(format!("no bridge named {name:?}")));
    }
    shared.bridges.remove(&current.name);
    tracing::info!(bridge = %current.name, "bridge deleted");
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_folded() {
        assert_eq!(
            normalize_name("Price_Feed-2").as_deref(),
            Ok("price_feed-2")
        );
        assert!(normalize_name("").is_err());
        assert!(normalize_name("has space").is_err());
        assert!(normalize_name("ünïcode").is_err());
        assert!(normalize_name(&"a".repeat(256)).is_err());
        assert!(normalize_name(&"a".repeat(255)).is_ok());
    }

    #[test]
    fn payments_are_integers() {
        assert_eq!(parse_payment("1000"), Ok(U256::from(1000u64)));
        assert!(parse_payment("-1").is_err());
        assert!(parse_payment("1.5").is_err());
        assert!(parse_payment("").is_err());
        assert!(parse_payment(&"9".repeat(80)).is_err());
    }
}
