//! The HTTP face of the simulator: one price API per (pair, source), introspection routes and
//! fixed-behaviour fault routes for tests.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use serde_json::json;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::sim::{Observation, ObservationKind, Simulator};
use crate::{Error, Result, SimConfig};

/// Longest accepted `/fault/slow?ms=` (10 minutes).
const MAX_SLOW_MS: u64 = 600_000;
/// Largest accepted `/fault/huge?bytes=` (64 MiB).
const MAX_HUGE_BYTES: usize = 64 * 1024 * 1024;
/// Longest accepted `/fixed?value=`.
const MAX_FIXED_LEN: usize = 1_024;
/// How long [`SimHandle::shutdown`] waits for open connections before aborting the server.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Counts of what the price routes served, per kind. A snapshot; see [`SimHandle::stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SimStats {
    /// Honest prices served.
    pub price: u64,
    /// Outliers served.
    pub outlier: u64,
    /// Non-JSON bodies served.
    pub garbage: u64,
    /// Timeouts started (counted when the request arrives, not when it is answered).
    pub timeout: u64,
    /// HTTP 503 answers.
    pub server_error: u64,
    /// Price requests for an unknown pair or source (HTTP 404).
    pub not_found: u64,
    /// Price requests with a bad parameter (HTTP 400).
    pub bad_request: u64,
}

impl SimStats {
    /// Every price request counted, whatever its answer.
    pub fn total(&self) -> u64 {
        self.price
            + self.outlier
            + self.garbage
            + self.timeout
            + self.server_error
            + self.not_found
            + self.bad_request
    }
}

#[derive(Debug, Default)]
struct Counters {
    price: AtomicU64,
    outlier: AtomicU64,
    garbage: AtomicU64,
    timeout: AtomicU64,
    server_error: AtomicU64,
    not_found: AtomicU64,
    bad_request: AtomicU64,
}

impl Counters {
    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn kind(&self, kind: ObservationKind) {
        Self::bump(match kind {
            ObservationKind::Price => &self.price,
            ObservationKind::Outlier => &self.outlier,
            ObservationKind::Garbage => &self.garbage,
            ObservationKind::Timeout => &self.timeout,
            ObservationKind::ServerError => &self.server_error,
        });
    }

    fn snapshot(&self) -> SimStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        SimStats {
            price: get(&self.price),
            outlier: get(&self.outlier),
            garbage: get(&self.garbage),
            timeout: get(&self.timeout),
            server_error: get(&self.server_error),
            not_found: get(&self.not_found),
            bad_request: get(&self.bad_request),
        }
    }
}

struct AppState {
    sim: Arc<Simulator>,
    counters: Counters,
    shutdown: watch::Receiver<bool>,
}

type Shared = Arc<AppState>;
type Params = Result<Query<HashMap<String, String>>, QueryRejection>;

impl AppState {
    /// Sleeps for `d`; returns `false` early if the server is shutting down.
    async fn sleep(&self, d: Duration) -> bool {
        let mut rx = self.shutdown.clone();
        tokio::select! {
            _ = tokio::time::sleep(d) => true,
            _ = rx.wait_for(|stop| *stop) => false,
        }
    }
}

/// Starts simulator servers.
#[derive(Debug)]
pub struct SimServer;

impl SimServer {
    /// Validates `config`, binds `bind` (use port 0 for a free port) and serves the simulator
    /// on a background task until [`SimHandle::shutdown`] or the handle is dropped.
    pub async fn start(config: SimConfig, bind: SocketAddr) -> Result<SimHandle> {
        let sim = Arc::new(Simulator::try_new(config)?);
        let listener = tokio::net::TcpListener::bind(bind)
            .await
            .map_err(|source| Error::Bind { addr: bind, source })?;
        let addr = listener.local_addr().map_err(Error::LocalAddr)?;
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let state = Arc::new(AppState {
            sim: Arc::clone(&sim),
            counters: Counters::default(),
            shutdown: shutdown_rx.clone(),
        });
        let app = router(Arc::clone(&state));
        let mut signal = shutdown_rx;
        let task = tokio::spawn(async move {
            let stop = async move {
                // Also stops when the handle (and so the sender) is gone.
                let _ = signal.wait_for(|stop| *stop).await;
            };
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(stop)
                .await
            {
                tracing::warn!(error = %e, "simulator server stopped with an error");
            }
        });
        tracing::info!(%addr, "simulator server listening");
        Ok(SimHandle {
            addr,
            sim,
            state,
            shutdown_tx,
            task: Some(task),
        })
    }
}

