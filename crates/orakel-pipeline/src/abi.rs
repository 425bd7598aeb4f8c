//! Human-readable ABI signatures (`name(type name, …)` with `indexed` markers and named tuple
//! components), conversion of pipeline values to ABI values and back, and event log
//! decoding.

use std::collections::BTreeMap;

use alloy_dyn_abi::{DynSolType, DynSolValue};
use alloy_primitives::{B256, Bytes, keccak256};

use crate::decimal::{self, bigint_to_i256, bigint_to_u256, format_decimal};
use crate::value::Value;

/// Maximum nesting of tuple/array types in a signature.
const MAX_TYPE_DEPTH: usize = 16;

/// A parameter type that remembers tuple component names.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum AbiTy {
    /// An elementary type (never a tuple or array).
    Elem(DynSolType),
    /// `T[]` (`None`) or `T[k]`.
    Array(Box<AbiTy>, Option<usize>),
    /// A tuple with named (possibly empty-named) components.
    Tuple(Vec<AbiParam>),
}

/// One parameter of a signature.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct AbiParam {
    pub name: String,
    pub ty: AbiTy,
    pub indexed: bool,
}

/// A parsed function or event signature. `name` is empty for a bare tuple `(uint256 v)`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Signature {
    pub name: String,
    pub params: Vec<AbiParam>,
}

impl AbiTy {
    pub(crate) fn sol(&self) -> DynSolType {
        match self {
            AbiTy::Elem(t) => t.clone(),
            AbiTy::Array(inner, None) => DynSolType::Array(Box::new(inner.sol())),
            AbiTy::Array(inner, Some(n)) => DynSolType::FixedArray(Box::new(inner.sol()), *n),
            AbiTy::Tuple(ps) => DynSolType::Tuple(ps.iter().map(|p| p.ty.sol()).collect()),
        }
    }

    fn canonical(&self) -> String {
        self.sol().sol_type_name().into_owned()
    }
}

struct SigParser<'a> {
    src: &'a str,
    pos: usize,
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '$'
}

impl<'a> SigParser<'a> {
    fn rest(&self) -> &'a str {
        self.src.get(self.pos..).unwrap_or("")
    }
    fn skip_ws(&mut self) {
        let rest = self.rest();
        let n = rest.len() - rest.trim_start().len();
        self.pos += n;
    }
    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }
    fn ident(&mut self) -> &'a str {
        let rest = self.rest();
        let n = rest.find(|c| !is_ident_char(c)).unwrap_or(rest.len());
        self.pos += n;
        rest.get(..n).unwrap_or("")
    }
    fn err<T>(&self, msg: impl Into<String>) -> Result<T, String> {
        Err(format!("{} at character {}", msg.into(), self.pos + 1))
    }

    fn params(&mut self, depth: usize) -> Result<Vec<AbiParam>, String> {
        // Called after '('.
        let mut out = Vec::new();
        self.skip_ws();
        if self.peek() == Some(')') {
            self.pos += 1;
            return Ok(out);
        }
        loop {
            out.push(self.param(depth)?);
            self.skip_ws();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some(')') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(c) => return self.err(format!("expected ',' or ')', got {c:?}")),
                None => return self.err("expected ')', got end of signature"),
            }
        }
    }

    fn param(&mut self, depth: usize) -> Result<AbiParam, String> {
        let ty = self.ty(depth)?;
        let mut name = String::new();
        let mut indexed = false;
        loop {
            self.skip_ws();
            match self.peek() {
                Some(c) if is_ident_char(c) => {
                    let word = self.ident();
                    match word {
                        "indexed" if name.is_empty() => indexed = true,
                        "memory" | "calldata" | "storage" | "payable" if name.is_empty() => {}
                        w if name.is_empty() => name = w.to_owned(),
                        w => return self.err(format!("unexpected {w:?}")),
                    }
                }
                _ => break,
            }
        }
        Ok(AbiParam { name, ty, indexed })
    }

    fn ty(&mut self, depth: usize) -> Result<AbiTy, String> {
        if depth > MAX_TYPE_DEPTH {
            return self.err("type nested too deeply");
        }
        self.skip_ws();
        let mut ty = if self.rest().starts_with('(') {
            self.pos += 1;
            AbiTy::Tuple(self.params(depth + 1)?)
        } else if self.rest().starts_with("tuple(") {
            self.pos += 6;
            AbiTy::Tuple(self.params(depth + 1)?)
        } else {
            let word = self.ident();
            if word.is_empty() {
                return match self.peek() {
                    Some(c) => self.err(format!("expected a type, got {c:?}")),
                    None => self.err("expected a type, got end of signature"),
                };
            }
            match DynSolType::parse(word) {
                Ok(
                    t @ (DynSolType::Bool
                    | DynSolType::Int(_)
                    | DynSolType::Uint(_)
                    | DynSolType::FixedBytes(_)
                    | DynSolType::Address
                    | DynSolType::Bytes
                    | DynSolType::String),
                ) => AbiTy::Elem(t),
                _ => return self.err(format!("unknown type {word:?}")),
            }
        };
        loop {
            if !self.rest().starts_with('[') {
                return Ok(ty);
            }
            self.pos += 1;
            let digits = self.ident();
            let size = if digits.is_empty() {
                None
            } else {
                match digits.parse::<usize>() {
                    Ok(n) if n > 0 && n <= 1024 => Some(n),
                    _ => return self.err(format!("invalid array size {digits:?}")),
                }
            };
            if self.peek() != Some(']') {
                return self.err("expected ']'");
            }
            self.pos += 1;
            ty = AbiTy::Array(Box::new(ty), size);
        }
    }
}

