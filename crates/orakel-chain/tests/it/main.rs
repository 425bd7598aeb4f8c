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
use std::time::{Duration, Instant};

use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy_signer_local::PrivateKeySigner;
use orakel_chain::Rpc;
use orakel_contracts::anvil::AnvilProcess;
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
    process: AnvilProcess,
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
        let process = AnvilProcess::start(extra)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let url = process.url().to_string();
        let provider = ProviderBuilder::new()
            .connect_http(url.parse().unwrap())
            .erased();
        Self {
            process,
            url,
            provider,
        }
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

    /// Mines one block whose base fee is `wei` (what a transaction offering less cannot
    /// get into).
    pub async fn mine_at_base_fee(&self, wei: u128) {
        let _: serde_json::Value = self
            .rpc(
                "anvil_setNextBlockBaseFeePerGas",
                serde_json::json!([format!("{wei:#x}")]),
            )
            .await;
        self.mine().await;
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
        self.process.kill();
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
