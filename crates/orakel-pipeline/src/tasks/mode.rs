//! `mode`: the most common value(s) of `values` (or the inputs). Output:
//! `{"results": [...], "occurrences": n}`; up to `allowedFaults` may have failed.

use super::{
    ParamError, Params, PureTask, Task, TaskCx, TaskDef, eval_opt, named, values_or_inputs,
};
use crate::template::{JsonTpl, StrTemplate};
use crate::value::Value;

pub(crate) const DEF: TaskDef = TaskDef {
    name: "mode",
    build,
};

#[derive(Debug)]
struct Mode {
    values: Option<JsonTpl>,
    allowed_faults: Option<StrTemplate>,
}

fn build(p: &mut Params<'_>) -> Result<Box<dyn Task>, ParamError> {
    let values = p.json("values")?;
    let allowed_faults = p.string("allowedFaults")?;
    p.check("allowedFaults", allowed_faults.as_ref(), Value::as_u64)?;
    Ok(Box::new(Mode {
        values,
        allowed_faults,
    }))
}

impl PureTask for Mode {
    fn eval(&self, cx: &TaskCx<'_>) -> Result<Value, String> {
        let items = values_or_inputs(self.values.as_ref(), cx);
        let total = items.len();
        let allowed = match eval_opt(self.allowed_faults.as_ref(), "allowedFaults", cx)? {
            Some(v) => usize::try_from(named("allowedFaults", v.as_u64())?).unwrap_or(usize::MAX),
            None => total.saturating_sub(1),
        };
        let values: Vec<Value> = items
            .iter()
            .filter_map(|r| r.as_ref().ok().cloned())
            .collect();
        let faults = total - values.len();
        if faults > allowed {
            return Err(format!(
                "too many faulty inputs: {faults} of {total} failed, {allowed} allowed"
            ));
        }
        if values.is_empty() {
            return Err("values: no values to aggregate".to_owned());
        }
        // Count by canonical text, keeping first-seen order.
        let mut counts: Vec<(String, Value, usize)> = Vec::new();
        for v in values {
            let key = match &v {
                Value::Decimal(d) => crate::decimal::format_decimal(d),
                other => other.to_json(),
            };
            match counts.iter_mut().find(|(k, _, _)| *k == key) {
                Some(entry) => entry.2 += 1,
                None => counts.push((key, v, 1)),
            }
        }
        let max = counts.iter().map(|c| c.2).max().unwrap_or(0);
        let results: Vec<Value> = counts
            .into_iter()
            .filter(|c| c.2 == max)
            .map(|c| c.1)
            .collect();
        Ok(Value::map([
            ("results", Value::List(results)),
            ("occurrences", Value::from(max as u64)),
        ]))
    }

    fn tolerates_failed_inputs(&self) -> bool {
        true
    }
}