impl Signature {
    /// Parses `name(type [indexed] [name], …)` or a bare tuple `(type name, …)`.
    pub(crate) fn parse(src: &str) -> Result<Signature, String> {
        let trimmed = src.trim();
        let body = trimmed
            .strip_prefix("function ")
            .or_else(|| trimmed.strip_prefix("event "))
            .unwrap_or(trimmed);
        let mut p = SigParser { src: body, pos: 0 };
        p.skip_ws();
        let name = p.ident().to_owned();
        p.skip_ws();
        if p.peek() != Some('(') {
            return p.err("expected '('");
        }
        p.pos += 1;
        let params = p.params(0)?;
        p.skip_ws();
        let rest = p.rest().trim();
        if !rest.is_empty() && rest != "anonymous" {
            return p.err(format!("unexpected {rest:?} after the parameter list"));
        }
        Ok(Signature { name, params })
    }

    /// `name(type1,type2)` with canonical type names.
    pub(crate) fn canonical(&self) -> String {
        let types: Vec<String> = self.params.iter().map(|p| p.ty.canonical()).collect();
        format!("{}({})", self.name, types.join(","))
    }

    /// The 4-byte function selector.
    pub(crate) fn selector(&self) -> [u8; 4] {
        let h = keccak256(self.canonical().as_bytes());
        let mut out = [0u8; 4];
        out.copy_from_slice(h.get(..4).unwrap_or(&[0; 4]));
        out
    }

    /// The event topic 0.
    pub(crate) fn topic0(&self) -> B256 {
        keccak256(self.canonical().as_bytes())
    }

    /// Converts named arguments (a map keyed by parameter name, or a positional list) and
    /// ABI-encodes them as call parameters (no selector).
    pub(crate) fn encode_params(&self, args: &Value) -> Result<Vec<u8>, String> {
        let values = coerce_tuple(&self.params, args, "data")?;
        Ok(DynSolValue::Tuple(values).abi_encode_params())
    }

