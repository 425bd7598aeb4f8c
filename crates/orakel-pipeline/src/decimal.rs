//! Exact decimal helpers: parsing with bounds, plain formatting, rounding division and
//! conversions between [`BigDecimal`] and 256-bit integers.
//!
//! Every number in a pipeline is a [`BigDecimal`]; nothing goes through `f64`. Parsing caps
//! the exponent and the number of digits so that hostile input (`1e999999999`) cannot make a
//! later operation allocate gigabytes.

use std::str::FromStr;

use alloy_primitives::{I256, U256};
use bigdecimal::BigDecimal;
use num_bigint::{BigInt, Sign};
use num_traits::{Signed, ToPrimitive, Zero};

/// Largest accepted absolute decimal exponent (scale) of a parsed number. Every finite
/// `f64` fits (the smallest subnormal has 1074 fractional digits).
pub const MAX_SCALE: i64 = 1_100;
/// Largest accepted number of digits in the plain rendering of a number (see [`in_range`]).
/// Checking the rendering rather than the written mantissa keeps every accepted number
/// re-parseable after [`format_decimal`]: `1e2000` has one written digit but renders as 2,001.
/// The rendering of an accepted number (digits, sign, point) stays under [`MAX_NUMBER_LEN`].
pub const MAX_DIGITS: usize = 2_900;
/// Largest accepted number of characters in a textual number.
pub const MAX_NUMBER_LEN: usize = 4_096;

/// Parses a decimal number: `123`, `-1.5`, `2e18`, `0x1f` (hex integers), surrounding spaces
/// ignored. Returns `None` for anything else or for numbers outside the accepted range.
pub fn parse_decimal(text: &str) -> Option<BigDecimal> {
    let s = text.trim();
    if s.is_empty() || s.len() > MAX_NUMBER_LEN {
        return None;
    }
    let (negative, unsigned) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if let Some(hex) = unsigned
        .strip_prefix("0x")
        .or_else(|| unsigned.strip_prefix("0X"))
    {
        if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let int = BigInt::parse_bytes(hex.as_bytes(), 16)?;
        let int = if negative { -int } else { int };
        return Some(BigDecimal::new(int, 0));
    }
    // Only plain decimal syntax: digits, one optional point, optional exponent.
    let mut seen_digit = false;
    let mut seen_point = false;
    let mut exp_at = None;
    for (i, c) in unsigned.char_indices() {
        match c {
            '0'..='9' => seen_digit = true,
            '.' if !seen_point => seen_point = true,
            'e' | 'E' if seen_digit => {
                exp_at = Some(i);
                break;
            }
            _ => return None,
        }
    }
    if !seen_digit {
        return None;
    }
    let mantissa = exp_at.and_then(|i| unsigned.get(..i)).unwrap_or(unsigned);
    if mantissa.bytes().filter(u8::is_ascii_digit).count() > MAX_DIGITS {
        return None;
    }
    if let Some(i) = exp_at {
        let exp = unsigned.get(i + 1..)?;
        let digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
    }
    let value = BigDecimal::from_str(unsigned).ok()?;
    let value = if negative { -value } else { value };
    in_range(&value).then_some(value)
}

/// Whether a decimal is inside the range this crate computes with: its scale is within
/// ±[`MAX_SCALE`] and its plain rendering ([`format_decimal`]) has at most [`MAX_DIGITS`]
/// digits, so [`parse_decimal`] accepts that rendering again.
///
/// Every place that creates a number from outside input or from arithmetic that can grow it
/// (`multiply`, `sum`, `divide`, CBOR decimal fractions) checks this.
pub fn in_range(value: &BigDecimal) -> bool {
    let scale = value.fractional_digit_count();
    if !(-MAX_SCALE..=MAX_SCALE).contains(&scale) {
        return false;
    }
    rendered_digits(value.digits(), scale) <= MAX_DIGITS as u64
}

/// `value` if it is [`in_range`], else the error a task reports for a result that grew too
/// large or too precise (say a sum of huge numbers, or a median that gains a digit).
pub(crate) fn checked_result(value: BigDecimal) -> Result<BigDecimal, String> {
    if in_range(&value) {
        Ok(value)
    } else {
        Err("result out of range".to_owned())
    }
}

