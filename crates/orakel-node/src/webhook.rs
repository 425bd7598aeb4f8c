//! The `webhook` job type and external initiators.
//!
//! `POST /v2/jobs/{id or externalJobID}/runs` starts a run of a webhook job. The raw request
//! body (JSON, or empty) becomes `$(jobRun.requestBody)`, a string, as established (specs
//! parse it with `jsonparse`). The caller is either the operator, with the node's API token,
//! or a registered external initiator, with the established headers
//! `X-Chainlink-EA-AccessKey` and `X-Chainlink-EA-Secret`; an initiator may only run the jobs
//! whose `externalInitiators` list it. The call returns as soon as the run is stored.
//!
//! External initiators are registered through `/v2/external_initiators`; the secret is shown
//! once and only its SHA-256 hash is stored.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use orakel_store::NewExternalInitiator;
use serde::Deserialize;
use serde_json::json;

use crate::NodeShared;
use crate::registry::LoadedJob;
use crate::routes::{HttpError, HttpResult};
use crate::secrets::{bearer, constant_time_eq, matches_hash, random_hex, sha256_hex};

/// Header naming an external initiator (its access key).
pub const ACCESS_KEY_HEADER: &str = "x-chainlink-ea-accesskey";
/// Header carrying an external initiator's secret.
pub const SECRET_HEADER: &str = "x-chainlink-ea-secret";

/// Who asked for a run.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Caller {
    /// The node's API token (or a node without one).
    Operator,
    /// A registered external initiator, by name.
    Initiator(String),
}

async fn authenticate(shared: &NodeShared, headers: &HeaderMap) -> HttpResult<Caller> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(access_key) = header(ACCESS_KEY_HEADER) {
        let secret = header(SECRET_HEADER).unwrap_or("");
        let ei = shared
            .store
            .external_initiator_by_access_key(access_key.trim())
            .await?;
        return match ei {
            Some(ei) if matches_hash(secret, &ei.secret_hash) => Ok(Caller::Initiator(ei.name)),
            _ => Err(HttpError::unauthorized(
                "wrong external initiator credentials (X-Chainlink-EA-AccessKey / X-Chainlink-EA-Secret)",
            )),
        };
    }
    match shared.api_token.as_deref() {
        None => Ok(Caller::Operator),
        Some(token) => match bearer(headers) {
            Some(given) if constant_time_eq(given.as_bytes(), token.as_bytes()) => {
                Ok(Caller::Operator)
            }
            _ => Err(HttpError::unauthorized(
                "missing or wrong credentials: send the API token (Authorization: Bearer …) or an external initiator's X-Chainlink-EA-AccessKey and X-Chainlink-EA-Secret",
            )),
        },
    }
}

fn find_job(shared: &NodeShared, id: &str) -> HttpResult<Arc<LoadedJob>> {
    let job = match id.parse::<i64>() {
        Ok(db_id) => shared.registry.get(db_id),
        Err(_) => uuid::Uuid::try_parse(id.trim())
            .ok()
            .and_then(|u| shared.registry.by_external_id(&u)),
    };
    job.ok_or_else(|| {
        HttpError::not_found(format!(
            "no job with id or externalJobID {id:?} is being served"
        ))
    })
}

