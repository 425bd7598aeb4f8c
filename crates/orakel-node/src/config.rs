//! Node configuration: a TOML file in the node's root directory, with environment overrides
//! for what differs between deployments of the same config (endpoints, database, listen
//! address). Relative paths are resolved against the root directory.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// File name of the config inside a node's root directory.
pub const CONFIG_FILE: &str = "config.toml";

/// The whole node configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// Chain access.
    pub chain: ChainConfig,
    /// Persistence.
    #[serde(default)]
    pub database: DatabaseConfig,
    /// Sending key.
    #[serde(default)]
    pub keystore: KeystoreConfig,
    /// REST API.
    #[serde(default)]
    pub api: ApiConfig,
    /// Transaction manager.
    #[serde(default)]
    pub tx: TxConfig,
    /// Outbound HTTP of `http` tasks.
    #[serde(default)]
    pub http: HttpConfig,
    /// SLA markets: bidding policy and (devnet only) fault injection.
    #[serde(default, skip_serializing_if = "SlaConfig::is_default")]
    pub sla: SlaConfig,
    /// Root directory (set at load time, not read from the file).
    #[serde(skip)]
    pub root: PathBuf,
}

/// `[chain]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainConfig {
    /// JSON-RPC endpoints, tried in order (failover).
    pub rpc_urls: Vec<String>,
    /// WebSocket endpoint (`ws://` / `wss://`) for log subscriptions. Optional: with it,
    /// oracle requests are acted on the moment their block is mined instead of at the next
    /// poll; polling stays on and catches up whatever a lost subscription misses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ws_url: Option<String>,
    /// Expected chain id; every endpoint is checked against it.
    pub chain_id: u64,
    /// Pause between log polls.
    #[serde(default = "default_poll", with = "humantime_serde")]
    pub poll_interval: Duration,
    /// First block to read on a fresh database (default: head at first start).
    #[serde(default)]
    pub start_block: Option<u64>,
    /// Blocks to rewind when a reorg is detected.
    #[serde(default = "default_reorg_depth")]
    pub reorg_depth: u64,
}

/// `[database]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://file` (relative to the root) or `sqlite::memory:`.
    #[serde(default = "default_db_url")]
    pub url: String,
}

/// `[keystore]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeystoreConfig {
    /// Encrypted key file (Ethereum keystore v3).
    #[serde(default = "default_key_path")]
    pub path: PathBuf,
}

/// `[api]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// Listen address of the REST API and `/metrics`.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// File holding the bearer token the API requires (none: no auth; only sensible on
    /// loopback).
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// Base URL under which external adapters reach this API (the `responseURL` of async
    /// bridge tasks); default `http://<listen>` (loopback when listening on all addresses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
}

/// `[tx]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TxConfig {
    /// Gas limit when a task gives none (the Oracle needs 400k left for the callback).
    #[serde(default = "default_gas_limit")]
    pub default_gas_limit: u64,
    /// Re-send with a higher fee after this long unmined.
    #[serde(default = "default_bump_after", with = "humantime_serde")]
    pub bump_after: Duration,
    /// Percent fee increase per bump.
    #[serde(default = "default_bump_percent")]
    pub bump_percent: u64,
    /// Highest fee cap, in gwei.
    #[serde(default = "default_max_fee_gwei")]
    pub max_fee_gwei: u64,
    /// How often receipts are checked.
    #[serde(default = "default_tx_poll", with = "humantime_serde")]
    pub poll_interval: Duration,
}

/// `[http]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Let `http` tasks reach loopback/private/link-local addresses (off by default: SSRF).
    #[serde(default)]
    pub allow_private_targets: bool,
    /// Timeout of an `http` task without its own.
    #[serde(default = "default_http_timeout", with = "humantime_serde")]
    pub default_timeout: Duration,
    /// Largest response body accepted.
    #[serde(default = "default_max_response")]
    pub max_response_bytes: usize,
    /// Longest a single task may take when its spec sets no `maxTaskDuration`.
    #[serde(default = "default_max_task", with = "humantime_serde")]
    pub max_task_duration: Duration,
}

/// Chain id of the local devnet (anvil), the only chain fault injection may run on.
pub const DEVNET_CHAIN_ID: u64 = 31337;

