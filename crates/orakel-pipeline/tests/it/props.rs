//! Property tests: CBOR round trips, exact arithmetic (`multiply`, `divide`, `sum`, `mean`,
//! `median`) against a num-bigint rational reference, `median` and `mode` with
//! `allowedFaults`, and parsers that never panic.

use std::str::FromStr;

use bigdecimal::BigDecimal;
use num_bigint::BigInt;
use num_traits::{Signed, Zero};
use orakel_pipeline::{
    Pipeline, RunContext, RunState, Runner, RunnerConfig, Value, decode_cbor, decode_diet_cbor,
    encode_cbor, parse_dot, parse_job_spec, parse_json, parse_json_template,
};
use proptest::prelude::*;

fn decimal() -> impl Strategy<Value = BigDecimal> {
    (any::<i128>(), -30i64..30).prop_map(|(m, s)| BigDecimal::new(BigInt::from(m), s))
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        decimal().prop_map(Value::Decimal),
        ".{0,20}".prop_map(Value::String),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::List),
            proptest::collection::btree_map(".{0,8}", inner, 0..8).prop_map(Value::Map),
        ]
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn run_one(dot: &str) -> Result<Value, String> {
    let pipeline = Pipeline::parse(dot, "p.dot").map_err(|e| e.to_string())?;
    let runner = Runner::new(RunnerConfig::default(), None).unwrap();
    let outcome = runtime().block_on(runner.execute(&pipeline, RunContext::default()));
    match outcome.outputs.first() {
        Some(Some(v)) if outcome.state == RunState::Completed => Ok(v.clone()),
        _ => Err(outcome.errors.join("; ")),
    }
}

fn parts(d: &BigDecimal) -> (BigInt, i64) {
    d.as_bigint_and_exponent()
}

