//! orakel-chain integration tests against a real `anvil` (one per test, on its own port).
//!
//! anvil is found like everywhere else in the workspace (`$ORAKEL_ANVIL`, `PATH`,
//! `contracts/node_modules/.bin/anvil`). Without it these tests FAIL: CI installs the toolchain
//! first, so a missing binary is a set-up error, not a reason to skip.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod keystore;
mod listener;
mod rpc;
mod subscription;
mod txm;

use std::future::Future;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy_signer_local::PrivateKeySigner;
use orakel_chain::Rpc;
use orakel_contracts::anvil;
use serde::de::DeserializeOwned;

/// anvil's default chain id.
pub const CHAIN_ID: u64 = 31337;

/// A port nobody listens on (bound and released at once).
pub fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running anvil, killed on drop.
pub struct Anvil {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// Provider without a wallet: anvil signs for its unlocked dev accounts.
    pub provider: DynProvider,
}

impl Anvil {
    /// Starts anvil (automine) on a free port and waits until it answers.
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// Like [`Anvil::start`] with extra command-line arguments.
    pub async fn start_with(extra: &[&str]) -> Self {
        let path = anvil::locate().unwrap_or_else(|| {
            panic!(
                "anvil not found: set ${} to the anvil binary, put anvil on PATH, or run \
                 scripts/setup-foundry.sh (installs {})",
                anvil::ANVIL_ENV,
                anvil::ANVIL_NPM_PATH
            )
        });
        // A port picked this way can be taken by a parallel test before anvil binds it: retry.
        for _ in 0..5 {
            let port = closed_port();
            let mut child = Command::new(&path)
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
                .unwrap_or_else(|e| panic!("cannot start anvil at {}: {e}", path.display()));
            let url = format!("http://127.0.0.1:{port}");
            let provider = ProviderBuilder::new()
                .connect_http(url.parse().unwrap())
                .erased();
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                if provider.get_chain_id().await.is_ok() {
                    return Self {
                        child,
                        url,
                        provider,
                    };
                }
                if child.try_wait().unwrap().is_some() || Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        panic!("anvil at {} did not start", path.display());
    }

    /// A raw JSON-RPC call (anvil_*, evm_* methods).
    pub async fn rpc<R: DeserializeOwned + Send + 'static + std::fmt::Debug>(
        &self,
        method: &'static str,
        params: serde_json::Value,
    ) -> R {
        let value: serde_json::Value = self
            .provider
            .raw_request(method.into(), params)
            .await
            .unwrap_or_else(|e| panic!("{method} failed: {e}"));
        serde_json::from_value(value).unwrap()
    }

    /// Mines one block.
    pub async fn mine(&self) {
        let _: serde_json::Value = self.rpc("evm_mine", serde_json::json!([])).await;
    }

    /// Turns automine on or off.
    pub async fn set_automine(&self, on: bool) {
        let _: serde_json::Value = self.rpc("evm_setAutomine", serde_json::json!([on])).await;
    }

    /// Gives `address` 1000 ETH.
    pub async fn fund(&self, address: Address) {
        let wei = U256::from(1_000u64) * U256::from(10u64).pow(U256::from(18u64));
        let _: serde_json::Value = self
            .rpc(
                "anvil_setBalance",
                serde_json::json!([address, format!("{wei:#x}")]),
            )
            .await;
    }

    /// A random key with funds.
    pub async fn funded_key(&self) -> PrivateKeySigner {
        let key = PrivateKeySigner::random();
        self.fund(key.address()).await;
        key
    }

    /// The first unlocked dev account.
    pub async fn owner(&self) -> Address {
        self.provider.get_accounts().await.unwrap()[0]
    }

    /// An `Rpc` pool on this anvil only.
    pub async fn rpc_pool(&self) -> Rpc {
        Rpc::connect(std::slice::from_ref(&self.url), CHAIN_ID)
            .await
            .unwrap()
    }

    /// Kills the process now (the URL becomes a dead endpoint).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Polls `check` every 50 ms until it returns `Some`, failing the test after `secs` seconds.
pub async fn eventually<T, F, Fut>(what: &str, secs: u64, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {secs} s waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
