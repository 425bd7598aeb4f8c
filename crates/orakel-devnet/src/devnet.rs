use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{Filter, TransactionRequest};
use alloy::sol_types::SolEvent;
use alloy_signer_local::PrivateKeySigner;
use orakel_contracts::{PriceConsumer, deploy};
use orakel_sim::{SimConfig, SimHandle, SimServer};
use uuid::Uuid;

use crate::process::{Anvil, ChainState, NodeProcess, free_port};
use crate::{Error, Result};

/// Private key of anvil's first default account (a well-known development key; it holds
/// test ether on every fresh anvil and must never be used on a real chain).
pub const ANVIL_DEFAULT_KEY: &str =
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

/// How to set up a devnet.
#[derive(Debug, Clone)]
pub struct DevnetConfig {
    /// Working directory (node roots, logs). Wiped at start unless `keep` is set.
    pub root: PathBuf,
    /// The orakel binary that runs the nodes.
    pub exe: PathBuf,
    /// Use this chain instead of starting anvil.
    pub rpc_url: Option<String>,
    /// Chain id (anvil is started with it).
    pub chain_id: u64,
    /// Deployer key (hex); default: anvil's first account.
    pub deployer_key: Option<String>,
    /// Number of nodes.
    pub nodes: usize,
    /// Source simulator settings.
    pub sim: SimConfig,
    /// Sources each job asks.
    pub sources_per_job: usize,
    /// Failed sources a job tolerates.
    pub allowed_faults: usize,
    /// Timeout of each source fetch.
    pub http_timeout: String,
    /// Node log/receipt poll interval.
    pub poll_interval: Duration,
    /// Nice value anvil starts with (0: the same priority as the nodes).
    pub chain_nice: u8,
    /// Start anvil and every node in a session of their own, so that the kernel schedules
    /// them as separate services (`process::own_service`, ADR 0012). Off: they share the
    /// devnet's session and its one scheduling group.
    pub own_sessions: bool,
    /// How the anvil the devnet starts holds its state (ADR 0015).
    pub chain_state: ChainState,
    /// LINK given to each consumer.
    pub consumer_funding: U256,
    /// Keep `root` instead of wiping it.
    pub keep: bool,
    /// Use the classic single-URL job (one source) instead of the median job.
    pub single_source_job: bool,
    /// Serve the sample external adapter (`orakel-adapter`) next to the simulator, register
    /// it on every node as the bridge [`ADAPTER_BRIDGE`] with the input and output schemas
    /// it publishes, and have the median job ask one more source through it: simulator
    /// source number `sources_per_job`. The simulator then needs `sources_per_job + 1`
    /// sources per pair for the answers to be its median.
    pub adapter_source: bool,
    /// Run SLA nodes instead of direct-request nodes: deploy the SLA stack, give every node
    /// `[sla]` bidding with the LINK token and [`crate::sla::SlaDevnetConfig::gas_limit`], LINK
    /// for its deposits and an `sla` job whose pipeline plays its role (honest, lying, silent,
    /// freeloading). No Oracle or consumer is deployed then. The node count is the number of
    /// roles.
    pub sla: Option<crate::sla::SlaDevnetConfig>,
}

impl DevnetConfig {
    /// Defaults for `nodes` nodes with working directory `root` and binary `exe`.
    pub fn new(root: PathBuf, exe: PathBuf, nodes: usize) -> Self {
        Self {
            root,
            exe,
            rpc_url: None,
            chain_id: 31337,
            deployer_key: None,
            nodes,
            sim: SimConfig::default(),
            sources_per_job: 5,
            allowed_faults: 2,
            http_timeout: "2s".into(),
            poll_interval: Duration::from_millis(25),
            chain_nice: 0,
            own_sessions: true,
            chain_state: ChainState::Full,
            consumer_funding: deploy::ONE_LINK * U256::from(100_000u64),
            keep: false,
            single_source_job: false,
            adapter_source: false,
            sla: None,
        }
    }