fn pow10(n: i64) -> BigInt {
    num_traits::pow(BigInt::from(10), n as usize)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn cbor_roundtrips(v in value()) {
        let bytes = encode_cbor(&v);
        prop_assert_eq!(decode_cbor(&bytes).unwrap(), v.clone());
        if let Value::Map(m) = &v {
            let diet = orakel_pipeline::encode_diet_cbor(m);
            prop_assert_eq!(decode_diet_cbor(&diet).unwrap(), v);
        }
    }

    #[test]
    fn cbor_decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode_cbor(&bytes);
        let _ = decode_diet_cbor(&bytes);
    }

    #[test]
    fn multiply_matches_bigint_reference(a in decimal(), b in decimal()) {
        let dot = format!(r#"m [type=multiply input="{a}" times="{b}"]"#);
        let got = run_one(&dot).unwrap();
        let (ai, as_) = parts(&a);
        let (bi, bs) = parts(&b);
        let expected = BigDecimal::new(ai * bi, as_ + bs);
        prop_assert_eq!(got, Value::Decimal(expected));
    }

    #[test]
    fn divide_rounds_half_away_from_zero(a in decimal(), b in decimal(), p in 0i64..20) {
        prop_assume!(!b.is_zero());
        let dot = format!(r#"d [type=divide input="{a}" divisor="{b}" precision={p}]"#);
        let Value::Decimal(got) = run_one(&dot).unwrap() else {
            return Err(TestCaseError::fail("not a decimal"));
        };
        // q = got * 10^p must be an integer with |a/b * 10^p - q| <= 1/2, ties away from 0.
        let scaled = &got * BigDecimal::new(BigInt::from(1), -p);
        prop_assert!(scaled.is_integer());
        let (qi, qs) = parts(&scaled.with_scale(0));
        prop_assert_eq!(qs, 0);
        let (ai, as_) = parts(&a);
        let (bi, bs) = parts(&b);
        // a/b*10^p = ai*10^(bs+p) / (bi*10^as); compare numerators over a common base.
        let shift = bs + p - as_;
        let (num, den) = if shift >= 0 {
            (ai * pow10(shift), bi)
        } else {
            (ai, bi * pow10(-shift))
        };
        let diff = (&num - &qi * &den).abs() * 2;
        prop_assert!(diff <= den.abs(), "a={} b={} p={} got={}", a, b, p, got);
        if diff == den.abs() {
            // A tie must round away from zero: |q| >= |exact|.
            prop_assert!((&qi * &den).abs() >= num.abs());
        }
    }

    #[test]
    fn median_with_allowed_faults(
        items in proptest::collection::vec(proptest::option::weighted(0.7, decimal()), 1..7),
        allowed in 0usize..4,
    ) {
        let mut dot = String::new();
        for (i, item) in items.iter().enumerate() {
            match item {
                Some(d) => dot.push_str(&format!("s{i} [type=multiply input=\"{d}\" times=1]\n")),
                None => dot.push_str(&format!("s{i} [type=divide input=1 divisor=0]\n")),
            }
            dot.push_str(&format!("s{i} -> med\n"));
        }
        dot.push_str(&format!("med [type=median allowedFaults={allowed}]\n"));
        let got = run_one(&dot);
        let mut ok: Vec<BigDecimal> = items.iter().flatten().cloned().collect();
        let faults = items.len() - ok.len();
        if faults > allowed || ok.is_empty() {
            prop_assert!(got.is_err());
        } else {
            ok.sort();
            let n = ok.len();
            let expected = if n % 2 == 1 {
                ok[n / 2].clone()
            } else {
                (&ok[n / 2 - 1] + &ok[n / 2]) / BigDecimal::from(2)
            };
            prop_assert_eq!(got.unwrap(), Value::Decimal(expected));
        }
    }

    #[test]
    fn json_parser_never_panics(s in ".{0,200}") {
        let _ = parse_json(s.as_bytes());
        let _ = parse_json_template(&s);
    }

    #[test]
    fn json_parser_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = parse_json(&bytes);
    }

    #[test]
    fn json_numbers_are_exact(
        neg in any::<bool>(),
        int in "(0|[1-9][0-9]{0,40})",
        frac in proptest::option::of("[0-9]{1,40}"),
        exp in proptest::option::of(-300i32..300),
    ) {
        let mut text = String::new();
        if neg { text.push('-'); }
        text.push_str(&int);
        if let Some(f) = &frac { text.push('.'); text.push_str(f); }
        if let Some(e) = exp { text.push_str(&format!("e{e}")); }
        let parsed = parse_json(text.as_bytes()).unwrap();
        prop_assert_eq!(parsed, Value::Decimal(BigDecimal::from_str(&text).unwrap()));
    }

    #[test]
    fn json_roundtrips_values(v in value()) {
        // Bytes render as hex strings in JSON, so compare after one normalising trip.
        let once = parse_json(v.to_json().as_bytes()).unwrap();
        let twice = parse_json(once.to_json().as_bytes()).unwrap();
        prop_assert_eq!(once, twice);
    }

    #[test]
    fn dot_parser_never_panics(s in ".{0,200}") {
        let _ = parse_dot(&s);
        let _ = Pipeline::parse(&s, "fuzz");
    }

    #[test]
    fn dot_parser_never_panics_on_mutated_specs(pos in 0usize..2600, del in 0usize..5, ins in "[\\[\\]\"<>=;${}()\\\\a-z \n-]{0,4}") {
        let base = include_str!("../specs/direct_request.toml");
        let mut chars: Vec<char> = base.chars().collect();
        let at = pos.min(chars.len());
        let end = (at + del).min(chars.len());
        chars.splice(at..end, ins.chars());
        let text: String = chars.into_iter().collect();
        let _ = parse_job_spec(&text, "mutated.toml");
    }
}

// ---- aggregation against an exact rational reference ----------------------------------------

/// An exact rational `num / den` (`den > 0`), independent of the crate's decimal code.
#[derive(Clone, Debug)]
struct Rat {
    num: BigInt,
    den: BigInt,
}

impl Rat {
    fn of(d: &BigDecimal) -> Rat {
        let (m, scale) = parts(d);
        if scale >= 0 {
            Rat {
                num: m,
                den: pow10(scale),
            }
        } else {
            Rat {
                num: m * pow10(-scale),
                den: BigInt::from(1),
            }
        }
    }

