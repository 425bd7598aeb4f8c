//! `estimategaslimit`: estimates the gas of a call through the injected
//! [`ChainReader`](crate::ChainReader) and scales it. Output: `estimate × multiplier`,
//! truncated to an integer (a decimal value).
//!
//! Parameters: `to` and `data` (required), `from`, `multiplier` (default 1, must be
//! positive), `block` (`latest` (default), `pending` or a number), `evmChainID`. `input` is
//! accepted and ignored. A failed estimate fails the task (no silent fallback to a maximum
//! gas limit): set `retries` to ride out a flaky endpoint.

use bigdecimal::BigDecimal;

use super::ethcall::{block_of, from_of, opt};
use super::{Exec, ParamError, Params, Task, TaskCx, TaskDef, TaskEnv, eval, named};
use crate::chain::ChainCall;
use crate::template::StrTemplate;
use crate::value::{Value, ValueError};

pub(crate) const DEF: TaskDef = TaskDef {
    name: "estimategaslimit",
    build,
};

#[derive(Debug)]
struct Estimate {
    to: StrTemplate,
    data: StrTemplate,
    from: Option<StrTemplate>,
    multiplier: Option<StrTemplate>,
    block: Option<StrTemplate>,
    evm_chain_id: Option<StrTemplate>,
}

fn multiplier_of(v: &Value) -> Result<BigDecimal, ValueError> {
    let d = v.as_decimal()?.into_owned();
    if d.sign() != bigdecimal::num_bigint::Sign::Plus {
        return Err(ValueError(format!(
            "must be positive, got {}",
            crate::decimal::format_decimal(&d)
        )));
    }
    Ok(d)
}

fn build(p: &mut Params<'_>) -> Result<Box<dyn Task>, ParamError> {
    let to = p.required("to")?;
    let data = p.required("data")?;
    let from = p.string("from")?;
    let multiplier = p.string("multiplier")?;
    let block = p.string("block")?;
    let evm_chain_id = p.string("evmChainID")?;
    p.ignored("input", "the call is built from to, from and data");
    p.check("to", Some(&to), Value::as_address)?;
    p.check("from", from.as_ref(), from_of)?;
    p.check("multiplier", multiplier.as_ref(), multiplier_of)?;
    p.check("block", block.as_ref(), block_of)?;
    p.check("evmChainID", evm_chain_id.as_ref(), Value::as_u64)?;
    Ok(Box::new(Estimate {
        to,
        data,
        from,
        multiplier,
        block,
        evm_chain_id,
    }))
}

impl Estimate {
    fn prepare(&self, cx: &TaskCx<'_>) -> Result<(ChainCall, BigDecimal), String> {
        let to = named("to", eval(&self.to, "to", cx)?.as_address())?;
        let data = eval(&self.data, "data", cx)?;
        let data = named("data", data.as_bytes())?.into_owned();
        let multiplier = opt(self.multiplier.as_ref(), "multiplier", cx, multiplier_of)?
            .unwrap_or(BigDecimal::from(1));
        let call = ChainCall {
            from: opt(self.from.as_ref(), "from", cx, from_of)?.flatten(),
            to,
            data: data.into(),
            block: opt(self.block.as_ref(), "block", cx, block_of)?.unwrap_or_default(),
            evm_chain_id: opt(self.evm_chain_id.as_ref(), "evmChainID", cx, Value::as_u64)?,
            ..ChainCall::default()
        };
        Ok((call, multiplier))
    }
}

/// `estimate × multiplier`, truncated toward zero.
fn scale(estimate: u64, multiplier: &BigDecimal) -> Result<Value, String> {
    let product = BigDecimal::from(estimate) * multiplier;
    let int = product.with_scale_round(0, bigdecimal::RoundingMode::Down);
    crate::decimal::to_u64(&int)
        .map(|g| Value::Decimal(BigDecimal::from(g)))
        .ok_or_else(|| {
            format!(
                "gas estimate {estimate} × multiplier {} does not fit in 64 bits",
                crate::decimal::format_decimal(multiplier)
            )
        })
}

impl Task for Estimate {
    fn run<'a>(&'a self, cx: &TaskCx<'_>, env: TaskEnv<'a>) -> Exec<'a> {
        let (call, multiplier) = match self.prepare(cx) {
            Ok(p) => p,
            Err(e) => return Exec::Ready(Err(e)),
        };
        let Some(chain) = env.shared.chain.clone() else {
            return Exec::Ready(Err(
                "no chain reader is configured on this runner".to_owned()
            ));
        };
        Exec::Pending(Box::pin(async move {
            let estimate = chain
                .estimate_gas(call)
                .await
                .map_err(|e| format!("eth_estimateGas failed: {e}"))?;
            scale(estimate, &multiplier)
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
    fn scales_and_truncates() {
        let m = |s: &str| multiplier_of(&Value::from(s)).unwrap();
        assert_eq!(scale(21_000, &m("1.5")).unwrap().to_json(), "31500");
        assert_eq!(scale(21_001, &m("1.5")).unwrap().to_json(), "31501");
        assert_eq!(scale(3, &m("0.5")).unwrap().to_json(), "1");
        assert!(scale(u64::MAX, &m("2")).is_err());
        assert!(multiplier_of(&Value::from("0")).is_err());
        assert!(multiplier_of(&Value::from("-1")).is_err());
    }
}
