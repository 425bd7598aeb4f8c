//! Child processes of the devnet: anvil and orakel nodes. Each is killed when its handle drops,
//! so an interrupted devnet leaves nothing running.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use alloy::primitives::Address;
use tokio::process::{Child, Command};

use crate::{Error, Result};

/// A free TCP port on loopback (bound and released; good enough for local tools).
pub fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| Error::Io {
        what: "finding a free port".into(),
        source: e,
    })?;
    l.local_addr().map(|a| a.port()).map_err(|e| Error::Io {
        what: "finding a free port".into(),
        source: e,
    })
}

/// A running anvil.
#[derive(Debug)]
pub struct Anvil {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
}

/// The hardfork the devnet chain runs: the `evm_version` the contracts are compiled for
/// (`contracts/foundry.toml`). anvil's default is newer, and from Prague on every block also
/// writes its parent's hash into the EIP-2935 history contract (a ring of 8,191 slots), whose
/// storage anvil hashes again in full for each block's state root (ADR 0010).
pub const HARDFORK: &str = "cancun";

/// How many past block states the devnet's anvil keeps (in memory; none go to disk). Calls at
/// an older block fail; `orakel pool` replays a reverted transaction one block back for its
/// reason, and `ethcall` tasks may name a recent block.
pub const STATE_HISTORY: &str = "64";

impl Anvil {
    /// Starts anvil (automine, [`HARDFORK`], [`STATE_HISTORY`] past states in memory) on a
    /// free port and waits until it answers. A `nice` above 0 starts it (every thread it will
    /// have) at that lower CPU priority.
    ///
    /// Without `--prune-history` anvil serialises older states to disk: CPU taken from the
    /// nodes under load, and gigabytes left behind by a killed anvil (ADR 0010).
    pub async fn start(binary: &Path, chain_id: u64, log: &Path, nice: u8) -> Result<Self> {
        let port = free_port()?;
        // Left by devnets before ADR 0010 (`--keep` keeps the root, and so this directory).
        let _ = std::fs::remove_dir_all(log.with_file_name("anvil-states"));
        let log_file = std::fs::File::create(log).map_err(|e| Error::Io {
            what: format!("creating {}", log.display()),
            source: e,
        })?;
        let mut command = if nice > 0 {
            // `nice` execs anvil in place: same process, killed with it.
            let mut c = Command::new("nice");
            c.args(["-n", &nice.to_string()]).arg(binary);
            c
        } else {
            Command::new(binary)
        };
        command
            .args([
                "--port",
                &port.to_string(),
                "--chain-id",
                &chain_id.to_string(),
                "--accounts",
                "10",
                "--silent",
                "--hardfork",
                HARDFORK,
                "--prune-history",
                STATE_HISTORY,
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::from(log_file.try_clone().map_err(|e| {
                Error::Io {
                    what: "log file".into(),
                    source: e,
                }
            })?))
            .stderr(Stdio::from(log_file))
            .kill_on_drop(true);
        let child = command.spawn().map_err(|e| Error::Io {
            // The program and arguments as run (`nice …` when niced).
            what: format!("starting anvil: {:?}", command.as_std()),
            source: e,
        })?;
        let url = format!("http://127.0.0.1:{port}");
        let mut anvil = Self { child, url };
        anvil.wait_ready().await?;
        Ok(anvil)
    }

    async fn wait_ready(&mut self) -> Result<()> {
        let client = reqwest::Client::new();
        let body =
            serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []});
        for _ in 0..200 {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(Error::Setup(format!("anvil exited at start with {status}")));
            }
            if let Ok(resp) = client.post(&self.url).json(&body).send().await
                && resp.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(Error::Setup("anvil did not answer within 10 s".into()))
    }

    /// Stops anvil.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// An orakel node running as a child process.
