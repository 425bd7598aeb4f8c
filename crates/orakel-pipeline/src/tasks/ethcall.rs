//! `ethcall`: a read-only contract call through the injected
//! [`ChainReader`](crate::ChainReader). Output: the returned bytes.
//!
//! Parameters: `contract` and `data` (required; `data` includes the selector and must not be
//! empty), `from`, `gas`, `gasPrice`, `gasTipCap`, `gasFeeCap`, `gasUnlimited` (leave the gas
//! to the node; exclusive with `gas`), `block` (`latest` (default), `pending` or a number),
//! `evmChainID`. `extractRevertReason` is accepted: a revert's error always carries the
//! reason the chain gave.

use super::{Exec, ParamError, Params, Task, TaskCx, TaskDef, TaskEnv, eval, eval_opt, named};
use crate::chain::{BlockRef, ChainCall};
use crate::decimal;
use alloy_primitives::Address;

use crate::template::StrTemplate;
use crate::value::{Value, ValueError};

pub(crate) const DEF: TaskDef = TaskDef {
    name: "ethcall",
    build,
};

#[derive(Debug)]
struct EthCall {
    contract: StrTemplate,
    data: StrTemplate,
    from: Option<StrTemplate>,
    gas: Option<StrTemplate>,
    gas_price: Option<StrTemplate>,
    gas_tip_cap: Option<StrTemplate>,
    gas_fee_cap: Option<StrTemplate>,
    gas_unlimited: Option<StrTemplate>,
    block: Option<StrTemplate>,
    evm_chain_id: Option<StrTemplate>,
}

/// A wei amount.
pub(super) fn u128_of(v: &Value) -> Result<u128, ValueError> {
    let d = v.as_decimal()?;
    decimal::to_integer(&d)
        .and_then(|i| num_traits::ToPrimitive::to_u128(&i))
        .ok_or_else(|| {
            ValueError(format!(
                "expected a non-negative integer, got {}",
                v.describe()
            ))
        })
}

/// `latest`, `pending` or a block number.
pub(super) fn block_of(v: &Value) -> Result<BlockRef, ValueError> {
    if let Value::String(s) = v {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "latest" => return Ok(BlockRef::Latest),
            "pending" => return Ok(BlockRef::Pending),
            _ => {}
        }
    }
    v.as_u64().map(BlockRef::Number).map_err(|_| {
        ValueError(format!(
            "expected \"latest\", \"pending\" or a block number, got {}",
            v.describe()
        ))
    })
}

/// `from`: an address (a variable holding a list of addresses gives its first one).
pub(super) fn from_of(v: &Value) -> Result<Option<Address>, ValueError> {
    match v {
        Value::List(items) => items.first().map(Value::as_address).transpose(),
        Value::Null => Ok(None),
        other => other.as_address().map(Some),
    }
}

/// Evaluates an optional integer parameter.
pub(super) fn opt<T>(
    tpl: Option<&StrTemplate>,
    name: &str,
    cx: &TaskCx<'_>,
    convert: impl FnOnce(&Value) -> Result<T, ValueError>,
) -> Result<Option<T>, String> {
    match eval_opt(tpl, name, cx)? {
        Some(v) => Ok(Some(named(name, convert(&v))?)),
        None => Ok(None),
    }
}