    /// Decodes an event log into a map of named arguments.
    pub(crate) fn decode_log(&self, data: &[u8], topics: &[B256]) -> Result<Value, String> {
        let Some(first) = topics.first() else {
            return Err("log has no topics".to_owned());
        };
        let expected = self.topic0();
        if *first != expected {
            return Err(format!(
                "topic 0 {first} does not match event {} ({expected})",
                self.canonical()
            ));
        }
        let indexed: Vec<&AbiParam> = self.params.iter().filter(|p| p.indexed).collect();
        let rest = topics.get(1..).unwrap_or(&[]);
        if rest.len() != indexed.len() {
            return Err(format!(
                "event {} has {} indexed arguments but the log has {} topics after topic 0",
                self.canonical(),
                indexed.len(),
                rest.len()
            ));
        }
        let plain: Vec<&AbiParam> = self.params.iter().filter(|p| !p.indexed).collect();
        let plain_ty = DynSolType::Tuple(plain.iter().map(|p| p.ty.sol()).collect());
        let decoded = plain_ty
            .abi_decode_params(data)
            .map_err(|e| format!("cannot decode log data: {e}"))?;
        let DynSolValue::Tuple(plain_values) = decoded else {
            return Err("cannot decode log data: not a tuple".to_owned());
        };
        let mut out = BTreeMap::new();
        let mut topic_iter = rest.iter();
        let mut plain_iter = plain_values.into_iter();
        for (i, p) in self.params.iter().enumerate() {
            let key = if p.name.is_empty() {
                i.to_string()
            } else {
                p.name.clone()
            };
            let value = if p.indexed {
                let topic = topic_iter.next().ok_or("missing topic")?;
                let sol = p.ty.sol();
                if sol.is_dynamic() || !matches!(p.ty, AbiTy::Elem(_)) {
                    // Dynamic indexed values are stored as their keccak hash.
                    Value::Bytes(Bytes::copy_from_slice(topic.as_slice()))
                } else {
                    let v = sol
                        .abi_decode(topic.as_slice())
                        .map_err(|e| format!("cannot decode topic for {key:?}: {e}"))?;
                    to_value(&p.ty, v)?
                }
            } else {
                let v = plain_iter.next().ok_or("missing log data value")?;
                to_value(&p.ty, v)?
            };
            out.insert(key, value);
        }
        Ok(Value::Map(out))
    }

    /// Decodes ABI-encoded parameters into a map of named values.
    pub(crate) fn decode_params(&self, data: &[u8]) -> Result<Value, String> {
        let ty = DynSolType::Tuple(self.params.iter().map(|p| p.ty.sol()).collect());
        let decoded = ty
            .abi_decode_params(data)
            .map_err(|e| format!("cannot decode data: {e}"))?;
        to_value(&AbiTy::Tuple(self.params.clone()), decoded)
    }
}

impl Signature {
    /// Builds a signature from a JSON ABI description (as `ethabiencode2` takes it):
    /// `{"name": "f", "inputs": [{"name": "a", "type": "uint256"}, {"name": "t", "type":
    /// "tuple[]", "components": […]}]}`. An empty or missing `name` means a bare tuple (no
    /// selector). Top-level inputs must be named, since arguments are looked up by name.
    pub(crate) fn from_json_abi(abi: &Value) -> Result<Signature, String> {
        let m = abi
            .as_map()
            .map_err(|_| format!("expected a JSON object, got {}", abi.describe()))?;
        let name = match m.get("name") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => {
                return Err(format!(
                    "\"name\": expected a string, got {}",
                    other.describe()
                ));
            }
        };
        if !name.chars().all(is_ident_char) {
            return Err(format!("\"name\": invalid function name {name:?}"));
        }
        let inputs = match m.get("inputs") {
            None | Some(Value::Null) => &[][..],
            Some(v) => v
                .as_list()
                .map_err(|_| format!("\"inputs\": expected a list, got {}", v.describe()))?,
        };
        let params = json_params(inputs, "inputs", 0)?;
        if let Some((i, _)) = params.iter().enumerate().find(|(_, p)| p.name.is_empty()) {
            return Err(format!("inputs.{i}: missing argument name"));
        }
        Ok(Signature { name, params })
    }
}

