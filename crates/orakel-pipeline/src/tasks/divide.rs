//! `divide`: `input` (defaults to the first input) divided by `divisor`, rounded half away
//! from zero to `precision` fractional digits (default 16, as established).

use super::{
    ParamError, Params, PureTask, Task, TaskCx, TaskDef, eval, eval_opt, named, param_or_input,
};
use crate::decimal::{checked_result, div_round};
use crate::template::StrTemplate;
use crate::value::Value;

pub(crate) const DEF: TaskDef = TaskDef {
    name: "divide",
    build,
};

/// Fractional digits kept when `precision` is not set.
pub(crate) const DEFAULT_PRECISION: i64 = 16;
const MAX_PRECISION: i64 = 1_000;

#[derive(Debug)]
struct Divide {
    input: Option<StrTemplate>,
    divisor: StrTemplate,
    precision: Option<StrTemplate>,
}

fn precision_of(v: &Value) -> Result<i64, crate::value::ValueError> {
    let p = v.as_i64()?;
    if p.abs() > MAX_PRECISION {
        return Err(crate::value::ValueError(format!(
            "precision {p} out of range (at most {MAX_PRECISION})"
        )));
    }
    Ok(p)
}

fn build(p: &mut Params<'_>) -> Result<Box<dyn Task>, ParamError> {
    let input = p.string("input")?;
    let divisor = p.required("divisor")?;
    let precision = p.string("precision")?;
    p.check("input", input.as_ref(), |v| v.as_decimal().map(drop))?;
    p.check("divisor", Some(&divisor), |v| v.as_decimal().map(drop))?;
    p.check("precision", precision.as_ref(), precision_of)?;
    Ok(Box::new(Divide {
        input,
        divisor,
        precision,
    }))
}

impl PureTask for Divide {
    fn eval(&self, cx: &TaskCx<'_>) -> Result<Value, String> {
        let input = param_or_input(self.input.as_ref(), "input", cx)?;
        let divisor = eval(&self.divisor, "divisor", cx)?;
        let a = named("input", input.as_decimal())?;
        let b = named("divisor", divisor.as_decimal())?;
        let precision = match eval_opt(self.precision.as_ref(), "precision", cx)? {
            Some(v) => named("precision", precision_of(&v))?,
            None => DEFAULT_PRECISION,
        };
        let q = div_round(&a, &b, precision).map_err(|e| format!("divisor: {e}"))?;
        Ok(Value::Decimal(checked_result(q.normalized())?))
    }
}
