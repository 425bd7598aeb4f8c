//! A small JSON parser that keeps numbers exact and, in template mode, accepts `$(path)`
//! variable placeholders as leaf values.
//!
//! It is used by `jsonparse` (plain JSON into [`Value`]) and by the JSON-shaped task
//! parameters (`requestData`, `data` of `ethabiencode`, `values`…) whose variables are
//! substituted as values. It never panics: nesting depth and number length are bounded and
//! every error reports the byte offset where it was detected.

use std::collections::BTreeMap;
use std::fmt;

use bigdecimal::BigDecimal;

use crate::decimal::{MAX_NUMBER_LEN, parse_decimal};
use crate::value::Value;

/// Maximum nesting of arrays and objects.
pub const MAX_DEPTH: usize = 128;

/// A JSON syntax error.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct JsonError {
    /// Byte offset in the input where the error was detected.
    pub offset: usize,
    /// What was wrong.
    pub message: String,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.offset, self.message)
    }
}

/// A parsed JSON document that may contain variable placeholders.
#[derive(Clone, Debug, PartialEq)]
pub enum JsonTemplate {
    /// `null`, `true`, `false`, a number or a string without variables.
    Literal(Value),
    /// A string literal that contains `$(…)` variables; interpolated at run time.
    /// Holds the decoded string and the byte offset of its opening quote.
    Text(String, usize),
    /// An unquoted `$(path)` placeholder; holds the path text and the offset of `$`.
    Var(String, usize),
    /// An array.
    List(Vec<JsonTemplate>),
    /// An object, in source order.
    Map(Vec<(String, JsonTemplate)>),
}

/// Parses plain JSON bytes into a [`Value`] (numbers as exact decimals, objects as maps).
pub fn parse_json(input: &[u8]) -> Result<Value, JsonError> {
    let text = std::str::from_utf8(input).map_err(|e| JsonError {
        offset: e.valid_up_to(),
        message: "invalid UTF-8".to_owned(),
    })?;
    Parser::new(text, ValueBuilder).parse_document()
}

/// Parses JSON text with `$(path)` placeholders allowed wherever a value may appear.
pub fn parse_template(input: &str) -> Result<JsonTemplate, JsonError> {
    Parser::new(input, TemplateBuilder).parse_document()
}

trait Builder {
    type Out;
    const VARS: bool;
    fn null(&mut self) -> Self::Out;
    fn boolean(&mut self, b: bool) -> Self::Out;
    fn number(&mut self, d: BigDecimal) -> Self::Out;
    fn string(&mut self, s: String, at: usize) -> Self::Out;
    fn list(&mut self, items: Vec<Self::Out>) -> Self::Out;
    fn object(&mut self, entries: Vec<(String, Self::Out)>) -> Self::Out;
    fn var(&mut self, path: String, at: usize) -> Self::Out;
}

struct ValueBuilder;

impl Builder for ValueBuilder {
    type Out = Value;
    const VARS: bool = false;
    fn null(&mut self) -> Value {
        Value::Null
    }
    fn boolean(&mut self, b: bool) -> Value {
        Value::Bool(b)
    }
    fn number(&mut self, d: BigDecimal) -> Value {
        Value::Decimal(d)
    }
    fn string(&mut self, s: String, _at: usize) -> Value {
        Value::String(s)
    }
    fn list(&mut self, items: Vec<Value>) -> Value {
        Value::List(items)
    }
    fn object(&mut self, entries: Vec<(String, Value)>) -> Value {
        let mut map = BTreeMap::new();
        for (k, v) in entries {
            map.insert(k, v);
        }
        Value::Map(map)
    }
    fn var(&mut self, _path: String, _at: usize) -> Value {
        Value::Null
    }
}

struct TemplateBuilder;

impl Builder for TemplateBuilder {
    type Out = JsonTemplate;
    const VARS: bool = true;
    fn null(&mut self) -> JsonTemplate {
        JsonTemplate::Literal(Value::Null)
    }
    fn boolean(&mut self, b: bool) -> JsonTemplate {
        JsonTemplate::Literal(Value::Bool(b))
    }
    fn number(&mut self, d: BigDecimal) -> JsonTemplate {
        JsonTemplate::Literal(Value::Decimal(d))
    }
    fn string(&mut self, s: String, at: usize) -> JsonTemplate {
        if s.contains("$(") {
            JsonTemplate::Text(s, at)
        } else {
            JsonTemplate::Literal(Value::String(s))
        }
    }
    fn list(&mut self, items: Vec<JsonTemplate>) -> JsonTemplate {
        JsonTemplate::List(items)
    }
    fn object(&mut self, entries: Vec<(String, JsonTemplate)>) -> JsonTemplate {
        JsonTemplate::Map(entries)
    }
    fn var(&mut self, path: String, at: usize) -> JsonTemplate {
        JsonTemplate::Var(path, at)
    }
}

struct Parser<'a, B> {
    src: &'a str,
    pos: usize,
    builder: B,
}

fn describe_char(c: Option<char>) -> String {
    match c {
        None => "end of input".to_owned(),
        Some(c) => format!("{c:?}"),
    }
}