/// A running simulator server. Dropping it stops the server (without waiting).
pub struct SimHandle {
    /// The bound address (with the real port when port 0 was asked for).
    pub addr: SocketAddr,
    sim: Arc<Simulator>,
    state: Shared,
    shutdown_tx: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle")
            .field("addr", &self.addr)
            .finish()
    }
}

impl SimHandle {
    /// `http://{addr}`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The simulator being served, to compute what the sources answer.
    pub fn simulator(&self) -> &Arc<Simulator> {
        &self.sim
    }

    /// The URL of one source's price route, see [`Simulator::source_url`].
    pub fn source_url(&self, source: usize, pair: &str) -> String {
        Simulator::source_url(&self.base_url(), source, pair)
    }

    /// What the price routes served so far.
    pub fn stats(&self) -> SimStats {
        self.state.counters.snapshot()
    }

    /// Stops the server: pending timeouts and slow answers end at once, open connections get
    /// a few seconds to close before the server task is aborted.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown_tx.send(true);
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        let _ = self.shutdown_tx.send(true);
    }
}

fn router(state: Shared) -> Router {
    Router::new()
        .route("/sources/{source}/price", get(source_price))
        .route("/sim/info", get(info))
        .route("/sim/expected", get(expected))
        .route("/fixed", get(fixed))
        .route("/fault/garbage", get(fault_garbage))
        .route("/fault/status/{code}", get(fault_status))
        .route("/fault/slow", get(fault_slow))
        .route("/fault/huge", get(fault_huge))
        .fallback(fallback)
        .with_state(state)
}

// ---- responses -------------------------------------------------------------------------

fn raw(status: StatusCode, content_type: &'static str, body: impl Into<Body>) -> Response {
    (status, [(header::CONTENT_TYPE, content_type)], body.into()).into_response()
}

fn json_body(status: StatusCode, body: String) -> Response {
    raw(status, "application/json", body)
}

fn json_value(status: StatusCode, value: serde_json::Value) -> Response {
    json_body(status, value.to_string())
}

/// A client error (400 or 404), answered as a JSON body.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    body: serde_json::Value,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json_value(self.status, self.body)
    }
}

type ApiResult = Result<Response, ApiError>;

fn bad_request(parameter: &str, message: impl std::fmt::Display) -> ApiError {
    ApiError {
        status: StatusCode::BAD_REQUEST,
        body: json!({
            "error": format!("bad parameter `{parameter}`: {message}"),
            "parameter": parameter,
        }),
    }
}

fn not_found(message: impl std::fmt::Display) -> ApiError {
    ApiError {
        status: StatusCode::NOT_FOUND,
        body: json!({ "error": message.to_string() }),
    }
}

/// A JSON string literal (quotes and escapes included).
fn json_string(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// The price body, written by hand so the number keeps exactly its decimals.
fn price_body(pair: &str, source: usize, price: &bigdecimal::BigDecimal, tick: u64) -> String {
    format!(
        "{{\"pair\":{},\"source\":{source},\"price\":{},\"tick\":{tick}}}",
        json_string(pair),
        price.to_plain_string()
    )
}

/// Non-JSON bodies a broken source might send, with the content type it would claim.
fn garbage_body(variant: u64) -> (&'static str, &'static str) {
    match variant % 3 {
        0 => (
            "text/html; charset=utf-8",
            "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n\
             <body><h1>502 Bad Gateway</h1><p>The upstream price service is unavailable.</p>\
             <hr><address>nginx</address></body></html>\n",
        ),
        1 => ("application/json", "{\"pair\":\"ETH-USD\",\"price\":30"),
        _ => (
            "text/plain",
            "upstream error: rate limit exceeded, retry later",
        ),
    }
}

fn params(q: Params) -> Result<HashMap<String, String>, ApiError> {
    q.map(|Query(m)| m)
        .map_err(|e| bad_request("query", e.body_text()))
}

fn required<'a>(m: &'a HashMap<String, String>, name: &str) -> Result<&'a str, ApiError> {
    m.get(name)
        .map(String::as_str)
        .ok_or_else(|| bad_request(name, "missing"))
}

fn parse_u64(name: &str, raw: &str) -> Result<u64, ApiError> {
    raw.parse::<u64>().map_err(|_| {
        bad_request(
            name,
            format!("expected a non-negative integer, got {raw:?}"),
        )
    })
}

fn optional_tick(sim: &Simulator, m: &HashMap<String, String>) -> Result<u64, ApiError> {
    match m.get("tick") {
        Some(raw) => parse_u64("tick", raw),
        None => Ok(sim.current_tick()),
    }
}

