//! CBOR decoding (RFC 8949) into pipeline values, including the "diet" request encoding of
//! client libraries (a buffer of key/value pairs without a map header), plus a small encoder.
//!
//! Supported: major types 0–5 and 7 (false/true/null/undefined, float16/32/64), definite
//! and indefinite lengths, tags 2/3 (bignums, as exact decimals) and 4 (decimal fractions);
//! other tags are skipped and their content returned. Depth and lengths are bounded by the
//! input; the decoder never panics.

use std::collections::BTreeMap;
use std::fmt;

use bigdecimal::BigDecimal;
use num_bigint::{BigInt, Sign};

use crate::decimal::{self, format_decimal, from_f64_exact};
use crate::value::Value;

/// Maximum nesting of arrays, maps and tags.
pub const MAX_DEPTH: usize = 64;

/// A CBOR decoding error.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct CborError {
    /// Byte offset where the problem was found.
    pub offset: usize,
    /// What was wrong.
    pub message: String,
}

impl fmt::Display for CborError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.offset, self.message)
    }
}

/// Decodes exactly one CBOR data item ("standard" mode).
pub fn decode_cbor(data: &[u8]) -> Result<Value, CborError> {
    let mut d = Decoder { data, pos: 0 };
    let v = d.item(0)?;
    if d.pos != data.len() {
        return d.err("trailing bytes after the CBOR item");
    }
    Ok(v)
}

/// Decodes "diet" CBOR: the buffer holds key/value pairs of an implicit map (as written by
/// the client libraries' request buffers). An empty buffer is an empty map.
pub fn decode_diet_cbor(data: &[u8]) -> Result<Value, CborError> {
    let mut d = Decoder { data, pos: 0 };
    let mut map = BTreeMap::new();
    while d.pos < data.len() {
        let key = d.key(1)?;
        if d.pos >= data.len() {
            return d.err(format!("missing value for key {key:?}"));
        }
        let value = d.item(1)?;
        map.insert(key, value);
    }
    Ok(Value::Map(map))
}

struct Decoder<'a> {
    data: &'a [u8],
    pos: usize,
}

enum Head {
    /// Definite argument.
    Arg(u64),
    /// Indefinite length (additional info 31).
    Indefinite,
}

impl<'a> Decoder<'a> {
    fn err<T>(&self, message: impl Into<String>) -> Result<T, CborError> {
        Err(CborError {
            offset: self.pos,
            message: message.into(),
        })
    }