#[derive(Debug)]
pub struct NodeProcess {
    child: Option<Child>,
    /// Node root directory.
    pub root: PathBuf,
    /// API base URL.
    pub api_url: String,
    /// API listen address.
    pub api_addr: SocketAddr,
    /// Sending address.
    pub address: Address,
    exe: PathBuf,
    password_file: PathBuf,
}

impl NodeProcess {
    /// Starts `exe node start --root <root>` and waits for its health endpoint.
    pub async fn spawn(
        exe: &Path,
        root: &Path,
        password_file: &Path,
        api_addr: SocketAddr,
        address: Address,
    ) -> Result<Self> {
        let mut node = Self {
            child: None,
            root: root.to_path_buf(),
            api_url: format!("http://{api_addr}"),
            api_addr,
            address,
            exe: exe.to_path_buf(),
            password_file: password_file.to_path_buf(),
        };
        node.start().await?;
        Ok(node)
    }

    /// (Re)starts the process, appending to `<root>/node.log`.
    pub async fn start(&mut self) -> Result<()> {
        let log = self.root.join("node.log");
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(|e| Error::Io {
                what: format!("opening {}", log.display()),
                source: e,
            })?;
        let err_file = log_file.try_clone().map_err(|e| Error::Io {
            what: "log file".into(),
            source: e,
        })?;
        let child = Command::new(&self.exe)
            .arg("node")
            .arg("start")
            .arg("--root")
            .arg(&self.root)
            .arg("--password-file")
            .arg(&self.password_file)
            .env(
                "RUST_LOG",
                std::env::var("ORAKEL_NODE_LOG").unwrap_or_else(|_| "info".into()),
            )
            .env_remove("ORAKEL_DATABASE_URL")
            .env_remove("ORAKEL_RPC_URLS")
            .env_remove("ORAKEL_API_LISTEN")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log_file))
            .stderr(Stdio::from(err_file))
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| Error::Io {
                what: format!("starting {}", self.exe.display()),
                source: e,
            })?;
        self.child = Some(child);
        self.wait_healthy().await
    }

    async fn wait_healthy(&mut self) -> Result<()> {
        let client = reqwest::Client::new();
        let url = format!("{}/health", self.api_url);
        for _ in 0..600 {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(Error::Setup(format!(
                    "node {} exited at start with {status}; see {}",
                    self.root.display(),
                    self.root.join("node.log").display()
                )));
            }
            if let Ok(resp) = client.get(&url).send().await
                && resp.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(Error::Setup(format!(
            "node {} not healthy within 30 s",
            self.root.display()
        )))
    }

    /// Kills the process at once (SIGKILL): no shutdown code runs, as in a crash.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// Asks the process to stop (SIGTERM) and waits up to `grace` before killing it.
    pub async fn stop(&mut self, grace: Duration) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Some(pid) = child.id() {
            let _ = std::process::Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status();
            if tokio::time::timeout(grace, child.wait()).await.is_ok() {
                return;
            }
        }
        let _ = child.kill().await;
    }

    /// The OS process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(|c| c.id())
    }

    /// Whether the process is running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }
}

/// Resident set size of a process in MiB (Linux `/proc`), if readable.
pub fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::HARDFORK;

    /// The devnet chain must accept every opcode the contracts are compiled to use, and should
    /// not run a later hardfork's per-block system writes the contracts never asked for.
    #[test]
    fn devnet_hardfork_is_the_contracts_evm_version() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../contracts/foundry.toml");
        let text = std::fs::read_to_string(path).expect("contracts/foundry.toml");
        let config: toml::Table = toml::from_str(&text).expect("foundry.toml parses");
        let evm_version = config
            .get("profile")
            .and_then(|p| p.get("default"))
            .and_then(|d| d.get("evm_version"))
            .and_then(toml::Value::as_str)
            .expect("[profile.default] evm_version is set");
        assert!(
            evm_version.eq_ignore_ascii_case(HARDFORK),
            "{path} compiles for {evm_version}, the devnet runs {HARDFORK}"
        );
    }
}
