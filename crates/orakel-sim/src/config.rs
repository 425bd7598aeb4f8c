//! Simulator configuration: pairs, sources, noise and fault probabilities.

use std::collections::HashSet;
use std::time::Duration;

use bigdecimal::{BigDecimal, Zero};

use crate::{Error, Result};

/// Largest accepted `PairConfig::decimals`.
pub const MAX_DECIMALS: u32 = 36;

/// Largest accepted `SimConfig::noise_bps` (50 %).
pub const MAX_NOISE_BPS: u32 = 5_000;

/// Configuration of a [`Simulator`](crate::Simulator) and its server.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// The simulated asset pairs.
    pub pairs: Vec<PairConfig>,
    /// Number of independent sources per pair (indices `0..sources_per_pair`). Default 5.
    pub sources_per_pair: usize,
    /// Length of one tick: within a tick every source answers the same thing. Default 10 s.
    pub tick: Duration,
    /// Maximum relative noise of a source around the true price, in basis points. Default 20.
    pub noise_bps: u32,
    /// Probability that a source answers an outlier (×1.5 or ×0.6) in a tick. Default 0.05.
    pub outlier_probability: f64,
    /// Probability that a source answers HTTP 200 with a non-JSON body. Default 0.02.
    pub garbage_probability: f64,
    /// Probability that a source answers only after `timeout_delay`. Default 0.02.
    pub timeout_probability: f64,
    /// Probability that a source answers HTTP 503. Default 0.02.
    pub error_probability: f64,
    /// How long a timing-out source waits before answering. Default 30 s.
    pub timeout_delay: Duration,
    /// Seed of every deterministic draw.
    pub seed: u64,
}

/// One simulated asset pair.
#[derive(Debug, Clone, PartialEq)]
pub struct PairConfig {
    /// Pair name as used in the `pair` query parameter, e.g. `"ETH-USD"`.
    pub name: String,
    /// Price around which the true price moves (within about ±8 %).
    pub base_price: BigDecimal,
    /// Served prices have exactly this many decimals. Usually 8.
    pub decimals: u32,
}

impl PairConfig {
    /// A pair with the given name, base price and 8 decimals.
    pub fn new(name: impl Into<String>, base_price: BigDecimal) -> Self {
        Self {
            name: name.into(),
            base_price,
            decimals: 8,
        }
    }
}

impl Default for SimConfig {
    /// ETH-USD around 3000, BTC-USD around 90000, LINK-USD around 20; 5 sources each.
    fn default() -> Self {
        Self {
            pairs: vec![
                PairConfig::new("ETH-USD", BigDecimal::from(3_000)),
                PairConfig::new("BTC-USD", BigDecimal::from(90_000)),
                PairConfig::new("LINK-USD", BigDecimal::from(20)),
            ],
            sources_per_pair: 5,
            tick: Duration::from_secs(10),
            noise_bps: 20,
            outlier_probability: 0.05,
            garbage_probability: 0.02,
            timeout_probability: 0.02,
            error_probability: 0.02,
            timeout_delay: Duration::from_secs(30),
            seed: 0x0a4a_6b65_6c53_696d,
        }
    }
}

impl SimConfig {
    /// A config with every fault probability set to zero: each source always answers a price.
    pub fn without_faults(mut self) -> Self {
        self.outlier_probability = 0.0;
        self.garbage_probability = 0.0;
        self.timeout_probability = 0.0;
        self.error_probability = 0.0;
        self
    }

    /// Checks that the configuration is usable; the error names the offending field.
    ///
    /// [`SimServer::start`](crate::SimServer::start) and
    /// [`Simulator::try_new`](crate::Simulator::try_new) call this.
    pub fn validate(&self) -> Result<()> {
        let bad = |msg: String| Err(Error::InvalidConfig(msg));
        if self.sources_per_pair == 0 {
            return bad("sources_per_pair must be at least 1".into());
        }
        if self.tick.as_millis() == 0 {
            return bad("tick must be at least 1 ms".into());
        }
        if self.noise_bps > MAX_NOISE_BPS {
            return bad(format!(
                "noise_bps must be at most {MAX_NOISE_BPS}, got {}",
                self.noise_bps
            ));
        }
        let probs = [
            ("outlier_probability", self.outlier_probability),
            ("garbage_probability", self.garbage_probability),
            ("timeout_probability", self.timeout_probability),
            ("error_probability", self.error_probability),
        ];
        for (name, p) in probs {
            if !(0.0..=1.0).contains(&p) {
                return bad(format!("{name} must be within [0, 1], got {p}"));
            }
        }
        let sum: f64 = probs.iter().map(|(_, p)| p).sum();
        if sum > 1.0 + 1e-9 {
            return bad(format!("fault probabilities add up to {sum}, more than 1"));
        }
        let mut seen = HashSet::new();
        for pair in &self.pairs {
            if pair.name.is_empty() {
                return bad("pair name must not be empty".into());
            }
            if !seen.insert(pair.name.as_str()) {
                return bad(format!("pair {:?} is configured twice", pair.name));
            }
            if pair.base_price <= BigDecimal::zero() {
                return bad(format!(
                    "pair {:?}: base_price must be positive, got {}",
                    pair.name, pair.base_price
                ));
            }
            if pair.decimals > MAX_DECIMALS {
                return bad(format!(
                    "pair {:?}: decimals must be at most {MAX_DECIMALS}, got {}",
                    pair.name, pair.decimals
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid() {
        let c = SimConfig::default();
        assert!(c.validate().is_ok());
        assert_eq!(c.pairs.len(), 3);
        assert_eq!(c.sources_per_pair, 5);
        assert_eq!(c.tick, Duration::from_secs(10));
        assert_eq!(c.pairs[0].name, "ETH-USD");
        assert_eq!(c.pairs[0].decimals, 8);
    }

    #[test]
    fn validate_rejects_bad_fields() {
        let cases: Vec<(&str, SimConfig)> = vec![
            (
                "sources_per_pair",
                SimConfig {
                    sources_per_pair: 0,
                    ..SimConfig::default()
                },
            ),
            (
                "tick",
                SimConfig {
                    tick: Duration::ZERO,
                    ..SimConfig::default()
                },
            ),
            (
                "noise_bps",
                SimConfig {
                    noise_bps: 9_999,
                    ..SimConfig::default()
                },
            ),
            (
                "garbage_probability",
                SimConfig {
                    garbage_probability: f64::NAN,
                    ..SimConfig::default()
                },
            ),
            (
                "add up",
                SimConfig {
                    outlier_probability: 0.7,
                    error_probability: 0.7,
                    ..SimConfig::default()
                },
            ),
            (
                "twice",
                SimConfig {
                    pairs: vec![
                        PairConfig::new("A-B", BigDecimal::from(1)),
                        PairConfig::new("A-B", BigDecimal::from(2)),
                    ],
                    ..SimConfig::default()
                },
            ),
            (
                "base_price",
                SimConfig {
                    pairs: vec![PairConfig::new("A-B", BigDecimal::from(0))],
                    ..SimConfig::default()
                },
            ),
            (
                "decimals",
                SimConfig {
                    pairs: vec![PairConfig {
                        decimals: 99,
                        ..PairConfig::new("A-B", BigDecimal::from(1))
                    }],
                    ..SimConfig::default()
                },
            ),
        ];
        for (needle, cfg) in cases {
            match cfg.validate() {
                Err(Error::InvalidConfig(msg)) => {
                    assert!(msg.contains(needle), "{msg:?} should name {needle}")
                }
                other => panic!("expected InvalidConfig for {needle}, got {other:?}"),
            }
        }
    }
}
