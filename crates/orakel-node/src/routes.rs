//! The API routes of bridges, external initiators, webhook runs and resumes, and the error
//! type every API handler (these and `api`'s) shares. `api::router` mounts [`token_routes`] behind the API token and
//! [`own_auth_routes`] outside it: those authenticate each call themselves (bridge tokens,
//! external-initiator credentials, or the API token).

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use serde_json::json;

use crate::NodeShared;

/// An API error with a status, a message and, for bad input, the field concerned.
#[derive(Debug)]
pub(crate) struct HttpError {
    status: StatusCode,
    body: serde_json::Value,
}

impl HttpError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            body: json!({ "error": message.into() }),
        }
    }

    /// 400 naming the field that was wrong.
    pub(crate) fn field(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            status: StatusCode::BAD_REQUEST,
            body: json!({
                "error": format!("field `{field}`: {message}"),
                "field": field,
                "message": message,
            }),
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }

    pub(crate) fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

impl From<crate::Error> for HttpError {
    fn from(e: crate::Error) -> Self {
        match e {
            crate::Error::Spec(spec) => Self {
                status: StatusCode::BAD_REQUEST,
                body: json!({
                    "error": spec.to_string(),
                    "line": spec.line,
                    "column": spec.column,
                    "field": spec.field,
                    "message": spec.message,
                }),
            },
            crate::Error::Unsupported(m) => Self::bad_request(m),
            crate::Error::Store(orakel_store::Error::Conflict(m)) => Self::conflict(m),
            other => {
                tracing::error!(error = %other, "api request failed");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, other.to_string())
            }
        }
    }
}

impl From<orakel_store::Error> for HttpError {
    fn from(e: orakel_store::Error) -> Self {
        crate::Error::from(e).into()
    }
}

/// Result of the API handlers.
pub(crate) type HttpResult<T> = Result<T, HttpError>;

/// Routes that need the node's API token (checked by `api::router`'s middleware).
pub fn token_routes() -> Router<Arc<NodeShared>> {
    Router::new()
        .route(
            "/v2/bridge_types",
            get(crate::bridges::list).post(crate::bridges::create),
        )
        .route(
            "/v2/bridge_types/{name}",
            get(crate::bridges::show)
                .patch(crate::bridges::update)
                .delete(crate::bridges::delete),
        )
        .route(
            "/v2/external_initiators",
            get(crate::webhook::list_initiators).post(crate::webhook::create_initiator),
        )
        .route(
            "/v2/external_initiators/{name}",
            axum::routing::delete(crate::webhook::delete_initiator),
        )
        .route("/v2/suspended_runs", get(crate::resume::list_suspended))
        .route("/v2/sla", get(crate::sla_api::list))
        .route("/v2/sla/{id}/rounds", get(crate::sla_api::rounds))
        .route("/v2/sla/withdraw", post(crate::sla_api::withdraw))
}

/// Routes that authenticate each call themselves.
pub fn own_auth_routes() -> Router<Arc<NodeShared>> {
    Router::new()
        .route("/v2/jobs/{id}/runs", post(crate::webhook::run_job))
        .route("/v2/resume/{run_id}", patch(crate::resume::resume_run))
        .route(
            "/v2/resume/{run_id}/{task}",
            patch(crate::resume::resume_task),
        )
}
