//! `orakel node init`: creates a node's root directory with its config and encrypted key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use alloy::primitives::Address;
use alloy_signer_local::PrivateKeySigner;

use crate::config::{CONFIG_FILE, NodeConfig};
use crate::{Error, Result};

/// What to put in a new node's root.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// Root directory (created).
    pub root: PathBuf,
    /// RPC endpoints.
    pub rpc_urls: Vec<String>,
    /// WebSocket endpoint for log subscriptions (`[chain] ws_url`).
    pub ws_url: Option<String>,
    /// Chain id.
    pub chain_id: u64,
    /// API listen address.
    pub api_listen: SocketAddr,
    /// Let `http` tasks reach private addresses (local sources, development).
    pub allow_private_http: bool,
    /// Log poll interval.
    pub poll_interval: std::time::Duration,
    /// Import this key instead of generating one.
    pub import_key: Option<PrivateKeySigner>,
    /// Create an API token file.
    pub api_token: bool,
}

/// Result of an init.
#[derive(Debug, Clone)]
pub struct Initialized {
    /// The node's sending address (fund it before starting).
    pub address: Address,
    /// Config file written.
    pub config_path: PathBuf,
    /// Keystore written.
    pub keystore_path: PathBuf,
    /// Token file written, if any.
    pub token_path: Option<PathBuf>,
}

/// Creates `<root>/config.toml`, `<root>/keys/node.json` (encrypted with `password`) and
/// optionally `<root>/api-token`. Refuses to overwrite an existing config or key.
pub fn init(opts: &InitOptions, password: &str) -> Result<Initialized> {
    if password.len() < 8 {
        return Err(Error::Config(
            "keystore password must be at least 8 characters".into(),
        ));
    }
    let config_path = opts.root.join(CONFIG_FILE);
    if config_path.exists() {
        return Err(Error::Config(format!(
            "{} exists already; not overwriting",
            config_path.display()
        )));
    }
    let mut cfg = NodeConfig::new(&opts.root, opts.rpc_urls.clone(), opts.chain_id);
    cfg.api.listen = opts.api_listen;
    cfg.http.allow_private_targets = opts.allow_private_http;
    cfg.chain.poll_interval = opts.poll_interval;
    cfg.chain.ws_url = opts.ws_url.clone();
    cfg.validate()?;
    cfg.tx.poll_interval = opts.poll_interval;
    let keystore_path = cfg.keystore_path();
    let signer = match &opts.import_key {
        Some(key) => {
            orakel_chain::keystore::write(&keystore_path, key, password)?;
            key.clone()
        }
        None => orakel_chain::keystore::create(&keystore_path, password)?,
    };
    let token_path = if opts.api_token {
        let path = opts.root.join("api-token");
        let token: [u8; 24] = rand::random();
        write_private(&path, &hex::encode(token))?;
        cfg.api.token_file = Some(PathBuf::from("api-token"));
        Some(path)
    } else {
        None
    };
    cfg.save()?;
    Ok(Initialized {
        address: signer.address(),
        config_path,
        keystore_path,
        token_path,
    })
}

/// Writes a file readable by its owner only (created with mode 0600, never wider).
pub fn write_private(path: &Path, contents: &str) -> Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::Io {
            what: format!("creating {}", dir.display()),
            source: e,
        })?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| Error::Io {
        what: format!("writing {}", path.display()),
        source: e,
    })?;
    file.write_all(contents.as_bytes()).map_err(|e| Error::Io {
        what: format!("writing {}", path.display()),
        source: e,
    })
}
