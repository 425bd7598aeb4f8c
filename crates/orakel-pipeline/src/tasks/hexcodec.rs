//! `hexencode` / `hexdecode`. Encoding: strings and bytes become `0x`-prefixed hex of their
//! bytes, non-negative integers their hex value. Decoding: a `0x` hex string into bytes.

use super::{ParamError, Params, PureTask, Task, TaskCx, TaskDef, param_or_input};
use crate::decimal::to_integer;
use crate::template::StrTemplate;
use crate::value::{Value, parse_hex};

pub(crate) const ENCODE: TaskDef = TaskDef {
    name: "hexencode",
    build: build_encode,
};
pub(crate) const DECODE: TaskDef = TaskDef {
    name: "hexdecode",
    build: build_decode,
};

#[derive(Debug)]
struct HexEncode {
    input: Option<StrTemplate>,
}

#[derive(Debug)]
struct HexDecode {
    input: Option<StrTemplate>,
}

fn build_encode(p: &mut Params<'_>) -> Result<Box<dyn Task>, ParamError> {
    Ok(Box::new(HexEncode {
        input: p.string("input")?,
    }))
}

fn build_decode(p: &mut Params<'_>) -> Result<Box<dyn Task>, ParamError> {
    Ok(Box::new(HexDecode {
        input: p.string("input")?,
    }))
}

impl PureTask for HexEncode {
    fn eval(&self, cx: &TaskCx<'_>) -> Result<Value, String> {
        let input = param_or_input(self.input.as_ref(), "input", cx)?;
        match input.as_ref() {
            Value::String(s) => Ok(Value::String(format!("0x{}", hex::encode(s.as_bytes())))),
            Value::Bytes(b) => Ok(Value::String(format!("0x{}", hex::encode(b)))),
            Value::Decimal(d) => {
                let int = to_integer(d)
                    .filter(|i| i.sign() != num_bigint::Sign::Minus)
                    .ok_or_else(|| {
                        format!("input: cannot hex-encode {d}: not a non-negative integer")
                    })?;
                Ok(Value::String(format!("0x{}", int.to_str_radix(16))))
            }
            other => Err(format!("input: cannot hex-encode {}", other.describe())),
        }
    }
}

impl PureTask for HexDecode {
    fn eval(&self, cx: &TaskCx<'_>) -> Result<Value, String> {
        let input = param_or_input(self.input.as_ref(), "input", cx)?;
        let text = input.to_text();
        parse_hex(text.trim()).map(Value::from).ok_or_else(|| {
            format!(
                "input: {:?} is not 0x-prefixed hex",
                text.chars().take(64).collect::<String>()
            )
        })
    }
}