/// Upper bound of the number of digits [`format_decimal`] writes for a number with `digits`
/// significant digits and the given scale: a negative scale appends `-scale` zeros; a
/// positive one writes at least `0.` followed by `scale` fractional digits. (Trailing
/// fractional zeros are trimmed, so the rendering can be shorter, never longer.) The scale
/// must already be bounded by [`MAX_SCALE`].
fn rendered_digits(digits: u64, scale: i64) -> u64 {
    if scale < 0 {
        digits.saturating_add(scale.unsigned_abs())
    } else {
        digits.max(scale.unsigned_abs().saturating_add(1))
    }
}

/// Formats a decimal in plain notation (no exponent), trailing fractional zeros removed.
pub fn format_decimal(value: &BigDecimal) -> String {
    let (int, scale) = value.as_bigint_and_exponent();
    let negative = int.sign() == Sign::Minus;
    let digits = int.magnitude().to_str_radix(10);
    let mut out = String::with_capacity(digits.len() + 4);
    if negative {
        out.push('-');
    }
    if scale <= 0 {
        out.push_str(&digits);
        if digits != "0" {
            for _ in 0..scale.unsigned_abs() {
                out.push('0');
            }
        }
        return out;
    }
    let scale = usize::try_from(scale).unwrap_or(usize::MAX);
    let (int_part, frac_part) = if digits.len() > scale {
        let split = digits.len() - scale;
        (
            digits.get(..split).unwrap_or("0").to_owned(),
            digits.get(split..).unwrap_or("").to_owned(),
        )
    } else {
        let mut frac = "0".repeat(scale - digits.len());
        frac.push_str(&digits);
        ("0".to_owned(), frac)
    };
    let frac_trimmed = frac_part.trim_end_matches('0');
    if frac_trimmed.is_empty() && int_part == "0" {
        return "0".to_owned();
    }
    out.push_str(&int_part);
    if !frac_trimmed.is_empty() {
        out.push('.');
        out.push_str(frac_trimmed);
    }
    out
}

/// Rounds `a / b` to `precision` fractional digits, half away from zero.
pub fn div_round(a: &BigDecimal, b: &BigDecimal, precision: i64) -> Result<BigDecimal, String> {
    if b.is_zero() {
        return Err("division by zero".to_owned());
    }
    let (a_int, a_scale) = a.as_bigint_and_exponent();
    let (b_int, b_scale) = b.as_bigint_and_exponent();
    // a/b = (A/B) * 10^(sb - sa); scaled by 10^p.
    let e = b_scale
        .checked_sub(a_scale)
        .and_then(|v| v.checked_add(precision))
        .ok_or("numbers out of range")?;
    if e.unsigned_abs() > 4 * MAX_SCALE as u64 {
        return Err("numbers out of range".to_owned());
    }
    let (num, den) = if e >= 0 {
        (a_int * pow10(e.unsigned_abs()), b_int)
    } else {
        (a_int, b_int * pow10(e.unsigned_abs()))
    };
    let q = &num / &den;
    let r = &num - &q * &den;
    let twice = r.abs() * 2u8;
    let q = if twice >= den.abs() {
        if (num.sign() == Sign::Minus) != (den.sign() == Sign::Minus) {
            q - 1u8
        } else {
            q + 1u8
        }
    } else {
        q
    };
    Ok(BigDecimal::new(q, precision))
}

fn pow10(exp: u64) -> BigInt {
    num_traits::pow(BigInt::from(10u8), usize::try_from(exp).unwrap_or(0))
}

/// The integer value of a decimal, or `None` if it has a fractional part.
pub fn to_integer(value: &BigDecimal) -> Option<BigInt> {
    if !value.is_integer() {
        return None;
    }
    let (int, scale) = value.as_bigint_and_exponent();
    if scale <= 0 {
        if scale.unsigned_abs() > 4 * MAX_SCALE as u64 {
            return None;
        }
        Some(int * pow10(scale.unsigned_abs()))
    } else {
        Some(int / pow10(scale.unsigned_abs()))
    }
}

/// Converts an unsigned 256-bit integer into a decimal.
pub fn from_u256(value: U256) -> BigDecimal {
    let bytes: [u8; 32] = value.to_be_bytes();
    BigDecimal::new(BigInt::from_bytes_be(Sign::Plus, &bytes), 0)
}

/// Converts a signed 256-bit integer into a decimal.
pub fn from_i256(value: I256) -> BigDecimal {
    let (sign, abs) = value.into_sign_and_abs();
    let bytes: [u8; 32] = abs.to_be_bytes();
    let int = BigInt::from_bytes_be(Sign::Plus, &bytes);
    BigDecimal::new(if sign.is_negative() { -int } else { int }, 0)
}

