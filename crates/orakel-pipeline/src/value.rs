//! The values that flow between pipeline tasks.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use alloy_primitives::{Address, B256, Bytes};
use bigdecimal::BigDecimal;
use serde::ser::{SerializeMap, SerializeSeq};

use crate::decimal::{self, format_decimal, parse_decimal};

/// A value produced or consumed by a task.
///
/// Numbers are always exact decimals (integers too); nothing is converted through `f64`.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Value {
    /// Absence of a value (`null` in JSON).
    #[default]
    Null,
    /// A boolean.
    Bool(bool),
    /// An exact decimal number.
    Decimal(BigDecimal),
    /// A UTF-8 string.
    String(String),
    /// Raw bytes (bytes, bytesN, hashes, topics).
    Bytes(Bytes),
    /// A 20-byte EVM address.
    Address(Address),
    /// An ordered list.
    List(Vec<Value>),
    /// A map with string keys, ordered by key.
    Map(BTreeMap<String, Value>),
}

/// A value did not have the shape a task needed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValueError(pub String);

impl ValueError {
    fn expected(what: &str, got: &Value) -> Self {
        ValueError(format!("expected {what}, got {}", got.describe()))
    }
}

impl Value {
    /// Short name of the variant, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Decimal(_) => "number",
            Value::String(_) => "string",
            Value::Bytes(_) => "bytes",
            Value::Address(_) => "address",
            Value::List(_) => "list",
            Value::Map(_) => "map",
        }
    }

    /// Type name plus a short preview of the value, for error messages.
    pub fn describe(&self) -> String {
        match self {
            Value::Null => "null".to_owned(),
            Value::List(l) => format!("list of {} items", l.len()),
            Value::Map(m) => format!("map with {} keys", m.len()),
            other => {
                let text = other.to_string();
                let mut preview: String = text.chars().take(64).collect();
                if preview.len() < text.len() {
                    preview.push('…');
                }
                format!("{} {:?}", other.type_name(), preview)
            }
        }
    }

    /// The value as an exact decimal: numbers, and strings holding a number.
    pub fn as_decimal(&self) -> Result<Cow<'_, BigDecimal>, ValueError> {
        match self {
            Value::Decimal(d) => Ok(Cow::Borrowed(d)),
            Value::String(s) => parse_decimal(s)
                .map(Cow::Owned)
                .ok_or_else(|| ValueError(format!("invalid number {:?}", truncate(s)))),
            Value::Bool(b) => Ok(Cow::Owned(BigDecimal::from(u8::from(*b)))),
            other => Err(ValueError::expected("a number", other)),
        }
    }

    /// The value as a non-negative integer that fits in `u64`.
    pub fn as_u64(&self) -> Result<u64, ValueError> {
        let d = self.as_decimal()?;
        decimal::to_u64(&d).ok_or_else(|| {
            ValueError(format!(
                "expected a non-negative integer, got {}",
                format_decimal(&d)
            ))
        })
    }

    /// The value as an `i64` integer.
    pub fn as_i64(&self) -> Result<i64, ValueError> {
        let d = self.as_decimal()?;
        decimal::to_i64(&d)
            .ok_or_else(|| ValueError(format!("expected an integer, got {}", format_decimal(&d))))
    }

    /// The value as a boolean: booleans and the strings `"true"` / `"false"`.
    pub fn as_bool(&self) -> Result<bool, ValueError> {
        match self {
            Value::Bool(b) => Ok(*b),
            Value::String(s) => match s.trim() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(ValueError(format!(
                    "expected true or false, got {:?}",
                    truncate(s)
                ))),
            },
            other => Err(ValueError::expected("a boolean", other)),
        }
    }

    /// The string content of a string value.
    pub fn as_str(&self) -> Result<&str, ValueError> {
        match self {
            Value::String(s) => Ok(s),
            other => Err(ValueError::expected("a string", other)),
        }
    }

    /// Any value rendered as text (strings unquoted, everything else via `Display`).
    pub fn to_text(&self) -> Cow<'_, str> {
        match self {
            Value::String(s) => Cow::Borrowed(s),
            other => Cow::Owned(other.to_string()),
        }
    }

    /// The value as bytes: bytes, `0x`-prefixed hex strings, other strings as UTF-8, and
    /// addresses.
    pub fn as_bytes(&self) -> Result<Cow<'_, [u8]>, ValueError> {
        match self {
            Value::Bytes(b) => Ok(Cow::Borrowed(b.as_ref())),
            Value::String(s) => match parse_hex(s) {
                Some(bytes) => Ok(Cow::Owned(bytes)),
                None => Ok(Cow::Borrowed(s.as_bytes())),
            },
            Value::Address(a) => Ok(Cow::Borrowed(a.as_slice())),
            other => Err(ValueError::expected("bytes", other)),
        }
    }

    /// The value as raw content bytes: bytes as they are, strings as UTF-8 (no hex decoding).
    pub fn as_raw_bytes(&self) -> Result<&[u8], ValueError> {
        match self {
            Value::Bytes(b) => Ok(b.as_ref()),
            Value::String(s) => Ok(s.as_bytes()),
            other => Err(ValueError::expected("bytes or a string", other)),
        }
    }

    /// The value as a 32-byte word (bytes of length 32 or a 32-byte hex string).
    pub fn as_b256(&self) -> Result<B256, ValueError> {
        let bytes = self.as_bytes()?;
        B256::try_from(bytes.as_ref())
            .map_err(|_| ValueError(format!("expected 32 bytes, got {}", bytes.len())))
    }

    /// The value as an EVM address: addresses, 20 bytes, or a `0x` hex string (checksum
    /// validated when it mixes cases).
    pub fn as_address(&self) -> Result<Address, ValueError> {
        match self {
            Value::Address(a) => Ok(*a),
            Value::Bytes(b) => Address::try_from(b.as_ref()).map_err(|_| {
                ValueError(format!("expected a 20-byte address, got {} bytes", b.len()))
            }),
            Value::String(s) => parse_address(s).map_err(ValueError),
            other => Err(ValueError::expected("an address", other)),
        }
    }

    /// The items of a list value.
    pub fn as_list(&self) -> Result<&[Value], ValueError> {
        match self {
            Value::List(l) => Ok(l),
            other => Err(ValueError::expected("a list", other)),
        }
    }

    /// The entries of a map value.
    pub fn as_map(&self) -> Result<&BTreeMap<String, Value>, ValueError> {
        match self {
            Value::Map(m) => Ok(m),
            other => Err(ValueError::expected("a map", other)),
        }
    }

    /// Renders the value as JSON text. Decimals are written as JSON numbers (exact), bytes
    /// as `0x` hex strings and addresses as checksummed strings.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        write_json(self, &mut out, true);
        out
    }

    /// Builds a map value from key/value pairs.
    pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Map(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }
}

