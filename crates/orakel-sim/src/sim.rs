//! The pure price model: true prices, per-source noise, fault draws and the expected median.
//!
//! Every number here is a deterministic function of `(seed, pair, source, tick)`, drawn from a
//! SplitMix64-style hash. Prices are computed in fixed point with [`BigDecimal`]; the only
//! floats are the configured probabilities, which are turned into integer thresholds once.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bigdecimal::num_bigint::BigInt;
use bigdecimal::{BigDecimal, RoundingMode};

use crate::Result;
use crate::config::{MAX_DECIMALS, MAX_NOISE_BPS, SimConfig};

/// What one source answers in one tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observation {
    /// An honest price: the true price with bounded noise, with exactly `decimals` decimals.
    Price(BigDecimal),
    /// A wild price: the noisy price × 1.5 or × 0.6, with exactly `decimals` decimals.
    Outlier(BigDecimal),
    /// HTTP 200 with a body that is not JSON.
    Garbage,
    /// The answer only comes after `timeout_delay` (the client is expected to give up first).
    Timeout,
    /// HTTP 503 with a JSON error body.
    ServerError,
}

impl Observation {
    /// The kind of this observation, without its value.
    pub fn kind(&self) -> ObservationKind {
        match self {
            Observation::Price(_) => ObservationKind::Price,
            Observation::Outlier(_) => ObservationKind::Outlier,
            Observation::Garbage => ObservationKind::Garbage,
            Observation::Timeout => ObservationKind::Timeout,
            Observation::ServerError => ObservationKind::ServerError,
        }
    }

    /// The served number, for [`Observation::Price`] and [`Observation::Outlier`].
    pub fn value(&self) -> Option<&BigDecimal> {
        match self {
            Observation::Price(v) | Observation::Outlier(v) => Some(v),
            _ => None,
        }
    }
}

/// The kind of an [`Observation`], without its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObservationKind {
    /// See [`Observation::Price`].
    Price,
    /// See [`Observation::Outlier`].
    Outlier,
    /// See [`Observation::Garbage`].
    Garbage,
    /// See [`Observation::Timeout`].
    Timeout,
    /// See [`Observation::ServerError`].
    ServerError,
}

/// Parts per billion: the fixed-point unit of the true-price factor.
const PPB: i128 = 1_000_000_000;
/// Fast wave: period in ticks and amplitude in ppb (±2 %).
const FAST_PERIOD: u64 = 360;
const FAST_AMPLITUDE: i128 = 20_000_000;
/// Slow wave: period in ticks and amplitude in ppb (±5 %).
const SLOW_PERIOD: u64 = 8_640;
const SLOW_AMPLITUDE: i128 = 50_000_000;
/// Drift: knots every this many ticks, each within ±1 %, linearly interpolated.
const DRIFT_SPACING: u64 = 60;
const DRIFT_AMPLITUDE: i128 = 10_000_000;
/// Noise is drawn in millionths (1 bp = 100 millionths).
const NOISE_UNIT: i128 = 1_000_000;

/// Hash salts, one per independent draw.
const SALT_FAULT: u64 = 0x6661_756c_7400_0001;
const SALT_NOISE: u64 = 0x6e6f_6973_6500_0002;
const SALT_OUTLIER_SIDE: u64 = 0x6f75_746c_6900_0003;
const SALT_PHASE_FAST: u64 = 0x7068_6173_6500_0004;
const SALT_PHASE_SLOW: u64 = 0x7068_6173_6500_0005;
const SALT_DRIFT: u64 = 0x6472_6966_7400_0006;

/// 2^53: fault draws are 53-bit integers compared against integer thresholds.
const DRAW_RANGE: u64 = 1 << 53;

/// The SplitMix64 finaliser.
const fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// FNV-1a over a pair name: a stable key (std's hasher is not guaranteed stable).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// One deterministic 64-bit draw for `(seed, pair, source, tick, salt)`.
fn draw(seed: u64, pair_key: u64, source: u64, tick: u64, salt: u64) -> u64 {
    let mut h = splitmix64(seed ^ salt);
    h = splitmix64(h ^ pair_key);
    h = splitmix64(h ^ source);
    splitmix64(h ^ tick)
}

