//! External adapters ("bridges"): the operator-registered definitions that `bridge` tasks
//! call, their optional JSON Schema contracts (draft 2020-12), and the decoding of an
//! adapter's answer.
//!
//! The node owns the registry (storage, API, tokens); this crate only needs to look a bridge
//! up by name, through the injected [`BridgeRegistry`].

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy_primitives::U256;

use crate::decimal::{self, format_decimal};
use crate::json::parse_json;
use crate::value::Value;

/// Longest accepted bridge name.
const MAX_NAME_LEN: usize = 255;
/// Longest adapter-provided text quoted in an error message.
const MAX_DETAIL_CHARS: usize = 200;

/// Where `bridge` tasks find their adapters (the node's bridge registry implements it).
pub trait BridgeRegistry: Send + Sync {
    /// The bridge registered under `name`, as written in the task's `name` parameter.
    /// Implementations decide on case sensitivity (the established node ignores case).
    fn bridge(&self, name: &str) -> Option<Arc<BridgeDef>>;
}

/// What an operator registers, before validation. See [`BridgeDef::new`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BridgeParams {
    /// Unique name: 1 to 255 ASCII letters, digits, `-` or `_`.
    pub name: String,
    /// The adapter's endpoint (`http` or `https`). Requests are `POST`ed to it.
    pub url: String,
    /// Sent to the adapter as `Authorization: Bearer <token>` (omitted when empty).
    pub outgoing_token: String,
    /// Confirmations the operator recorded for this bridge. Informational: stored and shown,
    /// not enforced by job runs (as in the established node's v2 pipelines).
    pub confirmations: u64,
    /// Minimum payment (LINK juels) the operator recorded for this bridge. Informational:
    /// stored and shown, not checked against a request's payment by job runs.
    pub minimum_contract_payment: U256,
    /// JSON Schema the request body must satisfy before it is sent.
    pub input_schema: Option<serde_json::Value>,
    /// JSON Schema the adapter's response must satisfy before it is accepted.
    pub output_schema: Option<serde_json::Value>,
}

/// A bridge definition was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BridgeError {
    /// The name is empty, too long or has characters other than letters, digits, `-`, `_`.
    #[error("invalid bridge name {0:?}: use 1 to 255 ASCII letters, digits, '-' or '_'")]
    InvalidName(String),
    /// The URL does not parse or is not `http(s)`.
    #[error("invalid bridge URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// A schema is not a valid draft 2020-12 JSON Schema (or uses a `$ref` that cannot be
    /// resolved offline).
    #[error("invalid {which} schema{}: {message}", at_location(.location))]
    InvalidSchema {
        /// `"input"` or `"output"`.
        which: &'static str,
        /// JSON pointer inside the schema document, when known.
        location: String,
        /// What is wrong.
        message: String,
    },
}

fn at_location(location: &str) -> String {
    if location.is_empty() {
        String::new()
    } else {
        format!(" at {location}")
    }
}

/// A compiled schema with the document it came from (kept for display by the node's API).
struct Schema {
    source: serde_json::Value,
    validator: jsonschema::Validator,
}

impl Schema {
    fn compile(which: &'static str, source: serde_json::Value) -> Result<Schema, BridgeError> {
        let validator =
            jsonschema::draft202012::new(&source).map_err(|e| BridgeError::InvalidSchema {
                which,
                location: e.instance_path().as_str().to_owned(),
                message: e.to_string(),
            })?;
        Ok(Schema { source, validator })
    }

    /// Checks `value`; the error names the instance and schema locations of the first
    /// violation.
    fn check(&self, what: &str, value: &Value) -> Result<(), String> {
        let instance = to_schema_json(value);
        if self.validator.is_valid(&instance) {
            return Ok(());
        }
        let mut errors = self.validator.iter_errors(&instance);
        let Some(first) = errors.next() else {
            return Ok(());
        };
        let more = errors.count();
        let at = match first.instance_path().as_str() {
            "" => "(root)".to_owned(),
            p => p.to_owned(),
        };
        let schema_at = match first.schema_path().as_str() {
            "" => "(root)".to_owned(),
            p => p.to_owned(),
        };
        let mut message = format!(
            "{what} at {at} (schema {schema_at}): {}",
            truncate(&first.to_string())
        );
        if more > 0 {
            message.push_str(&format!(" (and {more} more violations)"));
        }
        Err(message)
    }
}

