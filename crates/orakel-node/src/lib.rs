//! The orakel node service: loads its config and key, keeps jobs, listens for oracle requests,
//! runs job pipelines, sends fulfilments through the transaction manager, and serves the REST
//! API with Prometheus metrics.
//!
//! This crate wires the parts together and owns the job types (`directrequest`, `cron`,
//! `webhook`, `sla`). It
//! must not talk SQL (that is `orakel-store`), RPC/signing (`orakel-chain`) or parse specs
//! (`orakel-pipeline`) itself.

pub mod api;
pub mod bridges;
pub mod chainread;
pub mod config;
pub mod cron;
pub mod directrequest;
mod error;
pub mod init;
pub mod jobrun;
pub mod pool;
pub mod registry;
mod resume;
pub mod routes;
mod secrets;
pub mod sink;
pub mod sla;
mod sla_api;
pub mod webhook;

use std::net::SocketAddr;
use std::sync::Arc;

use alloy::primitives::Address;
use alloy_signer_local::PrivateKeySigner;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use orakel_chain::{ListenerConfig, LogListener, LogSubscription, Rpc, TxManager, TxManagerConfig};
use orakel_pipeline::{JobType, Runner, RunnerConfig};
use orakel_store::{NewJob, Store};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use config::NodeConfig;
pub use error::{Error, Result};
use registry::{JobRegistry, LoadedJob};

/// State shared by the API handlers.
pub struct NodeShared {
    /// Database.
    pub store: Store,
    /// Chain endpoints.
    pub rpc: Rpc,
    /// Loaded jobs.
    pub registry: Arc<JobRegistry>,
    /// Chain id.
    pub chain_id: u64,
    /// Sending address.
    pub address: Address,
    /// Required bearer token, if any.
    pub api_token: Option<String>,
    /// Prometheus renderer (only the first node of a process installs the recorder).
    pub metrics: Option<PrometheusHandle>,
    /// Registered bridges (external adapters).
    pub bridges: Arc<bridges::Bridges>,
    /// Executor of cron, webhook and resumed runs.
    pub runs: Arc<jobrun::JobRuns>,
    /// The SLA service's chain access (withdrawals from the API).
    pub sla_chain: Arc<dyn sla::SlaChain>,
}

/// A running node.
pub struct NodeHandle {
    cancel: CancellationToken,
    tasks: JoinSet<()>,
    /// Where the API listens.
    pub api_addr: SocketAddr,
    /// The node's sending address.
    pub address: Address,
    shared: Arc<NodeShared>,
}

impl std::fmt::Debug for NodeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeHandle")
            .field("api_addr", &self.api_addr)
            .field("address", &self.address)
            .finish()
    }
}

impl NodeHandle {
    /// Stops the listener, scheduler and API and waits for them. Runs still in flight are
    /// abandoned where they are; their requests resume on the next start (the same path as
    /// after a crash).
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        while self.tasks.join_next().await.is_some() {}
        self.shared.store.close().await;
    }

    /// Waits until the node stops (a task ended, e.g. on cancellation).
    pub async fn wait(&mut self) {
        let _ = self.tasks.join_next().await;
    }

    /// The cancellation token; cancelling it stops the node.
    pub fn cancel_token(&self) -> CancellationToken {
        self.cancel.clone()
    }
}

/// The request latency is a histogram with fine fixed buckets (0.5 ms steps up to 10 ms), so
/// quantiles over any window can be computed exactly to a bucket from two scrapes; the other
/// timings stay rolling-window summaries.
fn latency_buckets(builder: PrometheusBuilder) -> PrometheusBuilder {
    let mut buckets: Vec<f64> = (1..=20).map(|i| f64::from(i) * 0.0005).collect();
    buckets.extend((11..=30).map(|i| f64::from(i) * 0.001));
    buckets.extend((7..=20).map(|i| f64::from(i) * 0.005));
    buckets.extend([0.15, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0, 10.0]);
    let matcher =
        metrics_exporter_prometheus::Matcher::Full("orakel_request_to_broadcast_seconds".into());
    match builder.set_buckets_for_metric(matcher, &buckets) {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(error = %e, "latency buckets not set");
            PrometheusBuilder::new()
        }
    }
}