impl<'a, B: Builder> Parser<'a, B> {
    fn new(src: &'a str, builder: B) -> Self {
        Parser {
            src,
            pos: 0,
            builder,
        }
    }

    fn rest(&self) -> &'a str {
        self.src.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn err<T>(&self, message: impl Into<String>) -> Result<T, JsonError> {
        Err(JsonError {
            offset: self.pos,
            message: message.into(),
        })
    }

    fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            if matches!(c, ' ' | '\t' | '\n' | '\r') {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    fn parse_document(mut self) -> Result<B::Out, JsonError> {
        self.skip_ws();
        let v = self.parse_value(0)?;
        self.skip_ws();
        if self.pos < self.src.len() {
            return self.err(format!(
                "unexpected {} after the JSON value",
                describe_char(self.peek())
            ));
        }
        Ok(v)
    }

    fn parse_value(&mut self, depth: usize) -> Result<B::Out, JsonError> {
        if depth > MAX_DEPTH {
            return self.err(format!("nesting deeper than {MAX_DEPTH} levels"));
        }
        match self.peek() {
            Some('{') => self.parse_object(depth),
            Some('[') => self.parse_array(depth),
            Some('"') => {
                let at = self.pos;
                let s = self.parse_string()?;
                Ok(self.builder.string(s, at))
            }
            Some('t') => self.parse_keyword("true", |b| b.boolean(true)),
            Some('f') => self.parse_keyword("false", |b| b.boolean(false)),
            Some('n') => self.parse_keyword("null", |b| b.null()),
            Some('-' | '0'..='9') => self.parse_number(),
            Some('$') if B::VARS => self.parse_var(),
            other => self.err(format!("expected value, got {}", describe_char(other))),
        }
    }

    fn parse_keyword(
        &mut self,
        word: &str,
        make: impl FnOnce(&mut B) -> B::Out,
    ) -> Result<B::Out, JsonError> {
        if self.rest().starts_with(word) {
            self.pos += word.len();
            Ok(make(&mut self.builder))
        } else {
            self.err(format!(
                "expected value, got {}",
                describe_char(self.peek())
            ))
        }
    }

    fn parse_var(&mut self) -> Result<B::Out, JsonError> {
        let at = self.pos;
        if !self.rest().starts_with("$(") {
            return self.err("expected value, got '$'");
        }
        let body_start = self.pos + 2;
        let body = self.src.get(body_start..).unwrap_or("");
        match body.find(')') {
            Some(end) => {
                let path = body.get(..end).unwrap_or("").to_owned();
                self.pos = body_start + end + 1;
                Ok(self.builder.var(path, at))
            }
            None => self.err("unterminated variable: missing ')'"),
        }
    }

    fn parse_number(&mut self) -> Result<B::Out, JsonError> {
        let start = self.pos;
        let bytes = self.src.as_bytes();
        let at = |i: usize| bytes.get(i).copied();
        let mut i = start;
        if at(i) == Some(b'-') {
            i += 1;
        }
        match at(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                while matches!(at(i), Some(b'0'..=b'9')) {
                    i += 1;
                }
            }
            _ => {
                self.pos = i;
                return self.err("invalid number: expected a digit");
            }
        }
        if at(i) == Some(b'.') {
            i += 1;
            if !matches!(at(i), Some(b'0'..=b'9')) {
                self.pos = i;
                return self.err("invalid number: expected a digit after '.'");
            }
            while matches!(at(i), Some(b'0'..=b'9')) {
                i += 1;
            }
        }
        if matches!(at(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(at(i), Some(b'+' | b'-')) {
                i += 1;
            }
            if !matches!(at(i), Some(b'0'..=b'9')) {
                self.pos = i;
                return self.err("invalid number: expected a digit in the exponent");
            }
            while matches!(at(i), Some(b'0'..=b'9')) {
                i += 1;
            }
        }
        let text = self.src.get(start..i).unwrap_or("");
        if text.len() > MAX_NUMBER_LEN {
            return self.err(format!("number longer than {MAX_NUMBER_LEN} characters"));
        }
        match parse_decimal(text) {
            Some(d) => {
                self.pos = i;
                Ok(self.builder.number(d))
            }
            None => self.err(format!("number {text} is out of range")),
        }
    }

    fn parse_hex4(&mut self) -> Result<u32, JsonError> {
        let digits = self.rest().get(..4).unwrap_or("");
        if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return self.err("invalid \\u escape: expected 4 hex digits");
        }
        let v = u32::from_str_radix(digits, 16).map_err(|_| JsonError {
            offset: self.pos,
            message: "invalid \\u escape".to_owned(),
        })?;
        self.pos += 4;
        Ok(v)
    }

