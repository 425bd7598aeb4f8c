//! The node's REST API (and `/metrics`). JSON in and out, except job creation, which also
//! takes the TOML spec as the raw body. With a token configured every route but `/health`
//! requires `Authorization: Bearer <token>`.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::NodeShared;
use crate::routes::{HttpError, HttpResult};

/// Builds the router.
pub fn router(shared: Arc<NodeShared>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/v2/jobs", get(list_jobs).post(create_job))
        .route("/v2/jobs/{id}", get(show_job).delete(delete_job))
        .route("/v2/runs", get(list_runs))
        .route("/v2/runs/{id}", get(show_run))
        .route("/v2/requests", get(list_requests))
        .route("/v2/txs", get(list_txs))
        .merge(crate::routes::token_routes())
        .layer(axum::middleware::from_fn_with_state(shared.clone(), auth))
        // Added after the token layer: these authenticate each call themselves.
        .merge(crate::routes::own_auth_routes())
        .with_state(shared)
}

async fn auth(
    State(shared): State<Arc<NodeShared>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let Some(token) = shared.api_token.as_deref() else {
        return next.run(req).await;
    };
    if req.uri().path() == "/health" {
        return next.run(req).await;
    }
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if constant_time_eq(given.as_bytes(), token.as_bytes()) {
        next.run(req).await
    } else {
        HttpError::new(
            StatusCode::UNAUTHORIZED,
            "missing or wrong API token (Authorization: Bearer …)",
        )
        .into_response()
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn health(State(shared): State<Arc<NodeShared>>) -> Response {
    let db_ok = shared.store.ping().await.is_ok();
    let body = json!({
        "status": if db_ok { "ok" } else { "degraded" },
        "database": db_ok,
        "chainId": shared.chain_id,
        "address": format!("{:#x}", shared.address),
        "jobs": shared.registry.len(),
        "rpc": shared.rpc.active_endpoint(),
    });
    let status = if db_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

async fn metrics(State(shared): State<Arc<NodeShared>>) -> Response {
    match &shared.metrics {
        Some(handle) => (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            handle.render(),
        )
            .into_response(),
        None => HttpError::new(
            StatusCode::NOT_FOUND,
            "metrics are served by another node in this process",
        )
        .into_response(),
    }
}

async fn list_jobs(State(shared): State<Arc<NodeShared>>) -> HttpResult<Json<serde_json::Value>> {
    let jobs = shared.store.list_jobs().await?;
    Ok(Json(json!({ "jobs": jobs })))
}

#[derive(Deserialize)]
struct CreateJobJson {
    toml: String,
    #[serde(default)]
    origin: Option<String>,
}

async fn create_job(
    State(shared): State<Arc<NodeShared>>,
    headers: HeaderMap,
    body: String,
) -> HttpResult<(StatusCode, Json<serde_json::Value>)> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let (toml_text, origin) = if is_json {
        let parsed: CreateJobJson = serde_json::from_str(&body).map_err(|e| {
            HttpError::new(
                StatusCode::BAD_REQUEST,
                format!("body: expected {{\"toml\": \"...\"}}: {e}"),
            )
        })?;
        (
            parsed.toml,
            parsed.origin.unwrap_or_else(|| "spec.toml".into()),
        )
    } else {
        let origin = headers
            .get("x-orakel-spec-origin")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("spec.toml")
            .to_string();
        (body, origin)
    };
    let job = crate::create_job(&shared, &toml_text, &origin).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "job": job.row, "warnings": job.spec.warnings })),
    ))
}

async fn show_job(
    State(shared): State<Arc<NodeShared>>,
    Path(id): Path<i64>,
) -> HttpResult<Json<serde_json::Value>> {
    match shared.store.job(id).await? {
        Some(job) => Ok(Json(json!({ "job": job }))),
        None => Err(HttpError::new(
            StatusCode::NOT_FOUND,
            format!("no job with id {id}"),
        )),
    }
}

async fn delete_job(
    State(shared): State<Arc<NodeShared>>,
    Path(id): Path<i64>,
) -> HttpResult<StatusCode> {
    if shared.store.delete_job(id).await? {
        shared.registry.remove(id);
        tracing::info!(job = id, "job deleted");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(HttpError::new(
            StatusCode::NOT_FOUND,
            format!("no job with id {id}"),
        ))
    }
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default, rename = "jobId")]
    job_id: Option<i64>,
    #[serde(default)]
    limit: Option<u32>,
}

async fn list_runs(
    State(shared): State<Arc<NodeShared>>,
    Query(q): Query<ListQuery>,
) -> HttpResult<Json<serde_json::Value>> {
    let runs = shared
        .store
        .list_runs(q.job_id, q.limit.unwrap_or(50).min(1000))
        .await?;
    Ok(Json(json!({ "runs": runs })))
}

async fn show_run(
    State(shared): State<Arc<NodeShared>>,
    Path(id): Path<i64>,
) -> HttpResult<Json<serde_json::Value>> {
    match shared.store.run(id).await? {
        Some(run) => Ok(Json(json!({ "run": run }))),
        None => Err(HttpError::new(
            StatusCode::NOT_FOUND,
            format!("no run with id {id}"),
        )),
    }
}

async fn list_requests(
    State(shared): State<Arc<NodeShared>>,
    Query(q): Query<ListQuery>,
) -> HttpResult<Json<serde_json::Value>> {
    let requests = shared
        .store
        .list_requests(q.limit.unwrap_or(50).min(10_000))
        .await?;
    Ok(Json(json!({ "requests": requests })))
}

async fn list_txs(
    State(shared): State<Arc<NodeShared>>,
    Query(q): Query<ListQuery>,
) -> HttpResult<Json<serde_json::Value>> {
    let txs = shared
        .store
        .list_eth_txs(q.limit.unwrap_or(50).min(10_000))
        .await?;
    Ok(Json(json!({ "txs": txs })))
}