fn json_params(items: &[Value], path: &str, depth: usize) -> Result<Vec<AbiParam>, String> {
    items
        .iter()
        .enumerate()
        .map(|(i, item)| json_param(item, &format!("{path}.{i}"), depth))
        .collect()
}

fn json_param(item: &Value, path: &str, depth: usize) -> Result<AbiParam, String> {
    if depth > MAX_TYPE_DEPTH {
        return Err(format!("{path}: type nested too deeply"));
    }
    let m = item
        .as_map()
        .map_err(|_| format!("{path}: expected an object, got {}", item.describe()))?;
    let name = match m.get("name") {
        None | Some(Value::Null) => String::new(),
        Some(v) => v.to_text().into_owned(),
    };
    let ty_text = m
        .get("type")
        .ok_or_else(|| format!("{path}: missing \"type\""))?
        .to_text();
    let ty_text = ty_text.trim();
    let (base, mut dims) = match ty_text.find('[') {
        Some(at) => (
            ty_text.get(..at).unwrap_or(""),
            ty_text.get(at..).unwrap_or(""),
        ),
        None => (ty_text, ""),
    };
    let mut ty = if base == "tuple" {
        let components = m
            .get("components")
            .ok_or_else(|| format!("{path}: a tuple needs \"components\""))?
            .as_list()
            .map_err(|_| format!("{path}.components: expected a list"))?;
        AbiTy::Tuple(json_params(
            components,
            &format!("{path}.components"),
            depth + 1,
        )?)
    } else {
        match DynSolType::parse(base) {
            Ok(
                t @ (DynSolType::Bool
                | DynSolType::Int(_)
                | DynSolType::Uint(_)
                | DynSolType::FixedBytes(_)
                | DynSolType::Address
                | DynSolType::Bytes
                | DynSolType::String),
            ) => AbiTy::Elem(t),
            _ => return Err(format!("{path}: unknown type {ty_text:?}")),
        }
    };
    let mut nesting = depth;
    while !dims.is_empty() {
        nesting += 1;
        if nesting > MAX_TYPE_DEPTH {
            return Err(format!("{path}: type nested too deeply"));
        }
        let Some(close) = dims.find(']').filter(|_| dims.starts_with('[')) else {
            return Err(format!("{path}: invalid type {ty_text:?}"));
        };
        let digits = dims.get(1..close).unwrap_or("");
        let size = if digits.is_empty() {
            None
        } else {
            match digits.parse::<usize>() {
                Ok(n) if n > 0 && n <= 1024 => Some(n),
                _ => return Err(format!("{path}: invalid array size {digits:?}")),
            }
        };
        ty = AbiTy::Array(Box::new(ty), size);
        dims = dims.get(close + 1..).unwrap_or("");
    }
    Ok(AbiParam {
        name,
        ty,
        indexed: false,
    })
}

fn coerce_tuple(params: &[AbiParam], v: &Value, path: &str) -> Result<Vec<DynSolValue>, String> {
    match v {
        Value::Map(m) => {
            let mut out = Vec::with_capacity(params.len());
            for (i, p) in params.iter().enumerate() {
                let key = if p.name.is_empty() {
                    i.to_string()
                } else {
                    p.name.clone()
                };
                let item = m
                    .get(&key)
                    .ok_or_else(|| format!("{path}: missing value for {key:?}"))?;
                out.push(coerce(&p.ty, item, &format!("{path}.{key}"))?);
            }
            if let Some(extra) = m.keys().find(|k| {
                !params
                    .iter()
                    .enumerate()
                    .any(|(i, p)| &p.name == *k || (p.name.is_empty() && i.to_string() == **k))
            }) {
                return Err(format!("{path}: unexpected key {extra:?}"));
            }
            Ok(out)
        }
        Value::List(items) => {
            if items.len() != params.len() {
                return Err(format!(
                    "{path}: expected {} values, got {}",
                    params.len(),
                    items.len()
                ));
            }
            params
                .iter()
                .zip(items)
                .enumerate()
                .map(|(i, (p, item))| coerce(&p.ty, item, &format!("{path}.{i}")))
                .collect()
        }
        Value::Null if params.is_empty() => Ok(Vec::new()),
        other => Err(format!(
            "{path}: expected a map of arguments, got {}",
            other.describe()
        )),
    }
}