    fn byte(&mut self) -> Result<u8, CborError> {
        match self.data.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                Ok(b)
            }
            None => self.err("unexpected end of input"),
        }
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8], CborError> {
        let remaining = self.data.len().saturating_sub(self.pos);
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        if n > remaining {
            return self.err(format!(
                "length {n} exceeds the {remaining} remaining bytes"
            ));
        }
        let slice = self.data.get(self.pos..self.pos + n).unwrap_or(&[]);
        self.pos += n;
        Ok(slice)
    }

    fn uint(&mut self, n: usize) -> Result<u64, CborError> {
        let bytes = self.take(n as u64)?;
        Ok(bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    /// Reads an initial byte; returns (major type, head).
    fn head(&mut self) -> Result<(u8, u8, Head), CborError> {
        let start = self.pos;
        let ib = self.byte()?;
        let major = ib >> 5;
        let info = ib & 0x1f;
        let head = match info {
            0..=23 => Head::Arg(u64::from(info)),
            24 => Head::Arg(self.uint(1)?),
            25 => Head::Arg(self.uint(2)?),
            26 => Head::Arg(self.uint(4)?),
            27 => Head::Arg(self.uint(8)?),
            31 => Head::Indefinite,
            _ => {
                self.pos = start;
                return self.err(format!("reserved additional information {info}"));
            }
        };
        Ok((major, info, head))
    }

    fn at_break(&self) -> bool {
        self.data.get(self.pos) == Some(&0xff)
    }

    fn string_bytes(&mut self, major: u8, head: Head) -> Result<Vec<u8>, CborError> {
        match head {
            Head::Arg(n) => Ok(self.take(n)?.to_vec()),
            Head::Indefinite => {
                let mut out = Vec::new();
                loop {
                    if self.at_break() {
                        self.pos += 1;
                        return Ok(out);
                    }
                    let (m, _, h) = self.head()?;
                    match (m == major, h) {
                        (true, Head::Arg(n)) => out.extend_from_slice(self.take(n)?),
                        _ => return self.err("invalid chunk in an indefinite-length string"),
                    }
                }
            }
        }
    }

    fn text(&mut self, head: Head) -> Result<String, CborError> {
        let at = self.pos;
        let bytes = self.string_bytes(3, head)?;
        String::from_utf8(bytes).map_err(|_| CborError {
            offset: at,
            message: "text string is not valid UTF-8".to_owned(),
        })
    }

    fn key(&mut self, depth: usize) -> Result<String, CborError> {
        let at = self.pos;
        match self.item(depth)? {
            Value::String(s) => Ok(s),
            Value::Decimal(d) => Ok(format_decimal(&d)),
            Value::Bool(b) => Ok(b.to_string()),
            other => Err(CborError {
                offset: at,
                message: format!("unsupported map key of type {}", other.type_name()),
            }),
        }
    }

    fn item(&mut self, depth: usize) -> Result<Value, CborError> {
        if depth > MAX_DEPTH {
            return self.err(format!("nesting deeper than {MAX_DEPTH} levels"));
        }
        let start = self.pos;
        let (major, info, head) = self.head()?;
        match major {
            0 => match head {
                Head::Arg(n) => Ok(Value::Decimal(BigDecimal::from(n))),
                Head::Indefinite => self.err_at(start, "indefinite length on an integer"),
            },
            1 => match head {
                Head::Arg(n) => Ok(Value::Decimal(BigDecimal::new(-BigInt::from(n) - 1u8, 0))),
                Head::Indefinite => self.err_at(start, "indefinite length on an integer"),
            },
            2 => Ok(Value::Bytes(self.string_bytes(2, head)?.into())),
            3 => Ok(Value::String(self.text(head)?)),
            4 => {
                let mut items = Vec::new();
                match head {
                    Head::Arg(n) => {
                        for _ in 0..n {
                            if self.pos >= self.data.len() {
                                return self.err("array shorter than its declared length");
                            }
                            items.push(self.item(depth + 1)?);
                        }
                    }
                    Head::Indefinite => loop {
                        if self.at_break() {
                            self.pos += 1;
                            break;
                        }
                        items.push(self.item(depth + 1)?);
                    },
                }
                Ok(Value::List(items))
            }
            5 => {
                let mut map = BTreeMap::new();
                match head {
                    Head::Arg(n) => {
                        for _ in 0..n {
                            if self.pos >= self.data.len() {
                                return self.err("map shorter than its declared length");
                            }
                            let k = self.key(depth + 1)?;
                            let v = self.item(depth + 1)?;
                            map.insert(k, v);
                        }
                    }
                    Head::Indefinite => loop {
                        if self.at_break() {
                            self.pos += 1;
                            break;
                        }
                        let k = self.key(depth + 1)?;
                        let v = self.item(depth + 1)?;
                        map.insert(k, v);
                    },
                }
                Ok(Value::Map(map))
            }
            6 => {
                let Head::Arg(tag) = head else {
                    return self.err_at(start, "indefinite length on a tag");
                };
                self.tagged(tag, depth, start)
            }
            _ => self.simple(info, head, start),
        }
    }

    fn err_at<T>(&self, offset: usize, message: &str) -> Result<T, CborError> {
        Err(CborError {
            offset,
            message: message.to_owned(),
        })
    }

    fn tagged(&mut self, tag: u64, depth: usize, start: usize) -> Result<Value, CborError> {
        match tag {
            2 | 3 => {
                let inner_at = self.pos;
                let Value::Bytes(b) = self.item(depth + 1)? else {
                    return self.err_at(inner_at, "bignum tag must wrap a byte string");
                };
                if b.len() > 1024 {
                    return self.err_at(inner_at, "bignum longer than 1024 bytes");
                }
                let n = BigInt::from_bytes_be(Sign::Plus, &b);
                let n = if tag == 3 { -n - 1u8 } else { n };
                Ok(Value::Decimal(BigDecimal::new(n, 0)))
            }
            4 => {
                let inner_at = self.pos;
                let parts = self.item(depth + 1)?;
                let (Some(Value::Decimal(exp)), Some(Value::Decimal(mant))) = (
                    parts.as_list().ok().and_then(|l| l.first()),
                    parts.as_list().ok().and_then(|l| l.get(1)),
                ) else {
                    return self.err_at(inner_at, "decimal fraction must be [exponent, mantissa]");
                };
                let (Some(exp), Some(mant)) = (decimal::to_i64(exp), decimal::to_integer(mant))
                else {
                    return self.err_at(inner_at, "decimal fraction parts must be integers");
                };
                if exp.unsigned_abs() > decimal::MAX_SCALE as u64 {
                    return self.err_at(inner_at, "decimal fraction exponent out of range");
                }
                if parts.as_list().map(|l| l.len()).unwrap_or(0) != 2 {
                    return self.err_at(inner_at, "decimal fraction must be [exponent, mantissa]");
                }
                // The mantissa can carry up to 1,024 bytes of digits; with a large exponent
                // the number would render to more digits than a JSON parse accepts back.
                let value = BigDecimal::new(mant, -exp);
                if !decimal::in_range(&value) {
                    return self.err_at(inner_at, "decimal fraction out of range");
                }
                Ok(Value::Decimal(value))
            }
            _ => {
                let _ = start;
                self.item(depth + 1)
            }
        }
    }

    fn simple(&mut self, info: u8, head: Head, start: usize) -> Result<Value, CborError> {
        let float = |v: f64| {
            from_f64_exact(v)
                .map(Value::Decimal)
                .ok_or_else(|| CborError {
                    offset: start,
                    message: "non-finite floating point number".to_owned(),
                })
        };
        match (info, head) {
            (20, _) => Ok(Value::Bool(false)),
            (21, _) => Ok(Value::Bool(true)),
            (22, _) | (23, _) => Ok(Value::Null),
            (25, Head::Arg(bits)) => float(f16_to_f64(bits as u16)),
            (26, Head::Arg(bits)) => float(f64::from(f32::from_bits(bits as u32))),
            (27, Head::Arg(bits)) => float(f64::from_bits(bits)),
            (31, _) => self.err_at(start, "unexpected break"),
            _ => self.err_at(start, "unsupported simple value"),
        }
    }
}

fn f16_to_f64(h: u16) -> f64 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((h >> 10) & 0x1f);
    let frac = f64::from(h & 0x3ff);
    let magnitude = match exp {
        0 => frac * 2f64.powi(-24),
        31 => {
            if frac == 0.0 {
                f64::INFINITY
            } else {
                f64::NAN
            }
        }
        e => (1.0 + frac / 1024.0) * 2f64.powi(e - 15),
    };
    sign * magnitude
}