/// JSON number grammar (RFC 8259): `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
fn is_json_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i > start
    };
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(c) if c.is_ascii_digit() => {
            digits(&mut i);
        }
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if !digits(&mut i) {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digits(&mut i) {
            return false;
        }
    }
    i == b.len()
}

// ---- handlers --------------------------------------------------------------------------

async fn source_price(
    State(st): State<Shared>,
    path: Result<Path<String>, PathRejection>,
    query: Params,
) -> ApiResult {
    let outcome = serve_source(&st, path, query).await;
    if let Err(e) = &outcome {
        if e.status == StatusCode::NOT_FOUND {
            Counters::bump(&st.counters.not_found);
        } else {
            Counters::bump(&st.counters.bad_request);
        }
    }
    outcome
}

fn shutting_down() -> Response {
    json_value(
        StatusCode::SERVICE_UNAVAILABLE,
        json!({ "error": "simulator shutting down" }),
    )
}

async fn serve_source(
    st: &AppState,
    path: Result<Path<String>, PathRejection>,
    query: Params,
) -> ApiResult {
    let Path(raw_source) = path.map_err(|e| bad_request("source", e.body_text()))?;
    let source: usize = raw_source.parse().map_err(|_| {
        bad_request(
            "source",
            format!("expected a non-negative integer, got {raw_source:?}"),
        )
    })?;
    let m = params(query)?;
    let pair = required(&m, "pair")?;
    let tick = optional_tick(&st.sim, &m)?;
    let Some(obs) = st.sim.observation(pair, source, tick) else {
        return Err(if st.sim.pairs().any(|p| p == pair) {
            not_found(format!(
                "unknown source {source}: sources are 0..{}",
                st.sim.sources_per_pair()
            ))
        } else {
            not_found(format!("unknown pair {pair:?}"))
        });
    };
    st.counters.kind(obs.kind());
    let resp = match obs {
        Observation::Price(v) | Observation::Outlier(v) => {
            json_body(StatusCode::OK, price_body(pair, source, &v, tick))
        }
        Observation::Garbage => {
            let (ct, body) = garbage_body(tick.wrapping_add(source as u64));
            raw(StatusCode::OK, ct, body)
        }
        Observation::ServerError => json_value(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({ "error": "service unavailable", "pair": pair, "source": source, "tick": tick }),
        ),
        Observation::Timeout => {
            if !st.sleep(st.sim.config().timeout_delay).await {
                return Ok(shutting_down());
            }
            let v = st
                .sim
                .source_price(pair, source, tick)
                .ok_or_else(|| not_found("unknown pair or source"))?;
            json_body(StatusCode::OK, price_body(pair, source, &v, tick))
        }
    };
    Ok(resp)
}

async fn info(State(st): State<Shared>) -> Response {
    let sim = &st.sim;
    let c = sim.config();
    let tick = sim.current_tick();
    let pairs: Vec<serde_json::Value> = c
        .pairs
        .iter()
        .map(|p| {
            json!({
                "name": p.name,
                "base_price": p.base_price.to_plain_string(),
                "decimals": p.decimals,
                "true_price": sim.true_price(&p.name, tick).map(|v| v.to_plain_string()),
            })
        })
        .collect();
    json_value(
        StatusCode::OK,
        json!({
            "tick": tick,
            "tick_ms": sim.tick_ms(),
            "seed": c.seed,
            "sources_per_pair": c.sources_per_pair,
            "noise_bps": c.noise_bps,
            "outlier_probability": c.outlier_probability,
            "garbage_probability": c.garbage_probability,
            "timeout_probability": c.timeout_probability,
            "error_probability": c.error_probability,
            "timeout_delay_ms": u64::try_from(c.timeout_delay.as_millis()).unwrap_or(u64::MAX),
            "pairs": pairs,
            "stats": st.counters.snapshot(),
        }),
    )
}

async fn expected(State(st): State<Shared>, query: Params) -> ApiResult {
    let m = params(query)?;
    let pair = required(&m, "pair")?;
    let tick = optional_tick(&st.sim, &m)?;
    let obs = st
        .sim
        .observations(pair, tick)
        .ok_or_else(|| not_found(format!("unknown pair {pair:?}")))?;
    let count = obs.iter().filter(|o| o.value().is_some()).count();
    let median = st
        .sim
        .expected_median(pair, tick)
        .map(|v| v.to_plain_string());
    Ok(json_value(
        StatusCode::OK,
        json!({ "pair": pair, "tick": tick, "median": median, "count": count }),
    ))
}