    fn add(&self, o: &Rat) -> Rat {
        Rat {
            num: &self.num * &o.den + &o.num * &self.den,
            den: &self.den * &o.den,
        }
    }

    fn div_int(&self, n: usize) -> Rat {
        Rat {
            num: self.num.clone(),
            den: &self.den * BigInt::from(n),
        }
    }

    fn eq_decimal(&self, d: &BigDecimal) -> bool {
        let g = Rat::of(d);
        &self.num * &g.den == &g.num * &self.den
    }
}

/// `got` is `exact` rounded to `p` decimal places, half away from zero.
fn assert_rounded(got: &BigDecimal, exact: &Rat, p: i64) -> Result<(), TestCaseError> {
    let scaled = got * BigDecimal::new(BigInt::from(1), -p);
    prop_assert!(scaled.is_integer(), "{got} has more than {p} decimals");
    let (q, qs) = parts(&scaled.with_scale(0));
    prop_assert_eq!(qs, 0);
    // exact * 10^p = num * 10^p / den; compare |num*10^p - q*den| * 2 with den.
    let (num, den) = if p >= 0 {
        (&exact.num * pow10(p), exact.den.clone())
    } else {
        (exact.num.clone(), &exact.den * pow10(-p))
    };
    let diff = (&num - &q * &den).abs() * 2;
    prop_assert!(
        diff <= den,
        "got {got}, exact {}/{} at {p} places",
        exact.num,
        exact.den
    );
    if diff == den {
        prop_assert!(
            (&q * &den).abs() >= num.abs(),
            "tie not rounded away from zero: {got}"
        );
    }
    Ok(())
}

/// A DOT fan-in: one source task per item (`None` = a source that fails), all feeding `agg`.
fn fan_in(items: &[Option<BigDecimal>], agg: &str) -> String {
    let mut dot = String::new();
    for (i, item) in items.iter().enumerate() {
        match item {
            Some(d) => dot.push_str(&format!("s{i} [type=multiply input=\"{d}\" times=1]\n")),
            None => dot.push_str(&format!("s{i} [type=divide input=1 divisor=0]\n")),
        }
        dot.push_str(&format!("s{i} -> agg\n"));
    }
    dot.push_str(&format!("agg [{agg}]\n"));
    dot
}

fn items() -> impl Strategy<Value = Vec<Option<BigDecimal>>> {
    proptest::collection::vec(proptest::option::weighted(0.75, decimal()), 1..7)
}

