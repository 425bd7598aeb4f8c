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
            self.http.allow_private_targets = matches!(v.as_str(), "1" | "true" | "yes");
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
    fn relative_paths_resolve_against_root() {
        let cfg = NodeConfig::new(Path::new("/srv/node1"), vec![], 1);
        assert_eq!(cfg.database_url(), "sqlite:///srv/node1/orakel.sqlite");
        assert_eq!(
            cfg.keystore_path(),
            PathBuf::from("/srv/node1/keys/node.json")
        );
    }
}