fn coerce(ty: &AbiTy, v: &Value, path: &str) -> Result<DynSolValue, String> {
    let fail = |e: String| format!("{path}: {e}");
    match ty {
        AbiTy::Tuple(ps) => Ok(DynSolValue::Tuple(coerce_tuple(ps, v, path)?)),
        AbiTy::Array(inner, size) => {
            let items = v.as_list().map_err(|e| fail(e.0))?;
            if let Some(n) = size
                && items.len() != *n
            {
                return Err(fail(format!("expected {n} items, got {}", items.len())));
            }
            let values = items
                .iter()
                .enumerate()
                .map(|(i, item)| coerce(inner, item, &format!("{path}.{i}")))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(if size.is_some() {
                DynSolValue::FixedArray(values)
            } else {
                DynSolValue::Array(values)
            })
        }
        AbiTy::Elem(t) => match t {
            DynSolType::Address => Ok(DynSolValue::Address(v.as_address().map_err(|e| fail(e.0))?)),
            DynSolType::Bool => Ok(DynSolValue::Bool(v.as_bool().map_err(|e| fail(e.0))?)),
            DynSolType::Uint(bits) => {
                let int = integer_of(v, &format!("uint{bits}")).map_err(fail)?;
                let u = bigint_to_u256(&int, *bits)
                    .ok_or_else(|| fail(format!("value {int} does not fit in uint{bits}")))?;
                Ok(DynSolValue::Uint(u, *bits))
            }
            DynSolType::Int(bits) => {
                let int = integer_of(v, &format!("int{bits}")).map_err(fail)?;
                let i = bigint_to_i256(&int, *bits)
                    .ok_or_else(|| fail(format!("value {int} does not fit in int{bits}")))?;
                Ok(DynSolValue::Int(i, *bits))
            }
            DynSolType::FixedBytes(n) => {
                let bytes = v.as_bytes().map_err(|e| fail(e.0))?;
                if bytes.len() > *n {
                    return Err(fail(format!(
                        "expected at most {n} bytes for bytes{n}, got {}",
                        bytes.len()
                    )));
                }
                let mut word = B256::ZERO;
                if let Some(dst) = word.get_mut(..bytes.len()) {
                    dst.copy_from_slice(&bytes);
                }
                Ok(DynSolValue::FixedBytes(word, *n))
            }
            DynSolType::Bytes => Ok(DynSolValue::Bytes(
                v.as_bytes().map_err(|e| fail(e.0))?.into_owned(),
            )),
            DynSolType::String => Ok(DynSolValue::String(v.to_text().into_owned())),
            other => Err(fail(format!("unsupported type {}", other.sol_type_name()))),
        },
    }
}

fn integer_of(v: &Value, ty: &str) -> Result<num_bigint::BigInt, String> {
    if let Value::Bytes(b) = v {
        if b.len() > 32 {
            return Err(format!(
                "expected at most 32 bytes for {ty}, got {}",
                b.len()
            ));
        }
        return Ok(num_bigint::BigInt::from_bytes_be(num_bigint::Sign::Plus, b));
    }
    let d = v.as_decimal().map_err(|e| e.0)?;
    decimal::to_integer(&d)
        .ok_or_else(|| format!("expected an integer for {ty}, got {}", format_decimal(&d)))
}