/// A smooth (C¹) integer wave: a positive parabolic hump then a negative one, in ppb.
fn wave(position: u64, period: u64, amplitude: i128) -> i128 {
    let half = i128::from(period / 2);
    let y = i128::from(position % period);
    if y < half {
        amplitude * 4 * y * (half - y) / (half * half)
    } else {
        let y = y - half;
        -(amplitude * 4 * y * (half - y) / (half * half))
    }
}

/// Maps a draw uniformly-ish onto `[-amplitude, amplitude]`.
fn signed_draw(h: u64, amplitude: i128) -> i128 {
    let span = (2 * amplitude + 1) as u128;
    (u128::from(h) % span) as i128 - amplitude
}

/// Turns a probability into a threshold on a 53-bit draw (NaN and negatives give 0).
fn threshold(p: f64) -> u64 {
    if p.is_nan() || p <= 0.0 {
        0
    } else if p >= 1.0 {
        DRAW_RANGE
    } else {
        (p * DRAW_RANGE as f64) as u64
    }
}

/// Median of a set of decimals: the middle value for an odd count, the exact mean of the two
/// middle values for an even count, `None` for an empty set.
///
/// The mean of two values keeps the larger of their scales when that is exact, and one more
/// decimal otherwise (e.g. the median of `1.00` and `2.00` is `1.50`, of `1.00` and `1.01`
/// is `1.005`).
pub fn median(values: &[BigDecimal]) -> Option<BigDecimal> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort();
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        return Some(sorted[mid].clone());
    }
    let (a, b) = (&sorted[mid - 1], &sorted[mid]);
    let scale = a.fractional_digit_count().max(b.fractional_digit_count());
    let mean = (a + b) * BigDecimal::new(BigInt::from(5), 1);
    let trimmed = mean.with_scale(scale);
    Some(if trimmed == mean { trimmed } else { mean })
}

/// The deterministic price model. Pure: no I/O, no clock except in [`Simulator::current_tick`].
#[derive(Debug, Clone)]
pub struct Simulator {
    config: SimConfig,
    tick_ms: u64,
    pair_keys: Vec<u64>,
    /// Cumulative thresholds: timeout, server error, garbage, outlier.
    thresholds: [u64; 4],
}

impl Simulator {
    /// Builds a simulator. Never fails: out-of-range values are clamped (tick ≥ 1 ms,
    /// `noise_bps` ≤ [`MAX_NOISE_BPS`], `decimals` ≤ [`MAX_DECIMALS`], probabilities into
    /// `[0, 1]`, later fault kinds cut off if they add up to more than 1). Use
    /// [`Simulator::try_new`] to reject such a config instead.
    pub fn new(mut config: SimConfig) -> Self {
        config.noise_bps = config.noise_bps.min(MAX_NOISE_BPS);
        for pair in &mut config.pairs {
            pair.decimals = pair.decimals.min(MAX_DECIMALS);
        }
        let tick_ms = u64::try_from(config.tick.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let mut thresholds = [0u64; 4];
        let mut acc = 0u64;
        for (slot, p) in thresholds.iter_mut().zip([
            config.timeout_probability,
            config.error_probability,
            config.garbage_probability,
            config.outlier_probability,
        ]) {
            acc = acc.saturating_add(threshold(p)).min(DRAW_RANGE);
            *slot = acc;
        }
        let pair_keys = config
            .pairs
            .iter()
            .map(|p| fnv1a(p.name.as_bytes()))
            .collect();
        Self {
            config,
            tick_ms,
            pair_keys,
            thresholds,
        }
    }

    /// Builds a simulator after [`SimConfig::validate`].
    pub fn try_new(config: SimConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self::new(config))
    }

    /// The configuration in force (after clamping).
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// The configured pair names, in order.
    pub fn pairs(&self) -> impl Iterator<Item = &str> {
        self.config.pairs.iter().map(|p| p.name.as_str())
    }

    /// Number of sources per pair.
    pub fn sources_per_pair(&self) -> usize {
        self.config.sources_per_pair
    }

    /// The tick length in milliseconds (at least 1).
    pub fn tick_ms(&self) -> u64 {
        self.tick_ms
    }

    /// The tick containing `t`: `unix_ms / tick_ms` (0 before the epoch).
    pub fn tick_at(&self, t: SystemTime) -> u64 {
        let ms = t
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        ms / self.tick_ms
    }

    /// The tick containing now.
    pub fn current_tick(&self) -> u64 {
        self.tick_at(SystemTime::now())
    }