/// A registered external adapter, with its schemas compiled once.
pub struct BridgeDef {
    name: String,
    url: url::Url,
    outgoing_token: String,
    confirmations: u64,
    minimum_contract_payment: U256,
    input: Option<Schema>,
    output: Option<Schema>,
}

impl fmt::Debug for BridgeDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The token is a credential: never printed.
        f.debug_struct("BridgeDef")
            .field("name", &self.name)
            .field("url", &self.url.as_str())
            .field("confirmations", &self.confirmations)
            .field("minimum_contract_payment", &self.minimum_contract_payment)
            .field("input_schema", &self.input.is_some())
            .field("output_schema", &self.output.is_some())
            .finish_non_exhaustive()
    }
}

impl BridgeDef {
    /// Validates the name and URL and compiles the schemas (draft 2020-12; a schema that is
    /// not valid against the meta-schema, or whose `$ref` cannot be resolved without network
    /// access, is refused).
    pub fn new(params: BridgeParams) -> Result<BridgeDef, BridgeError> {
        let BridgeParams {
            name,
            url,
            outgoing_token,
            confirmations,
            minimum_contract_payment,
            input_schema,
            output_schema,
        } = params;
        let name_ok = !name.is_empty()
            && name.len() <= MAX_NAME_LEN
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !name_ok {
            return Err(BridgeError::InvalidName(name));
        }
        let parsed = url::Url::parse(url.trim()).map_err(|e| BridgeError::InvalidUrl {
            url: url.clone(),
            reason: e.to_string(),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(BridgeError::InvalidUrl {
                url,
                reason: format!(
                    "unsupported scheme {:?} (expected http or https)",
                    parsed.scheme()
                ),
            });
        }
        let input = input_schema
            .map(|s| Schema::compile("input", s))
            .transpose()?;
        let output = output_schema
            .map(|s| Schema::compile("output", s))
            .transpose()?;
        Ok(BridgeDef {
            name,
            url: parsed,
            outgoing_token,
            confirmations,
            minimum_contract_payment,
            input,
            output,
        })
    }

    /// The bridge's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The adapter's endpoint.
    pub fn url(&self) -> &url::Url {
        &self.url
    }

    /// The bearer token sent to the adapter.
    pub fn outgoing_token(&self) -> &str {
        &self.outgoing_token
    }

    /// Extra confirmations.
    pub fn confirmations(&self) -> u64 {
        self.confirmations
    }

    /// Minimum payment in LINK juels.
    pub fn minimum_contract_payment(&self) -> U256 {
        self.minimum_contract_payment
    }

    /// The input schema document, if any.
    pub fn input_schema(&self) -> Option<&serde_json::Value> {
        self.input.as_ref().map(|s| &s.source)
    }

    /// The output schema document, if any.
    pub fn output_schema(&self) -> Option<&serde_json::Value> {
        self.output.as_ref().map(|s| &s.source)
    }

    /// Checks a request body against the input schema (`Ok` without one).
    pub fn check_input(&self, body: &Value) -> Result<(), String> {
        match &self.input {
            Some(s) => s.check("request violates input schema", body),
            None => Ok(()),
        }
    }

    /// Checks an adapter response against the output schema (`Ok` without one). The node
    /// can use it on values delivered by an async resume as well.
    pub fn check_output(&self, response: &Value) -> Result<(), String> {
        match &self.output {
            Some(s) => s.check("response violates output schema", response),
            None => Ok(()),
        }
    }
}

/// What an adapter's answer means.
#[derive(Clone, Debug, PartialEq)]
pub enum BridgeReply {
    /// The adapter answered: the parsed response body (numbers exact).
    Done(Value),
    /// The adapter will answer later through the run's `responseURL`.
    Pending,
}

/// Decodes an adapter's HTTP answer: `status` is the HTTP status, `pending_header` whether
/// the response carried `X-Chainlink-Pending`, `body` the raw body.
///
/// Failures: HTTP status other than 200; a body that is not JSON (unless the pending header
/// is set); a body `statusCode` or `providerStatusCode` other than 200; a non-null `error`.
/// Pending: the header, or a body with `"pending": true`. Whether pending is acceptable is
/// the caller's decision (only `async=true` tasks accept it). Never panics.
pub fn decode_bridge_response(
    status: u16,
    pending_header: bool,
    body: &[u8],
) -> Result<BridgeReply, String> {
    let parsed = parse_json(body);
    if status != 200 {
        let detail = parsed
            .as_ref()
            .ok()
            .and_then(error_detail)
            .map(|d| format!(": {d}"))
            .unwrap_or_default();
        return Err(format!("adapter returned HTTP status {status}{detail}"));
    }
    let value = match parsed {
        Ok(v) => v,
        // An async acknowledgement needs no body.
        Err(_) if pending_header => return Ok(BridgeReply::Pending),
        Err(e) => {
            return Err(format!(
                "adapter response is not valid JSON (at byte {}: {})",
                e.offset, e.message
            ));
        }
    };
    if let Value::Map(m) = &value {
        for key in ["statusCode", "providerStatusCode"] {
            let Some(code) = m.get(key).filter(|v| !matches!(v, Value::Null)) else {
                continue;
            };
            let detail = error_detail(&value)
                .map(|d| format!(": {d}"))
                .unwrap_or_default();
            match code.as_u64() {
                Ok(200) => {}
                Ok(other) => return Err(format!("adapter reported {key} {other}{detail}")),
                Err(_) => {
                    return Err(format!(
                        "adapter reported an invalid {key} ({}){detail}",
                        code.describe()
                    ));
                }
            }
        }
        if let Some(err) = m.get("error").filter(|v| !matches!(v, Value::Null)) {
            return Err(format!(
                "adapter reported an error: {}",
                describe_error(err)
            ));
        }
        if pending_header || matches!(m.get("pending"), Some(Value::Bool(true))) {
            return Ok(BridgeReply::Pending);
        }
    } else if pending_header {
        return Ok(BridgeReply::Pending);
    }
    Ok(BridgeReply::Done(value))
}

/// The adapter's own explanation in an error body, if it gave one.
fn error_detail(body: &Value) -> Option<String> {
    let m = body.as_map().ok()?;
    ["error", "errorMessage", "message"]
        .iter()
        .find_map(|k| m.get(*k).filter(|v| !matches!(v, Value::Null)))
        .map(describe_error)
}

/// `name: message` for the external-adapter framework's error objects, the text otherwise.
fn describe_error(err: &Value) -> String {
    let text = match err {
        Value::Map(m) => {
            let name = m.get("name").map(|v| v.to_text());
            let message = m.get("message").map(|v| v.to_text());
            match (name, message) {
                (Some(n), Some(msg)) => format!("{n}: {msg}"),
                (None, Some(msg)) => msg.into_owned(),
                (Some(n), None) => n.into_owned(),
                (None, None) => err.to_json(),
            }
        }
        other => other.to_text().into_owned(),
    };
    truncate(&text)
}

fn truncate(s: &str) -> String {
    let mut out: String = s.chars().take(MAX_DETAIL_CHARS).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

/// Converts a pipeline value into the JSON model the schema validator works on. Integral
/// numbers that fit 64 bits stay exact; other numbers become the nearest `f64` (schemas
/// compare numbers as floats anyway); bytes and addresses become the strings they are
/// sent as.
pub(crate) fn to_schema_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Decimal(d) => {
            if let Some(i) = decimal::to_i64(d) {
                J::from(i)
            } else if let Some(u) = decimal::to_u64(d) {
                J::from(u)
            } else {
                let text = format_decimal(d);
                text.parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map(J::Number)
                    .unwrap_or(J::String(text))
            }
        }
        Value::String(s) => J::String(s.clone()),
        Value::Bytes(_) | Value::Address(_) => J::String(v.to_text().into_owned()),
        Value::List(items) => J::Array(items.iter().map(to_schema_json).collect()),
        Value::Map(m) => J::Object(
            m.iter()
                .map(|(k, item)| (k.clone(), to_schema_json(item)))
                .collect(),
        ),
    }
}