fn build(p: &mut Params<'_>) -> Result<Box<dyn Task>, ParamError> {
    let contract = p.required("contract")?;
    let data = p.required("data")?;
    let from = p.string("from")?;
    let gas = p.string("gas")?;
    let gas_price = p.string("gasPrice")?;
    let gas_tip_cap = p.string("gasTipCap")?;
    let gas_fee_cap = p.string("gasFeeCap")?;
    let gas_unlimited = p.string("gasUnlimited")?;
    let block = p.string("block")?;
    let evm_chain_id = p.string("evmChainID")?;
    let extract = p.string("extractRevertReason")?;
    p.check("contract", Some(&contract), Value::as_address)?;
    p.check("from", from.as_ref(), from_of)?;
    p.check("gas", gas.as_ref(), Value::as_u64)?;
    p.check("gasPrice", gas_price.as_ref(), u128_of)?;
    p.check("gasTipCap", gas_tip_cap.as_ref(), u128_of)?;
    p.check("gasFeeCap", gas_fee_cap.as_ref(), u128_of)?;
    p.check("gasUnlimited", gas_unlimited.as_ref(), Value::as_bool)?;
    p.check("block", block.as_ref(), block_of)?;
    p.check("evmChainID", evm_chain_id.as_ref(), Value::as_u64)?;
    p.check("extractRevertReason", extract.as_ref(), Value::as_bool)?;
    Ok(Box::new(EthCall {
        contract,
        data,
        from,
        gas,
        gas_price,
        gas_tip_cap,
        gas_fee_cap,
        gas_unlimited,
        block,
        evm_chain_id,
    }))
}

impl EthCall {
    fn call(&self, cx: &TaskCx<'_>) -> Result<ChainCall, String> {
        let to = named(
            "contract",
            eval(&self.contract, "contract", cx)?.as_address(),
        )?;
        let data = eval(&self.data, "data", cx)?;
        let data = named("data", data.as_bytes())?.into_owned();
        if data.is_empty() {
            return Err("data: must not be empty".to_owned());
        }
        let gas = opt(self.gas.as_ref(), "gas", cx, Value::as_u64)?;
        let unlimited = opt(
            self.gas_unlimited.as_ref(),
            "gasUnlimited",
            cx,
            Value::as_bool,
        )?
        .unwrap_or(false);
        if unlimited && gas.is_some() {
            return Err("gas: must not be set together with gasUnlimited=true".to_owned());
        }
        Ok(ChainCall {
            from: opt(self.from.as_ref(), "from", cx, from_of)?.flatten(),
            to,
            data: data.into(),
            gas,
            gas_price: opt(self.gas_price.as_ref(), "gasPrice", cx, u128_of)?,
            gas_tip_cap: opt(self.gas_tip_cap.as_ref(), "gasTipCap", cx, u128_of)?,
            gas_fee_cap: opt(self.gas_fee_cap.as_ref(), "gasFeeCap", cx, u128_of)?,
            block: opt(self.block.as_ref(), "block", cx, block_of)?.unwrap_or_default(),
            evm_chain_id: opt(self.evm_chain_id.as_ref(), "evmChainID", cx, Value::as_u64)?,
        })
    }
}

impl Task for EthCall {
    fn run<'a>(&'a self, cx: &TaskCx<'_>, env: TaskEnv<'a>) -> Exec<'a> {
        let call = match self.call(cx) {
            Ok(c) => c,
            Err(e) => return Exec::Ready(Err(e)),
        };
        let Some(chain) = env.shared.chain.clone() else {
            return Exec::Ready(Err(
                "no chain reader is configured on this runner".to_owned()
            ));
        };
        Exec::Pending(Box::pin(async move {
            let out = chain
                .call(call)
                .await
                .map_err(|e| format!("eth_call failed: {e}"))?;
            Ok(Value::Bytes(out))
        }))
    }

    fn is_io(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_forms() {
        assert_eq!(
            block_of(&Value::from("pending")).unwrap(),
            BlockRef::Pending
        );
        assert_eq!(block_of(&Value::from("Latest")).unwrap(), BlockRef::Latest);
        assert_eq!(block_of(&Value::from("17")).unwrap(), BlockRef::Number(17));
        assert!(block_of(&Value::from("safe-ish")).is_err());
        assert_eq!(u128_of(&Value::from("1000000000")).unwrap(), 1_000_000_000);
        assert!(u128_of(&Value::from("-1")).is_err());
        assert!(u128_of(&Value::from("1.5")).is_err());
    }
}