    /// When `tick` begins (saturating far in the future).
    pub fn tick_start(&self, tick: u64) -> SystemTime {
        let ms = tick.saturating_mul(self.tick_ms);
        UNIX_EPOCH
            .checked_add(Duration::from_millis(ms))
            .unwrap_or(UNIX_EPOCH)
    }

    fn pair_index(&self, pair: &str) -> Option<usize> {
        self.config.pairs.iter().position(|p| p.name == pair)
    }

    fn decimals(&self, idx: usize) -> i64 {
        i64::from(self.config.pairs[idx].decimals)
    }

    fn draw(&self, idx: usize, source: u64, tick: u64, salt: u64) -> u64 {
        draw(self.config.seed, self.pair_keys[idx], source, tick, salt)
    }

    /// True-price factor in ppb: 1e9 × (1 + fast wave + slow wave + drift).
    fn factor_ppb(&self, idx: usize, tick: u64) -> i128 {
        let fast_off = self.draw(idx, 0, 0, SALT_PHASE_FAST) % FAST_PERIOD;
        let slow_off = self.draw(idx, 0, 0, SALT_PHASE_SLOW) % SLOW_PERIOD;
        let fast = wave(tick % FAST_PERIOD + fast_off, FAST_PERIOD, FAST_AMPLITUDE);
        let slow = wave(tick % SLOW_PERIOD + slow_off, SLOW_PERIOD, SLOW_AMPLITUDE);
        let knot = tick / DRIFT_SPACING;
        let k0 = signed_draw(self.draw(idx, 0, knot, SALT_DRIFT), DRIFT_AMPLITUDE);
        let k1 = signed_draw(
            self.draw(idx, 0, knot.wrapping_add(1), SALT_DRIFT),
            DRIFT_AMPLITUDE,
        );
        let step = i128::from(tick % DRIFT_SPACING);
        let drift = k0 + (k1 - k0) * step / i128::from(DRIFT_SPACING);
        PPB + fast + slow + drift
    }

    /// The exact (unrounded) true price.
    fn exact_true_price(&self, idx: usize, tick: u64) -> BigDecimal {
        &self.config.pairs[idx].base_price
            * BigDecimal::new(BigInt::from(self.factor_ppb(idx, tick)), 9)
    }

    /// The exact (unrounded) noisy price of a source.
    fn exact_source_price(&self, idx: usize, source: u64, tick: u64) -> BigDecimal {
        let n = i128::from(self.config.noise_bps) * 100;
        let noise = signed_draw(self.draw(idx, source, tick, SALT_NOISE), n);
        self.exact_true_price(idx, tick) * BigDecimal::new(BigInt::from(NOISE_UNIT + noise), 6)
    }

    fn round(&self, idx: usize, v: &BigDecimal) -> BigDecimal {
        v.with_scale_round(self.decimals(idx), RoundingMode::HalfUp)
    }

    fn source_index(&self, source: usize) -> Option<u64> {
        (source < self.config.sources_per_pair).then_some(source as u64)
    }

    /// The true price of `pair` in `tick`, rounded (half up) to the pair's decimals.
    /// `None` for an unknown pair.
    pub fn true_price(&self, pair: &str, tick: u64) -> Option<BigDecimal> {
        let idx = self.pair_index(pair)?;
        Some(self.round(idx, &self.exact_true_price(idx, tick)))
    }

    /// The honest noisy price of a source in a tick, whatever its fault draw says: what
    /// [`Observation::Price`] holds when there is no fault, and what a timing-out source
    /// finally answers. `None` for an unknown pair or source.
    pub fn source_price(&self, pair: &str, source: usize, tick: u64) -> Option<BigDecimal> {
        let idx = self.pair_index(pair)?;
        let source = self.source_index(source)?;
        Some(self.round(idx, &self.exact_source_price(idx, source, tick)))
    }