/// `[sla]`: whether and on what the node bids in SLA markets. Keys are snake_case like the
/// rest of the file; the camelCase spellings of job specs are accepted too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaConfig {
    /// Whether the node places new bids. Turning it off never abandons SLAs the node already
    /// serves (that would forfeit their deposits): their rounds are still answered.
    #[serde(default)]
    pub enabled: bool,
    /// The LINK token bids are paid with (`transferAndCall`); required to bid.
    #[serde(
        default,
        alias = "linkAddress",
        skip_serializing_if = "Option::is_none"
    )]
    pub link_address: Option<alloy::primitives::Address>,
    /// Reputation categories (`SlaTerms.jobType`, bytes32 hex) the node bids on; empty: any.
    #[serde(default, alias = "jobTypes")]
    pub job_types: Vec<alloy::primitives::B256>,
    /// Lowest `paymentPerOracle` (per round) worth bidding for, in juels.
    #[serde(default, alias = "minPaymentJuels")]
    pub min_payment_juels: Juels,
    /// Highest `penaltyDeposit` the node puts at stake per SLA, in juels (none: no limit).
    #[serde(
        default,
        alias = "maxPenaltyJuels",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_penalty_juels: Option<Juels>,
    /// Most SLAs bid on or served at once.
    #[serde(default = "default_max_slas", alias = "maxConcurrentSlas")]
    pub max_concurrent_slas: u64,
    /// Blocks a market log needs (its own included) before the node acts on it.
    #[serde(default = "default_sla_confirmations")]
    pub confirmations: u64,
    /// Gas limit of SLA transactions (bid, commit, reveal, finalize, closeRound, startRound);
    /// default: `[tx].default_gas_limit`. `closeRound` aggregates and calls back, so leave room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gas_limit: Option<u64>,
    /// Serve as this staking-pool node (its `PoolStorage` address, ADR 0006): bid with the
    /// pool's stake and answer as the pool node; payments go to its stakers. This node's key
    /// must be the pool node's operator. None: the node's own key is the oracle.
    #[serde(default, alias = "poolNode", skip_serializing_if = "Option::is_none")]
    pub pool_node: Option<alloy::primitives::Address>,
    /// Fault injection for demonstrations; refused unless the chain id is 31337.
    #[serde(default)]
    pub fault: SlaFaultConfig,
}

/// `[sla.fault]`: make this node misbehave on purpose (devnet only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaFaultConfig {
    /// Commit, then go silent: never reveal (the market slashes the deposit).
    #[serde(default, alias = "skipReveal")]
    pub skip_reveal: bool,
    /// Freeloader: run no pipeline, copy the first other oracle's commitment of each round,
    /// and later "reveal" that oracle's answer and salt, which the market refuses (the
    /// commitment binds the original oracle's address).
    #[serde(default, alias = "copyCommitment")]
    pub copy_commitment: bool,
}

impl SlaFaultConfig {
    /// Whether any fault is switched on.
    pub fn any(&self) -> bool {
        self.skip_reveal || self.copy_commitment
    }
}

/// An amount of juels: a TOML integer, or a string of decimal digits for amounts beyond
/// 64-bit integers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Juels(pub alloy::primitives::U256);

impl Serialize for Juels {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

impl<'de> Deserialize<'de> for Juels {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(i64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Int(i) => u64::try_from(i)
                .map(|u| Juels(alloy::primitives::U256::from(u)))
                .map_err(|_| serde::de::Error::custom("juels must not be negative")),
            Raw::Text(t) => parse_juels(&t).map_err(serde::de::Error::custom),
        }
    }
}

fn parse_juels(text: &str) -> std::result::Result<Juels, String> {
    let t = text.trim().replace('_', "");
    if t.is_empty() || !t.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("invalid juels {text:?}: expected decimal digits"));
    }
    alloy::primitives::U256::from_str_radix(&t, 10)
        .map(Juels)
        .map_err(|e| format!("invalid juels {text:?}: {e}"))
}

fn default_max_slas() -> u64 {
    10
}
fn default_sla_confirmations() -> u64 {
    1
}

impl Default for SlaConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            link_address: None,
            job_types: Vec::new(),
            min_payment_juels: Juels::default(),
            max_penalty_juels: None,
            max_concurrent_slas: default_max_slas(),
            confirmations: default_sla_confirmations(),
            gas_limit: None,
            pool_node: None,
            fault: SlaFaultConfig::default(),
        }
    }
}