/// Whether an aggregate over `items` with `allowed` faults must fail.
fn must_fail(items: &[Option<BigDecimal>], allowed: Option<usize>) -> bool {
    let ok = items.iter().flatten().count();
    let faults = items.len() - ok;
    ok == 0 || faults > allowed.unwrap_or(items.len() - 1)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn sum_is_exact(items in items(), allowed in proptest::option::of(0usize..4)) {
        let attrs = match allowed {
            Some(a) => format!("type=sum allowedFaults={a}"),
            None => "type=sum".to_owned(),
        };
        let got = run_one(&fan_in(&items, &attrs));
        if must_fail(&items, allowed) {
            prop_assert!(got.is_err(), "{got:?}");
        } else {
            let exact = items.iter().flatten().fold(
                Rat { num: BigInt::from(0), den: BigInt::from(1) },
                |acc, d| acc.add(&Rat::of(d)),
            );
            let Value::Decimal(got) = got.unwrap() else {
                return Err(TestCaseError::fail("not a decimal"));
            };
            prop_assert!(exact.eq_decimal(&got), "sum {got} != {}/{}", exact.num, exact.den);
        }
    }

    #[test]
    fn sum_of_a_values_list_is_exact(values in proptest::collection::vec(decimal(), 1..8)) {
        let list: Vec<String> = values.iter().map(|d| format!("\"{d}\"")).collect();
        let got = run_one(&format!("s [type=sum values=<[{}]>]", list.join(", "))).unwrap();
        let exact = values.iter().fold(
            Rat { num: BigInt::from(0), den: BigInt::from(1) },
            |acc, d| acc.add(&Rat::of(d)),
        );
        let Value::Decimal(got) = got else {
            return Err(TestCaseError::fail("not a decimal"));
        };
        prop_assert!(exact.eq_decimal(&got));
    }

    #[test]
    fn mean_rounds_the_exact_average(
        items in items(),
        allowed in proptest::option::of(0usize..4),
        precision in proptest::option::of(0i64..24),
    ) {
        let mut attrs = "type=mean".to_owned();
        if let Some(a) = allowed {
            attrs.push_str(&format!(" allowedFaults={a}"));
        }
        if let Some(p) = precision {
            attrs.push_str(&format!(" precision={p}"));
        }
        let got = run_one(&fan_in(&items, &attrs));
        if must_fail(&items, allowed) {
            prop_assert!(got.is_err(), "{got:?}");
        } else {
            let ok: Vec<&BigDecimal> = items.iter().flatten().collect();
            let exact = ok
                .iter()
                .fold(Rat { num: BigInt::from(0), den: BigInt::from(1) }, |acc, d| acc.add(&Rat::of(d)))
                .div_int(ok.len());
            let Value::Decimal(got) = got.unwrap() else {
                return Err(TestCaseError::fail("not a decimal"));
            };
            // The established default precision is 16 places.
            assert_rounded(&got, &exact, precision.unwrap_or(16))?;
        }
    }

    #[test]
    fn median_is_the_exact_middle(items in items(), allowed in proptest::option::of(0usize..4)) {
        let attrs = match allowed {
            Some(a) => format!("type=median allowedFaults={a}"),
            None => "type=median".to_owned(),
        };
        let got = run_one(&fan_in(&items, &attrs));
        if must_fail(&items, allowed) {
            prop_assert!(got.is_err(), "{got:?}");
        } else {
            let mut ok: Vec<Rat> = items.iter().flatten().map(Rat::of).collect();
            ok.sort_by(|a, b| (&a.num * &b.den).cmp(&(&b.num * &a.den)));
            let n = ok.len();
            let exact = if n % 2 == 1 {
                ok[n / 2].clone()
            } else {
                ok[n / 2 - 1].add(&ok[n / 2]).div_int(2)
            };
            let Value::Decimal(got) = got.unwrap() else {
                return Err(TestCaseError::fail("not a decimal"));
            };
            prop_assert!(exact.eq_decimal(&got), "median {got} != {}/{}", exact.num, exact.den);
        }
    }

    #[test]
    fn mode_with_allowed_faults(
        // Few distinct values, so ties and repeats are common.
        items in proptest::collection::vec(proptest::option::weighted(0.75, 0u8..4), 1..8),
        allowed in proptest::option::of(0usize..4),
    ) {
        let as_decimals: Vec<Option<BigDecimal>> =
            items.iter().map(|i| i.map(BigDecimal::from)).collect();
        let attrs = match allowed {
            Some(a) => format!("type=mode allowedFaults={a}"),
            None => "type=mode".to_owned(),
        };
        let got = run_one(&fan_in(&as_decimals, &attrs));
        if must_fail(&as_decimals, allowed) {
            prop_assert!(got.is_err(), "{got:?}");
        } else {
            // Reference: counts in first-seen order; every value with the top count.
            let mut counts: Vec<(u8, u64)> = Vec::new();
            for v in items.iter().flatten() {
                match counts.iter_mut().find(|(k, _)| k == v) {
                    Some((_, c)) => *c += 1,
                    None => counts.push((*v, 1)),
                }
            }
            let top = counts.iter().map(|(_, c)| *c).max().unwrap_or(0);
            let results: Vec<Value> = counts
                .iter()
                .filter(|(_, c)| *c == top)
                .map(|(k, _)| Value::Decimal(BigDecimal::from(*k)))
                .collect();
            let expected = Value::map([
                ("results", Value::List(results)),
                ("occurrences", Value::from(top)),
            ]);
            prop_assert_eq!(got.unwrap().to_json(), expected.to_json());
        }
    }
}