    /// What `source` (0-based) of `pair` answers in `tick`. `None` for an unknown pair or
    /// source.
    pub fn observation(&self, pair: &str, source: usize, tick: u64) -> Option<Observation> {
        let idx = self.pair_index(pair)?;
        let source = self.source_index(source)?;
        let r = self.draw(idx, source, tick, SALT_FAULT) >> 11;
        let [t_timeout, t_error, t_garbage, t_outlier] = self.thresholds;
        let obs = if r < t_timeout {
            Observation::Timeout
        } else if r < t_error {
            Observation::ServerError
        } else if r < t_garbage {
            Observation::Garbage
        } else if r < t_outlier {
            let up = self.draw(idx, source, tick, SALT_OUTLIER_SIDE) & 1 == 1;
            let factor = if up {
                BigDecimal::new(BigInt::from(15), 1)
            } else {
                BigDecimal::new(BigInt::from(6), 1)
            };
            Observation::Outlier(
                self.round(idx, &(self.exact_source_price(idx, source, tick) * factor)),
            )
        } else {
            Observation::Price(self.round(idx, &self.exact_source_price(idx, source, tick)))
        };
        Some(obs)
    }

    /// Every source's observation of `pair` in `tick`, indexed by source.
    pub fn observations(&self, pair: &str, tick: u64) -> Option<Vec<Observation>> {
        self.pair_index(pair)?;
        (0..self.config.sources_per_pair)
            .map(|s| self.observation(pair, s, tick))
            .collect()
    }

    /// The median over every source that answers a number (price or outlier) in `tick`, as
    /// [`median`] computes it. `None` for an unknown pair or when no source answers a number.
    pub fn expected_median(&self, pair: &str, tick: u64) -> Option<BigDecimal> {
        let values: Vec<BigDecimal> = self
            .observations(pair, tick)?
            .into_iter()
            .filter_map(|o| match o {
                Observation::Price(v) | Observation::Outlier(v) => Some(v),
                _ => None,
            })
            .collect();
        median(&values)
    }

    /// The URL of a source's price route on a server at `base`, e.g.
    /// `"{base}/sources/{source}/price?pair=ETH-USD"`. A trailing `/` of `base` is ignored and
    /// the pair is percent-encoded when needed.
    pub fn source_url(base: &str, source: usize, pair: &str) -> String {
        format!(
            "{}/sources/{source}/price?pair={}",
            base.trim_end_matches('/'),
            percent_encode(pair)
        )
    }
}