    /// Defaults for an SLA devnet (see [`DevnetConfig::sla`]) with one node per entry of
    /// `sla.nodes`. The simulator never fails or lies, so honest oracles agree.
    pub fn sla(root: PathBuf, exe: PathBuf, sla: crate::sla::SlaDevnetConfig) -> Self {
        let mut cfg = Self::new(root, exe, sla.nodes.len());
        cfg.sim = cfg.sim.without_faults();
        cfg.sim.sources_per_pair = cfg.sources_per_job;
        cfg.sla = Some(sla);
        cfg
    }
}

/// Name of the bridge to the sample adapter on every node (see
/// [`DevnetConfig::adapter_source`]).
pub const ADAPTER_BRIDGE: &str = "sim-price";

/// The sample adapter as the devnet runs it.
#[derive(Debug)]
pub struct DevnetAdapter {
    /// The running server (in this process, like the simulator).
    pub handle: orakel_adapter::AdapterHandle,
    /// What `GET /schemas` published: `{"input": …, "output": …}`.
    pub schemas: serde_json::Value,
}

/// One node of the devnet with its own contracts and job.
#[derive(Debug)]
pub struct DevnetNode {
    /// 0-based index.
    pub index: usize,
    /// The process.
    pub process: NodeProcess,
    /// Its Oracle contract (zero on an SLA devnet).
    pub oracle: Address,
    /// The example consumer that asks it (zero on an SLA devnet).
    pub consumer: Address,
    /// Its role on an SLA devnet.
    pub sla_role: Option<crate::sla::SlaRole>,
    /// Its job's external id.
    pub job_id: Uuid,
    /// The `specId` requests carry (32 ASCII hex bytes of the job id).
    pub spec_id: B256,
    /// The job spec text it runs.
    pub job_spec: String,
    /// The staking-pool node it serves as (SLA devnets with pool nodes).
    pub pool_node: Option<Address>,
}

impl DevnetNode {
    /// The address the node answers SLAs as: its pool node, else its key's.
    pub fn oracle_address(&self) -> Address {
        self.pool_node.unwrap_or(self.process.address)
    }
}

/// A request sent by a consumer.
#[derive(Debug, Clone)]
pub struct SentRequest {
    /// The oracle request id.
    pub request_id: B256,
    /// Block it was mined in.
    pub block: u64,
    /// Transaction.
    pub tx_hash: B256,
}

/// A `PriceFulfilled` seen on chain.
#[derive(Debug, Clone)]
pub struct Fulfilment {
    /// Consumer that stored it.
    pub consumer: Address,
    /// Request id.
    pub request_id: B256,
    /// Stored value.
    pub value: U256,
    /// Block.
    pub block: u64,
}

/// A running devnet.
pub struct Devnet {
    /// Settings it was started with.
    pub cfg: DevnetConfig,
    anvil: Option<Anvil>,
    /// Chain RPC URL.
    pub rpc_url: String,
    /// Provider signing as the deployer.
    pub provider: DynProvider,
    /// Deployer address (owns LINK supply and the oracles).
    pub deployer: Address,
    /// LINK token.
    pub link: Address,
    /// Nodes.
    pub nodes: Vec<DevnetNode>,
    /// Source simulator.
    pub sim: SimHandle,
    /// The sample adapter, when [`DevnetConfig::adapter_source`] is set.
    pub adapter: Option<DevnetAdapter>,
    /// The SLA stack and job, when [`DevnetConfig::sla`] is set.
    pub sla: Option<crate::sla::SlaNetwork>,
    watchdog: Option<tokio_util::sync::CancellationToken>,
}

impl std::fmt::Debug for Devnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Devnet")
            .field("rpc_url", &self.rpc_url)
            .field("nodes", &self.nodes.len())
            .finish()
    }
}

fn chain_err(e: impl std::fmt::Display) -> Error {
    Error::Chain(e.to_string())
}

/// The `specId` form our consumers send: the job id's 32 hex digits as ASCII.
pub fn spec_id_of(job_id: &Uuid) -> B256 {
    let hex = job_id.simple().to_string();
    let mut out = [0u8; 32];
    for (o, b) in out.iter_mut().zip(hex.as_bytes()) {
        *o = *b;
    }
    B256::from(out)
}