fn write_head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    if n < 24 {
        out.push(m | n as u8);
    } else if n <= u64::from(u8::MAX) {
        out.push(m | 24);
        out.push(n as u8);
    } else if n <= u64::from(u16::MAX) {
        out.push(m | 25);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else if n <= u64::from(u32::MAX) {
        out.push(m | 26);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(m | 27);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn write_integer(out: &mut Vec<u8>, int: &BigInt) {
    let negative = int.sign() == Sign::Minus;
    // For negatives CBOR stores -1 - n.
    let magnitude = if negative { -(int + 1u8) } else { int.clone() };
    match u64::try_from(&magnitude) {
        Ok(n) => write_head(out, if negative { 1 } else { 0 }, n),
        Err(_) => {
            write_head(out, 6, if negative { 3 } else { 2 });
            let (_, bytes) = magnitude.to_bytes_be();
            write_head(out, 2, bytes.len() as u64);
            out.extend_from_slice(&bytes);
        }
    }
}

fn encode_into(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Null => out.push(0xf6),
        Value::Bool(false) => out.push(0xf4),
        Value::Bool(true) => out.push(0xf5),
        Value::Decimal(d) => {
            // Keep the decimal's own representation: integers as integers/bignums, others
            // as decimal fractions [exponent, mantissa].
            let (mant, scale) = d.as_bigint_and_exponent();
            if scale == 0 {
                write_integer(out, &mant);
            } else {
                write_head(out, 6, 4);
                write_head(out, 4, 2);
                write_integer(out, &BigInt::from(-scale));
                write_integer(out, &mant);
            }
        }
        Value::String(s) => {
            write_head(out, 3, s.len() as u64);
            out.extend_from_slice(s.as_bytes());
        }
        Value::Bytes(b) => {
            write_head(out, 2, b.len() as u64);
            out.extend_from_slice(b);
        }
        Value::Address(a) => {
            write_head(out, 2, 20);
            out.extend_from_slice(a.as_slice());
        }
        Value::List(items) => {
            write_head(out, 4, items.len() as u64);
            for i in items {
                encode_into(i, out);
            }
        }
        Value::Map(m) => {
            write_head(out, 5, m.len() as u64);
            for (k, v) in m {
                write_head(out, 3, k.len() as u64);
                out.extend_from_slice(k.as_bytes());
                encode_into(v, out);
            }
        }
    }
}

/// Encodes a value as CBOR (integers as major types 0/1 or bignums, other decimals as
/// decimal fractions, addresses as 20-byte strings).
pub fn encode_cbor(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(v, &mut out);
    out
}

/// Encodes a map as "diet" CBOR (its key/value pairs without the map header).
pub fn encode_diet_cbor(entries: &BTreeMap<String, Value>) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in entries {
        write_head(&mut out, 3, k.len() as u64);
        out.extend_from_slice(k.as_bytes());
        encode_into(v, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn decodes_client_request_buffer() {
        // get: "https://x", path: ["a", "b"] (indefinite array), times: 100, big: bignum 2^64
        let mut buf = Vec::new();
        buf.extend_from_slice(&[0x63, b'g', b'e', b't']);
        buf.extend_from_slice(&[0x69]);
        buf.extend_from_slice(b"https://x");
        buf.extend_from_slice(&[
            0x64, b'p', b'a', b't', b'h', 0x9f, 0x61, b'a', 0x61, b'b', 0xff,
        ]);
        buf.extend_from_slice(&[0x65, b't', b'i', b'm', b'e', b's', 0x18, 100]);
        buf.extend_from_slice(&[
            0x63, b'b', b'i', b'g', 0xc2, 0x49, 1, 0, 0, 0, 0, 0, 0, 0, 0,
        ]);
        buf.extend_from_slice(&[0x63, b'n', b'e', b'g', 0x38, 0x63]);
        let v = decode_diet_cbor(&buf).unwrap();
        let m = v.as_map().unwrap();
        assert_eq!(m["get"], Value::from("https://x"));
        assert_eq!(
            m["path"],
            Value::List(vec![Value::from("a"), Value::from("b")])
        );
        assert_eq!(m["times"].as_u64().unwrap(), 100);
        assert_eq!(m["big"].to_string(), "18446744073709551616");
        assert_eq!(m["neg"].as_i64().unwrap(), -100);
        assert_eq!(decode_diet_cbor(&[]).unwrap(), Value::Map(BTreeMap::new()));
    }

    #[test]
    fn floats_and_errors() {
        assert_eq!(
            decode_cbor(&[0xf9, 0x3e, 0x00]).unwrap(),
            Value::Decimal(BigDecimal::from_str("1.5").unwrap())
        );
        assert_eq!(
            decode_cbor(&[0xfb, 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a])
                .unwrap()
                .to_string(),
            "0.1000000000000000055511151231257827021181583404541015625"
        );
        assert!(decode_cbor(&[0xf9, 0x7c, 0x00]).is_err());
        assert!(decode_cbor(&[0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(decode_cbor(&[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(decode_cbor(&[0x01, 0x02]).is_err());
        assert!(decode_cbor(&[0xff]).is_err());
        assert!(decode_cbor(&[0x1c]).is_err());
        assert!(decode_diet_cbor(&[0x61, b'a']).is_err());
        let deep = vec![0x81u8; 10_000];
        assert!(decode_cbor(&deep).unwrap_err().message.contains("nesting"));
    }

    #[test]
    fn roundtrips() {
        let v = Value::map([
            (
                "n",
                Value::Decimal(BigDecimal::from_str("-12.345").unwrap()),
            ),
            (
                "big",
                Value::Decimal(BigDecimal::from_str("-1e40").unwrap()),
            ),
            ("l", Value::List(vec![Value::Null, Value::Bool(true)])),
            ("b", Value::from(vec![1u8, 2, 3])),
        ]);
        assert_eq!(decode_cbor(&encode_cbor(&v)).unwrap(), v);
        let Value::Map(m) = &v else { panic!() };
        assert_eq!(decode_diet_cbor(&encode_diet_cbor(m)).unwrap(), v);
    }
}