fn install_metrics() -> Option<PrometheusHandle> {
    static HANDLE: std::sync::OnceLock<Option<PrometheusHandle>> = std::sync::OnceLock::new();
    HANDLE
        .get_or_init(
            || match latency_buckets(PrometheusBuilder::new()).install_recorder() {
                Ok(h) => Some(h),
                Err(e) => {
                    tracing::warn!(error = %e, "metrics recorder not installed");
                    None
                }
            },
        )
        .clone()
}

/// Parses, checks and stores a job, and starts serving it.
pub async fn create_job(
    shared: &NodeShared,
    toml_text: &str,
    origin: &str,
) -> Result<Arc<LoadedJob>> {
    let spec = orakel_pipeline::parse_job_spec(toml_text, origin)?;
    check_supported(&spec, shared.chain_id)?;
    bridges::check_job_references(shared, &spec, origin).await?;
    let row = shared
        .store
        .insert_job(&NewJob {
            external_job_id: spec.external_job_id.hyphenated().to_string(),
            name: spec.name.clone(),
            job_type: spec.job_type.as_str().to_string(),
            spec_toml: toml_text.to_string(),
        })
        .await?;
    tracing::info!(job = row.id, external_job_id = %row.external_job_id, name = ?row.name, "job created");
    Ok(shared.registry.insert(LoadedJob { row, spec }))
}

fn check_supported(spec: &orakel_pipeline::JobSpec, chain_id: u64) -> Result<()> {
    if !matches!(
        spec.job_type,
        JobType::DirectRequest | JobType::Cron | JobType::Webhook | JobType::Sla
    ) {
        return Err(Error::Unsupported(format!(
            "job type {} is not served by this node yet",
            spec.job_type
        )));
    }
    if let Some(c) = spec.evm_chain_id
        && c != chain_id
    {
        return Err(Error::Unsupported(format!(
            "evmChainID {c} does not match this node's chain {chain_id}"
        )));
    }
    Ok(())
}

