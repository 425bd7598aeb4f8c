//! `median`: the median of `values` (a JSON list, variables allowed) or of the inputs.
//!
//! Up to `allowedFaults` values may be failures (default: all but one); failures are
//! dropped before computing. With an even count the two middle values are averaged exactly.

use bigdecimal::BigDecimal;

use super::{
    ParamError, Params, PureTask, Task, TaskCx, TaskDef, eval_opt, named, values_or_inputs,
};
use crate::decimal::checked_result;
use crate::template::{JsonTpl, StrTemplate};
use crate::value::Value;

pub(crate) const DEF: TaskDef = TaskDef {
    name: "median",
    build,
};

#[derive(Debug)]
struct Median {
    values: Option<JsonTpl>,
    allowed_faults: Option<StrTemplate>,
}

fn build(p: &mut Params<'_>) -> Result<Box<dyn Task>, ParamError> {
    let values = p.json("values")?;
    let allowed_faults = p.string("allowedFaults")?;
    p.check("allowedFaults", allowed_faults.as_ref(), Value::as_u64)?;
    Ok(Box::new(Median {
        values,
        allowed_faults,
    }))
}

/// Collects decimals from possibly-failed values, enforcing the fault budget.
pub(crate) fn gather_decimals(
    items: Vec<Result<Value, String>>,
    allowed_faults: Option<u64>,
) -> Result<Vec<BigDecimal>, String> {
    let total = items.len();
    let allowed = allowed_faults
        .map(|a| usize::try_from(a).unwrap_or(usize::MAX))
        .unwrap_or(total.saturating_sub(1));
    let mut faults = Vec::new();
    let mut values = Vec::with_capacity(total);
    for item in items {
        match item {
            Ok(v) => values.push(named("values", v.as_decimal())?.into_owned()),
            Err(e) => faults.push(e),
        }
    }
    if faults.len() > allowed {
        return Err(format!(
            "too many faulty inputs: {} of {total} failed, {allowed} allowed (first: {})",
            faults.len(),
            faults.first().map(String::as_str).unwrap_or("")
        ));
    }
    if values.is_empty() {
        return Err("values: no values to aggregate".to_owned());
    }
    Ok(values)
}

/// The exact median of a non-empty list.
pub(crate) fn median_of(mut values: Vec<BigDecimal>) -> Option<BigDecimal> {
    values.sort();
    let k = values.len() / 2;
    if values.len() % 2 == 1 {
        values.get(k).cloned()
    } else {
        let a = values.get(k.checked_sub(1)?)?;
        let b = values.get(k)?;
        Some((a + b) * BigDecimal::new(5.into(), 1))
    }
}

impl PureTask for Median {
    fn eval(&self, cx: &TaskCx<'_>) -> Result<Value, String> {
        let allowed = match eval_opt(self.allowed_faults.as_ref(), "allowedFaults", cx)? {
            Some(v) => Some(named("allowedFaults", v.as_u64())?),
            None => None,
        };
        let values = gather_decimals(values_or_inputs(self.values.as_ref(), cx), allowed)?;
        let median = median_of(values).ok_or("values: no values to aggregate")?;
        Ok(Value::Decimal(checked_result(median.normalized())?))
    }

    fn tolerates_failed_inputs(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> BigDecimal {
        BigDecimal::from_str(s).unwrap()
    }

    #[test]
    fn medians() {
        assert_eq!(median_of(vec![d("3"), d("1"), d("2")]), Some(d("2")));
        assert_eq!(
            median_of(vec![d("4"), d("1"), d("2"), d("3")]),
            Some(d("2.5"))
        );
        assert_eq!(median_of(vec![]), None);
        let items = vec![
            Ok(Value::from(1u64)),
            Err("boom".to_owned()),
            Ok(Value::from(3u64)),
        ];
        assert_eq!(gather_decimals(items.clone(), Some(1)).unwrap().len(), 2);
        let e = gather_decimals(items, Some(0)).unwrap_err();
        assert!(
            e.starts_with("too many faulty inputs: 1 of 3 failed, 0 allowed"),
            "{e}"
        );
        assert!(gather_decimals(vec![Err("x".into())], None).is_err());
    }
}