impl SlaConfig {
    fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

fn default_poll() -> Duration {
    Duration::from_millis(500)
}
fn default_reorg_depth() -> u64 {
    64
}
fn default_db_url() -> String {
    "sqlite://orakel.sqlite".into()
}
fn default_key_path() -> PathBuf {
    PathBuf::from("keys/node.json")
}
fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 6688))
}
fn default_gas_limit() -> u64 {
    500_000
}
fn default_bump_after() -> Duration {
    Duration::from_secs(30)
}
fn default_bump_percent() -> u64 {
    20
}
fn default_max_fee_gwei() -> u64 {
    500
}
fn default_tx_poll() -> Duration {
    Duration::from_millis(500)
}
fn default_http_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_max_response() -> usize {
    2 * 1024 * 1024
}
fn default_max_task() -> Duration {
    Duration::from_secs(60)
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: default_db_url(),
        }
    }
}
impl Default for KeystoreConfig {
    fn default() -> Self {
        Self {
            path: default_key_path(),
        }
    }
}
impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            token_file: None,
            public_url: None,
        }
    }
}
impl Default for TxConfig {
    fn default() -> Self {
        Self {
            default_gas_limit: default_gas_limit(),
            bump_after: default_bump_after(),
            bump_percent: default_bump_percent(),
            max_fee_gwei: default_max_fee_gwei(),
            poll_interval: default_tx_poll(),
        }
    }
}
impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            allow_private_targets: false,
            default_timeout: default_http_timeout(),
            max_response_bytes: default_max_response(),
            max_task_duration: default_max_task(),
        }
    }
}

impl NodeConfig {
    /// A config for a chain, with every other section at its default.
    pub fn new(root: &Path, rpc_urls: Vec<String>, chain_id: u64) -> Self {
        Self {
            chain: ChainConfig {
                rpc_urls,
                ws_url: None,
                chain_id,
                poll_interval: default_poll(),
                start_block: None,
                reorg_depth: default_reorg_depth(),
            },
            database: DatabaseConfig::default(),
            keystore: KeystoreConfig::default(),
            api: ApiConfig::default(),
            tx: TxConfig::default(),
            http: HttpConfig::default(),
            sla: SlaConfig::default(),
            root: root.to_path_buf(),
        }
    }

