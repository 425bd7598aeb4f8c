//! Child processes of the devnet: anvil and orakel nodes. Each is killed when its handle drops,
//! and by the kernel when the devnet dies without dropping it, so an interrupted devnet leaves
//! nothing running. Each can run in a session of its own, as a separate service would
//! ([`own_service`], ADR 0012).

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
    /// The idle anvil this one forks, when it forks one ([`ChainState::ForkedFromIdleBase`]).
    base: Option<Box<Anvil>>,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
}

/// How the devnet's anvil holds its state (ADR 0015).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChainState {
    /// anvil's own in-memory state. anvil then rebuilds the state root of every block from
    /// every storage slot it ever wrote, zeroed slots included, so each block costs more than
    /// the one before: about 2 more per request served on the devnet (a commitment and a
    /// pending-request entry).
    #[default]
    Full,
    /// anvil forks a second, idle anvil started for it (`--fork-url`). A forked anvil does
    /// not compute state roots, so a block costs the same however many requests came before
    /// it. Execution, gas, receipts and logs are the same; the blocks' `stateRoot` is not
    /// meaningful. For load runs, where the chain's growing cost would otherwise be measured.
    ForkedFromIdleBase,
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
    /// have) at that lower CPU priority; `own_session` starts it in a session of its own
    /// ([`own_service`]).
    ///
    /// Without `--prune-history` anvil serialises older states to disk: CPU taken from the
    /// nodes under load, and gigabytes left behind by a killed anvil (ADR 0010).
    ///
    /// With [`ChainState::ForkedFromIdleBase`] an idle base anvil starts first (same
    /// settings, its log beside `log` as `anvil-base.log`) and this one forks it.
    pub async fn start(
        binary: &Path,
        chain_id: u64,
        log: &Path,
        nice: u8,
        own_session: bool,
        state: ChainState,
    ) -> Result<Self> {
        let base = match state {
            ChainState::Full => None,
            ChainState::ForkedFromIdleBase => Some(Box::new(
                Self::spawn(
                    binary,
                    chain_id,
                    &log.with_file_name("anvil-base.log"),
                    nice,
                    own_session,
                    None,
                )
                .await?,
            )),
        };
        let mut anvil = Self::spawn(
            binary,
            chain_id,
            log,
            nice,
            own_session,
            base.as_ref().map(|b| b.url.as_str()),
        )
        .await?;
        anvil.base = base;
        Ok(anvil)
    }

    async fn spawn(
        binary: &Path,
        chain_id: u64,
        log: &Path,
        nice: u8,
        own_session: bool,
        fork_url: Option<&str>,
    ) -> Result<Self> {
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
            .args(
                fork_url
                    .map(|url| ["--fork-url", url])
                    .into_iter()
                    .flatten(),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::from(log_file.try_clone().map_err(|e| {
                Error::Io {
                    what: "log file".into(),
                    source: e,
                }
            })?))
            .stderr(Stdio::from(log_file))
            .kill_on_drop(true);
        own_service(&mut command, own_session);
        let child = command.spawn().map_err(|e| Error::Io {
            // The program and arguments as run (`nice …` when niced).
            what: format!("starting anvil: {:?}", command.as_std()),
            source: e,
        })?;
        let url = format!("http://127.0.0.1:{port}");
        let mut anvil = Self {
            child,
            base: None,
            url,
        };
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

    /// The OS process ids of this anvil and of the base it forks, while running.
    pub fn pids(&self) -> Vec<u32> {
        let base = self.base.as_ref().map(|b| b.pids()).unwrap_or_default();
        self.child.id().into_iter().chain(base).collect()
    }

    /// Stops anvil (and the base it forks).
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
        if let Some(base) = self.base.take() {
            Box::pin(base.stop()).await;
        }
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
    own_session: bool,
}