/// Converts a decoded ABI value into a pipeline value, naming tuple components.
pub(crate) fn to_value(ty: &AbiTy, v: DynSolValue) -> Result<Value, String> {
    Ok(match (ty, v) {
        (AbiTy::Tuple(ps), DynSolValue::Tuple(items)) => {
            let mut out = BTreeMap::new();
            for (i, (p, item)) in ps.iter().zip(items).enumerate() {
                let key = if p.name.is_empty() {
                    i.to_string()
                } else {
                    p.name.clone()
                };
                out.insert(key, to_value(&p.ty, item)?);
            }
            Value::Map(out)
        }
        (AbiTy::Array(inner, _), DynSolValue::Array(items) | DynSolValue::FixedArray(items)) => {
            Value::List(
                items
                    .into_iter()
                    .map(|i| to_value(inner, i))
                    .collect::<Result<_, _>>()?,
            )
        }
        (_, DynSolValue::Bool(b)) => Value::Bool(b),
        (_, DynSolValue::Uint(u, _)) => Value::Decimal(decimal::from_u256(u)),
        (_, DynSolValue::Int(i, _)) => Value::Decimal(decimal::from_i256(i)),
        (_, DynSolValue::FixedBytes(word, n)) => {
            Value::Bytes(Bytes::copy_from_slice(word.get(..n).unwrap_or(&[])))
        }
        (_, DynSolValue::Address(a)) => Value::Address(a),
        (_, DynSolValue::Bytes(b)) => Value::Bytes(Bytes::from(b)),
        (_, DynSolValue::String(s)) => Value::String(s),
        (_, other) => {
            return Err(format!(
                "unsupported decoded value of type {}",
                other
                    .sol_type_name()
                    .map(|c| c.into_owned())
                    .unwrap_or_default()
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_signatures() {
        let s = Signature::parse(
            "OracleRequest(bytes32 indexed specId, address requester, uint256 payment, bytes data)",
        )
        .unwrap();
        assert_eq!(
            s.canonical(),
            "OracleRequest(bytes32,address,uint256,bytes)"
        );
        assert!(s.params[0].indexed);
        assert_eq!(s.params[3].name, "data");
        let t = Signature::parse("(uint256 value)").unwrap();
        assert_eq!(t.name, "");
        let n = Signature::parse("f((uint a, bytes b)[2] xs, uint[] ys)").unwrap();
        assert_eq!(n.canonical(), "f((uint256,bytes)[2],uint256[])");
        assert_eq!(
            hex::encode(
                Signature::parse("transfer(address,uint256)")
                    .unwrap()
                    .selector()
            ),
            "a9059cbb"
        );
        assert!(Signature::parse("f(uint257)").is_err());
        assert!(Signature::parse("f(uint256").is_err());
        assert!(Signature::parse("f(uint256) x").is_err());
        assert!(Signature::parse("f(uint[0])").is_err());
    }

    #[test]
    fn encodes_with_checks() {
        let s = Signature::parse("(uint8 a, int8 b, bytes4 c)").unwrap();
        let ok = Value::map([
            ("a", Value::from(255u64)),
            ("b", Value::from(-128i64)),
            ("c", Value::from("0x01020304")),
        ]);
        assert_eq!(s.encode_params(&ok).unwrap().len(), 96);
        let bad = Value::map([
            ("a", Value::from(256u64)),
            ("b", Value::from(0i64)),
            ("c", Value::from("0x01")),
        ]);
        assert_eq!(
            s.encode_params(&bad).unwrap_err(),
            "data.a: value 256 does not fit in uint8"
        );
        let frac = Value::map([
            ("a", Value::from("1.5")),
            ("b", Value::from(0i64)),
            ("c", Value::from("0x01")),
        ]);
        assert_eq!(
            s.encode_params(&frac).unwrap_err(),
            "data.a: expected an integer for uint8, got 1.5"
        );
    }
}