async fn fixed(query: Params) -> ApiResult {
    let m = params(query)?;
    let value = required(&m, "value")?;
    if value.len() > MAX_FIXED_LEN {
        return Err(bad_request(
            "value",
            format!("longer than {MAX_FIXED_LEN} characters"),
        ));
    }
    if !is_json_number(value) {
        return Err(bad_request(
            "value",
            format!("not a decimal number: {value:?}"),
        ));
    }
    Ok(json_body(StatusCode::OK, format!("{{\"price\":{value}}}")))
}

async fn fault_garbage() -> Response {
    let (ct, body) = garbage_body(0);
    raw(StatusCode::OK, ct, body)
}

async fn fault_status(path: Result<Path<String>, PathRejection>) -> ApiResult {
    let Path(raw_code) = path.map_err(|e| bad_request("code", e.body_text()))?;
    let status = raw_code
        .parse::<u16>()
        .ok()
        .filter(|c| (200..=599).contains(c))
        .and_then(|c| StatusCode::from_u16(c).ok())
        .ok_or_else(|| {
            bad_request(
                "code",
                format!("expected an HTTP status within 200..=599, got {raw_code:?}"),
            )
        })?;
    let code = status.as_u16();
    Ok(json_value(
        status,
        json!({ "error": format!("status {code} requested"), "status": code }),
    ))
}

async fn fault_slow(State(st): State<Shared>, query: Params) -> ApiResult {
    let m = params(query)?;
    let ms = parse_u64("ms", required(&m, "ms")?)?;
    if ms > MAX_SLOW_MS {
        return Err(bad_request("ms", format!("at most {MAX_SLOW_MS}")));
    }
    if !st.sleep(Duration::from_millis(ms)).await {
        return Ok(shutting_down());
    }
    Ok(json_body(StatusCode::OK, "{\"price\":1}".to_owned()))
}

async fn fault_huge(query: Params) -> ApiResult {
    let m = params(query)?;
    let bytes = parse_u64("bytes", required(&m, "bytes")?)?;
    let bytes = usize::try_from(bytes)
        .ok()
        .filter(|b| *b <= MAX_HUGE_BYTES)
        .ok_or_else(|| bad_request("bytes", format!("at most {MAX_HUGE_BYTES}")))?;
    Ok(json_body(StatusCode::OK, huge_body(bytes)))
}

/// A valid JSON object `{"price":1,"padding":"xxx…"}` of exactly `bytes` bytes (or the
/// smallest such object when `bytes` is smaller).
fn huge_body(bytes: usize) -> String {
    const HEAD: &str = "{\"price\":1,\"padding\":\"";
    const TAIL: &str = "\"}";
    let pad = bytes.saturating_sub(HEAD.len() + TAIL.len());
    let mut s = String::with_capacity(HEAD.len() + pad + TAIL.len());
    s.push_str(HEAD);
    s.extend(std::iter::repeat_n('x', pad));
    s.push_str(TAIL);
    s
}

async fn fallback(uri: Uri) -> Response {
    json_value(
        StatusCode::NOT_FOUND,
        json!({ "error": "no such route", "path": uri.path() }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_number_grammar() {
        for ok in [
            "0",
            "-0",
            "123.45",
            "1e5",
            "1E+5",
            "-2.5e-3",
            "0.00000001",
            "90000",
        ] {
            assert!(is_json_number(ok), "{ok}");
        }
        for bad in [
            "", "-", "01", "1.", ".5", "+1", "1e", "1e+", "abc", "1.2.3", "NaN", "Infinity", "1 ",
            " 1", "1,5", "0x10",
        ] {
            assert!(!is_json_number(bad), "{bad}");
        }
    }

    #[test]
    fn huge_body_has_exact_size_and_is_json() {
        for n in [0usize, 10, 25, 26, 1_000, 100_000] {
            let body = huge_body(n);
            assert_eq!(body.len(), n.max(24), "{n}");
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(v["price"], 1);
        }
    }

    #[test]
    fn garbage_is_never_json() {
        for v in 0..3 {
            let (_, body) = garbage_body(v);
            assert!(serde_json::from_str::<serde_json::Value>(body).is_err());
        }
    }

    #[test]
    fn price_body_is_exact() {
        let price: bigdecimal::BigDecimal = "3012.10000000".parse().unwrap();
        assert_eq!(
            price_body("ETH-USD", 2, &price, 123),
            r#"{"pair":"ETH-USD","source":2,"price":3012.10000000,"tick":123}"#
        );
    }

    #[test]
    fn stats_total_adds_up() {
        let c = Counters::default();
        c.kind(ObservationKind::Price);
        c.kind(ObservationKind::Price);
        c.kind(ObservationKind::Timeout);
        Counters::bump(&c.not_found);
        let s = c.snapshot();
        assert_eq!((s.price, s.timeout, s.not_found, s.total()), (2, 1, 1, 4));
    }
}
