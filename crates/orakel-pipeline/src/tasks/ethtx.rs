//! `ethtx`: hands a transaction to the node's transaction manager through the injected
//! [`EthTxSink`](crate::EthTxSink). Parameters: `to`, `data` (required), `from` (an address
//! or a list; the first is used), `gasLimit`, `minConfirmations` (default 0), `evmChainID`,
//! `failOnRevert`. `txMeta` and `transmitChecker` are accepted and ignored. The sink waits
//! for `minConfirmations` and applies `failOnRevert` (the node's `ChainTxSink`).
//! Output: a map `{txId, txHash}`.

use super::{Exec, ParamError, Params, Task, TaskCx, TaskDef, TaskEnv, eval, eval_opt, named};
use crate::runner::EthTxRequest;
use crate::template::{JsonTpl, StrTemplate};
use crate::value::Value;

pub(crate) const DEF: TaskDef = TaskDef {
    name: "ethtx",
    build,
};

#[derive(Debug)]
struct EthTx {
    to: StrTemplate,
    data: StrTemplate,
    from: Option<JsonTpl>,
    gas_limit: Option<StrTemplate>,
    min_confirmations: Option<StrTemplate>,
    evm_chain_id: Option<StrTemplate>,
    fail_on_revert: Option<StrTemplate>,
}

fn build(p: &mut Params<'_>) -> Result<Box<dyn Task>, ParamError> {
    let to = p.required("to")?;
    let data = p.required("data")?;
    let from = p.json("from")?;
    let gas_limit = p.string("gasLimit")?;
    let min_confirmations = p.string("minConfirmations")?;
    let evm_chain_id = p.string("evmChainID")?;
    let fail_on_revert = p.string("failOnRevert")?;
    p.ignored("txMeta", "transaction metadata is not forwarded");
    p.ignored("transmitChecker", "transmit checkers are not supported");
    p.check("to", Some(&to), Value::as_address)?;
    p.check("gasLimit", gas_limit.as_ref(), Value::as_u64)?;
    p.check(
        "minConfirmations",
        min_confirmations.as_ref(),
        Value::as_u64,
    )?;
    p.check("evmChainID", evm_chain_id.as_ref(), Value::as_u64)?;
    p.check("failOnRevert", fail_on_revert.as_ref(), Value::as_bool)?;
    Ok(Box::new(EthTx {
        to,
        data,
        from,
        gas_limit,
        min_confirmations,
        evm_chain_id,
        fail_on_revert,
    }))
}

impl EthTx {
    fn request(&self, cx: &TaskCx<'_>, env: &TaskEnv<'_>) -> Result<EthTxRequest, String> {
        let to = named("to", eval(&self.to, "to", cx)?.as_address())?;
        let data = eval(&self.data, "data", cx)?;
        let data = named("data", data.as_bytes())?.into_owned();
        let from = match &self.from {
            None => None,
            Some(t) => match t.eval(cx.scope).map_err(|e| format!("from: {e}"))? {
                Value::List(items) => match items.first() {
                    Some(v) => Some(named("from", v.as_address())?),
                    None => None,
                },
                Value::Null => None,
                v => Some(named("from", v.as_address())?),
            },
        };
        let u64_of = |tpl: Option<&StrTemplate>, name: &str| -> Result<Option<u64>, String> {
            match eval_opt(tpl, name, cx)? {
                Some(v) => Ok(Some(named(name, v.as_u64())?)),
                None => Ok(None),
            }
        };
        let gas_limit = u64_of(self.gas_limit.as_ref(), "gasLimit")?;
        let min_confirmations = u64_of(self.min_confirmations.as_ref(), "minConfirmations")?;
        let evm_chain_id = u64_of(self.evm_chain_id.as_ref(), "evmChainID")?;
        let fail_on_revert = match eval_opt(self.fail_on_revert.as_ref(), "failOnRevert", cx)? {
            Some(v) => named("failOnRevert", v.as_bool())?,
            None => false,
        };
        Ok(EthTxRequest {
            idempotency_key: format!("{}/{}", env.run_id, env.dot_id),
            from,
            to,
            data: data.into(),
            gas_limit,
            min_confirmations: min_confirmations.unwrap_or(0),
            evm_chain_id,
            fail_on_revert,
        })
    }
}

impl Task for EthTx {
    fn run<'a>(&'a self, cx: &TaskCx<'_>, env: TaskEnv<'a>) -> Exec<'a> {
        let request = match self.request(cx, &env) {
            Ok(r) => r,
            Err(e) => return Exec::Ready(Err(e)),
        };
        let Some(sink) = env.shared.eth.clone() else {
            return Exec::Ready(Err(
                "no transaction sink is configured on this runner".to_owned()
            ));
        };
        Exec::Pending(Box::pin(async move {
            let submitted = sink
                .submit(request)
                .await
                .map_err(|e| format!("transaction rejected: {e}"))?;
            Ok(Value::map([
                ("txId", Value::from(submitted.tx_id)),
                (
                    "txHash",
                    submitted.tx_hash.map(Value::from).unwrap_or(Value::Null),
                ),
            ]))
        }))
    }

    fn is_io(&self) -> bool {
        true
    }
}
