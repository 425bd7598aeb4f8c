//! `mean`: the average of `values` (or the inputs), rounded half away from zero to
//! `precision` fractional digits (default 16); up to `allowedFaults` may have failed.

use bigdecimal::BigDecimal;

use super::divide::DEFAULT_PRECISION;
use super::median::gather_decimals;
use super::{
    ParamError, Params, PureTask, Task, TaskCx, TaskDef, eval_opt, named, values_or_inputs,
};
use crate::decimal::{checked_result, div_round};
use crate::template::{JsonTpl, StrTemplate};
use crate::value::Value;

pub(crate) const DEF: TaskDef = TaskDef {
    name: "mean",
    build,
};

#[derive(Debug)]
struct Mean {
    values: Option<JsonTpl>,
    allowed_faults: Option<StrTemplate>,
    precision: Option<StrTemplate>,
}

fn build(p: &mut Params<'_>) -> Result<Box<dyn Task>, ParamError> {
    let values = p.json("values")?;
    let allowed_faults = p.string("allowedFaults")?;
    let precision = p.string("precision")?;
    p.check("allowedFaults", allowed_faults.as_ref(), Value::as_u64)?;
    p.check("precision", precision.as_ref(), Value::as_i64)?;
    Ok(Box::new(Mean {
        values,
        allowed_faults,
        precision,
    }))
}

impl PureTask for Mean {
    fn eval(&self, cx: &TaskCx<'_>) -> Result<Value, String> {
        let allowed = match eval_opt(self.allowed_faults.as_ref(), "allowedFaults", cx)? {
            Some(v) => Some(named("allowedFaults", v.as_u64())?),
            None => None,
        };
        let precision = match eval_opt(self.precision.as_ref(), "precision", cx)? {
            Some(v) => named("precision", v.as_i64())?,
            None => DEFAULT_PRECISION,
        };
        let values = gather_decimals(values_or_inputs(self.values.as_ref(), cx), allowed)?;
        let count = BigDecimal::from(values.len() as u64);
        let total = values.iter().fold(BigDecimal::from(0), |acc, v| acc + v);
        let mean = div_round(&total, &count, precision)?;
        Ok(Value::Decimal(checked_result(mean.normalized())?))
    }

    fn tolerates_failed_inputs(&self) -> bool {
        true
    }
}