/// Converts a non-negative integer that fits in `bits` bits into a `U256`.
pub fn bigint_to_u256(int: &BigInt, bits: usize) -> Option<U256> {
    if int.sign() == Sign::Minus || int.bits() > bits as u64 {
        return None;
    }
    let (_, bytes) = int.to_bytes_be();
    U256::try_from_be_slice(&bytes)
}

/// Converts an integer that fits in a signed `bits`-bit integer into an `I256`.
pub fn bigint_to_i256(int: &BigInt, bits: usize) -> Option<I256> {
    if bits == 0 || bits > 256 {
        return None;
    }
    let magnitude = int.magnitude();
    let limit_bits = (bits - 1) as u64;
    let negative = int.sign() == Sign::Minus;
    // Range: -2^(bits-1) ..= 2^(bits-1) - 1.
    if negative {
        let max = num_bigint::BigUint::from(1u8) << limit_bits;
        if magnitude > &max {
            return None;
        }
    } else if magnitude.bits() > limit_bits {
        return None;
    }
    let abs = U256::try_from_be_slice(&magnitude.to_bytes_be())?;
    let raw = if negative {
        U256::ZERO.wrapping_sub(abs)
    } else {
        abs
    };
    Some(I256::from_raw(raw))
}

/// Converts an integral decimal into a `u64`.
pub fn to_u64(value: &BigDecimal) -> Option<u64> {
    to_integer(value)?.to_u64()
}

/// Converts an integral decimal into an `i64`.
pub fn to_i64(value: &BigDecimal) -> Option<i64> {
    to_integer(value)?.to_i64()
}