    /// Reads `<root>/config.toml`, then applies environment overrides.
    pub fn load(root: &Path) -> Result<Self> {
        let path = root.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))?;
        let mut cfg = Self::parse(&text, &path)?;
        cfg.root = root.to_path_buf();
        cfg.apply_env(|k| std::env::var(k).ok())?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Parses config text; errors name the file, line and column.
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        toml::from_str(text).map_err(|e| {
            let (line, col) = e.span().map(|s| line_col(text, s.start)).unwrap_or((0, 0));
            Error::Config(format!("{}:{line}:{col}: {}", path.display(), e.message()))
        })
    }

    /// Applies `ORAKEL_*` overrides read through `get`.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<()> {
        if let Some(v) = get("ORAKEL_RPC_URLS") {
            self.chain.rpc_urls = v
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
        }
        if let Some(v) = get("ORAKEL_WS_URL") {
            let v = v.trim();
            self.chain.ws_url = (!v.is_empty()).then(|| v.to_string());
        }
        if let Some(v) = get("ORAKEL_CHAIN_ID") {
            self.chain.chain_id = v
                .parse()
                .map_err(|e| Error::Config(format!("ORAKEL_CHAIN_ID={v:?}: {e}")))?;
        }
        if let Some(v) = get("ORAKEL_DATABASE_URL") {
            self.database.url = v;
        }
        if let Some(v) = get("ORAKEL_API_LISTEN") {
            self.api.listen = v
                .parse()
                .map_err(|e| Error::Config(format!("ORAKEL_API_LISTEN={v:?}: {e}")))?;
        }
        if let Some(v) = get("ORAKEL_HTTP_ALLOW_PRIVATE_TARGETS") {
            self.http.allow_private_targets = flag(&v);
        }
        if let Some(v) = get("ORAKEL_SLA_ENABLED") {
            self.sla.enabled = flag(&v);
        }
        if let Some(v) = get("ORAKEL_SLA_LINK_ADDRESS") {
            self.sla.link_address = Some(
                v.trim()
                    .parse()
                    .map_err(|e| Error::Config(format!("ORAKEL_SLA_LINK_ADDRESS={v:?}: {e}")))?,
            );
        }
        if let Some(v) = get("ORAKEL_SLA_JOB_TYPES") {
            self.sla.job_types = v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| {
                    s.parse().map_err(|e| {
                        Error::Config(format!(
                            "ORAKEL_SLA_JOB_TYPES: {s:?} is not bytes32 hex: {e}"
                        ))
                    })
                })
                .collect::<Result<_>>()?;
        }
        if let Some(v) = get("ORAKEL_SLA_MIN_PAYMENT_JUELS") {
            self.sla.min_payment_juels = parse_juels(&v)
                .map_err(|e| Error::Config(format!("ORAKEL_SLA_MIN_PAYMENT_JUELS: {e}")))?;
        }
        if let Some(v) = get("ORAKEL_SLA_MAX_PENALTY_JUELS") {
            self.sla.max_penalty_juels = Some(
                parse_juels(&v)
                    .map_err(|e| Error::Config(format!("ORAKEL_SLA_MAX_PENALTY_JUELS: {e}")))?,
            );
        }
        if let Some(v) = get("ORAKEL_SLA_MAX_CONCURRENT_SLAS") {
            self.sla.max_concurrent_slas = v
                .trim()
                .parse()
                .map_err(|e| Error::Config(format!("ORAKEL_SLA_MAX_CONCURRENT_SLAS={v:?}: {e}")))?;
        }
        if let Some(v) = get("ORAKEL_SLA_FAULT_SKIP_REVEAL") {
            self.sla.fault.skip_reveal = flag(&v);
        }
        if let Some(v) = get("ORAKEL_SLA_FAULT_COPY_COMMITMENT") {
            self.sla.fault.copy_commitment = flag(&v);
        }
        Ok(())
    }

    /// Checks what the types alone cannot: fault injection only on the devnet chain.
    pub fn validate(&self) -> Result<()> {
        if self.sla.fault.any() && self.chain.chain_id != DEVNET_CHAIN_ID {
            return Err(Error::Config(format!(
                "[sla.fault] (skip_reveal / copy_commitment) makes the node misbehave on purpose and is only allowed on the local devnet (chain id {DEVNET_CHAIN_ID}); this node's chain id is {}",
                self.chain.chain_id
            )));
        }
        if let Some(ws) = &self.chain.ws_url {
            let scheme = url::Url::parse(ws).map(|u| u.scheme().to_string());
            if !matches!(scheme.as_deref(), Ok("ws" | "wss")) {
                return Err(Error::Config(format!(
                    "[chain] ws_url {} must be a ws:// or wss:// URL",
                    orakel_chain::redact_rpc_url(ws)
                )));
            }
        }
        Ok(())
    }

    /// The database URL with a relative SQLite path resolved against the root.
    pub fn database_url(&self) -> String {
        let url = &self.database.url;
        match url.strip_prefix("sqlite://") {
            Some(path) if !path.starts_with('/') && !url.contains(":memory:") => {
                format!("sqlite://{}", self.root.join(path).display())
            }
            _ => url.clone(),
        }
    }

    /// The base URL adapters answer async bridge tasks at (`[api].public_url`, else the
    /// listen address; an unspecified listen address becomes loopback).
    pub fn resume_base_url(&self) -> String {
        if let Some(url) = &self.api.public_url {
            return url.trim_end_matches('/').to_string();
        }
        let mut addr = self.api.listen;
        if addr.ip().is_unspecified() {
            addr.set_ip(if addr.is_ipv4() {
                std::net::Ipv4Addr::LOCALHOST.into()
            } else {
                std::net::Ipv6Addr::LOCALHOST.into()
            });
        }
        format!("http://{addr}")
    }

    /// Keystore path resolved against the root.
    pub fn keystore_path(&self) -> PathBuf {
        self.root.join(&self.keystore.path)
    }

    /// API token file resolved against the root.
    pub fn token_path(&self) -> Option<PathBuf> {
        self.api.token_file.as_ref().map(|p| self.root.join(p))
    }

    /// Writes the config to `<root>/config.toml`, readable by its owner only (RPC URLs may
    /// carry API keys).
    pub fn save(&self) -> Result<()> {
        let text = toml::to_string_pretty(self).map_err(|e| Error::Config(e.to_string()))?;
        crate::init::write_private(&self.root.join(CONFIG_FILE), &text)
    }
}