    fn parse_string(&mut self) -> Result<String, JsonError> {
        // Opening quote.
        self.pos += 1;
        let mut out = String::new();
        loop {
            // Copy a run of plain characters at once.
            let rest = self.rest();
            let run = rest
                .find(|c: char| c == '"' || c == '\\' || (c as u32) < 0x20)
                .unwrap_or(rest.len());
            out.push_str(rest.get(..run).unwrap_or(""));
            self.pos += run;
            match self.bump() {
                None => return self.err("unterminated string"),
                Some('"') => return Ok(out),
                Some('\\') => {
                    let esc_at = self.pos;
                    match self.bump() {
                        Some('"') => out.push('"'),
                        Some('\\') => out.push('\\'),
                        Some('/') => out.push('/'),
                        Some('b') => out.push('\u{8}'),
                        Some('f') => out.push('\u{c}'),
                        Some('n') => out.push('\n'),
                        Some('r') => out.push('\r'),
                        Some('t') => out.push('\t'),
                        Some('u') => {
                            let hi = self.parse_hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi) {
                                if !self.rest().starts_with("\\u") {
                                    return self.err("unpaired surrogate in \\u escape");
                                }
                                self.pos += 2;
                                let lo = self.parse_hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return self.err("invalid low surrogate in \\u escape");
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else {
                                hi
                            };
                            match char::from_u32(code) {
                                Some(c) => out.push(c),
                                None => return self.err("invalid code point in \\u escape"),
                            }
                        }
                        other => {
                            self.pos = esc_at;
                            return self.err(format!(
                                "invalid escape \\{}",
                                other.map(String::from).unwrap_or_default()
                            ));
                        }
                    }
                }
                Some(_) => {
                    self.pos -= 1;
                    return self.err("control character in string");
                }
            }
        }
    }

    fn parse_array(&mut self, depth: usize) -> Result<B::Out, JsonError> {
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(']') {
            self.pos += 1;
            return Ok(self.builder.list(items));
        }
        loop {
            self.skip_ws();
            items.push(self.parse_value(depth + 1)?);
            self.skip_ws();
            match self.bump() {
                Some(',') => continue,
                Some(']') => return Ok(self.builder.list(items)),
                other => {
                    if other.is_some() {
                        self.pos -= other.map(char::len_utf8).unwrap_or(0);
                    }
                    return self.err(format!("expected ',' or ']', got {}", describe_char(other)));
                }
            }
        }
    }

    fn parse_object(&mut self, depth: usize) -> Result<B::Out, JsonError> {
        self.pos += 1;
        let mut entries = Vec::new();
        self.skip_ws();
        if self.peek() == Some('}') {
            self.pos += 1;
            return Ok(self.builder.object(entries));
        }
        loop {
            self.skip_ws();
            if self.peek() != Some('"') {
                return self.err(format!(
                    "expected a string key, got {}",
                    describe_char(self.peek())
                ));
            }
            let key = self.parse_string()?;
            self.skip_ws();
            if self.peek() != Some(':') {
                return self.err(format!("expected ':', got {}", describe_char(self.peek())));
            }
            self.pos += 1;
            self.skip_ws();
            let value = self.parse_value(depth + 1)?;
            entries.push((key, value));
            self.skip_ws();
            match self.bump() {
                Some(',') => continue,
                Some('}') => return Ok(self.builder.object(entries)),
                other => {
                    if other.is_some() {
                        self.pos -= other.map(char::len_utf8).unwrap_or(0);
                    }
                    return self.err(format!(
                        "expected ',' or '}}', got {}",
                        describe_char(other)
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn parses_values_exactly() {
        let v = parse_json(br#" {"a": [1, -2.50, 1e2, true, null], "b": "x\u00e9\n"} "#).unwrap();
        let m = v.as_map().unwrap();
        let a = m["a"].as_list().unwrap();
        assert_eq!(a[1], Value::Decimal(BigDecimal::from_str("-2.50").unwrap()));
        assert_eq!(a[2].as_u64().unwrap(), 100);
        assert_eq!(m["b"], Value::from("xé\n"));
        let big = parse_json(b"123456789012345678901234567890.000000000000000001").unwrap();
        assert_eq!(
            big.to_string(),
            "123456789012345678901234567890.000000000000000001"
        );
    }

    #[test]
    fn reports_offsets() {
        let e = parse_json(b"<html>").unwrap_err();
        assert_eq!(e.to_string(), "at byte 0: expected value, got '<'");
        let e = parse_json(br#"{"a" 1}"#).unwrap_err();
        assert_eq!(e.offset, 5);
        let e = parse_json(b"[1,2").unwrap_err();
        assert!(e.message.contains("end of input"), "{e}");
        assert!(parse_json(b"01").is_err());
        assert!(parse_json(b"\"\\ud800\"").is_err());
        assert!(
            parse_json(&[b'['; 1000])
                .unwrap_err()
                .message
                .contains("nesting")
        );
    }

    #[test]
    fn parses_templates() {
        let t =
            parse_template(r#"{"id": $(decode_log.requestId), "s": "a$(x)b", "n": 1}"#).unwrap();
        let JsonTemplate::Map(entries) = t else {
            panic!("not a map")
        };
        assert_eq!(
            entries[0].1,
            JsonTemplate::Var("decode_log.requestId".into(), 7)
        );
        assert!(matches!(entries[1].1, JsonTemplate::Text(_, _)));
        assert!(parse_template("{\"a\": $(x}").is_err());
        assert!(parse_json(b"$(x)").is_err());
    }
}