/// Exact decimal value of a finite binary floating point number.
pub fn from_f64_exact(v: f64) -> Option<BigDecimal> {
    if !v.is_finite() {
        return None;
    }
    if v == 0.0 {
        return Some(BigDecimal::zero());
    }
    let bits = v.to_bits();
    let negative = bits >> 63 == 1;
    let exponent = ((bits >> 52) & 0x7ff) as i64;
    let fraction = bits & ((1u64 << 52) - 1);
    let (mantissa, exp2) = if exponent == 0 {
        (fraction, -1074i64)
    } else {
        (fraction | (1u64 << 52), exponent - 1075)
    };
    let mant = BigInt::from(mantissa);
    let value = if exp2 >= 0 {
        BigDecimal::new(mant << exp2.unsigned_abs() as usize, 0)
    } else {
        // m * 2^-k = m * 5^k / 10^k
        let k = exp2.unsigned_abs();
        let five = num_traits::pow(BigInt::from(5u8), k as usize);
        BigDecimal::new(mant * five, k as i64).normalized()
    };
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> BigDecimal {
        BigDecimal::from_str(s).unwrap()
    }

    #[test]
    fn parses_plain_and_hex() {
        assert_eq!(parse_decimal(" 12.50 "), Some(d("12.5")));
        assert_eq!(parse_decimal("-3"), Some(d("-3")));
        assert_eq!(parse_decimal("1e18"), Some(d("1000000000000000000")));
        assert_eq!(parse_decimal("0x1f"), Some(d("31")));
        assert_eq!(parse_decimal("abc"), None);
        assert_eq!(parse_decimal("1e99999"), None);
        assert_eq!(parse_decimal("."), None);
        assert_eq!(parse_decimal("1.2.3"), None);
        assert_eq!(parse_decimal("NaN"), None);
    }

    #[test]
    fn formats_plainly() {
        assert_eq!(format_decimal(&d("1.500")), "1.5");
        assert_eq!(format_decimal(&d("100")), "100");
        assert_eq!(format_decimal(&d("1e3")), "1000");
        assert_eq!(format_decimal(&d("-0.001")), "-0.001");
        assert_eq!(format_decimal(&d("0.000")), "0");
    }

    /// `1` and 1,999 zeros, written with exponent 901: 2,000 written digits, but 2,901 once
    /// rendered plainly. The fuzzer found that it was accepted and its rendering was not.
    #[test]
    fn rejects_numbers_whose_rendering_is_too_long() {
        let zeros = "0".repeat(1_999);
        assert_eq!(parse_decimal(&format!("1{zeros}e901")), None);
        let edge = parse_decimal(&format!("1{zeros}e900")).unwrap();
        let rendered = format_decimal(&edge);
        assert_eq!(rendered.len(), MAX_DIGITS);
        assert_eq!(parse_decimal(&rendered), Some(edge));

        // Fractions: 0.(1,099 zeros)1 renders 1,101 digits and is fine; the limit is the
        // number of rendered digits, whichever side of the point they are on.
        let tiny = parse_decimal("1e-1100").unwrap();
        assert_eq!(parse_decimal(&format_decimal(&tiny)), Some(tiny));
        let long = format!("{}.{}", "9".repeat(1_800), "9".repeat(1_100));
        assert_eq!(parse_decimal(&long), Some(d(&long)));
        assert_eq!(parse_decimal(&format!("9{long}")), None);

        // Products are checked the same way.
        let big = d(&format!("1{}", "0".repeat(1_500)));
        assert!(in_range(&big));
        assert!(!in_range(&(&big * &big)));
    }

    fn digits_strategy() -> impl Strategy<Value = String> {
        // Up to a little over the limit, so both sides of it are exercised.
        (1..=MAX_DIGITS + 20, any::<u64>()).prop_map(|(len, seed)| {
            // A cheap deterministic digit stream; lengths matter here, not digit values.
            let mut x = seed | 1;
            (0..len)
                .map(|i| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let digit = if i == 0 { 1 + x % 9 } else { x % 10 };
                    char::from(b'0' + digit as u8)
                })
                .collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Any number inside the range renders to text that parses back to the same number.
        #[test]
        fn accepted_values_round_trip(
            digits in digits_strategy(),
            scale in -MAX_SCALE - 5..=MAX_SCALE + 5,
            negative in any::<bool>(),
        ) {
            let int = BigInt::from_str(&digits).unwrap();
            let value = BigDecimal::new(if negative { -int } else { int }, scale);
            if in_range(&value) {
                let rendered = format_decimal(&value);
                prop_assert!(rendered.len() <= MAX_NUMBER_LEN);
                prop_assert_eq!(parse_decimal(&rendered), Some(value));
            }
        }

        /// Whatever `parse_decimal` accepts, written in any notation, is in range and
        /// survives render -> parse.
        #[test]
        fn parsed_values_round_trip(
            digits in digits_strategy(),
            point in any::<prop::sample::Index>(),
            exp in -2 * MAX_SCALE..=2 * MAX_SCALE,
        ) {
            let at = point.index(digits.len() + 1);
            let text = format!("{}.{}e{exp}", &digits[..at], &digits[at..]);
            let text = text.replace(".e", "e");
            if let Some(value) = parse_decimal(&text) {
                prop_assert!(in_range(&value));
                prop_assert_eq!(parse_decimal(&format_decimal(&value)), Some(value));
            }
        }
    }

    #[test]
    fn divides_with_rounding() {
        assert_eq!(div_round(&d("1"), &d("3"), 4).unwrap(), d("0.3333"));
        assert_eq!(div_round(&d("2"), &d("3"), 4).unwrap(), d("0.6667"));
        assert_eq!(div_round(&d("-2"), &d("3"), 4).unwrap(), d("-0.6667"));
        assert_eq!(div_round(&d("5"), &d("2"), 0).unwrap(), d("3"));
        assert_eq!(div_round(&d("-5"), &d("2"), 0).unwrap(), d("-3"));
        assert!(div_round(&d("1"), &d("0"), 2).is_err());
    }

    #[test]
    fn converts_integers() {
        let v = to_integer(&d("1e3")).unwrap();
        assert_eq!(bigint_to_u256(&v, 256), Some(U256::from(1000u64)));
        assert_eq!(bigint_to_u256(&BigInt::from(256), 8), None);
        assert_eq!(
            bigint_to_i256(&BigInt::from(-128), 8),
            Some(I256::try_from(-128i64).unwrap())
        );
        assert_eq!(bigint_to_i256(&BigInt::from(-129), 8), None);
        assert_eq!(bigint_to_i256(&BigInt::from(128), 8), None);
        assert_eq!(from_i256(I256::try_from(-5i64).unwrap()), d("-5"));
        assert_eq!(from_f64_exact(0.5), Some(d("0.5")));
        assert!(from_f64_exact(1.1).unwrap().to_string().len() > 10);
        assert_eq!(to_integer(&d("1.5")), None);
    }
}