fn flag(v: &str) -> bool {
    matches!(v.trim(), "1" | "true" | "yes")
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_config_gets_defaults() -> Result<()> {
        let cfg = NodeConfig::parse(
            "[chain]\nrpc_urls = [\"http://127.0.0.1:8545\"]\nchain_id = 31337\n",
            Path::new("c.toml"),
        )?;
        assert_eq!(cfg.chain.chain_id, 31337);
        assert_eq!(cfg.tx.default_gas_limit, 500_000);
        assert!(!cfg.http.allow_private_targets);
        Ok(())
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let text = "[chain]\nrpc_urls = [\"http://x\"]\nchain_id = \"abc\"\n";
        let err = NodeConfig::parse(text, Path::new("node/config.toml"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("node/config.toml:3:"), "{err}");
        let err = NodeConfig::parse(
            "[chain]\nrpc_urls=[]\nchain_id=1\nbogus=1\n",
            Path::new("c.toml"),
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(err.contains("c.toml:4:") && err.contains("bogus"), "{err}");
    }

    #[test]
    fn ws_url_is_optional_checked_and_overridable() -> Result<()> {
        let base = "[chain]\nrpc_urls = [\"http://127.0.0.1:8545\"]\nchain_id = 31337\n";
        let cfg = NodeConfig::parse(base, Path::new("c.toml"))?;
        assert_eq!(cfg.chain.ws_url, None);
        cfg.validate()?;
        let with = format!("{base}ws_url = \"ws://127.0.0.1:8545\"\n");
        let mut cfg = NodeConfig::parse(&with, Path::new("c.toml"))?;
        assert_eq!(cfg.chain.ws_url.as_deref(), Some("ws://127.0.0.1:8545"));
        cfg.validate()?;
        cfg.chain.ws_url = Some("http://node.example/v2/abcdefghijklmnopqrstuvwxyz".into());
        let err = cfg
            .validate()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("ws_url") && err.contains("ws://"), "{err}");
        assert!(
            !err.contains("abcdefghijklmnopqrstuvwxyz"),
            "the key is redacted: {err}"
        );
        cfg.apply_env(|k| (k == "ORAKEL_WS_URL").then(|| "wss://x.example".to_string()))?;
        assert_eq!(cfg.chain.ws_url.as_deref(), Some("wss://x.example"));
        cfg.validate()?;
        Ok(())
    }

    #[test]
    fn env_overrides_apply() -> Result<()> {
        let mut cfg = NodeConfig::new(Path::new("/r"), vec!["http://a".into()], 1);
        cfg.apply_env(|k| match k {
            "ORAKEL_RPC_URLS" => Some("http://b, http://c".into()),
            "ORAKEL_CHAIN_ID" => Some("5".into()),
            "ORAKEL_DATABASE_URL" => Some("sqlite:///tmp/x.sqlite".into()),
            _ => None,
        })?;
        assert_eq!(
            cfg.chain.rpc_urls,
            vec!["http://b".to_string(), "http://c".to_string()]
        );
        assert_eq!(cfg.chain.chain_id, 5);
        assert_eq!(cfg.database_url(), "sqlite:///tmp/x.sqlite");
        let bad = cfg.apply_env(|k| (k == "ORAKEL_CHAIN_ID").then(|| "x".to_string()));
        assert!(bad.is_err());
        Ok(())
    }

    #[test]
    fn resume_base_url_defaults_to_a_reachable_listen_address() {
        let mut cfg = NodeConfig::new(Path::new("/r"), vec![], 1);
        assert_eq!(cfg.resume_base_url(), "http://127.0.0.1:6688");
        cfg.api.listen = SocketAddr::from(([0, 0, 0, 0], 7000));
        assert_eq!(cfg.resume_base_url(), "http://127.0.0.1:7000");
        cfg.api.public_url = Some("https://node.example/".into());
        assert_eq!(cfg.resume_base_url(), "https://node.example");
    }

    #[test]
    fn sla_section_parses_with_either_spelling() -> Result<()> {
        let base = "[chain]\nrpc_urls = [\"http://127.0.0.1:8545\"]\nchain_id = 31337\n";
        let cfg = NodeConfig::parse(base, Path::new("c.toml"))?;
        assert_eq!(cfg.sla, SlaConfig::default());
        assert!(!cfg.sla.enabled);
        let text = format!(
            "{base}[sla]\nenabled = true\nlink_address = \"0x5FbDB2315678afecb367f032d93F642f64180aa3\"\njob_types = [\"0x{}\"]\nmin_payment_juels = 1000\nmax_penalty_juels = \"100000000000000000000\"\nmax_concurrent_slas = 3\n",
            "11".repeat(32)
        );
        let cfg = NodeConfig::parse(&text, Path::new("c.toml"))?;
        assert!(cfg.sla.enabled);
        assert_eq!(cfg.sla.job_types.len(), 1);
        assert_eq!(
            cfg.sla.min_payment_juels.0,
            alloy::primitives::U256::from(1000u64)
        );
        assert_eq!(
            cfg.sla
                .max_penalty_juels
                .map(|j| j.0.to_string())
                .as_deref(),
            Some("100000000000000000000")
        );
        assert_eq!(cfg.sla.max_concurrent_slas, 3);
        let camel = format!(
            "{base}[sla]\nenabled = true\njobTypes = []\nminPaymentJuels = \"5\"\nmaxConcurrentSlas = 2\n[sla.fault]\nskipReveal = true\n"
        );
        let cfg = NodeConfig::parse(&camel, Path::new("c.toml"))?;
        assert_eq!(
            cfg.sla.min_payment_juels.0,
            alloy::primitives::U256::from(5u64)
        );
        assert!(cfg.sla.fault.skip_reveal && !cfg.sla.fault.copy_commitment);
        cfg.validate()?;
        // Saved and read back unchanged.
        let again = NodeConfig::parse(
            &toml::to_string_pretty(&cfg).map_err(|e| Error::Config(e.to_string()))?,
            Path::new("c.toml"),
        )?;
        assert_eq!(again.sla, cfg.sla);

        let bad = format!("{base}[sla]\nmin_payment_juels = \"1.5\"\n");
        let err = NodeConfig::parse(&bad, Path::new("c.toml"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("c.toml:5:") && err.contains("invalid juels"),
            "{err}"
        );
        Ok(())
    }

    #[test]
    fn fault_injection_is_refused_off_the_devnet() {
        let mut cfg = NodeConfig::new(Path::new("/r"), vec![], 1);
        cfg.sla.fault.copy_commitment = true;
        let err = cfg
            .validate()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("[sla.fault]") && err.contains("31337") && err.contains("chain id is 1"),
            "{err}"
        );
        cfg.chain.chain_id = DEVNET_CHAIN_ID;
        assert!(cfg.validate().is_ok());
        cfg.sla.fault.copy_commitment = false;
        cfg.chain.chain_id = 1;
        assert!(cfg.validate().is_ok());
    }

    #[test]
    fn sla_env_overrides_apply() -> Result<()> {
        let mut cfg = NodeConfig::new(Path::new("/r"), vec![], 31337);
        cfg.apply_env(|k| match k {
            "ORAKEL_SLA_ENABLED" => Some("true".into()),
            "ORAKEL_SLA_JOB_TYPES" => Some(format!("0x{}, 0x{}", "01".repeat(32), "02".repeat(32))),
            "ORAKEL_SLA_MIN_PAYMENT_JUELS" => Some("7".into()),
            "ORAKEL_SLA_MAX_PENALTY_JUELS" => Some("9".into()),
            "ORAKEL_SLA_MAX_CONCURRENT_SLAS" => Some("4".into()),
            "ORAKEL_SLA_LINK_ADDRESS" => Some("0x5FbDB2315678afecb367f032d93F642f64180aa3".into()),
            "ORAKEL_SLA_FAULT_SKIP_REVEAL" => Some("1".into()),
            _ => None,
        })?;
        assert!(cfg.sla.enabled && cfg.sla.fault.skip_reveal);
        assert_eq!(cfg.sla.job_types.len(), 2);
        assert_eq!(
            cfg.sla.min_payment_juels.0,
            alloy::primitives::U256::from(7u64)
        );
        assert_eq!(
            cfg.sla.max_penalty_juels.map(|j| j.0),
            Some(alloy::primitives::U256::from(9u64))
        );
        assert_eq!(cfg.sla.max_concurrent_slas, 4);
        assert!(cfg.sla.link_address.is_some());
        let bad = cfg.apply_env(|k| (k == "ORAKEL_SLA_JOB_TYPES").then(|| "0x12".to_string()));
        assert!(bad.is_err());
        Ok(())
    }

    #[test]
    fn relative_paths_resolve_against_root() {
        let cfg = NodeConfig::new(Path::new("/srv/node1"), vec![], 1);
        assert_eq!(cfg.database_url(), "sqlite:///srv/node1/orakel.sqlite");
        assert_eq!(
            cfg.keystore_path(),
            PathBuf::from("/srv/node1/keys/node.json")
        );
    }
}