fn truncate(s: &str) -> String {
    let mut out: String = s.chars().take(64).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

/// Parses a `0x`-prefixed hex string (even length). `None` if it is not one.
pub fn parse_hex(s: &str) -> Option<Vec<u8>> {
    let hex_part = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"))?;
    hex::decode(hex_part).ok()
}

/// Parses an EVM address (`0x` + 40 hex digits); mixed-case input must carry a valid
/// EIP-55 checksum.
pub fn parse_address(s: &str) -> Result<Address, String> {
    let t = s.trim();
    let Some(digits) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) else {
        return Err(format!(
            "invalid address {:?}: missing 0x prefix",
            truncate(s)
        ));
    };
    if digits.len() != 40 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "invalid address {:?}: expected 40 hex digits",
            truncate(s)
        ));
    }
    let has_lower = digits.bytes().any(|b| b.is_ascii_lowercase());
    let has_upper = digits.bytes().any(|b| b.is_ascii_uppercase());
    let bytes = hex::decode(digits).map_err(|e| format!("invalid address {s:?}: {e}"))?;
    let address = Address::try_from(bytes.as_slice())
        .map_err(|_| format!("invalid address {:?}", truncate(s)))?;
    if has_lower && has_upper {
        let expected = address.to_checksum(None);
        if expected.get(2..) != Some(digits) {
            return Err(format!(
                "invalid address {:?}: bad EIP-55 checksum (expected {expected})",
                truncate(s)
            ));
        }
    }
    Ok(address)
}

fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_json(v: &Value, out: &mut String, top: bool) {
    let _ = top;
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Decimal(d) => out.push_str(&format_decimal(d)),
        Value::String(s) => write_json_string(s, out),
        Value::Bytes(b) => write_json_string(&format!("0x{}", hex::encode(b)), out),
        Value::Address(a) => write_json_string(&a.to_checksum(None), out),
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out, false);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push('{');
            for (i, (k, item)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(k, out);
                out.push(':');
                write_json(item, out, false);
            }
            out.push('}');
        }
    }
}

impl fmt::Display for Value {
    /// Strings are written as they are, decimals in plain notation, bytes as `0x` hex,
    /// addresses checksummed, lists and maps as JSON.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Decimal(d) => f.write_str(&format_decimal(d)),
            Value::String(s) => f.write_str(s),
            Value::Bytes(b) => write!(f, "0x{}", hex::encode(b)),
            Value::Address(a) => f.write_str(&a.to_checksum(None)),
            Value::List(_) | Value::Map(_) => f.write_str(&self.to_json()),
        }
    }
}

impl serde::Serialize for Value {
    /// JSON-friendly form: decimals become strings (to stay exact in every consumer), bytes
    /// `0x` hex strings, addresses checksummed strings.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Decimal(d) => serializer.serialize_str(&format_decimal(d)),
            Value::String(s) => serializer.serialize_str(s),
            Value::Bytes(b) => serializer.serialize_str(&format!("0x{}", hex::encode(b))),
            Value::Address(a) => serializer.serialize_str(&a.to_checksum(None)),
            Value::List(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Map(m) => {
                let mut map = serializer.serialize_map(Some(m.len()))?;
                for (k, v) in m {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::String(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::String(v)
    }
}
impl From<BigDecimal> for Value {
    fn from(v: BigDecimal) -> Self {
        Value::Decimal(v)
    }
}
impl From<u64> for Value {
    fn from(v: u64) -> Self {
        Value::Decimal(BigDecimal::from(v))
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Decimal(BigDecimal::from(v))
    }
}
impl From<Address> for Value {
    fn from(v: Address) -> Self {
        Value::Address(v)
    }
}
impl From<Bytes> for Value {
    fn from(v: Bytes) -> Self {
        Value::Bytes(v)
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Bytes(Bytes::from(v))
    }
}
impl From<B256> for Value {
    fn from(v: B256) -> Self {
        Value::Bytes(Bytes::copy_from_slice(v.as_slice()))
    }
}
impl From<Vec<Value>> for Value {
    fn from(v: Vec<Value>) -> Self {
        Value::List(v)
    }
}
impl From<BTreeMap<String, Value>> for Value {
    fn from(v: BTreeMap<String, Value>) -> Self {
        Value::Map(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn displays_and_serializes() {
        let v = Value::map([
            ("a", Value::from(BigDecimal::from_str("1.50").unwrap())),
            ("b", Value::from(vec![0xde_u8, 0xad])),
            ("c", Value::List(vec![Value::Null, Value::from("x\"y")])),
        ]);
        assert_eq!(v.to_string(), r#"{"a":1.5,"b":"0xdead","c":[null,"x\"y"]}"#);
        let json = serde_json::to_string(&v).unwrap();
        assert_eq!(json, r#"{"a":"1.5","b":"0xdead","c":[null,"x\"y"]}"#);
    }

    #[test]
    fn conversions() {
        assert_eq!(Value::from("42").as_u64().unwrap(), 42);
        assert!(Value::from("4.2").as_u64().is_err());
        assert_eq!(Value::from("0x0102").as_bytes().unwrap().as_ref(), &[1, 2]);
        assert_eq!(Value::from("hi").as_bytes().unwrap().as_ref(), b"hi");
        assert!(Value::Null.as_decimal().is_err());
        let err = Value::from("abc").as_decimal().unwrap_err();
        assert_eq!(err.to_string(), "invalid number \"abc\"");
    }

    #[test]
    fn addresses() {
        let a = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
        assert!(parse_address(a).is_ok());
        assert!(parse_address(&a.to_lowercase()).is_ok());
        let bad = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD";
        assert!(parse_address(bad).unwrap_err().contains("checksum"));
        assert!(parse_address("0x12").unwrap_err().contains("40 hex digits"));
    }
}