/// Percent-encodes everything except RFC 3986 unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PairConfig;
    use proptest::prelude::*;
    use std::str::FromStr;

    fn dec(s: &str) -> BigDecimal {
        BigDecimal::from_str(s).unwrap()
    }

    fn sim() -> Simulator {
        Simulator::new(SimConfig::default())
    }

    #[test]
    fn splitmix_matches_reference_vector() {
        // First outputs of the reference SplitMix64 generator seeded with 0.
        let mut state = 0u64;
        let mut next = || {
            let out = splitmix64(state);
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            out
        };
        assert_eq!(next(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(next(), 0x6e78_9e6a_a1b9_65f4);
    }

    #[test]
    fn deterministic_across_instances_and_calls() {
        let a = sim();
        let b = sim();
        for tick in [0u64, 1, 59, 60, 1_000_000, u64::MAX] {
            for pair in ["ETH-USD", "BTC-USD", "LINK-USD"] {
                assert_eq!(a.true_price(pair, tick), b.true_price(pair, tick));
                assert_eq!(a.expected_median(pair, tick), b.expected_median(pair, tick));
                for s in 0..5 {
                    let o = a.observation(pair, s, tick);
                    assert!(o.is_some());
                    assert_eq!(o, a.observation(pair, s, tick));
                    assert_eq!(o, b.observation(pair, s, tick));
                }
            }
        }
    }

    #[test]
    fn seed_changes_the_data() {
        let a = sim();
        let b = Simulator::new(SimConfig {
            seed: 1,
            ..SimConfig::default()
        });
        let differ =
            (0..50).any(|t| a.source_price("ETH-USD", 0, t) != b.source_price("ETH-USD", 0, t));
        assert!(differ);
    }

    #[test]
    fn unknown_pair_or_source_is_none() {
        let s = sim();
        assert!(s.observation("DOGE-USD", 0, 1).is_none());
        assert!(s.observation("ETH-USD", 5, 1).is_none());
        assert!(s.observation("eth-usd", 0, 1).is_none());
        assert!(s.true_price("DOGE-USD", 1).is_none());
        assert!(s.expected_median("DOGE-USD", 1).is_none());
        assert!(s.source_price("ETH-USD", 99, 1).is_none());
    }

    #[test]
    fn tick_at_divides_unix_ms() {
        let s = sim();
        let t = UNIX_EPOCH + Duration::from_millis(1_234_567);
        assert_eq!(s.tick_at(t), 123);
        assert_eq!(s.tick_at(UNIX_EPOCH), 0);
        assert_eq!(s.tick_at(UNIX_EPOCH - Duration::from_secs(5)), 0);
        assert_eq!(s.tick_at(s.tick_start(777)), 777);
        let zero = Simulator::new(SimConfig {
            tick: Duration::ZERO,
            ..SimConfig::default()
        });
        assert_eq!(zero.tick_at(t), 1_234_567);
    }

    #[test]
    fn prices_have_exact_decimals() {
        let cfg = SimConfig {
            pairs: vec![
                PairConfig::new("ETH-USD", dec("3000")),
                PairConfig {
                    decimals: 2,
                    ..PairConfig::new("EUR-USD", dec("1.0834"))
                },
                PairConfig {
                    decimals: 0,
                    ..PairConfig::new("IDX", dec("12345"))
                },
                PairConfig {
                    decimals: 18,
                    ..PairConfig::new("ETH-WEI", dec("0.000333333333333333"))
                },
            ],
            outlier_probability: 0.5,
            ..SimConfig::default()
        };
        let s = Simulator::new(cfg.clone());
        for pair in &cfg.pairs {
            let d = i64::from(pair.decimals);
            for tick in 0..200 {
                assert_eq!(
                    s.true_price(&pair.name, tick)
                        .unwrap()
                        .fractional_digit_count(),
                    d
                );
                for src in 0..5 {
                    if let Some(v) = s.observation(&pair.name, src, tick).unwrap().value() {
                        assert_eq!(v.fractional_digit_count(), d, "{} {v}", pair.name);
                        let plain = v.to_plain_string();
                        let frac = plain.split('.').nth(1).map_or(0, str::len);
                        assert_eq!(frac as i64, d, "{plain}");
                    }
                }
            }
        }
    }

    #[test]
    fn true_price_moves_smoothly_within_bounds() {
        let s = sim();
        let base = dec("3000");
        let lo = &base * dec("0.92");
        let hi = &base * dec("1.08");
        let mut prev = s.true_price("ETH-USD", 0).unwrap();
        let mut distinct = 0;
        for tick in 1..20_000u64 {
            let p = s.true_price("ETH-USD", tick).unwrap();
            assert!(p >= lo && p <= hi, "tick {tick}: {p}");
            // Per-tick moves stay below 0.1 %.
            let step = (&p - &prev).abs();
            assert!(step <= &prev * dec("0.001"), "tick {tick}: {prev} -> {p}");
            if p != prev {
                distinct += 1;
            }
            prev = p;
        }
        assert!(distinct > 15_000, "the price should move: {distinct}");
    }

    #[test]
    fn wave_is_bounded_and_continuous() {
        for y in 0..FAST_PERIOD * 2 {
            let w = wave(y, FAST_PERIOD, FAST_AMPLITUDE);
            assert!(w.abs() <= FAST_AMPLITUDE);
        }
        assert_eq!(wave(0, FAST_PERIOD, FAST_AMPLITUDE), 0);
        assert_eq!(
            wave(FAST_PERIOD / 4, FAST_PERIOD, FAST_AMPLITUDE),
            FAST_AMPLITUDE
        );
        assert_eq!(
            wave(3 * FAST_PERIOD / 4, FAST_PERIOD, FAST_AMPLITUDE),
            -FAST_AMPLITUDE
        );
    }

    #[test]
    fn noise_stays_within_bounds_and_is_not_constant() {
        let s = sim();
        let bps = dec("0.0020");
        let ulp = dec("0.00000001");
        let mut seen = std::collections::HashSet::new();
        for tick in 0..2_000 {
            let truth = s.true_price("ETH-USD", tick).unwrap();
            for src in 0..5 {
                let p = s.source_price("ETH-USD", src, tick).unwrap();
                assert!(
                    (&p - &truth).abs() <= &truth * &bps + &ulp,
                    "{p} vs {truth}"
                );
                seen.insert((&p - &truth).to_string());
            }
        }
        assert!(seen.len() > 1_000);
    }

    #[test]
    fn zero_noise_gives_the_true_price() {
        let s = Simulator::new(SimConfig {
            noise_bps: 0,
            ..SimConfig::default().without_faults()
        });
        for tick in 0..100 {
            let truth = s.true_price("BTC-USD", tick).unwrap();
            for src in 0..5 {
                assert_eq!(
                    s.observation("BTC-USD", src, tick),
                    Some(Observation::Price(truth.clone()))
                );
            }
            assert_eq!(s.expected_median("BTC-USD", tick), Some(truth));
        }
    }

    #[test]
    fn outliers_are_one_point_five_or_point_six() {
        let s = Simulator::new(SimConfig {
            outlier_probability: 1.0,
            garbage_probability: 0.0,
            timeout_probability: 0.0,
            error_probability: 0.0,
            ..SimConfig::default()
        });
        let (mut up, mut down) = (0, 0);
        for tick in 0..400 {
            for src in 0..5 {
                let honest = s.source_price("ETH-USD", src, tick).unwrap();
                let Some(Observation::Outlier(v)) = s.observation("ETH-USD", src, tick) else {
                    panic!("expected an outlier");
                };
                // Two roundings: at most 1.25 units in the last place apart.
                let ulp = dec("0.00000002");
                if v > honest {
                    up += 1;
                    assert!((&v - &honest * dec("1.5")).abs() <= ulp);
                } else {
                    down += 1;
                    assert!((&v - &honest * dec("0.6")).abs() <= ulp);
                }
            }
        }
        assert!(up > 800 && down > 800, "{up} up, {down} down");
    }

    #[test]
    fn fault_frequencies_match_probabilities() {
        let s = sim();
        let mut counts = std::collections::HashMap::new();
        let ticks = 20_000u64;
        for tick in 0..ticks {
            for src in 0..5 {
                let kind = s.observation("LINK-USD", src, tick).unwrap().kind();
                *counts.entry(kind).or_insert(0u64) += 1;
            }
        }
        let n = (ticks * 5) as f64;
        let freq = |k| *counts.get(&k).unwrap_or(&0) as f64 / n;
        for (kind, p) in [
            (ObservationKind::Outlier, 0.05),
            (ObservationKind::Garbage, 0.02),
            (ObservationKind::Timeout, 0.02),
            (ObservationKind::ServerError, 0.02),
            (ObservationKind::Price, 0.89),
        ] {
            let f = freq(kind);
            // ±5 standard deviations of a binomial proportion, plus a little slack.
            let tol = 5.0 * (p * (1.0 - p) / n).sqrt() + 0.001;
            assert!((f - p).abs() < tol, "{kind:?}: {f} vs {p}");
        }
    }

    #[test]
    fn probabilities_of_one_and_zero_are_exact() {
        for (cfg, kind) in [
            (
                SimConfig {
                    garbage_probability: 1.0,
                    ..SimConfig::default().without_faults()
                },
                ObservationKind::Garbage,
            ),
            (
                SimConfig {
                    timeout_probability: 1.0,
                    ..SimConfig::default().without_faults()
                },
                ObservationKind::Timeout,
            ),
            (
                SimConfig {
                    error_probability: 1.0,
                    ..SimConfig::default().without_faults()
                },
                ObservationKind::ServerError,
            ),
            (
                SimConfig::default().without_faults(),
                ObservationKind::Price,
            ),
        ] {
            let s = Simulator::new(cfg);
            for tick in 0..500 {
                for src in 0..5 {
                    assert_eq!(s.observation("ETH-USD", src, tick).unwrap().kind(), kind);
                }
            }
        }
    }

    #[test]
    fn median_odd_and_even() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[dec("5")]), Some(dec("5")));
        assert_eq!(median(&[dec("3"), dec("1"), dec("2")]), Some(dec("2")));
        let even = median(&[dec("1.00"), dec("4.00"), dec("2.00"), dec("3.00")]).unwrap();
        assert_eq!(even, dec("2.5"));
        assert_eq!(even.to_plain_string(), "2.50");
        let odd_mean = median(&[dec("1.00000000"), dec("1.00000001")]).unwrap();
        assert_eq!(odd_mean.to_plain_string(), "1.000000005");
    }

    #[test]
    fn expected_median_ignores_faults_and_counts_outliers() {
        let s = sim();
        let mut saw_even = false;
        let mut saw_fault = false;
        for tick in 0..2_000 {
            let obs = s.observations("ETH-USD", tick).unwrap();
            let mut nums: Vec<BigDecimal> = obs.iter().filter_map(|o| o.value().cloned()).collect();
            saw_fault |= nums.len() < obs.len();
            nums.sort();
            let expected = s.expected_median("ETH-USD", tick);
            match nums.len() {
                0 => assert_eq!(expected, None),
                n if n % 2 == 1 => assert_eq!(expected, Some(nums[n / 2].clone())),
                n => {
                    saw_even = true;
                    let m = (&nums[n / 2 - 1] + &nums[n / 2]) / BigDecimal::from(2);
                    assert_eq!(expected, Some(m));
                }
            }
        }
        assert!(saw_even && saw_fault);
    }

    #[test]
    fn expected_median_none_when_every_source_fails() {
        let s = Simulator::new(SimConfig {
            error_probability: 1.0,
            ..SimConfig::default().without_faults()
        });
        assert_eq!(s.expected_median("ETH-USD", 42), None);
    }

    #[test]
    fn source_url_shape() {
        assert_eq!(
            Simulator::source_url("http://127.0.0.1:9000/", 2, "ETH-USD"),
            "http://127.0.0.1:9000/sources/2/price?pair=ETH-USD"
        );
        assert_eq!(
            Simulator::source_url("http://h", 0, "A B&C"),
            "http://h/sources/0/price?pair=A%20B%26C"
        );
    }

    #[test]
    fn new_clamps_instead_of_panicking() {
        let s = Simulator::new(SimConfig {
            pairs: vec![PairConfig {
                decimals: u32::MAX,
                ..PairConfig::new("X", dec("1"))
            }],
            noise_bps: u32::MAX,
            outlier_probability: f64::NAN,
            garbage_probability: -3.0,
            timeout_probability: 7.0,
            error_probability: f64::INFINITY,
            tick: Duration::ZERO,
            ..SimConfig::default()
        });
        assert_eq!(s.config().pairs[0].decimals, MAX_DECIMALS);
        assert_eq!(s.observation("X", 0, 3), Some(Observation::Timeout));
        assert!(Simulator::try_new(s.config().clone()).is_err());
    }

    fn decimals_strategy() -> impl Strategy<Value = Vec<BigDecimal>> {
        prop::collection::vec((-1_000_000_000i64..1_000_000_000, 0i64..10), 1..40).prop_map(|v| {
            v.into_iter()
                .map(|(d, s)| BigDecimal::new(BigInt::from(d), s))
                .collect()
        })
    }

    proptest! {
        #[test]
        fn median_lies_between_min_and_max(values in decimals_strategy()) {
            let m = median(&values).unwrap();
            let min = values.iter().min().unwrap();
            let max = values.iter().max().unwrap();
            prop_assert!(min <= &m && &m <= max);
        }

        #[test]
        fn median_is_the_sorted_middle(values in decimals_strategy()) {
            let m = median(&values).unwrap();
            let mut sorted = values.clone();
            sorted.sort();
            let n = sorted.len();
            if n % 2 == 1 {
                prop_assert_eq!(m, sorted[n / 2].clone());
            } else {
                prop_assert_eq!(
                    m * BigDecimal::from(2),
                    &sorted[n / 2 - 1] + &sorted[n / 2]
                );
            }
            // Order does not matter.
            let mut reversed = values.clone();
            reversed.reverse();
            prop_assert_eq!(median(&reversed), median(&values));
        }

        #[test]
        fn noise_bounds_hold(
            seed in any::<u64>(),
            tick in any::<u64>(),
            noise_bps in 0u32..=MAX_NOISE_BPS,
            base in 1u64..10_000_000_000,
            decimals in 0u32..=18,
        ) {
            let s = Simulator::new(SimConfig {
                pairs: vec![PairConfig { decimals, ..PairConfig::new("P", BigDecimal::new(BigInt::from(base), 4)) }],
                noise_bps,
                seed,
                ..SimConfig::default().without_faults()
            });
            let truth = s.true_price("P", tick).unwrap();
            let exact_truth = s.exact_true_price(0, tick);
            let ulp = BigDecimal::new(BigInt::from(1), i64::from(decimals));
            let rel = BigDecimal::new(BigInt::from(noise_bps), 4);
            for src in 0..5 {
                let Some(Observation::Price(p)) = s.observation("P", src, tick) else {
                    return Err(TestCaseError::fail("expected a price"));
                };
                prop_assert_eq!(p.fractional_digit_count(), i64::from(decimals));
                prop_assert!((&p - &truth).abs() <= &exact_truth * &rel + &ulp, "{} vs {}", p, truth);
            }
        }
    }
}
