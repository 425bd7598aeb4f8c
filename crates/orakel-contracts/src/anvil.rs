//! Where to find the pinned `anvil` binary, and a local anvil process for tests and tools.
//!
//! `scripts/setup-foundry.sh` installs anvil from the npm package `@foundry-rs/anvil-linux-amd64`
//! into `contracts/node_modules`. Tools look for it in this order:
//! 1. the path in `$ORAKEL_ANVIL`,
//! 2. `anvil` on `PATH`,
//! 3. `contracts/node_modules/.bin/anvil` in this source checkout.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alloy::providers::{Provider, ProviderBuilder};

/// Environment variable naming the anvil binary to use.
pub const ANVIL_ENV: &str = "ORAKEL_ANVIL";

/// Where `scripts/setup-foundry.sh` puts anvil, relative to the workspace root (a symlink to
/// `contracts/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil`).
pub const ANVIL_NPM_PATH: &str = "contracts/node_modules/.bin/anvil";

/// The workspace root of the checkout this crate was built from.
#[must_use]
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Finds anvil: `$ORAKEL_ANVIL`, then `PATH`, then [`ANVIL_NPM_PATH`] under [`workspace_root`].
///
/// Returns `None` when none of them is an existing file. A set but wrong `$ORAKEL_ANVIL` is not
/// skipped silently: it is returned as is, so starting it fails with its path in the error.
#[must_use]
pub fn locate() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(ANVIL_ENV).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    if let Some(paths) = std::env::var_os("PATH")
        && let Some(found) = std::env::split_paths(&paths)
            .map(|dir| dir.join("anvil"))
            .find(|candidate| candidate.is_file())
    {
        return Some(found);
    }
    let npm = workspace_root().join(ANVIL_NPM_PATH);
    npm.is_file().then_some(npm)
}

/// How long a started anvil may take to answer.
const READY_WITHIN: Duration = Duration::from_secs(30);

/// Why a local anvil could not be started.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// [`locate`] found nothing.
    #[error(
        "anvil not found: set ${ANVIL_ENV} to the anvil binary, put anvil on PATH, or run \
         `make setup` (installs {ANVIL_NPM_PATH})"
    )]
    NotFound,
    /// The binary could not be run, exited, or did not answer in time.
    #[error("anvil at {path} did not start: {detail}")]
    Failed {
        /// The binary.
        path: PathBuf,
        /// What went wrong (the last attempt's).
        detail: String,
    },
}

/// A local anvil (automine unless its arguments say otherwise), killed and reaped on drop.
#[derive(Debug)]
pub struct AnvilProcess {
    child: Child,
    url: String,
}

impl AnvilProcess {
    /// Starts the [`locate`]d anvil on a free local port with `extra` arguments and waits until
    /// it answers `eth_chainId`. A port taken between choosing and binding it is retried with
    /// another. anvil's own error output goes to this process's stderr.
    pub async fn start(extra: &[&str]) -> Result<Self, StartError> {
        let path = locate().ok_or(StartError::NotFound)?;
        let failed = |detail: String| StartError::Failed {
            path: path.clone(),
            detail,
        };
        let mut detail = String::new();
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map_err(|e| failed(format!("no free local port: {e}")))?
                .port();
            let child = Command::new(&path)
                .args([
                    "--host",
                    "127.0.0.1",
                    "--port",
                    &port.to_string(),
                    "--silent",
                ])
                .args(extra)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .map_err(|e| failed(e.to_string()))?;
            // Killed on drop from here on, whatever happens below.
            let mut anvil = Self {
                child,
                url: format!("http://127.0.0.1:{port}"),
            };
            match anvil.wait_until_ready().await {
                Ok(()) => return Ok(anvil),
                Err(why) => detail = why,
            }
        }
        Err(failed(detail))
    }

    /// `http://127.0.0.1:<port>`.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Kills the process now (its URL becomes a dead endpoint).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    async fn wait_until_ready(&mut self) -> Result<(), String> {
        let url = self
            .url
            .parse()
            .map_err(|e| format!("bad url {}: {e}", self.url))?;
        let provider = ProviderBuilder::new().connect_http(url);
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            if provider.get_chain_id().await.is_ok() {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("exited before it answered ({status})"));
            }
            if Instant::now() > deadline {
                return Err(format!("no answer on {} within {READY_WITHIN:?}", self.url));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for AnvilProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