/// Starts a node: database, chain access, transaction manager, jobs, listener, API.
pub async fn start(cfg: NodeConfig, signer: PrivateKeySigner) -> Result<NodeHandle> {
    cfg.validate()?;
    let cancel = CancellationToken::new();
    let metrics = install_metrics();
    let store = Store::open(&cfg.database_url()).await?;
    let rpc = Rpc::connect_with_retry(
        &cfg.chain.rpc_urls,
        cfg.chain.chain_id,
        std::time::Duration::from_secs(30),
    )
    .await?;
    let address = signer.address();
    tracing::info!(address = %format!("{address:#x}"), rpc = %rpc.active_endpoint(), chain_id = cfg.chain.chain_id, "node starting");

    let txm = TxManager::start(
        rpc.clone(),
        store.clone(),
        signer,
        TxManagerConfig {
            default_gas_limit: cfg.tx.default_gas_limit,
            default_priority_fee: 1_000_000_000,
            max_fee_cap: u128::from(cfg.tx.max_fee_gwei).saturating_mul(1_000_000_000),
            bump_after: cfg.tx.bump_after,
            bump_percent: cfg.tx.bump_percent,
            poll_interval: cfg.tx.poll_interval,
        },
        cancel.clone(),
    )
    .await?;

    let own_chain: Arc<dyn sla::SlaChain> =
        Arc::new(sla::ChainSla::new(rpc.clone(), txm.clone(), store.clone()));
    let pool_chain = match cfg.sla.pool_node {
        Some(node) => Some(Arc::new(
            pool::PoolChain::connect(own_chain.clone(), node)
                .await
                .map_err(|e| Error::Config(format!("[sla] pool_node: {e}")))?,
        )),
        None => None,
    };
    let sla_chain: Arc<dyn sla::SlaChain> = match &pool_chain {
        Some(p) => {
            tracing::info!(node = %p.node(), "serving SLAs as a staking-pool node");
            p.clone()
        }
        None => own_chain,
    };
    let bridges = Arc::new(bridges::Bridges::load(&store).await?);
    let starts = Arc::new(directrequest::RunStarts::default());
    let sink = Arc::new(sink::ChainTxSink::new(
        txm,
        store.clone(),
        cfg.chain.chain_id,
        starts.clone(),
    ));
    let runner = Arc::new(
        Runner::new(
            RunnerConfig {
                default_http_timeout: cfg.http.default_timeout,
                max_task_duration: cfg.http.max_task_duration,
                allow_private_http: cfg.http.allow_private_targets,
                max_response_bytes: cfg.http.max_response_bytes,
                max_request_bytes: 1024 * 1024,
                resume_base_url: Some(cfg.resume_base_url()),
            },
            Some(sink),
        )?
        .with_bridges(bridges.clone())
        .with_chain_reader(Arc::new(chainread::RpcChainReader::new(rpc.clone()))),
    );

    let registry = Arc::new(JobRegistry::default());
    for row in store.list_jobs().await? {
        match orakel_pipeline::parse_job_spec(&row.spec_toml, &format!("job {}", row.id)) {
            Ok(spec) => {
                registry.insert(LoadedJob { row, spec });
            }
            Err(e) => {
                tracing::error!(job = row.id, error = %e, "stored job spec no longer parses; not serving it")
            }
        }
    }
    tracing::info!(jobs = registry.len(), "jobs loaded");

    let api_token = match cfg.token_path() {
        Some(path) => Some(
            std::fs::read_to_string(&path)
                .map_err(|e| Error::Io {
                    what: format!("reading API token {}", path.display()),
                    source: e,
                })?
                .trim()
                .to_string(),
        ),
        None => None,
    };

    let runs = jobrun::JobRuns::new(
        store.clone(),
        runner.clone(),
        registry.clone(),
        cancel.clone(),
    );
    let direct = directrequest::DirectRequests::new(
        store.clone(),
        rpc.clone(),
        registry.clone(),
        runner.clone(),
        starts,
        cfg.chain.reorg_depth,
        cancel.clone(),
    );
    // Resumed async bridges of request runs continue through the direct-request service,
    // whose outcome also moves the request.
    runs.set_request_runs(direct.clone());
    runs.resume().await?;
    direct.resume().await?;
    let slas = match pool_chain {
        Some(pool) => sla::SlaService::new_pool(
            store.clone(),
            registry.clone(),
            runner.clone(),
            pool,
            sla::SlaServiceConfig::from(&cfg.sla),
            cancel.clone(),
        ),
        None => sla::SlaService::new(
            store.clone(),
            registry.clone(),
            runner.clone(),
            sla_chain.clone(),
            sla::SlaServiceConfig::from(&cfg.sla),
            cancel.clone(),
        ),
    };
    slas.resume().await.map_err(|e| Error::Sla(e.to_string()))?;

    let shared = Arc::new(NodeShared {
        store: store.clone(),
        rpc: rpc.clone(),
        registry: registry.clone(),
        chain_id: cfg.chain.chain_id,
        address,
        api_token,
        metrics,
        bridges,
        runs: runs.clone(),
        sla_chain,
    });

    let listener = tokio::net::TcpListener::bind(cfg.api.listen)
        .await
        .map_err(|e| Error::Io {
            what: format!("binding API to {}", cfg.api.listen),
            source: e,
        })?;
    let api_addr = listener.local_addr().map_err(|e| Error::Io {
        what: "reading API address".into(),
        source: e,
    })?;
    tracing::info!(%api_addr, "API listening");

    let mut tasks = JoinSet::new();
    {
        let cancel = cancel.clone();
        let app = api::router(shared.clone());
        tasks.spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move { cancel.cancelled().await })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "API server stopped");
            }
        });
    }
    tasks.spawn(direct.clone().schedule_loop());
    tasks.spawn(cron::run(registry.clone(), runs, cancel.clone()));
    tasks.spawn(slas.clone().run());
    tasks.spawn(LogListener::run(
        rpc.clone(),
        store.clone(),
        ListenerConfig {
            name: sla::LISTENER.into(),
            poll_interval: cfg.chain.poll_interval,
            max_range: 2_000,
            reorg_depth: cfg.chain.reorg_depth,
            start_block: cfg.chain.start_block,
            confirmations: cfg.sla.confirmations,
        },
        slas,
        cancel.clone(),
    ));
    if let Some(ws_url) = cfg.chain.ws_url.clone() {
        tasks.spawn(LogSubscription::run(
            ws_url,
            "oracle-requests".into(),
            direct.clone(),
            cancel.clone(),
        ));
    }
    tasks.spawn(LogListener::run(
        rpc,
        store,
        ListenerConfig {
            name: "oracle-requests".into(),
            poll_interval: cfg.chain.poll_interval,
            max_range: 2_000,
            reorg_depth: cfg.chain.reorg_depth,
            start_block: cfg.chain.start_block,
            confirmations: 0,
        },
        direct,
        cancel.clone(),
    ));
    Ok(NodeHandle {
        cancel,
        tasks,
        api_addr,
        address,
        shared,
    })
}