impl Devnet {
    /// Starts the chain (unless an RPC URL is given), deploys LINK, starts the simulator, and
    /// for each node: creates its root and key, funds it, deploys its Oracle and consumer,
    /// starts the process and registers its job.
    pub async fn start(mut cfg: DevnetConfig, mut progress: impl FnMut(&str)) -> Result<Self> {
        if let Some(sla) = &cfg.sla {
            if sla.nodes.is_empty() {
                return Err(Error::Setup("an SLA devnet needs at least one node".into()));
            }
            cfg.nodes = sla.nodes.len();
            if cfg.adapter_source || cfg.single_source_job {
                return Err(Error::Setup(
                    "SLA nodes ask the simulator directly (no adapter, no single-URL job)".into(),
                ));
            }
        }
        let asked = cfg.sources_per_job + usize::from(cfg.adapter_source);
        if !cfg.single_source_job && cfg.sim.sources_per_pair != asked {
            // The answers are checked against the median of every simulated source.
            return Err(Error::Setup(format!(
                "the median job asks {asked} sources but the simulator has {} per pair",
                cfg.sim.sources_per_pair
            )));
        }
        if !cfg.keep && cfg.root.exists() {
            std::fs::remove_dir_all(&cfg.root).map_err(|e| Error::Io {
                what: format!("clearing {}", cfg.root.display()),
                source: e,
            })?;
        }
        std::fs::create_dir_all(&cfg.root).map_err(|e| Error::Io {
            what: format!("creating {}", cfg.root.display()),
            source: e,
        })?;

        let (anvil, rpc_url) = match &cfg.rpc_url {
            Some(url) => (None, url.clone()),
            None => {
                let bin = orakel_contracts::anvil::locate().ok_or_else(|| {
                    Error::Setup("anvil not found: run `make setup` (or set ORAKEL_ANVIL, or pass --rpc-url)".into())
                })?;
                let anvil = Anvil::start(
                    &bin,
                    cfg.chain_id,
                    &cfg.root.join("anvil.log"),
                    cfg.chain_nice,
                    cfg.own_sessions,
                    cfg.chain_state,
                )
                .await?;
                let forked = match cfg.chain_state {
                    ChainState::Full => "",
                    ChainState::ForkedFromIdleBase => ", forking an idle base anvil",
                };
                progress(&format!(
                    "chain     anvil at {} (chain id {}{forked})",
                    anvil.url, cfg.chain_id
                ));
                let url = anvil.url.clone();
                (Some(anvil), url)
            }
        };

        let key = cfg
            .deployer_key
            .clone()
            .unwrap_or_else(|| ANVIL_DEFAULT_KEY.to_string());
        let signer: PrivateKeySigner = key
            .parse()
            .map_err(|e| Error::Setup(format!("deployer key: {e}")))?;
        let deployer = signer.address();
        let url: reqwest::Url = rpc_url
            .parse()
            .map_err(|e| Error::Setup(format!("rpc url: {e}")))?;
        let provider = ProviderBuilder::new()
            .wallet(EthereumWallet::from(signer))
            .connect_http(url)
            .erased();

        let link = deploy::deploy_link_token(&provider, deployer, deployer).await?;
        progress(&format!("contracts LINK token {link:#x}"));

        let sim = SimServer::start(cfg.sim.clone(), SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .map_err(|e| Error::Setup(format!("source simulator: {e}")))?;
        progress(&format!(
            "sources   simulator at {} ({} pairs × {} sources, tick {:?})",
            sim.base_url(),
            cfg.sim.pairs.len(),
            cfg.sim.sources_per_pair,
            cfg.sim.tick
        ));

        let adapter = if cfg.adapter_source {
            let adapter = start_adapter(&sim.base_url()).await?;
            progress(&format!(
                "adapter   sample external adapter at {} (simulator source {}), bridge {ADAPTER_BRIDGE:?} on every node",
                adapter.handle.url(),
                cfg.sources_per_job
            ));
            Some(adapter)
        } else {
            None
        };

        let sla = match &cfg.sla {
            Some(sla_cfg) => {
                let stack = deploy::deploy_sla_stack(&provider, deployer, link).await?;
                progress(&format!(
                    "contracts SLA market {:#x}, reputation {:#x}, trimmed mean (k = 1) {:#x}",
                    stack.market, stack.reputation, stack.trimmed_mean
                ));
                let pool = if sla_cfg.nodes.iter().any(|n| n.pool) {
                    let pool = orakel_contracts::pool::deploy_pool(
                        &provider,
                        deployer,
                        link,
                        &orakel_contracts::pool::PoolSetup {
                            change_delay: 0,
                            owners_bps: crate::sla::POOL_OWNERS_BPS,
                            whitelist: vec![stack.market],
                        },
                    )
                    .await?;
                    progress(&format!(
                        "contracts staking pool {:#x} (LinkPool), registry {:#x}, market whitelisted",
                        pool.link_pool, pool.registry
                    ));
                    Some(pool)
                } else {
                    None
                };
                Some(crate::sla::SlaNetwork {
                    stack,
                    job_id: sla_cfg.job_id,
                    spec_id: spec_id_of(&sla_cfg.job_id),
                    job_type: sla_cfg.job_type,
                    pool,
                })
            }
            None => None,
        };

        let watchdog = anvil
            .as_ref()
            .map(|_| spawn_mining_watchdog(provider.clone()));
        let mut devnet = Self {
            cfg,
            anvil,
            rpc_url,
            provider,
            deployer,
            link,
            nodes: Vec::new(),
            sim,
            adapter,
            sla,
            watchdog,
        };
        for index in 0..devnet.cfg.nodes {
            let node = devnet.add_node(index).await?;
            match (node.sla_role, node.pool_node) {
                (Some(role), Some(pool_node)) => progress(&format!(
                    "node-{index}    {:#x}  {:<20} api {}  pool node {pool_node:#x}",
                    node.process.address,
                    role.name(),
                    node.process.api_url
                )),
                (Some(role), None) => progress(&format!(
                    "node-{index}    {:#x}  {:<20} api {}",
                    node.process.address,
                    role.name(),
                    node.process.api_url
                )),
                (None, _) => progress(&format!(
                    "node-{index}    {:#x}  oracle {:#x}  consumer {:#x}  api {}",
                    node.process.address, node.oracle, node.consumer, node.process.api_url
                )),
            }
            devnet.nodes.push(node);
        }
        Ok(devnet)
    }

    async fn add_node(&self, index: usize) -> Result<DevnetNode> {
        let cfg = &self.cfg;
        let root = cfg.root.join(format!("node-{index}"));
        let password: [u8; 16] = rand_bytes();
        let password = hex::encode(password);
        let password_file = root.join("password");
        let api_addr = SocketAddr::from(([127, 0, 0, 1], free_port()?));
        let init = orakel_node::init::init(
            &orakel_node::init::InitOptions {
                root: root.clone(),
                rpc_urls: vec![self.rpc_url.clone()],
                // The anvil we started serves WebSocket on its HTTP port; another chain's
                // endpoint may not, and polling alone serves it.
                ws_url: self
                    .anvil
                    .as_ref()
                    .and_then(|a| a.url.strip_prefix("http://"))
                    .map(|rest| format!("ws://{rest}")),
                chain_id: cfg.chain_id,
                api_listen: api_addr,
                allow_private_http: true,
                poll_interval: cfg.poll_interval,
                import_key: None,
                api_token: true,
            },
            &password,
        )?;
        orakel_node::init::write_private(&password_file, &password)?;

        // Gas money for the node, its own Oracle that only it may fulfil, and a funded consumer.
        self.send_eth(
            init.address,
            U256::from(10u64) * U256::from(10u64).pow(U256::from(18u64)),
            &format!("node-{index}"),
        )
        .await?;
        if let (Some(sla_cfg), Some(net)) = (&cfg.sla, &self.sla) {
            return self
                .add_sla_node(
                    index,
                    sla_cfg,
                    net,
                    &root,
                    &password_file,
                    api_addr,
                    init.address,
                )
                .await;
        }
        let oracle =
            deploy::deploy_oracle(&self.provider, self.deployer, self.link, self.deployer).await?;
        deploy::set_authorized_senders(&self.provider, self.deployer, oracle, &[init.address])
            .await?;
        let consumer =
            deploy::deploy_price_consumer(&self.provider, self.deployer, self.link, oracle).await?;
        deploy::transfer_link(
            &self.provider,
            self.deployer,
            self.link,
            consumer,
            cfg.consumer_funding,
        )
        .await?;

        let process = NodeProcess::spawn(
            &cfg.exe,
            &root,
            &password_file,
            api_addr,
            init.address,
            cfg.own_sessions,
        )
        .await?;
        let job_id = Uuid::new_v4();
        let job_spec = if cfg.single_source_job {
            crate::spec::url_job(
                &format!("devnet-url-{index}"),
                job_id,
                oracle,
                crate::spec::Fulfil::Word,
            )
        } else {
            crate::spec::MedianJob {
                name: &format!("devnet-median-price-{index}"),
                job_id,
                oracle,
                sim_base: &self.sim.base_url(),
                sources: cfg.sources_per_job,
                allowed_faults: cfg.allowed_faults,
                http_timeout: &cfg.http_timeout,
                fulfil: crate::spec::Fulfil::Word,
                adapter_bridge: self.adapter.as_ref().map(|_| ADAPTER_BRIDGE),
            }
            .spec()
        };
        std::fs::write(root.join("job.toml"), &job_spec).map_err(|e| Error::Io {
            what: "writing job.toml".into(),
            source: e,
        })?;
        let node = DevnetNode {
            index,
            process,
            oracle,
            consumer,
            sla_role: None,
            job_id,
            spec_id: spec_id_of(&job_id),
            job_spec,
            pool_node: None,
        };
        if let Some(adapter) = &self.adapter {
            // Registered before the job: a job naming an unknown bridge is refused.
            self.create_bridge(
                &node,
                ADAPTER_BRIDGE,
                &adapter.handle.url(),
                &adapter.schemas,
            )
            .await?;
        }
        self.create_job(&node, &node.job_spec).await?;
        Ok(node)
    }

    /// Sends `wei` of the chain's currency from the deployer to `to` (`who` names it in errors).
    pub(crate) async fn send_eth(&self, to: Address, wei: U256, who: &str) -> Result<()> {
        let fund = TransactionRequest::default()
            .with_from(self.deployer)
            .with_to(to)
            .with_value(wei);
        let receipt = self
            .provider
            .send_transaction(fund)
            .await
            .map_err(chain_err)?
            .get_receipt()
            .await
            .map_err(chain_err)?;
        if !receipt.status() {
            return Err(Error::Chain(format!("funding {who} reverted")));
        }
        Ok(())
    }

    /// The SLA half of [`Devnet::add_node`]: LINK for deposits, `[sla]` in the node's config,
    /// start, and the `sla` job of the node's role.
    #[allow(clippy::too_many_arguments)]
    async fn add_sla_node(
        &self,
        index: usize,
        sla_cfg: &crate::sla::SlaDevnetConfig,
        net: &crate::sla::SlaNetwork,
        root: &Path,
        password_file: &Path,
        api_addr: SocketAddr,
        address: Address,
    ) -> Result<DevnetNode> {
        let setup = sla_cfg
            .nodes
            .get(index)
            .copied()
            .ok_or_else(|| Error::Setup(format!("no SLA role for node-{index}")))?;
        // A pool node's deposits come from its stakers; the node's key only pays gas.
        let pool_node = match (&net.pool, setup.pool) {
            (Some(pool), true) => Some(
                orakel_contracts::pool::create_node(
                    &self.provider,
                    self.deployer,
                    pool.node_factory,
                    &orakel_contracts::pool::NewNode {
                        operator: address,
                        private: false,
                        fee_bps: crate::sla::POOL_OPERATOR_FEE_BPS,
                        stake_limit: deploy::ONE_LINK * U256::from(1_000_000u64),
                    },
                )
                .await?,
            ),
            _ => None,
        };
        if pool_node.is_none() && !sla_cfg.node_link.is_zero() {
            deploy::transfer_link(
                &self.provider,
                self.deployer,
                self.link,
                address,
                sla_cfg.node_link,
            )
            .await?;
        }
        let config_path = root.join("config.toml");
        let text = std::fs::read_to_string(&config_path).map_err(|e| Error::Io {
            what: format!("reading {}", config_path.display()),
            source: e,
        })?;
        let mut node_cfg = orakel_node::config::NodeConfig::parse(&text, &config_path)?;
        node_cfg.root = root.to_path_buf();
        node_cfg.sla.enabled = true;
        node_cfg.sla.link_address = Some(self.link);
        node_cfg.sla.gas_limit = Some(sla_cfg.gas_limit);
        node_cfg.sla.fault.skip_reveal = setup.role == crate::sla::SlaRole::Silent;
        node_cfg.sla.fault.copy_commitment = setup.role == crate::sla::SlaRole::Freeloader;
        node_cfg.sla.pool_node = pool_node;
        node_cfg.save()?;

        let process = NodeProcess::spawn(
            &self.cfg.exe,
            root,
            password_file,
            api_addr,
            address,
            self.cfg.own_sessions,
        )
        .await?;
        let sim_base = self.sim.base_url();
        let job_spec = crate::spec::SlaJob {
            name: &format!("devnet-sla-{index}"),
            job_id: net.job_id,
            market: net.stack.market,
            sim_base: &sim_base,
            sources: self.cfg.sources_per_job,
            allowed_faults: self.cfg.allowed_faults,
            http_timeout: &self.cfg.http_timeout,
            lie_factor: setup.role.lie_factor(),
            delay_ms: setup
                .pipeline_delay
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        }
        .spec();
        std::fs::write(root.join("job.toml"), &job_spec).map_err(|e| Error::Io {
            what: "writing job.toml".into(),
            source: e,
        })?;
        let node = DevnetNode {
            index,
            process,
            oracle: Address::ZERO,
            consumer: Address::ZERO,
            sla_role: Some(setup.role),
            job_id: net.job_id,
            spec_id: net.spec_id,
            job_spec,
            pool_node,
        };
        self.create_job(&node, &node.job_spec).await?;
        Ok(node)
    }

    /// Registers a bridge on a node through its API, with the input and output schemas in
    /// `schemas` (`{"input": …, "output": …}`, either may be absent).
    pub async fn create_bridge(
        &self,
        node: &DevnetNode,
        name: &str,
        url: &str,
        schemas: &serde_json::Value,
    ) -> Result<serde_json::Value> {
        let mut body = serde_json::json!({ "name": name, "url": url });
        for (key, field) in [("input", "inputSchema"), ("output", "outputSchema")] {
            if let (Some(schema), Some(obj)) = (schemas.get(key), body.as_object_mut()) {
                obj.insert(field.to_owned(), schema.clone());
            }
        }
        let path = "/v2/bridge_types";
        let (status, reply) = self
            .request(
                node,
                reqwest::Method::POST,
                path,
                Some(("application/json", body.to_string())),
            )
            .await?;
        if status != 201 {
            return Err(Error::Api {
                url: format!("{}{path}", node.process.api_url),
                message: reply.to_string(),
            });
        }
        Ok(reply)
    }

    /// The API token of a node.
    pub fn api_token(&self, node: &DevnetNode) -> String {
        std::fs::read_to_string(node.process.root.join("api-token"))
            .unwrap_or_default()
            .trim()
            .to_string()
    }

    /// Calls a node's API with an optional TOML body; returns status and JSON body.
    pub async fn api(
        &self,
        node: &DevnetNode,
        method: reqwest::Method,
        path: &str,
        body: Option<String>,
    ) -> Result<(u16, serde_json::Value)> {
        let body = body.map(|b| ("application/toml", b));
        self.request(node, method, path, body).await
    }

    /// Calls a node's API as its operator with an optional `(content type, body)`.
    async fn request(
        &self,
        node: &DevnetNode,
        method: reqwest::Method,
        path: &str,
        body: Option<(&str, String)>,
    ) -> Result<(u16, serde_json::Value)> {
        let url = format!("{}{path}", node.process.api_url);
        let mut req = reqwest::Client::new()
            .request(method, &url)
            .bearer_auth(self.api_token(node));
        if let Some((content_type, body)) = body {
            req = req.header("content-type", content_type).body(body);
        }
        let resp = req.send().await.map_err(|e| Error::Api {
            url: url.clone(),
            message: e.to_string(),
        })?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(|e| Error::Api {
            url: url.clone(),
            message: e.to_string(),
        })?;
        let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
        Ok((status, json))
    }

    /// Registers a job spec on a node; fails with the node's error message if rejected.
    pub async fn create_job(&self, node: &DevnetNode, spec: &str) -> Result<serde_json::Value> {
        let (status, body) = self
            .api(
                node,
                reqwest::Method::POST,
                "/v2/jobs",
                Some(spec.to_string()),
            )
            .await?;
        if status != 201 {
            return Err(Error::Api {
                url: format!("{}/v2/jobs", node.process.api_url),
                message: body.to_string(),
            });
        }
        Ok(body)
    }

    /// Asks node `index`'s consumer for `pair`, scaled by `times`, paying `payment` juels.
    pub async fn request_price(
        &self,
        index: usize,
        pair: &str,
        times: i64,
        payment: U256,
    ) -> Result<SentRequest> {
        let node = self
            .nodes
            .get(index)
            .ok_or_else(|| Error::Setup(format!("no node {index}")))?;
        let consumer = PriceConsumer::new(node.consumer, &self.provider);
        let receipt = consumer
            .requestPrice(
                node.spec_id,
                pair.to_string(),
                alloy::primitives::I256::try_from(times).unwrap_or_default(),
                payment,
            )
            .from(self.deployer)
            .send()
            .await
            .map_err(chain_err)?
            .get_receipt()
            .await
            .map_err(chain_err)?;
        if !receipt.status() {
            return Err(Error::Chain("requestPrice reverted".into()));
        }
        let request_id = receipt
            .inner
            .logs()
            .iter()
            .find_map(|l| {
                PriceConsumer::PriceRequested::decode_log_data(l.data())
                    .ok()
                    .map(|e| e.requestId)
            })
            .ok_or_else(|| Error::Chain("no PriceRequested event in receipt".into()))?;
        Ok(SentRequest {
            request_id,
            block: receipt.block_number.unwrap_or(0),
            tx_hash: receipt.transaction_hash,
        })
    }

    /// `PriceFulfilled` events of every devnet consumer in `from..=to` (latest when `None`).
    pub async fn fulfilments(&self, from: u64, to: Option<u64>) -> Result<Vec<Fulfilment>> {
        let consumers: Vec<Address> = self.nodes.iter().map(|n| n.consumer).collect();
        let mut filter = Filter::new()
            .address(consumers)
            .event_signature(PriceConsumer::PriceFulfilled::SIGNATURE_HASH)
            .from_block(from);
        if let Some(to) = to {
            filter = filter.to_block(to);
        }
        let logs = self.provider.get_logs(&filter).await.map_err(chain_err)?;
        Ok(logs
            .iter()
            .filter_map(|l| {
                let ev = PriceConsumer::PriceFulfilled::decode_log_data(l.data()).ok()?;
                Some(Fulfilment {
                    consumer: l.address(),
                    request_id: ev.requestId,
                    value: ev.value,
                    block: l.block_number.unwrap_or(0),
                })
            })
            .collect())
    }

    /// Waits until `request_id` is answered (looking from block `from`), or `timeout` passes.
    pub async fn wait_for_fulfilment(
        &self,
        request_id: B256,
        from: u64,
        timeout: Duration,
    ) -> Result<Option<Fulfilment>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(f) = self
                .fulfilments(from, None)
                .await?
                .into_iter()
                .find(|f| f.request_id == request_id)
            {
                return Ok(Some(f));
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Current block number.
    pub async fn block_number(&self) -> Result<u64> {
        self.provider.get_block_number().await.map_err(chain_err)
    }

    /// The process ids of the anvil this devnet started (and of the base it forks), if it
    /// started one.
    pub fn chain_pids(&self) -> Vec<u32> {
        self.anvil.as_ref().map(Anvil::pids).unwrap_or_default()
    }

    /// Moves anvil's clock forward and mines a block (anvil only).
    pub async fn advance_time(&self, seconds: u64) -> Result<()> {
        self.provider
            .raw_request::<_, serde_json::Value>("evm_increaseTime".into(), (seconds,))
            .await
            .map_err(chain_err)?;
        self.provider
            .raw_request::<_, serde_json::Value>("evm_mine".into(), ())
            .await
            .map_err(chain_err)?;
        Ok(())
    }

    /// The working directory.
    pub fn root(&self) -> &Path {
        &self.cfg.root
    }

    /// Stops nodes (politely, then by force), the simulator and the chain.
    pub async fn shutdown(mut self) {
        if let Some(w) = self.watchdog.take() {
            w.cancel();
        }
        for node in &mut self.nodes {
            node.process.stop(Duration::from_secs(5)).await;
        }
        if let Some(adapter) = self.adapter.take() {
            adapter.handle.shutdown().await;
        }
        self.sim.shutdown().await;
        if let Some(anvil) = self.anvil.take() {
            anvil.stop().await;
        }
    }
}

/// Serves the sample adapter on a free loopback port against the simulator at `sim_url` and
/// reads the schemas it publishes, as an operator would before registering it.
async fn start_adapter(sim_url: &str) -> Result<DevnetAdapter> {
    let cfg = orakel_adapter::AdapterConfig::new(sim_url);
    let handle = orakel_adapter::serve(&cfg, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .map_err(|e| Error::Setup(format!("sample adapter: {e}")))?;
    let url = format!("{}/schemas", handle.url());
    let api_err = |e: reqwest::Error| Error::Api {
        url: url.clone(),
        message: e.to_string(),
    };
    let schemas: serde_json::Value = reqwest::get(&url)
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(api_err)?
        .json()
        .await
        .map_err(api_err)?;
    Ok(DevnetAdapter { handle, schemas })
}

/// anvil's automine can leave ready transactions in its pool unmined when several senders
/// submit at once (foundry-rs/foundry#10122); nothing mines them until the next transaction
/// arrives. While the devnet runs its own anvil, this mines a block whenever ready
/// transactions have sat in the pool for two checks in a row. Automine stays on.
fn spawn_mining_watchdog(provider: DynProvider) -> tokio_util::sync::CancellationToken {
    let cancel = tokio_util::sync::CancellationToken::new();
    let stop = cancel.clone();
    tokio::spawn(async move {
        let mut last_pending = 0u64;
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(Duration::from_millis(100)) => {}
            }
            let Ok(status) = provider
                .raw_request::<_, serde_json::Value>("txpool_status".into(), ())
                .await
            else {
                continue;
            };
            let pending = status
                .get("pending")
                .and_then(|p| p.as_str())
                .and_then(|p| u64::from_str_radix(p.trim_start_matches("0x"), 16).ok())
                .unwrap_or(0);
            if pending > 0 && last_pending > 0 {
                tracing::debug!(
                    pending,
                    "anvil left ready transactions unmined; mining a block"
                );
                let _ = provider
                    .raw_request::<_, serde_json::Value>("evm_mine".into(), ())
                    .await;
            }
            last_pending = pending;
        }
    });
    cancel
}

fn rand_bytes() -> [u8; 16] {
    let mut out = [0u8; 16];
    let uuid = Uuid::new_v4();
    out.copy_from_slice(uuid.as_bytes());
    out
}