impl NodeProcess {
    /// Starts `exe node start --root <root>` and waits for its health endpoint. With
    /// `own_session` it (and every restart) runs in a session of its own ([`own_service`]).
    pub async fn spawn(
        exe: &Path,
        root: &Path,
        password_file: &Path,
        api_addr: SocketAddr,
        address: Address,
        own_session: bool,
    ) -> Result<Self> {
        let mut node = Self {
            child: None,
            root: root.to_path_buf(),
            api_url: format!("http://{api_addr}"),
            api_addr,
            address,
            exe: exe.to_path_buf(),
            password_file: password_file.to_path_buf(),
            own_session,
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
        let mut command = Command::new(&self.exe);
        command
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
            .kill_on_drop(true);
        own_service(&mut command, self.own_session);
        let child = command.spawn().map_err(|e| Error::Io {
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

/// Sets up `command` as a service of the devnet:
///
/// - **Killed with the devnet.** The child gets SIGKILL when the thread that spawns it exits
///   (`PR_SET_PDEATHSIG`), so a devnet, bench or test killed without running its destructors
///   (SIGKILL, a panic that aborts) leaves no anvil or node behind. The devnet spawns them from
///   the thread that drives it (the main thread, a runtime worker or a test's thread), which
///   lives as long as the devnet. A devnet that died before the child armed this is caught by
///   comparing the parent's process id.
/// - **A session of its own, with `own_session`.** With the kernel's autogroup scheduling
///   (`/proc/sys/kernel/sched_autogroup_enabled`, on by default) every session is one
///   scheduling group, and the CPU is shared between groups first, then between the threads of
///   a group. A chain and an oracle node deployed as separate services (systemd units,
///   containers: each its own cgroup) are scheduled that way. Started from one session, anvil's
///   mining threads instead compete with the node's threads one by one, and on a small machine
///   the node waits for cores anvil holds (ADR 0012). Ctrl-C in a terminal then reaches only the
///   devnet, which stops its services itself.
fn own_service(command: &mut Command, own_session: bool) {
    let devnet = std::process::id();
    #[allow(unsafe_code)]
    // SAFETY: the closure runs in the forked child before `exec`. It calls only `setsid`,
    // `prctl` and `getppid`, which are async-signal-safe system calls, allocates nothing and
    // touches no lock, as `pre_exec` requires.
    unsafe {
        command.pre_exec(move || {
            if own_session && libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            // The devnet died between `fork` and `prctl`: nobody would stop this child.
            if u32::try_from(libc::getppid()).ok() != Some(devnet) {
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}

/// Resident set size of a process in MiB (Linux `/proc`), if readable.
pub fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// CPU time a process has used so far (user + system), in seconds (Linux `/proc`), if
/// readable.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    // `/proc` counts in USER_HZ, which Linux fixes at 100 for user space.
    const TICKS_PER_SECOND: f64 = 100.0;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    cpu_ticks(&stat).map(|t| t as f64 / TICKS_PER_SECOND)
}

/// utime + stime of a `/proc/<pid>/stat` line. The command name (field 2) may hold spaces and
/// parentheses, so fields are counted from its last `)`: utime and stime are fields 14 and 15.
fn cpu_ticks(stat: &str) -> Option<u64> {
    let (_, after_name) = stat.rsplit_once(')')?;
    let mut fields = after_name.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    use super::{Command, HARDFORK, cpu_ticks, own_service};

    #[test]
    fn cpu_ticks_counts_fields_after_the_command_name() {
        let stat = "4242 (anvil (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 731 269 0 0 20 0 9";
        assert_eq!(cpu_ticks(stat), Some(1000));
        assert_eq!(cpu_ticks("4242 (anvil) S 1 2"), None);
        assert_eq!(cpu_ticks("no name here"), None);
    }

    /// `(state, session id)` of a process, from `/proc/<pid>/stat`.
    fn state_and_session(pid: u32) -> Option<(char, u32)> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // "pid (comm) state ppid pgrp session …"; comm may hold spaces, so split after ')'.
        let mut rest = stat.get(stat.rfind(')')? + 1..)?.split_whitespace();
        let state = rest.next()?.chars().next()?;
        let session = rest.nth(2)?.parse().ok()?;
        Some((state, session))
    }

    /// Starts `sleep 30` through [`own_service`] on a thread of its own that then exits, the
    /// way a devnet dies without stopping its children. Returns the child's pid and session.
    fn start_service_on_a_thread_that_exits(own_session: bool) -> (u32, u32) {
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let mut command = Command::new("sleep");
                command.arg("30");
                own_service(&mut command, own_session);
                let child = command.spawn().expect("sleep starts");
                let pid = child.id().expect("running");
                let (_, session) = state_and_session(pid).expect("child in /proc");
                (pid, session)
            })
        })
        .join()
        .expect("thread")
    }

    fn wait_until_dead(pid: u32) -> bool {
        for _ in 0..100 {
            match state_and_session(pid) {
                None | Some(('Z' | 'X', _)) => return true,
                Some(_) => std::thread::sleep(std::time::Duration::from_millis(50)),
            }
        }
        false
    }

    #[test]
    fn a_service_gets_a_session_of_its_own_and_dies_with_the_thread_that_started_it() {
        let own = state_and_session(std::process::id()).expect("own stat").1;
        let (pid, session) = start_service_on_a_thread_that_exits(true);
        assert_eq!(session, pid, "the service leads a session of its own");
        assert_ne!(session, own);
        assert!(
            wait_until_dead(pid),
            "the service outlived the thread that started it"
        );

        let (pid, session) = start_service_on_a_thread_that_exits(false);
        assert_eq!(session, own, "without own_session it stays in ours");
        assert!(
            wait_until_dead(pid),
            "the service outlived the thread that started it"
        );
    }

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