/// Most entries the bridge cache keeps; the oldest goes first when it is full.
const CACHE_CAPACITY: usize = 1024;

/// Last good answers of bridges, used when an adapter fails (`cacheTTL`). Keyed by bridge
/// name and request; in memory, so a restart empties it.
#[derive(Default)]
pub(crate) struct BridgeCache {
    entries: Mutex<HashMap<String, (Instant, Value)>>,
}

impl BridgeCache {
    /// The answer stored under `key` if it is at most `ttl` old.
    pub(crate) fn get(&self, key: &str, ttl: Duration) -> Option<Value> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|(at, _)| at.elapsed() <= ttl)
            .map(|(_, v)| v.clone())
    }

    /// Stores a good answer.
    pub(crate) fn put(&self, key: String, value: Value) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CACHE_CAPACITY && !entries.contains_key(&key) {
            let oldest = entries
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                entries.remove(&k);
            }
        }
        entries.insert(key, (Instant::now(), value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def(input: Option<serde_json::Value>, output: Option<serde_json::Value>) -> BridgeDef {
        BridgeDef::new(BridgeParams {
            name: "prices".into(),
            url: "http://127.0.0.1:1/".into(),
            input_schema: input,
            output_schema: output,
            ..BridgeParams::default()
        })
        .unwrap()
    }

    #[test]
    fn rejects_bad_definitions() {
        let bad = |p: BridgeParams| BridgeDef::new(p).unwrap_err();
        let base = BridgeParams {
            name: "ok".into(),
            url: "https://adapter.example/".into(),
            ..BridgeParams::default()
        };
        assert!(matches!(
            bad(BridgeParams {
                name: "has space".into(),
                ..base.clone()
            }),
            BridgeError::InvalidName(_)
        ));
        assert!(matches!(
            bad(BridgeParams {
                url: "ftp://x/".into(),
                ..base.clone()
            }),
            BridgeError::InvalidUrl { .. }
        ));
        let e = bad(BridgeParams {
            output_schema: Some(json!({"type": 5})),
            ..base.clone()
        });
        let text = e.to_string();
        assert!(
            text.starts_with("invalid output schema at /type: "),
            "{text}"
        );
        let e = bad(BridgeParams {
            input_schema: Some(json!({"$ref": "https://elsewhere.example/s.json"})),
            ..base.clone()
        });
        assert!(e.to_string().starts_with("invalid input schema"), "{e}");
        let ok = BridgeDef::new(BridgeParams {
            outgoing_token: "secret-token".into(),
            ..base
        })
        .unwrap();
        assert!(!format!("{ok:?}").contains("secret-token"));
    }

    #[test]
    fn schema_violations_name_both_paths() {
        let d = def(
            None,
            Some(json!({
                "type": "object",
                "properties": {"data": {"type": "object",
                    "properties": {"result": {"type": "number"}}}}
            })),
        );
        let good = parse_json(br#"{"data": {"result": 12345678901234567890.5}}"#).unwrap();
        d.check_output(&good).unwrap();
        let bad = parse_json(br#"{"data": {"result": "abc"}}"#).unwrap();
        assert_eq!(
            d.check_output(&bad).unwrap_err(),
            "response violates output schema at /data/result (schema \
             /properties/data/properties/result/type): \"abc\" is not of type \"number\""
        );
        let d = def(Some(json!({"required": ["data"]})), None);
        let e = d
            .check_input(&Value::map([("id", Value::from("1"))]))
            .unwrap_err();
        assert!(
            e.starts_with("request violates input schema at (root) (schema /required): "),
            "{e}"
        );
    }

    #[test]
    fn integers_stay_exact_for_schemas() {
        let d = def(
            None,
            Some(json!({"type": "integer", "maximum": 9007199254740993u64})),
        );
        d.check_output(&Value::from(9007199254740993u64)).unwrap();
        assert!(d.check_output(&Value::from(9007199254740994u64)).is_err());
        d.check_output(&parse_json(b"2.0").unwrap()).unwrap();
        assert!(d.check_output(&parse_json(b"2.5").unwrap()).is_err());
    }

    #[test]
    fn decodes_answers() {
        let done = |b: &str| match decode_bridge_response(200, false, b.as_bytes()) {
            Ok(BridgeReply::Done(v)) => v,
            other => panic!("{b}: {other:?}"),
        };
        let v = done(r#"{"data": {"result": 1.10}, "statusCode": 200}"#);
        assert_eq!(v.to_json(), r#"{"data":{"result":1.1},"statusCode":200}"#);
        assert_eq!(done("[1]").to_json(), "[1]");
        let err = |s: u16, b: &str| decode_bridge_response(s, false, b.as_bytes()).unwrap_err();
        assert_eq!(
            err(
                500,
                r#"{"error": {"name": "AdapterError", "message": "boom"}}"#
            ),
            "adapter returned HTTP status 500: AdapterError: boom"
        );
        assert_eq!(err(404, "nope"), "adapter returned HTTP status 404");
        assert_eq!(
            err(
                200,
                r#"{"statusCode": 502, "errorMessage": "upstream down"}"#
            ),
            "adapter reported statusCode 502: upstream down"
        );
        assert_eq!(
            err(200, r#"{"statusCode": 200, "providerStatusCode": 429}"#),
            "adapter reported providerStatusCode 429"
        );
        assert_eq!(
            err(200, r#"{"error": "bad key", "data": {}}"#),
            "adapter reported an error: bad key"
        );
        assert!(err(200, "not json").starts_with("adapter response is not valid JSON"));
        // `"error": null` is the framework's way of saying "no error".
        done(r#"{"error": null, "data": {}}"#);
        assert_eq!(
            decode_bridge_response(200, true, b"").unwrap(),
            BridgeReply::Pending
        );
        assert_eq!(
            decode_bridge_response(200, false, br#"{"pending": true}"#).unwrap(),
            BridgeReply::Pending
        );
        // A failure wins over a pending flag.
        assert!(decode_bridge_response(200, true, br#"{"statusCode": 500}"#).is_err());
    }

    #[test]
    fn decoder_never_panics_on_odd_bytes() {
        for body in [
            &b"\xff\xfe"[..],
            b"{\"statusCode\": 1e999999}",
            b"{\"statusCode\": -1}",
            b"{\"statusCode\": {}}",
            b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
            b"{\"error\": {\"name\": [1, 2]}}",
        ] {
            for status in [0, 200, 599, u16::MAX] {
                let _ = decode_bridge_response(status, false, body);
                let _ = decode_bridge_response(status, true, body);
            }
        }
    }

    #[test]
    fn cache_respects_ttl_and_capacity() {
        let cache = BridgeCache::default();
        cache.put("a".into(), Value::from(1u64));
        assert_eq!(
            cache.get("a", Duration::from_secs(60)),
            Some(Value::from(1u64))
        );
        std::thread::sleep(Duration::from_millis(3));
        assert_eq!(cache.get("a", Duration::from_millis(1)), None);
        assert_eq!(cache.get("b", Duration::from_secs(60)), None);
        for i in 0..CACHE_CAPACITY + 10 {
            cache.put(format!("k{i}"), Value::Null);
        }
        let len = cache.entries.lock().unwrap().len();
        assert_eq!(len, CACHE_CAPACITY);
        assert_eq!(cache.get("a", Duration::from_secs(60)), None);
    }
}
