//! The committed contract artifacts as raw JSON.
//!
//! Each file is `{"abi": [...], "bytecode": {"object": "0x..."}, "deployedBytecode": {"object":
//! "0x..."}}`, written by `scripts/export-artifacts.sh`. The typed bindings in the crate root are
//! generated from the same files; the raw text is here for tools that need the ABI as JSON.

/// `artifacts/LinkToken.json`.
pub const LINK_TOKEN_JSON: &str = include_str!("../artifacts/LinkToken.json");
/// `artifacts/Oracle.json`.
pub const ORACLE_JSON: &str = include_str!("../artifacts/Oracle.json");
/// `artifacts/PriceConsumer.json`.
pub const PRICE_CONSUMER_JSON: &str = include_str!("../artifacts/PriceConsumer.json");
/// `artifacts/RevertingConsumer.json`.
pub const REVERTING_CONSUMER_JSON: &str = include_str!("../artifacts/RevertingConsumer.json");

/// `artifacts/SlaMarket.json`.
pub const SLA_MARKET_JSON: &str = include_str!("../artifacts/SlaMarket.json");
/// `artifacts/SlaFeed.json`.
pub const SLA_FEED_JSON: &str = include_str!("../artifacts/SlaFeed.json");
/// `artifacts/Reputation.json`.
pub const REPUTATION_JSON: &str = include_str!("../artifacts/Reputation.json");
/// `artifacts/TrimmedMeanAggregator.json`.
pub const TRIMMED_MEAN_AGGREGATOR_JSON: &str =
    include_str!("../artifacts/TrimmedMeanAggregator.json");
/// `artifacts/MedianAggregator.json`.
pub const MEDIAN_AGGREGATOR_JSON: &str = include_str!("../artifacts/MedianAggregator.json");
/// `artifacts/ModeAggregator.json`.
pub const MODE_AGGREGATOR_JSON: &str = include_str!("../artifacts/ModeAggregator.json");
/// `artifacts/TwoDevAggregator.json`.
pub const TWO_DEV_AGGREGATOR_JSON: &str = include_str!("../artifacts/TwoDevAggregator.json");

/// Every interface artifact (ABI only) as `(interface name, JSON)`; none at the moment (the
/// SLA market is bound to its implementation).
pub const INTERFACES: [(&str, &str); 0] = [];

/// Every contract artifact as `(contract name, JSON)`.
pub const ALL: [(&str, &str); 11] = [
    ("LinkToken", LINK_TOKEN_JSON),
    ("Oracle", ORACLE_JSON),
    ("PriceConsumer", PRICE_CONSUMER_JSON),
    ("RevertingConsumer", REVERTING_CONSUMER_JSON),
    ("SlaMarket", SLA_MARKET_JSON),
    ("SlaFeed", SLA_FEED_JSON),
    ("Reputation", REPUTATION_JSON),
    ("TrimmedMeanAggregator", TRIMMED_MEAN_AGGREGATOR_JSON),
    ("MedianAggregator", MEDIAN_AGGREGATOR_JSON),
    ("ModeAggregator", MODE_AGGREGATOR_JSON),
    ("TwoDevAggregator", TWO_DEV_AGGREGATOR_JSON),
];

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use alloy::json_abi::ContractObject;

    #[test]
    fn artifacts_parse_with_abi_and_bytecode() {
        for (name, json) in super::ALL {
            let artifact: ContractObject =
                serde_json::from_str(json).unwrap_or_else(|e| panic!("{name}: {e}"));
            let abi = artifact.abi.unwrap_or_else(|| panic!("{name}: no abi"));
            assert!(abi.functions().count() > 0, "{name} has functions");
            assert!(
                artifact.bytecode.is_some_and(|b| !b.is_empty()),
                "{name} bytecode"
            );
            assert!(
                artifact.deployed_bytecode.is_some_and(|b| !b.is_empty()),
                "{name} deployed bytecode"
            );
        }
        for (name, json) in super::INTERFACES {
            let artifact: ContractObject =
                serde_json::from_str(json).unwrap_or_else(|e| panic!("{name}: {e}"));
            let abi = artifact.abi.unwrap_or_else(|| panic!("{name}: no abi"));
            assert!(abi.functions().count() > 0, "{name} has functions");
            assert!(artifact.bytecode.is_none_or(|b| b.is_empty()), "{name}");
        }
    }
}
