//! A sample external adapter: prices from the orakel source simulator, served over the
//! external-adapter ("bridge") HTTP protocol, with JSON Schemas for its input and output.
//!
//! # What this crate owns
//!
//! * The adapter's HTTP face ([`router`], [`serve`]):
//!   - `POST /` — a request `{"id", "data": {"pair" | "base"+"quote", "source", "tick"},
//!     "meta"}` is answered with `{"jobRunID", "data": {pair, source, tick, price, result},
//!     "result", "statusCode": 200}`. `result` is the simulator's price exactly as served
//!     (the JSON number's digits are passed through, never through a float).
//!   - failures follow the protocol: a non-200 HTTP status mirrored in `statusCode`,
//!     `"status": "errored"` and `"error": {"name", "message"}` — 400 for bad input (the
//!     message names the failing schema location), 502 when the simulator answers an error
//!     (with `providerStatusCode`) or something that is not a price, 504 when it times out.
//!   - `GET /schemas` (`{"input", "output"}`), `GET /schemas/input`, `GET /schemas/output`:
//!     the draft 2020-12 schemas committed as `schemas/input.json` and `schemas/output.json`
//!     ([`INPUT_SCHEMA`], [`OUTPUT_SCHEMA`]); every request is validated against the input
//!     schema, so the published contract is the one enforced.
//!   - `GET /health`.
//! * The client side of one simulator route: `GET {sim}/sources/{source}/price?pair=P[&tick=N]`.
//!
//! # What it must not touch
//!
//! Nodes, pipelines, the chain and the store: an adapter is an outside service that a node
//! reaches over HTTP only. It does not depend on the simulator crate either — only on its
//! HTTP routes — so it works against any service that answers them.

mod protocol;
mod source;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use protocol::{AdapterError, ErrorKind};
use source::SimSource;

/// The input schema (draft 2020-12), as committed in `schemas/input.json`.
pub const INPUT_SCHEMA: &str = include_str!("../schemas/input.json");
/// The output schema (draft 2020-12) of a successful answer, as committed in
/// `schemas/output.json`.
pub const OUTPUT_SCHEMA: &str = include_str!("../schemas/output.json");

/// Errors of this crate (setting the adapter up; request failures are protocol answers,
/// see [`AdapterError`]).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The simulator URL is not an absolute http(s) URL.
    #[error("invalid simulator URL {url:?}: {reason}")]
    SimUrl {
        /// The URL given.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// A committed schema does not compile (a build defect, caught by the tests).
    #[error("invalid {which} schema: {message}")]
    Schema {
        /// `input` or `output`.
        which: &'static str,
        /// The compiler's message.
        message: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    /// The listening socket could not be bound.
    #[error("cannot bind the adapter to {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The bound socket's address could not be read.
    #[error("cannot read the adapter's local address: {0}")]
    LocalAddr(std::io::Error),
}

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How the adapter reaches the simulator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdapterConfig {
    /// Base URL of the simulator, e.g. `http://127.0.0.1:8081`.
    pub sim_url: String,
    /// Time budget of one simulator request.
    pub timeout: Duration,
}

impl AdapterConfig {
    /// A configuration for the simulator at `sim_url` with a 5 s request timeout.
    pub fn new(sim_url: impl Into<String>) -> Self {
        AdapterConfig {
            sim_url: sim_url.into(),
            timeout: Duration::from_secs(5),
        }
    }
}

struct AppState {
    source: SimSource,
    input: jsonschema::Validator,
    schemas: serde_json::Value,
}

fn compile(which: &'static str, text: &str) -> Result<(serde_json::Value, jsonschema::Validator)> {
    let schema: serde_json::Value = serde_json::from_str(text).map_err(|e| Error::Schema {
        which,
        message: e.to_string(),
    })?;
    let validator = jsonschema::draft202012::new(&schema).map_err(|e| Error::Schema {
        which,
        message: e.to_string(),
    })?;
    Ok((schema, validator))
}

/// The adapter's routes, ready to be served (see [`serve`] for a background server).
pub fn router(cfg: &AdapterConfig) -> Result<Router> {
    let source = SimSource::new(&cfg.sim_url, cfg.timeout)?;
    let (input_schema, input) = compile("input", INPUT_SCHEMA)?;
    let (output_schema, _) = compile("output", OUTPUT_SCHEMA)?;
    let schemas = serde_json::json!({ "input": input_schema, "output": output_schema });
    let state = Arc::new(AppState {
        source,
        input,
        schemas,
    });
    Ok(Router::new()
        .route("/", post(handle))
        .route("/schemas", get(schemas_all))
        .route("/schemas/input", get(schema_input))
        .route("/schemas/output", get(schema_output))
        .route("/health", get(health))
        .with_state(state))
}

fn json_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn handle(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let (status, body) = match protocol::parse_request(&body, &state.input) {
        Err((job_run_id, e)) => (e.http_status(), e.to_body(&job_run_id)),
        Ok((job_run_id, query)) => match state.source.fetch(&query).await {
            Ok(quote) => (StatusCode::OK, protocol::success_body(&job_run_id, &quote)),
            Err(e) => (e.http_status(), e.to_body(&job_run_id)),
        },
    };
    if status != StatusCode::OK {
        tracing::info!(%status, body = %body, "adapter request failed");
    }
    json_response(status, body)
}

async fn schemas_all(State(state): State<Arc<AppState>>) -> Response {
    json_response(StatusCode::OK, state.schemas.to_string())
}

async fn schema_input() -> Response {
    json_response(StatusCode::OK, INPUT_SCHEMA.to_owned())
}

async fn schema_output() -> Response {
    json_response(StatusCode::OK, OUTPUT_SCHEMA.to_owned())
}

async fn health() -> Response {
    json_response(StatusCode::OK, r#"{"status":"ok"}"#.to_owned())
}

/// A running adapter. Dropping it stops the server.
pub struct AdapterHandle {
    /// The bound address (with the real port when port 0 was asked for).
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for AdapterHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdapterHandle")
            .field("addr", &self.addr)
            .finish()
    }
}

impl AdapterHandle {
    /// `http://{addr}`: the URL to register as a bridge.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the server and waits (up to 5 s) for it to close its connections.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }
}

impl Drop for AdapterHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Binds `addr` (port 0 for a free port) and serves the adapter on a background task.
pub async fn serve(cfg: &AdapterConfig, addr: SocketAddr) -> Result<AdapterHandle> {
    let app = router(cfg)?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Bind { addr, source })?;
    let addr = listener.local_addr().map_err(Error::LocalAddr)?;
    let (stop, mut stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        let signal = async move {
            let _ = stopped.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(signal)
            .await
        {
            tracing::warn!(error = %e, "adapter server stopped with an error");
        }
    });
    tracing::info!(%addr, "adapter listening");
    Ok(AdapterHandle {
        addr,
        stop,
        task: Some(task),
    })
}
