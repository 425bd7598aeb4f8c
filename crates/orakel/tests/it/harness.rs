use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use alloy::primitives::{B256, U256};
use orakel_devnet::process::ChainState;
use orakel_devnet::{Devnet, DevnetConfig};

pub const PAYMENT: U256 = U256::from_limbs([100_000_000_000_000_000, 0, 0, 0]);
pub const TIMES: i64 = orakel_devnet::demo::TIMES;

pub struct TestNet {
    pub devnet: Devnet,
    _dir: tempfile::TempDir,
}

impl TestNet {
    /// Wraps a devnet started elsewhere; `dir` is removed when the test ends.
    pub fn new(devnet: Devnet, dir: tempfile::TempDir) -> Self {
        Self { devnet, _dir: dir }
    }
}

impl std::ops::Deref for TestNet {
    type Target = Devnet;
    fn deref(&self) -> &Devnet {
        &self.devnet
    }
}

impl std::ops::DerefMut for TestNet {
    fn deref_mut(&mut self) -> &mut Devnet {
        &mut self.devnet
    }
}

/// A devnet with `nodes` nodes; `url_jobs` gives each the classic single-URL job instead of
/// the median job. Sources never fail unless a test asks a fault route.
pub async fn start(nodes: usize, url_jobs: bool) -> TestNet {
    start_with(nodes, url_jobs, false, ChainState::Full).await
}

/// As [`start`] (median jobs) on an anvil that forks an idle base anvil, as the bench runs.
pub async fn start_forked(nodes: usize) -> TestNet {
    start_with(nodes, false, false, ChainState::ForkedFromIdleBase).await
}

/// As [`start`] with median jobs that also ask one more source through the sample adapter,
/// registered on every node as a bridge with its schemas (what `make demo` runs).
pub async fn start_with_adapter(nodes: usize) -> TestNet {
    start_with(nodes, false, true, ChainState::Full).await
}

async fn start_with(
    nodes: usize,
    url_jobs: bool,
    adapter: bool,
    chain_state: ChainState,
) -> TestNet {
    assert!(
        orakel_contracts::anvil::locate().is_some(),
        "anvil not found: run `make setup` (or set ORAKEL_ANVIL)"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = DevnetConfig::new(
        dir.path().join("devnet"),
        PathBuf::from(env!("CARGO_BIN_EXE_orakel")),
        nodes,
    );
    cfg.sim = cfg.sim.without_faults();
    cfg.single_source_job = url_jobs;
    cfg.adapter_source = adapter;
    cfg.sim.sources_per_pair = cfg.sources_per_job + usize::from(adapter);
    cfg.poll_interval = Duration::from_millis(100);
    cfg.chain_state = chain_state;
    let devnet = Devnet::start(cfg, |_| {}).await.expect("devnet starts");
    TestNet { devnet, _dir: dir }
}

/// The answers a median job may give for `pair` around now (ticks from `since` to now).
pub fn expected_answers(net: &Devnet, pair: &str, since: SystemTime) -> Vec<U256> {
    let sim = net.sim.simulator();
    let first = sim.tick_at(since).saturating_sub(1);
    let last = sim.tick_at(SystemTime::now());
    (first..=last)
        .filter_map(|t| orakel_devnet::demo::expected_scaled(net, pair, t))
        .collect()
}

/// Asks node `node`'s consumer for the ETH-USD price and waits for the fulfilment, whose
/// answer must be one of the sources' medians while it was asked.
pub async fn price_answered_with_the_median(
    net: &Devnet,
    node: usize,
) -> orakel_devnet::Fulfilment {
    let from = net.block_number().await.expect("block number");
    let asked = SystemTime::now();
    let req = net
        .request_price(node, "ETH-USD", TIMES, PAYMENT)
        .await
        .expect("request sent");
    let f = fulfilled(net, req.request_id, from).await;
    let expected = expected_answers(net, "ETH-USD", asked);
    assert!(
        expected.contains(&f.value),
        "answer {} not among the sources' medians {expected:?}",
        f.value
    );
    f
}

pub async fn fulfilled(net: &Devnet, request_id: B256, from: u64) -> orakel_devnet::Fulfilment {
    net.wait_for_fulfilment(request_id, from, Duration::from_secs(30))
        .await
        .expect("reading fulfilments")
        .unwrap_or_else(|| panic!("request {request_id:#x} not fulfilled within 30 s"))
}

/// Polls the node API until `f` accepts the JSON at `path`, or panics after `timeout`.
pub async fn api_until(
    net: &Devnet,
    node: usize,
    path: &str,
    timeout: Duration,
    f: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let (status, body) = net
            .api(&net.nodes[node], reqwest::Method::GET, path, None)
            .await
            .expect("api call");
        if status == 200 && f(&body) {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition on {path} not met within {timeout:?}; last: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
