//! `sum`: the exact sum of `values` (or the inputs); up to `allowedFaults` may have failed.

use bigdecimal::BigDecimal;

use super::median::gather_decimals;
use super::{
    ParamError, Params, PureTask, Task, TaskCx, TaskDef, eval_opt, named, values_or_inputs,
};
use crate::decimal::checked_result;
use crate::template::{JsonTpl, StrTemplate};
use crate::value::Value;

pub(crate) const DEF: TaskDef = TaskDef { name: "sum", build };

#[derive(Debug)]
struct Sum {
    values: Option<JsonTpl>,
    allowed_faults: Option<StrTemplate>,
}

fn build(p: &mut Params<'_>) -> Result<Box<dyn Task>, ParamError> {
    let values = p.json("values")?;
    let allowed_faults = p.string("allowedFaults")?;
    p.check("allowedFaults", allowed_faults.as_ref(), Value::as_u64)?;
    Ok(Box::new(Sum {
        values,
        allowed_faults,
    }))
}

impl PureTask for Sum {
    fn eval(&self, cx: &TaskCx<'_>) -> Result<Value, String> {
        let allowed = match eval_opt(self.allowed_faults.as_ref(), "allowedFaults", cx)? {
            Some(v) => Some(named("allowedFaults", v.as_u64())?),
            None => None,
        };
        let values = gather_decimals(values_or_inputs(self.values.as_ref(), cx), allowed)?;
        let total = values.iter().fold(BigDecimal::from(0), |acc, v| acc + v);
        Ok(Value::Decimal(checked_result(total.normalized())?))
    }

    fn tolerates_failed_inputs(&self) -> bool {
        true
    }
}
