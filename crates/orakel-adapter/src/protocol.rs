//! The external-adapter protocol: reading a request, writing an answer or an error.

use axum::http::StatusCode;
use serde::Serialize;
use serde_json::Value as Json;
use serde_json::value::RawValue;

/// What a request asks for, after validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PriceQuery {
    /// Pair in the simulator's spelling, upper case (`ETH-USD`).
    pub pair: String,
    /// Source index.
    pub source: u64,
    /// A fixed tick, or `None` for the simulator's current one.
    pub tick: Option<u64>,
}

/// A price read from the simulator.
#[derive(Debug)]
pub(crate) struct Quote {
    pub pair: String,
    pub source: u64,
    pub tick: u64,
    /// The JSON number exactly as the simulator wrote it.
    pub price: Box<RawValue>,
}

/// Why a request failed; each kind maps to a protocol status and error name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request is malformed or violates the input schema (HTTP 400).
    Input,
    /// The simulator answered an error status or something that is not a price (HTTP 502).
    Provider,
    /// The simulator could not be reached (HTTP 502).
    Connection,
    /// The simulator did not answer in time (HTTP 504).
    Timeout,
}

/// A failed request, answered as `{"jobRunID", "status": "errored", "statusCode", "error"}`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct AdapterError {
    /// What went wrong.
    pub kind: ErrorKind,
    /// A human-readable explanation.
    pub message: String,
    /// The simulator's HTTP status, when it answered one.
    pub provider_status: Option<u16>,
}

impl AdapterError {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        AdapterError {
            kind,
            message: message.into(),
            provider_status: None,
        }
    }

    /// The HTTP status (and `statusCode`) of the answer.
    pub fn http_status(&self) -> StatusCode {
        match self.kind {
            ErrorKind::Input => StatusCode::BAD_REQUEST,
            ErrorKind::Provider | ErrorKind::Connection => StatusCode::BAD_GATEWAY,
            ErrorKind::Timeout => StatusCode::GATEWAY_TIMEOUT,
        }
    }

    /// The `error.name` of the answer.
    pub fn name(&self) -> &'static str {
        match self.kind {
            ErrorKind::Input => "AdapterInputError",
            ErrorKind::Provider => "AdapterDataProviderError",
            ErrorKind::Connection => "AdapterConnectionError",
            ErrorKind::Timeout => "AdapterTimeoutError",
        }
    }

    /// The JSON body of the answer.
    pub(crate) fn to_body(&self, job_run_id: &str) -> String {
        #[derive(Serialize)]
        struct ErrorBody<'a> {
            name: &'a str,
            message: &'a str,
        }
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body<'a> {
            #[serde(rename = "jobRunID")]
            job_run_id: &'a str,
            status: &'a str,
            status_code: u16,
            #[serde(skip_serializing_if = "Option::is_none")]
            provider_status_code: Option<u16>,
            error: ErrorBody<'a>,
        }
        let body = Body {
            job_run_id,
            status: "errored",
            status_code: self.http_status().as_u16(),
            provider_status_code: self.provider_status,
            error: ErrorBody {
                name: self.name(),
                message: &self.message,
            },
        };
        serde_json::to_string(&body).unwrap_or_else(|_| {
            r#"{"status":"errored","statusCode":500,"error":{"name":"AdapterError","message":"cannot encode the error"}}"#
                .to_owned()
        })
    }
}

/// The `jobRunID` to answer: the request's `id` (string or number); `"1"` without one, as
/// the established adapters do.
fn job_run_id(request: &Json) -> String {
    match request.get("id") {
        Some(Json::String(s)) => s.clone(),
        Some(Json::Number(n)) => n.to_string(),
        _ => "1".to_owned(),
    }
}

fn str_field<'a>(data: &'a Json, key: &str) -> Option<&'a str> {
    data.get(key).and_then(Json::as_str)
}

/// Parses and validates a request body. Errors carry the `jobRunID` to answer with.
pub(crate) fn parse_request(
    body: &[u8],
    schema: &jsonschema::Validator,
) -> Result<(String, PriceQuery), (String, AdapterError)> {
    let request: Json = serde_json::from_slice(body).map_err(|e| {
        (
            "1".to_owned(),
            AdapterError::new(ErrorKind::Input, format!("request body is not JSON: {e}")),
        )
    })?;
    let id = job_run_id(&request);
    if let Some(e) = schema.iter_errors(&request).next() {
        let at = e.instance_path().to_string();
        let at = if at.is_empty() { "/".to_owned() } else { at };
        let message = format!(
            "input schema violated at {at}: {e} (schema location {})",
            e.schema_path()
        );
        return Err((id, AdapterError::new(ErrorKind::Input, message)));
    }
    // The schema guarantees the shapes below; the fallbacks only keep this panic-free.
    let data = request.get("data").unwrap_or(&Json::Null);
    let pair = match (
        str_field(data, "pair"),
        str_field(data, "base"),
        str_field(data, "quote"),
    ) {
        (Some(pair), _, _) => pair.to_ascii_uppercase(),
        (None, Some(base), Some(quote)) => format!("{base}-{quote}").to_ascii_uppercase(),
        _ => {
            let e = AdapterError::new(
                ErrorKind::Input,
                "data.pair (or base and quote) is required",
            );
            return Err((id, e));
        }
    };
    let source = data.get("source").and_then(Json::as_u64).unwrap_or(0);
    let tick = data.get("tick").and_then(Json::as_u64);
    Ok((id, PriceQuery { pair, source, tick }))
}

/// The JSON body of a successful answer.
pub(crate) fn success_body(job_run_id: &str, quote: &Quote) -> String {
    #[derive(Serialize)]
    struct Data<'a> {
        pair: &'a str,
        source: u64,
        tick: u64,
        price: &'a RawValue,
        result: &'a RawValue,
    }
    #[derive(Serialize)]
    struct Body<'a> {
        #[serde(rename = "jobRunID")]
        job_run_id: &'a str,
        data: Data<'a>,
        result: &'a RawValue,
        #[serde(rename = "statusCode")]
        status_code: u16,
    }
    let body = Body {
        job_run_id,
        data: Data {
            pair: &quote.pair,
            source: quote.source,
            tick: quote.tick,
            price: &quote.price,
            result: &quote.price,
        },
        result: &quote.price,
        status_code: 200,
    };
    serde_json::to_string(&body).unwrap_or_else(|e| {
        AdapterError::new(
            ErrorKind::Provider,
            format!("cannot encode the answer: {e}"),
        )
        .to_body(job_run_id)
    })
}