/// `POST /v2/jobs/{id}/runs`: starts a webhook run; 201 with the run id.
pub(crate) async fn run_job(
    State(shared): State<Arc<NodeShared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> HttpResult<(StatusCode, Json<serde_json::Value>)> {
    let caller = authenticate(&shared, &headers).await?;
    let job = find_job(&shared, &id)?;
    let Some(webhook) = &job.spec.webhook else {
        return Err(HttpError::bad_request(format!(
            "job {} is a {} job; only webhook jobs can be run through the API",
            job.row.id, job.spec.job_type
        )));
    };
    if let Caller::Initiator(name) = &caller
        && !webhook
            .external_initiators
            .iter()
            .any(|e| e.name.eq_ignore_ascii_case(name))
    {
        return Err(HttpError::new(
            StatusCode::FORBIDDEN,
            format!(
                "external initiator {name:?} is not in the externalInitiators of job {}",
                job.row.id
            ),
        ));
    }
    let text =
        std::str::from_utf8(&body).map_err(|_| HttpError::bad_request("body: not UTF-8 text"))?;
    if !text.trim().is_empty() {
        serde_json::from_str::<serde::de::IgnoredAny>(text)
            .map_err(|e| HttpError::bad_request(format!("body: not valid JSON: {e}")))?;
    }
    let run_id = shared
        .runs
        .start(job.clone(), json!({ "requestBody": text }))
        .await?;
    let by = match &caller {
        Caller::Operator => "api token".to_owned(),
        Caller::Initiator(name) => format!("external initiator {name}"),
    };
    tracing::info!(job = job.row.id, run = run_id, by = %by, "webhook run started");
    Ok((
        StatusCode::CREATED,
        Json(json!({ "run": { "id": run_id, "job_id": job.row.id, "state": "running" } })),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateInitiator {
    name: String,
    #[serde(default)]
    url: Option<String>,
}

/// `POST /v2/external_initiators`: 201 with the access key and the secret (shown once).
pub(crate) async fn create_initiator(
    State(shared): State<Arc<NodeShared>>,
    body: axum::body::Bytes,
) -> HttpResult<(StatusCode, Json<serde_json::Value>)> {
    let body: CreateInitiator =
        serde_json::from_slice(&body).map_err(|e| HttpError::bad_request(format!("body: {e}")))?;
    let name = crate::bridges::normalize_name(body.name.trim())
        .map_err(|m| HttpError::field("name", m.replace("bridge name", "name")))?;
    let url = match body.url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        None => None,
        Some(u) => {
            let parsed = url::Url::parse(u)
                .map_err(|e| HttpError::field("url", format!("invalid URL {u:?}: {e}")))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(HttpError::field(
                    "url",
                    format!("invalid URL {u:?}: expected http or https"),
                ));
            }
            Some(parsed.to_string())
        }
    };
    let access_key = random_hex::<16>();
    let secret = random_hex::<32>();
    let row = shared
        .store
        .insert_external_initiator(&NewExternalInitiator {
            name,
            url,
            access_key: access_key.clone(),
            secret_hash: sha256_hex(&secret),
        })
        .await?;
    tracing::info!(initiator = %row.name, "external initiator created");
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "externalInitiator": row,
            "accessKey": access_key,
            "secret": secret,
        })),
    ))
}

/// `GET /v2/external_initiators`
pub(crate) async fn list_initiators(
    State(shared): State<Arc<NodeShared>>,
) -> HttpResult<Json<serde_json::Value>> {
    Ok(Json(
        json!({ "externalInitiators": shared.store.list_external_initiators().await? }),
    ))
}

/// `DELETE /v2/external_initiators/{name}`: refused (409) while a webhook job lists it.
pub(crate) async fn delete_initiator(
    State(shared): State<Arc<NodeShared>>,
    Path(name): Path<String>,
) -> HttpResult<StatusCode> {
    let name = name.to_ascii_lowercase();
    let users: Vec<String> = shared
        .registry
        .jobs()
        .iter()
        .filter(|j| {
            j.spec.webhook.as_ref().is_some_and(|w| {
                w.external_initiators
                    .iter()
                    .any(|e| e.name.eq_ignore_ascii_case(&name))
            })
        })
        .map(|j| j.row.id.to_string())
        .collect();
    if !users.is_empty() {
        return Err(HttpError::conflict(format!(
            "external initiator {name:?} is listed by job {}; delete the job first",
            users.join(", ")
        )));
    }
    if shared.store.delete_external_initiator(&name).await? {
        tracing::info!(initiator = %name, "external initiator deleted");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(HttpError::not_found(format!(
            "no external initiator named {name:?}"
        )))
    }
}
