//! The `sla` job type: bidding in SLA markets and answering their commit–reveal rounds
//! (`contracts/src/market/ISlaMarket.sol`, ADR 0005).
//!
//! Two halves, joined by the store:
//!
//! - **Recording** ([`SlaService::apply_log`], the [`LogHandler`]): a log listener reads the
//!   market logs of every market an `sla` job names and records what they say — proposals
//!   whose `specId` is a local job, selection, round starts, reveal openings, results,
//!   payments and slashes. Every write is idempotent (unique keys, guarded state moves), so a
//!   batch read again after a restart changes nothing; the checkpoint is saved after the batch.
//! - **Acting** ([`SlaService::tick`], once a second and after every new batch): reads the
//!   stored state and the chain's time and does what is due: bid, finalize, run the pipeline
//!   and commit, reveal, close rounds, start feed rounds. Transactions go through the
//!   transaction manager with idempotency keys (`sla/<market>/…`), so acting twice on the same
//!   state sends nothing twice; calls anyone may make (finalize, closeRound, startRound) are
//!   simulated first and skipped when they would revert (someone else was faster).
//!
//! Round state machine (our part, `sla_rounds.state`):
//!
//! ```text
//! started ──pipeline, salt, commitment stored──> committing ──commit tx──> committed
//!    │                                                │                       │ reveals open
//!    └── commit deadline passed ──> missed <──────────┘                       v
//!                                     ^──── reveal deadline passed ───── (committed) ──reveal tx──> revealed
//! committed|revealed ── own tx reverted ──> errored
//! ```
//!
//! The round's result (`round_status`: open → answered | failed) comes from the market's logs.
//! Crash safety: the answer, salt and commitment are stored (`committing`) before the commit
//! transaction is created; a restarted node finds every open round in the store and carries
//! on from its state: `committing` re-submits the same commit (same key, nothing new is
//! sent if it exists), `committed` reveals if the reveal window is still open.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256, Bytes, I256, U256};
use alloy::rpc::types::Log;
use alloy::sol_types::{SolCall, SolEvent};
use async_trait::async_trait;
use orakel_chain::{LogBatch, LogHandler};
use orakel_contracts::LinkToken;
use orakel_contracts::sla::{Market, round_status};
use orakel_pipeline::{JobType, RunContext, RunState as PipelineRunState, Runner, Value};
use orakel_store::{
    DepositOutcome, EthTxState, NewSla, NewSlaRound, RoundStatus, RunState, SlaRoundRow,
    SlaRoundState, SlaRow, SlaState, Store,
};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::{SlaConfig, SlaFaultConfig};
use crate::pool::PoolChain;
use crate::registry::{JobRegistry, LoadedJob};

/// Name of the SLA listener's checkpoint.
pub const LISTENER: &str = "sla-markets";

/// How often the service acts when no log wakes it.
const TICK: Duration = Duration::from_secs(1);

/// Least time between two pipeline attempts for one round (after a failure).
const PIPELINE_RETRY: Duration = Duration::from_secs(3);

/// Errors of the SLA service.
#[derive(Debug, thiserror::Error)]
pub enum SlaError {
    /// A simulated call reverted (or the endpoint refused it).
    #[error("call reverted: {0}")]
    Reverted(String),
    /// Chain access failed.
    #[error(transparent)]
    Chain(#[from] orakel_chain::Error),
    /// Persistence failed.
    #[error(transparent)]
    Store(#[from] orakel_store::Error),
    /// A return value or stored value did not decode.
    #[error("decoding {what}: {detail}")]
    Decode {
        /// What was decoded.
        what: &'static str,
        /// The problem.
        detail: String,
    },
    /// The operating system's random source failed.
    #[error("no randomness for the salt: {0}")]
    Random(String),
    /// The staking-pool node this node serves as is unusable (`[sla] pool_node`).
    #[error("staking pool: {0}")]
    Pool(String),
}

type SlaResult<T> = Result<T, SlaError>;

/// What happened to a transaction the service sent, by idempotency key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SentTx {
    /// Created, not mined yet.
    Pending,
    /// Mined, status 1.
    Confirmed,
    /// Mined, status 0.
    Reverted,
    /// Given up by the transaction manager.
    Fatal,
}

/// The chain as the SLA service sees it. [`ChainSla`] is the real one; tests use a fake.
#[async_trait]
pub trait SlaChain: Send + Sync {
    /// The node's sending address.
    fn address(&self) -> Address;
    /// The time the next block will roughly have (unix seconds): the later of the latest
    /// block's timestamp and the clock (an idle devnet mines no blocks, so its latest block
    /// can be old).
    async fn now(&self) -> SlaResult<u64>;
    /// `eth_call` from the node's address against the pending block; a revert is
    /// [`SlaError::Reverted`].
    async fn call(&self, to: Address, data: Bytes) -> SlaResult<Bytes>;
    /// Sends a transaction once per `key` (a second send with the same key sends nothing).
    async fn send(
        &self,
        key: &str,
        to: Address,
        data: Bytes,
        gas_limit: Option<u64>,
    ) -> SlaResult<()>;
    /// The state of the transaction sent with `key`, if any.
    async fn sent(&self, key: &str) -> SlaResult<Option<SentTx>>;
    /// The calldata of a mined transaction (fault injection reads other oracles' commits).
    async fn tx_input(&self, hash: B256) -> SlaResult<Option<Bytes>>;
}

/// [`SlaChain`] over the RPC pool and the transaction manager.
pub struct ChainSla {
    rpc: orakel_chain::Rpc,
    txm: orakel_chain::TxManager,
    store: Store,
}

impl ChainSla {
    /// Wraps the node's chain access.
    pub fn new(rpc: orakel_chain::Rpc, txm: orakel_chain::TxManager, store: Store) -> Self {
        Self { rpc, txm, store }
    }
}

#[async_trait]
impl SlaChain for ChainSla {
    fn address(&self) -> Address {
        self.txm.address()
    }

    async fn now(&self) -> SlaResult<u64> {
        let (_, ts) = self.rpc.latest_block_time().await?;
        Ok(ts.max(unix_now()))
    }

    async fn call(&self, to: Address, data: Bytes) -> SlaResult<Bytes> {
        let tx = alloy::rpc::types::TransactionRequest::default()
            .from(self.txm.address())
            .to(to)
            .input(data.into());
        match self
            .rpc
            .eth_call(&tx, alloy::eips::BlockId::pending())
            .await
        {
            Ok(out) => Ok(out),
            Err(orakel_chain::Error::RpcResponse { message, .. }) => {
                Err(SlaError::Reverted(message))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn send(
        &self,
        key: &str,
        to: Address,
        data: Bytes,
        gas_limit: Option<u64>,
    ) -> SlaResult<()> {
        let sub = self
            .txm
            .submit(orakel_chain::TxRequest {
                idempotency_key: key.to_string(),
                to,
                data,
                gas_limit,
                run_id: None,
            })
            .await?;
        tracing::debug!(
            key,
            tx = sub.tx_id,
            created = sub.created,
            "sla transaction submitted"
        );
        Ok(())
    }

    async fn sent(&self, key: &str) -> SlaResult<Option<SentTx>> {
        Ok(self.store.eth_tx_by_key(key).await?.map(|t| match t.state {
            EthTxState::Unbroadcast | EthTxState::Broadcast => SentTx::Pending,
            EthTxState::Confirmed => SentTx::Confirmed,
            EthTxState::Reverted => SentTx::Reverted,
            EthTxState::Fatal => SentTx::Fatal,
        }))
    }

    async fn tx_input(&self, hash: B256) -> SlaResult<Option<Bytes>> {
        Ok(self.rpc.transaction_input(hash).await?)
    }
}

/// `eth_call`s `call` at `to` through `chain` and decodes what it returns (`what` names the
/// function in a decoding error).
pub(crate) async fn view<C: SolCall>(
    chain: &dyn SlaChain,
    to: Address,
    call: C,
    what: &'static str,
) -> SlaResult<C::Return> {
    let out = chain.call(to, call.abi_encode().into()).await?;
    C::abi_decode_returns(&out).map_err(|e| SlaError::Decode {
        what,
        detail: e.to_string(),
    })
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The commitment an oracle sends: `keccak256(abi.encode(market, roundId, oracle, answer,
/// salt))`, exactly as `SlaMarket.commitmentOf` computes it (defined next to the binding, where
/// an anvil test checks it against the contract).
pub use orakel_contracts::sla::commitment_of;

/// A fresh 32-byte salt from the operating system's random source.
pub fn random_salt() -> SlaResult<B256> {
    use rand::TryRngCore;
    let mut salt = [0u8; 32];
    rand::rngs::OsRng
        .try_fill_bytes(&mut salt)
        .map_err(|e| SlaError::Random(e.to_string()))?;
    Ok(B256::from(salt))
}

/// Whether a feed's new off-chain value moved far enough from the last answer to start a
/// round: `|value - last| / |last| > deviationBps / 10000`. With no last answer, or a last
/// answer of 0, any change counts.
pub fn deviates(value: I256, last: Option<I256>, deviation_bps: u64) -> bool {
    let Some(last) = last else {
        return true;
    };
    if last.is_zero() {
        return !value.is_zero();
    }
    let diff = if value >= last {
        value.into_raw().wrapping_sub(last.into_raw())
    } else {
        last.into_raw().wrapping_sub(value.into_raw())
    };
    // diff * 10000 > bps * |last|, in 512 bits so nothing overflows.
    let lhs = alloy::primitives::U512::from(diff) * alloy::primitives::U512::from(10_000u64);
    let rhs = alloy::primitives::U512::from(last.unsigned_abs())
        * alloy::primitives::U512::from(deviation_bps);
    lhs > rhs
}

/// The bidding policy of `[sla]`.
#[derive(Debug, Clone)]
pub struct BidPolicy {
    /// Whether to bid at all.
    pub enabled: bool,
    /// Allowed job types; empty: any.
    pub job_types: Vec<B256>,
    /// Lowest payment per oracle and round.
    pub min_payment: U256,
    /// Highest deposit.
    pub max_penalty: Option<U256>,
    /// Most SLAs bid on or served at once.
    pub max_concurrent: u64,
}

impl From<&SlaConfig> for BidPolicy {
    fn from(c: &SlaConfig) -> Self {
        Self {
            enabled: c.enabled,
            job_types: c.job_types.clone(),
            min_payment: c.min_payment_juels.0,
            max_penalty: c.max_penalty_juels.map(|j| j.0),
            max_concurrent: c.max_concurrent_slas,
        }
    }
}

/// What the policy looks at for one proposal.
#[derive(Debug, Clone)]
pub struct BidContext {
    /// `SlaTerms.jobType`.
    pub job_type: B256,
    /// `SlaTerms.paymentPerOracle`.
    pub payment: U256,
    /// `SlaTerms.penaltyDeposit`.
    pub deposit: U256,
    /// `SlaTerms.biddingEnds`.
    pub bidding_ends: u64,
    /// Chain time now.
    pub now: u64,
    /// SLAs bid on or served now.
    pub concurrent: u64,
    /// LINK the node holds (`None`: unknown, no LINK token configured).
    pub link_balance: Option<U256>,
}

/// Decides whether to bid: `Ok(())`, or the reason not to (stored with the SLA).
pub fn decide_bid(policy: &BidPolicy, c: &BidContext) -> Result<(), String> {
    if !policy.enabled {
        return Err("bidding is disabled ([sla].enabled = false)".into());
    }
    if !policy.job_types.is_empty() && !policy.job_types.contains(&c.job_type) {
        return Err(format!(
            "job type {:#x} is not in [sla].job_types",
            c.job_type
        ));
    }
    if c.payment < policy.min_payment {
        return Err(format!(
            "payment per oracle {} is below [sla].min_payment_juels {}",
            c.payment, policy.min_payment
        ));
    }
    if let Some(max) = policy.max_penalty
        && c.deposit > max
    {
        return Err(format!(
            "penalty deposit {} is above [sla].max_penalty_juels {max}",
            c.deposit
        ));
    }
    if c.concurrent >= policy.max_concurrent {
        return Err(format!(
            "already bidding on or serving {} SLAs ([sla].max_concurrent_slas = {})",
            c.concurrent, policy.max_concurrent
        ));
    }
    if c.now >= c.bidding_ends {
        return Err(format!(
            "bidding closed at {} (chain time {})",
            c.bidding_ends, c.now
        ));
    }
    match c.link_balance {
        None => Err("no LINK token configured ([sla].link_address)".into()),
        Some(b) if b < c.deposit => Err(format!(
            "LINK balance {b} is below the penalty deposit {}",
            c.deposit
        )),
        Some(_) => Ok(()),
    }
}

/// Settings of the service.
#[derive(Debug, Clone)]
pub struct SlaServiceConfig {
    /// Bidding policy.
    pub policy: BidPolicy,
    /// The LINK token bids are paid with.
    pub link: Option<Address>,
    /// Gas limit of SLA transactions (`None`: the transaction manager's default).
    pub gas_limit: Option<u64>,
    /// Fault injection (devnet only; checked by the config).
    pub faults: SlaFaultConfig,
}

impl From<&SlaConfig> for SlaServiceConfig {
    fn from(c: &SlaConfig) -> Self {
        Self {
            policy: BidPolicy::from(c),
            link: c.link_address,
            gas_limit: c.gas_limit,
            faults: c.fault.clone(),
        }
    }
}

/// The SLA service: records market logs and acts on them.
pub struct SlaService {
    store: Store,
    registry: Arc<JobRegistry>,
    runner: Arc<Runner>,
    chain: Arc<dyn SlaChain>,
    /// Set when the node serves as a staking-pool node (`chain` is then this pool chain).
    pool: Option<Arc<PoolChain>>,
    cfg: SlaServiceConfig,
    me: Address,
    /// Rounds and feeds with a step in flight (one at a time each).
    busy: Mutex<HashSet<String>>,
    /// When each round's pipeline last failed, and each feed was last checked.
    last_try: Mutex<HashMap<String, Instant>>,
    wake: Notify,
    cancel: CancellationToken,
    this: std::sync::Weak<Self>,
}

impl std::fmt::Debug for SlaService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlaService")
            .field("address", &self.me)
            .finish_non_exhaustive()
    }
}

fn hex_addr(a: Address) -> String {
    format!("{a:#x}")
}

fn parse_u256(s: &str, what: &'static str) -> SlaResult<U256> {
    U256::from_str_radix(s, 10).map_err(|e| SlaError::Decode {
        what,
        detail: format!("{s:?}: {e}"),
    })
}

fn parse_i256(s: &str, what: &'static str) -> SlaResult<I256> {
    s.parse::<I256>().map_err(|e| SlaError::Decode {
        what,
        detail: format!("{s:?}: {e}"),
    })
}

fn parse_b256(s: &str, what: &'static str) -> SlaResult<B256> {
    s.parse::<B256>().map_err(|e| SlaError::Decode {
        what,
        detail: format!("{s:?}: {e}"),
    })
}

fn parse_address(s: &str, what: &'static str) -> SlaResult<Address> {
    s.parse::<Address>().map_err(|e| SlaError::Decode {
        what,
        detail: format!("{s:?}: {e}"),
    })
}

/// Terms as JSON for the API: numbers as decimal strings, bytes as hex.
fn terms_json(t: &orakel_contracts::sla::SlaTerms) -> serde_json::Value {
    serde_json::json!({
        "specId": format!("{:#x}", t.specId),
        "jobType": format!("{:#x}", t.jobType),
        "params": format!("{:#x}", t.params),
        "oracles": t.oracles,
        "minResponses": t.minResponses,
        "minReputation": t.minReputation,
        "penaltyDeposit": t.penaltyDeposit.to_string(),
        "paymentPerOracle": t.paymentPerOracle.to_string(),
        "rounds": t.rounds,
        "biddingEnds": t.biddingEnds,
        "commitWindow": t.commitWindow,
        "revealWindow": t.revealWindow,
        "heartbeat": t.heartbeat,
        "deviationBps": t.deviationBps,
        "aggregator": hex_addr(t.aggregator),
        "reputation": hex_addr(t.reputation),
        "callback": hex_addr(t.callback),
        "callbackSelector": format!("{:#x}", t.callbackSelector),
    })
}

/// Every event the service reads.
fn topics() -> Vec<B256> {
    vec![
        Market::SlaProposed::SIGNATURE_HASH,
        Market::BidPlaced::SIGNATURE_HASH,
        Market::SlaFinalized::SIGNATURE_HASH,
        Market::SlaCancelled::SIGNATURE_HASH,
        Market::SlaEnded::SIGNATURE_HASH,
        Market::RoundStarted::SIGNATURE_HASH,
        Market::Committed::SIGNATURE_HASH,
        Market::RevealOpened::SIGNATURE_HASH,
        Market::Revealed::SIGNATURE_HASH,
        Market::RoundAnswered::SIGNATURE_HASH,
        Market::RoundFailed::SIGNATURE_HASH,
        Market::OracleSlashed::SIGNATURE_HASH,
        Market::OraclePaid::SIGNATURE_HASH,
        Market::DepositReturned::SIGNATURE_HASH,
    ]
}

fn failure_name(reason: u8) -> String {
    match reason {
        1 => "TooFewReveals".into(),
        2 => "AggregatorFailed".into(),
        other => format!("reason {other}"),
    }
}

impl SlaService {
    /// Creates the service (nothing runs until [`SlaService::run`] or [`SlaService::tick`]).
    pub fn new(
        store: Store,
        registry: Arc<JobRegistry>,
        runner: Arc<Runner>,
        chain: Arc<dyn SlaChain>,
        cfg: SlaServiceConfig,
        cancel: CancellationToken,
    ) -> Arc<Self> {
        Self::build(store, registry, runner, chain, None, cfg, cancel)
    }

    /// Creates the service of a staking-pool node: it bids and answers as `pool.node()` and
    /// settles every deposit with the pool (ADR 0006, [`crate::pool`]).
    pub fn new_pool(
        store: Store,
        registry: Arc<JobRegistry>,
        runner: Arc<Runner>,
        pool: Arc<PoolChain>,
        cfg: SlaServiceConfig,
        cancel: CancellationToken,
    ) -> Arc<Self> {
        let chain: Arc<dyn SlaChain> = pool.clone();
        Self::build(store, registry, runner, chain, Some(pool), cfg, cancel)
    }

    fn build(
        store: Store,
        registry: Arc<JobRegistry>,
        runner: Arc<Runner>,
        chain: Arc<dyn SlaChain>,
        pool: Option<Arc<PoolChain>>,
        cfg: SlaServiceConfig,
        cancel: CancellationToken,
    ) -> Arc<Self> {
        let me = chain.address();
        if cfg.faults.skip_reveal {
            tracing::warn!(
                "FAULT INJECTION ACTIVE: [sla.fault] skip_reveal — this node commits and never reveals; it will be slashed"
            );
        }
        if cfg.faults.copy_commitment {
            tracing::warn!(
                "FAULT INJECTION ACTIVE: [sla.fault] copy_commitment — this node copies other oracles' commitments instead of answering; its reveals will fail and it will be slashed"
            );
        }
        Arc::new_cyclic(|this| Self {
            store,
            registry,
            runner,
            chain,
            pool,
            cfg,
            me,
            busy: Mutex::new(HashSet::new()),
            last_try: Mutex::new(HashMap::new()),
            wake: Notify::new(),
            cancel,
            this: this.clone(),
        })
    }

    /// Ends the runs of `sla` jobs a stopped node left running (their rounds run the pipeline
    /// again if they had not stored a commitment). Returns the open rounds to carry on with.
    pub async fn resume(&self) -> SlaResult<usize> {
        for run in self.store.interrupted_runs().await? {
            let is_sla = self
                .registry
                .get(run.job_id)
                .is_some_and(|j| j.spec.job_type == JobType::Sla);
            if is_sla {
                self.store
                    .finish_run(
                        run.id,
                        RunState::Errored,
                        &serde_json::Value::Null,
                        &["interrupted by a restart".to_owned()],
                        &[],
                        None,
                    )
                    .await?;
            }
        }
        let open = self.store.open_sla_rounds().await?;
        if !open.is_empty() {
            tracing::info!(rounds = open.len(), "resuming open SLA rounds");
        }
        Ok(open.len())
    }

    /// Acts once a second and whenever a batch of logs was recorded, until cancelled.
    pub async fn run(self: Arc<Self>) {
        loop {
            if let Err(e) = self.tick().await {
                tracing::warn!(error = %e, "SLA step failed; retrying");
            }
            tokio::select! {
                () = self.cancel.cancelled() => return,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(TICK) => {}
            }
        }
    }

    // ---------------------------------------------------------------- recording

    /// Records one market log. Logs of other contracts, unknown events and undecodable data
    /// are skipped with a warning; only store and RPC failures are errors (the batch is read
    /// again).
    pub async fn apply_log(&self, log: &Log) -> SlaResult<()> {
        let market = log.address();
        if !self.registry.sla_markets().contains(&market) {
            return Ok(());
        }
        let Some(topic) = log.topic0().copied() else {
            return Ok(());
        };
        let m = hex_addr(market);
        macro_rules! decode {
            ($ev:ty) => {
                match <$ev>::decode_log_data(log.data()) {
                    Ok(ev) => ev,
                    Err(e) => {
                        tracing::warn!(market = %m, tx = ?log.transaction_hash, error = %e, event = <$ev>::SIGNATURE, "undecodable SLA market log skipped");
                        return Ok(());
                    }
                }
            };
        }
        if topic == Market::SlaProposed::SIGNATURE_HASH {
            let ev = decode!(Market::SlaProposed);
            let Some(job) = self.registry.for_sla(ev.specId, market) else {
                return Ok(());
            };
            let t = &ev.terms;
            let new = NewSla {
                market: m.clone(),
                sla_id: ev.slaId.to_string(),
                job_id: job.row.id,
                purchaser: hex_addr(ev.purchaser),
                spec_id: format!("{:#x}", ev.specId),
                job_type: format!("{:#x}", t.jobType),
                params: t.params.to_vec(),
                oracles: u32::from(t.oracles),
                rounds: u64::from(t.rounds),
                penalty_deposit: t.penaltyDeposit.to_string(),
                payment_per_oracle: t.paymentPerOracle.to_string(),
                bidding_ends: t.biddingEnds,
                commit_window: u64::from(t.commitWindow),
                reveal_window: u64::from(t.revealWindow),
                heartbeat: u64::from(t.heartbeat),
                deviation_bps: u64::from(t.deviationBps),
                terms: terms_json(t),
                block_number: log.block_number.unwrap_or(0),
            };
            if self.store.insert_sla(&new).await?.is_some() {
                tracing::info!(market = %m, sla = %ev.slaId, job = job.row.id, "SLA proposed for a local sla job");
            }
        } else if topic == Market::BidPlaced::SIGNATURE_HASH {
            let ev = decode!(Market::BidPlaced);
            if ev.oracle == self.me
                && let Some(row) = self.store.sla(&m, &ev.slaId.to_string()).await?
            {
                self.store
                    .set_sla_bid_score(row.id, &ev.score.to_string())
                    .await?;
            }
        } else if topic == Market::SlaFinalized::SIGNATURE_HASH {
            let ev = decode!(Market::SlaFinalized);
            let Some(row) = self.store.sla(&m, &ev.slaId.to_string()).await? else {
                return Ok(());
            };
            match ev.oracles.iter().position(|o| *o == self.me) {
                Some(i) => {
                    let index = u32::try_from(i).unwrap_or(u32::MAX);
                    if self.store.set_sla_selected(row.id, index).await? {
                        tracing::info!(market = %m, sla = %ev.slaId, index, "selected to serve an SLA");
                    }
                }
                None => {
                    self.store
                        .transition_sla(
                            row.id,
                            &[SlaState::Proposed, SlaState::Bid, SlaState::BidFailed],
                            SlaState::NotSelected,
                            None,
                        )
                        .await?;
                }
            }
        } else if topic == Market::SlaCancelled::SIGNATURE_HASH {
            let ev = decode!(Market::SlaCancelled);
            if let Some(row) = self.store.sla(&m, &ev.slaId.to_string()).await? {
                self.store
                    .transition_sla(
                        row.id,
                        &[
                            SlaState::Proposed,
                            SlaState::Bid,
                            SlaState::BidFailed,
                            SlaState::Skipped,
                        ],
                        SlaState::Cancelled,
                        Some(&format!("{} qualified bids", ev.qualifiedBids)),
                    )
                    .await?;
            }
        } else if topic == Market::SlaEnded::SIGNATURE_HASH {
            let ev = decode!(Market::SlaEnded);
            if let Some(row) = self.store.sla(&m, &ev.slaId.to_string()).await? {
                self.store
                    .transition_sla(row.id, &[SlaState::Active], SlaState::Ended, None)
                    .await?;
            }
        } else if topic == Market::RoundStarted::SIGNATURE_HASH {
            let ev = decode!(Market::RoundStarted);
            let Some(row) = self.store.sla(&m, &ev.slaId.to_string()).await? else {
                return Ok(());
            };
            let started = ev.commitDeadline.saturating_sub(row.commit_window);
            self.store
                .set_sla_round_started(row.id, &ev.roundId.to_string(), started)
                .await?;
            if let (SlaState::Active, Some(index)) = (row.state, row.oracle_index) {
                let new = NewSlaRound {
                    sla_row: row.id,
                    market: m.clone(),
                    round_id: ev.roundId.to_string(),
                    oracle_index: index,
                    commit_deadline: ev.commitDeadline,
                    reveal_deadline: ev.revealDeadline,
                };
                if self.store.insert_sla_round(&new).await?.is_some() {
                    tracing::info!(market = %m, sla = %ev.slaId, round = %ev.roundId, "SLA round started");
                }
            }
        } else if topic == Market::Committed::SIGNATURE_HASH {
            let ev = decode!(Market::Committed);
            if ev.oracle != self.me && self.cfg.faults.copy_commitment {
                self.copy_commitment(&m, ev.roundId, ev.oracle, log.transaction_hash)
                    .await?;
            }
        } else if topic == Market::RevealOpened::SIGNATURE_HASH {
            let ev = decode!(Market::RevealOpened);
            self.store
                .set_sla_round_reveal_open(&m, &ev.roundId.to_string(), ev.revealDeadline)
                .await?;
        } else if topic == Market::Revealed::SIGNATURE_HASH {
            let ev = decode!(Market::Revealed);
            if self.cfg.faults.copy_commitment && ev.oracle != self.me {
                self.copy_reveal(&m, ev.roundId, ev.oracle, log.transaction_hash)
                    .await?;
            }
        } else if topic == Market::RoundAnswered::SIGNATURE_HASH {
            let ev = decode!(Market::RoundAnswered);
            let round_id = ev.roundId.to_string();
            let accepted = match self.store.sla_round(&m, &round_id).await? {
                Some(r) => Some(ev.acceptedMask.bit(r.oracle_index as usize)),
                None => None,
            };
            let answer = ev.answer.to_string();
            self.store
                .finish_sla_round(
                    &m,
                    &round_id,
                    RoundStatus::Answered,
                    Some(&answer),
                    accepted,
                    None,
                )
                .await?;
            if let Some(row) = self.store.sla(&m, &ev.slaId.to_string()).await? {
                self.store.set_sla_last_answer(row.id, &answer).await?;
            }
        } else if topic == Market::RoundFailed::SIGNATURE_HASH {
            let ev = decode!(Market::RoundFailed);
            self.store
                .finish_sla_round(
                    &m,
                    &ev.roundId.to_string(),
                    RoundStatus::Failed,
                    None,
                    None,
                    Some(&failure_name(ev.reason)),
                )
                .await?;
        } else if topic == Market::OracleSlashed::SIGNATURE_HASH {
            let ev = decode!(Market::OracleSlashed);
            if ev.oracle == self.me {
                tracing::warn!(market = %m, sla = %ev.slaId, round = %ev.roundId, amount = %ev.amount, "this node was slashed");
                self.store
                    .set_sla_round_settlement(
                        &m,
                        &ev.roundId.to_string(),
                        None,
                        Some(&ev.amount.to_string()),
                    )
                    .await?;
                if let Some(row) = self.store.sla(&m, &ev.slaId.to_string()).await? {
                    self.record_deposit_outcome(row.id, DepositOutcome::Forfeited)
                        .await?;
                    self.store
                        .transition_sla(
                            row.id,
                            &[SlaState::Active],
                            SlaState::Slashed,
                            Some(&format!("slashed in round {}", ev.roundId)),
                        )
                        .await?;
                }
            }
        } else if topic == Market::DepositReturned::SIGNATURE_HASH {
            let ev = decode!(Market::DepositReturned);
            if ev.oracle == self.me
                && let Some(row) = self.store.sla(&m, &ev.slaId.to_string()).await?
                && self
                    .record_deposit_outcome(row.id, DepositOutcome::Returned)
                    .await?
            {
                tracing::info!(market = %m, sla = %ev.slaId, amount = %ev.amount, "penalty deposit returned");
            }
        } else if topic == Market::OraclePaid::SIGNATURE_HASH {
            let ev = decode!(Market::OraclePaid);
            if ev.oracle == self.me {
                self.store
                    .set_sla_round_settlement(
                        &m,
                        &ev.roundId.to_string(),
                        Some(&ev.amount.to_string()),
                        None,
                    )
                    .await?;
            }
        }
        Ok(())
    }

    /// Records what became of our deposit. Only a pool node has anything to settle; a node
    /// bidding with its own key marks it settled at once (so switching to pool mode later never
    /// settles an old deposit against a pool bid).
    async fn record_deposit_outcome(&self, row: i64, outcome: DepositOutcome) -> SlaResult<bool> {
        let recorded = self.store.set_sla_deposit_outcome(row, outcome).await?;
        if recorded && self.pool.is_none() {
            self.store.set_sla_pool_settled(row).await?;
        }
        Ok(recorded)
    }

    /// Fault injection (freeloader): adopt another oracle's commitment, read from its commit
    /// transaction's calldata.
    async fn copy_commitment(
        &self,
        market: &str,
        round_id: U256,
        from: Address,
        tx: Option<B256>,
    ) -> SlaResult<()> {
        let Some(round) = self.store.sla_round(market, &round_id.to_string()).await? else {
            return Ok(());
        };
        if round.state != SlaRoundState::Started {
            return Ok(());
        }
        let Some(input) = (match tx {
            Some(h) => self.chain.tx_input(h).await?,
            None => None,
        }) else {
            return Ok(());
        };
        let input = crate::pool::market_calldata(&input);
        let Ok(call) = Market::commitCall::abi_decode(&input) else {
            tracing::warn!(round = %round_id, "fault injection: the commit transaction is not a plain commit call; nothing to copy");
            return Ok(());
        };
        if self
            .store
            .store_sla_commitment(
                round.id,
                None,
                None,
                &format!("{:#x}", call.commitment),
                None,
                Some(&hex_addr(from)),
            )
            .await?
        {
            tracing::warn!(round = %round_id, copied_from = %hex_addr(from), "FAULT INJECTION: copied another oracle's commitment");
            self.wake.notify_one();
        }
        Ok(())
    }

    /// Fault injection (freeloader): take the copied oracle's answer and salt from its reveal.
    async fn copy_reveal(
        &self,
        market: &str,
        round_id: U256,
        from: Address,
        tx: Option<B256>,
    ) -> SlaResult<()> {
        let Some(round) = self.store.sla_round(market, &round_id.to_string()).await? else {
            return Ok(());
        };
        if round.copied_from.as_deref() != Some(hex_addr(from).as_str()) || round.answer.is_some() {
            return Ok(());
        }
        let Some(input) = (match tx {
            Some(h) => self.chain.tx_input(h).await?,
            None => None,
        }) else {
            return Ok(());
        };
        let input = crate::pool::market_calldata(&input);
        if let Ok(call) = Market::revealCall::abi_decode(&input) {
            self.store
                .set_sla_round_reveal_data(
                    round.id,
                    &call.answer.to_string(),
                    &format!("{:#x}", call.salt),
                )
                .await?;
            self.wake.notify_one();
        }
        Ok(())
    }

    // ------------------------------------------------------------------ acting

    /// One step: bid on new proposals, finalize what is due, drive every open round, and
    /// check feeds. Round and feed steps run on their own tasks (a slow pipeline must not hold
    /// up another round's reveal); [`SlaService::idle`] waits for them.
    pub async fn tick(self: &Arc<Self>) -> SlaResult<()> {
        let proposed = self.store.slas_in(&[SlaState::Proposed]).await?;
        let bid = self.store.slas_in(&[SlaState::Bid]).await?;
        let open = self.store.open_sla_rounds().await?;
        let active = self.store.slas_in(&[SlaState::Active]).await?;
        if let Some(pool) = &self.pool {
            let unsettled = self.store.unsettled_pool_deposits().await?;
            if !unsettled.is_empty() {
                let pool = pool.clone();
                self.spawn_step("pool".to_owned(), move |this| async move {
                    this.pool_step(&pool, unsettled).await
                });
            }
        }
        if proposed.is_empty() && bid.is_empty() && open.is_empty() && active.is_empty() {
            return Ok(()); // nothing to do: no chain access
        }
        let now = self.chain.now().await?;
        for sla in proposed {
            if let Err(e) = self.consider_bid(&sla, now).await {
                tracing::warn!(sla = %sla.sla_id, error = %e, "bidding step failed");
            }
        }
        for sla in bid {
            if let Err(e) = self.after_bid(&sla, now).await {
                tracing::warn!(sla = %sla.sla_id, error = %e, "finalize step failed");
            }
        }
        for round in open {
            let key = format!("round/{}", round.id);
            self.spawn_step(
                key,
                move |this| async move { this.round_step(round, now).await },
            );
        }
        for sla in active {
            if sla.rounds > 1 {
                let key = format!("feed/{}", sla.id);
                self.spawn_step(
                    key,
                    move |this| async move { this.feed_step(sla, now).await },
                );
            }
        }
        Ok(())
    }

    /// Waits until no round or feed step is in flight (tests).
    pub async fn idle(&self) {
        loop {
            let empty = self.busy.lock().map(|b| b.is_empty()).unwrap_or(true);
            if empty {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    fn spawn_step<F, Fut>(&self, key: String, work: F)
    where
        F: FnOnce(Arc<Self>) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = SlaResult<()>> + Send + 'static,
    {
        let Some(this) = self.this.upgrade() else {
            return;
        };
        match self.busy.lock() {
            Ok(mut b) => {
                if !b.insert(key.clone()) {
                    return;
                }
            }
            Err(_) => return,
        }
        tokio::spawn(async move {
            if let Err(e) = work(this.clone()).await {
                tracing::warn!(step = %key, error = %e, "SLA step failed; retrying at the next tick");
            }
            if let Ok(mut b) = this.busy.lock() {
                b.remove(&key);
            }
        });
    }

    fn gas(&self, job: Option<&LoadedJob>) -> Option<u64> {
        job.and_then(|j| j.spec.gas_limit).or(self.cfg.gas_limit)
    }

    async fn consider_bid(&self, sla: &SlaRow, now: u64) -> SlaResult<()> {
        let Some(job) = self.registry.get(sla.job_id) else {
            self.store
                .transition_sla(
                    sla.id,
                    &[SlaState::Proposed],
                    SlaState::Skipped,
                    Some("job deleted"),
                )
                .await?;
            return Ok(());
        };
        let market = parse_address(&sla.market, "slas.market")?;
        let sla_id = parse_u256(&sla.sla_id, "slas.sla_id")?;
        let deposit = parse_u256(&sla.penalty_deposit, "slas.penalty_deposit")?;
        let link_balance = match self.cfg.link {
            Some(link) => Some(
                view(
                    self.chain.as_ref(),
                    link,
                    LinkToken::balanceOfCall { account: self.me },
                    "LinkToken.balanceOf",
                )
                .await?,
            ),
            None => None,
        };
        let ctx = BidContext {
            job_type: parse_b256(&sla.job_type, "slas.job_type")?,
            payment: parse_u256(&sla.payment_per_oracle, "slas.payment_per_oracle")?,
            deposit,
            bidding_ends: sla.bidding_ends,
            now,
            concurrent: self
                .store
                .count_slas_in(&[SlaState::Bid, SlaState::Active])
                .await?,
            link_balance,
        };
        if let Err(why) = decide_bid(&self.cfg.policy, &ctx) {
            tracing::info!(market = %sla.market, sla = %sla.sla_id, reason = %why, "not bidding on SLA");
            self.store
                .transition_sla(sla.id, &[SlaState::Proposed], SlaState::Skipped, Some(&why))
                .await?;
            return Ok(());
        }
        let Some(link) = self.cfg.link else {
            return Ok(()); // decide_bid refused already
        };
        let data = LinkToken::transferAndCallCall {
            to: market,
            value: deposit,
            data: Market::bidCall::new((sla_id,)).abi_encode().into(),
        }
        .abi_encode();
        // Sent before the state moves: a crash in between decides again and the same key
        // sends nothing new.
        self.chain
            .send(
                &format!("sla/{}/{}/bid", sla.market, sla.sla_id),
                link,
                data.into(),
                self.gas(Some(&job)),
            )
            .await?;
        self.store
            .transition_sla(sla.id, &[SlaState::Proposed], SlaState::Bid, None)
            .await?;
        tracing::info!(market = %sla.market, sla = %sla.sla_id, deposit = %deposit, "bid on SLA");
        Ok(())
    }

    async fn after_bid(&self, sla: &SlaRow, now: u64) -> SlaResult<()> {
        let bid_key = format!("sla/{}/{}/bid", sla.market, sla.sla_id);
        if let Some(SentTx::Reverted | SentTx::Fatal) = self.chain.sent(&bid_key).await? {
            self.store
                .transition_sla(
                    sla.id,
                    &[SlaState::Bid],
                    SlaState::BidFailed,
                    Some("the bid transaction reverted (deposit, reputation or timing)"),
                )
                .await?;
            return Ok(());
        }
        if now <= sla.bidding_ends {
            return Ok(());
        }
        let key = format!("sla/{}/{}/finalize", sla.market, sla.sla_id);
        if self.chain.sent(&key).await?.is_some() {
            return Ok(());
        }
        let market = parse_address(&sla.market, "slas.market")?;
        let data: Bytes = Market::finalizeCall {
            slaId: parse_u256(&sla.sla_id, "slas.sla_id")?,
        }
        .abi_encode()
        .into();
        self.send_if_it_works(&key, market, data, None, "finalize")
            .await
    }

    /// Settles pool deposits whose outcome the market announced, one at a time (the open bid
    /// to settle is picked from the chain, so two settlements must not race): collect what
    /// the market credited the node (`withdraw`), `settleBid` with the forfeited amount, then
    /// `distribute` the profit (payments) to the stakers. Every transaction has its key, so a
    /// restart carries on where it stopped.
    async fn pool_step(&self, pool: &PoolChain, unsettled: Vec<SlaRow>) -> SlaResult<()> {
        for sla in unsettled {
            let Some(outcome) = sla.deposit_outcome else {
                continue;
            };
            let prefix = format!("sla/{}/{}", sla.market, sla.sla_id);
            if let Some(key) = &sla.pool_settle_key {
                match self.chain.sent(key).await? {
                    Some(SentTx::Confirmed) => {
                        self.store.set_sla_pool_settled(sla.id).await?;
                        tracing::info!(market = %sla.market, sla = %sla.sla_id, outcome = outcome.as_str(), "penalty deposit settled with the pool");
                        if pool.distributable().await?.is_zero() {
                            continue; // deposits still out elsewhere, or nothing earned
                        }
                        let logic = pool.logic(orakel_contracts::staking::names::NODE).await?;
                        let data: Bytes =
                            orakel_contracts::staking::Node::distributeCall { node: pool.node() }
                                .abi_encode()
                                .into();
                        self.send_if_it_works(
                            &format!("{prefix}/pool-distribute"),
                            logic,
                            data,
                            None,
                            "pool distribution",
                        )
                        .await?;
                        continue;
                    }
                    Some(SentTx::Reverted | SentTx::Fatal) => {
                        tracing::warn!(key, "settleBid failed; picking the deposit again");
                        self.store.set_sla_pool_settle_key(sla.id, None).await?;
                        return Ok(());
                    }
                    Some(SentTx::Pending) => return Ok(()),
                    // Stored, then stopped before the transaction was created: pick again.
                    None => {
                        self.store.set_sla_pool_settle_key(sla.id, None).await?;
                        return Ok(());
                    }
                }
            }
            let market = parse_address(&sla.market, "slas.market")?;
            let deposit = parse_u256(&sla.penalty_deposit, "slas.penalty_deposit")?;
            // Collect first, so the settlement finds the returned deposit (and the payments)
            // in the node's balance.
            let collect = format!("{prefix}/pool-collect");
            match self.chain.sent(&collect).await? {
                None => {
                    let credit = view(
                        self.chain.as_ref(),
                        market,
                        Market::withdrawableCall {
                            account: pool.node(),
                        },
                        "SlaMarket.withdrawable",
                    )
                    .await?;
                    if credit > U256::ZERO {
                        self.chain
                            .send(
                                &collect,
                                market,
                                Market::withdrawCall {}.abi_encode().into(),
                                None,
                            )
                            .await?;
                        return Ok(());
                    }
                }
                Some(SentTx::Pending) => return Ok(()),
                Some(_) => {}
            }
            let Some(bid_id) = pool.open_bid(market, deposit).await? else {
                tracing::warn!(market = %sla.market, sla = %sla.sla_id, "no open pool deposit matches this SLA's; nothing to settle");
                self.store.set_sla_pool_settled(sla.id).await?;
                continue;
            };
            let forfeited = match outcome {
                DepositOutcome::Returned => U256::ZERO,
                DepositOutcome::Forfeited => deposit,
            };
            let key = format!("{prefix}/pool-settle/{bid_id}");
            let logic = pool.logic(orakel_contracts::staking::names::NODE).await?;
            let data: Bytes = orakel_contracts::staking::Node::settleBidCall {
                node: pool.node(),
                bidId: bid_id,
                forfeited,
            }
            .abi_encode()
            .into();
            self.store
                .set_sla_pool_settle_key(sla.id, Some(&key))
                .await?;
            self.chain.send(&key, logic, data, None).await?;
            tracing::info!(market = %sla.market, sla = %sla.sla_id, bid = %bid_id, forfeited = %forfeited, "settling the penalty deposit with the pool");
            return Ok(());
        }
        Ok(())
    }

    /// Simulates a call anyone may make and sends it only if it would succeed: losing the
    /// race to another node is normal, not an error.
    async fn send_if_it_works(
        &self,
        key: &str,
        to: Address,
        data: Bytes,
        job: Option<&LoadedJob>,
        what: &str,
    ) -> SlaResult<()> {
        match self.chain.call(to, data.clone()).await {
            Ok(_) => {
                self.chain.send(key, to, data, self.gas(job)).await?;
                tracing::info!(key, "{what} sent");
                Ok(())
            }
            Err(SlaError::Reverted(why)) => {
                tracing::debug!(key, reason = %why, "{what} would revert; not sent");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    async fn round_view(
        &self,
        market: Address,
        round_id: U256,
    ) -> SlaResult<orakel_contracts::sla::RoundView> {
        view(
            self.chain.as_ref(),
            market,
            Market::roundOfCall { roundId: round_id },
            "ISlaMarket.roundOf",
        )
        .await
    }

    /// One step of a round (see the state machine in the module docs).
    async fn round_step(self: Arc<Self>, round: SlaRoundRow, now: u64) -> SlaResult<()> {
        let Some(sla) = self.store.sla_by_row(round.sla_row).await? else {
            return Ok(());
        };
        let job = self.registry.get(sla.job_id);
        let market = parse_address(&round.market, "sla_rounds.market")?;
        let round_id = parse_u256(&round.round_id, "sla_rounds.round_id")?;
        let base = format!("sla/{}/round/{}", round.market, round.round_id);
        let mut state = round.state;
        let mut round = round;

        if state == SlaRoundState::Started {
            if now > round.commit_deadline {
                self.store
                    .transition_sla_round(
                        round.id,
                        &[SlaRoundState::Started],
                        SlaRoundState::Missed,
                        Some("the commit deadline passed before an answer was ready"),
                    )
                    .await?;
                return self
                    .close_if_due(&round, market, round_id, now, job.as_deref())
                    .await;
            }
            if self.cfg.faults.copy_commitment {
                return Ok(()); // waits for another oracle's Committed log
            }
            let Some(job) = job.as_ref() else {
                self.store
                    .transition_sla_round(
                        round.id,
                        &[SlaRoundState::Started],
                        SlaRoundState::Errored,
                        Some("job deleted"),
                    )
                    .await?;
                return Ok(());
            };
            if !self.may_try(&base) {
                return Ok(());
            }
            let params = Bytes::from(sla.params.clone());
            let sla_id = parse_u256(&sla.sla_id, "slas.sla_id")?;
            let (answer, run_id) = match self.answer(job, sla_id, round_id, params, market).await? {
                (Ok(a), run) => (a, run),
                (Err(why), _) => {
                    self.note_failure(&base);
                    tracing::warn!(round = %round.round_id, error = %why, "SLA pipeline failed; retrying until the commit deadline");
                    self.store.note_sla_round(round.id, &why).await?;
                    return Ok(());
                }
            };
            let salt = random_salt()?;
            let commitment = commitment_of(market, round_id, self.me, answer, salt);
            // Stored before the commit transaction exists: what we commit to, we can reveal.
            if !self
                .store
                .store_sla_commitment(
                    round.id,
                    Some(&answer.to_string()),
                    Some(&format!("{salt:#x}")),
                    &format!("{commitment:#x}"),
                    Some(run_id),
                    None,
                )
                .await?
            {
                return Ok(());
            }
            state = SlaRoundState::Committing;
            round.commitment = Some(format!("{commitment:#x}"));
        }

        if state == SlaRoundState::Committing {
            let key = format!("{base}/commit");
            if self.chain.sent(&key).await?.is_none() {
                if now > round.commit_deadline {
                    self.store
                        .transition_sla_round(
                            round.id,
                            &[SlaRoundState::Committing],
                            SlaRoundState::Missed,
                            Some("the commit deadline passed before the commit was sent"),
                        )
                        .await?;
                    return Ok(());
                }
                let commitment = parse_b256(
                    round.commitment.as_deref().unwrap_or_default(),
                    "sla_rounds.commitment",
                )?;
                let data = Market::commitCall {
                    roundId: round_id,
                    index: U256::from(round.oracle_index),
                    commitment,
                }
                .abi_encode();
                self.chain
                    .send(&key, market, data.into(), self.gas(job.as_deref()))
                    .await?;
                tracing::info!(round = %round.round_id, "committed");
            }
            self.store
                .transition_sla_round(
                    round.id,
                    &[SlaRoundState::Committing],
                    SlaRoundState::Committed,
                    None,
                )
                .await?;
            return Ok(());
        }

        if state == SlaRoundState::Committed {
            if let Some(SentTx::Reverted | SentTx::Fatal) =
                self.chain.sent(&format!("{base}/commit")).await?
            {
                self.store
                    .transition_sla_round(
                        round.id,
                        &[SlaRoundState::Committed],
                        SlaRoundState::Errored,
                        Some("the commit transaction reverted"),
                    )
                    .await?;
                return Ok(());
            }
            if self.cfg.faults.skip_reveal {
                if round.reason.is_none() {
                    self.store
                        .note_sla_round(round.id, "fault injection: not revealing")
                        .await?;
                }
                return self
                    .close_if_due(&round, market, round_id, now, job.as_deref())
                    .await;
            }
            if round.reveal_open || now > round.commit_deadline {
                let view = self.round_view(market, round_id).await?;
                if view.status != round_status::OPEN {
                    return Ok(()); // the result log is on its way
                }
                if view.revealOpen {
                    let (Some(answer), Some(salt)) =
                        (round.answer.as_deref(), round.salt.as_deref())
                    else {
                        return Ok(()); // freeloader still waiting for something to copy
                    };
                    let data = Market::revealCall {
                        roundId: round_id,
                        index: U256::from(round.oracle_index),
                        answer: parse_i256(answer, "sla_rounds.answer")?,
                        salt: parse_b256(salt, "sla_rounds.salt")?,
                    }
                    .abi_encode();
                    self.chain
                        .send(
                            &format!("{base}/reveal"),
                            market,
                            data.into(),
                            self.gas(job.as_deref()),
                        )
                        .await?;
                    self.store
                        .transition_sla_round(
                            round.id,
                            &[SlaRoundState::Committed],
                            SlaRoundState::Revealed,
                            None,
                        )
                        .await?;
                    tracing::info!(round = %round.round_id, "revealed");
                    return Ok(());
                }
                if now > view.revealDeadline && view.revealDeadline > 0 {
                    self.store
                        .transition_sla_round(
                            round.id,
                            &[SlaRoundState::Committed],
                            SlaRoundState::Missed,
                            Some("the reveal window closed before the reveal was sent"),
                        )
                        .await?;
                }
            }
            return self
                .close_if_due(&round, market, round_id, now, job.as_deref())
                .await;
        }

        if state == SlaRoundState::Revealed
            && let Some(SentTx::Reverted | SentTx::Fatal) =
                self.chain.sent(&format!("{base}/reveal")).await?
        {
            self.store
                .transition_sla_round(
                    round.id,
                    &[SlaRoundState::Revealed],
                    SlaRoundState::Errored,
                    Some("the reveal transaction reverted"),
                )
                .await?;
        }
        self.close_if_due(&round, market, round_id, now, job.as_deref())
            .await
    }

    /// After the reveal deadline a round still open is closed by whoever comes first.
    async fn close_if_due(
        &self,
        round: &SlaRoundRow,
        market: Address,
        round_id: U256,
        now: u64,
        job: Option<&LoadedJob>,
    ) -> SlaResult<()> {
        if now <= round.reveal_deadline {
            return Ok(());
        }
        let key = format!("sla/{}/round/{}/close", round.market, round.round_id);
        if self.chain.sent(&key).await?.is_some() {
            return Ok(());
        }
        let view = self.round_view(market, round_id).await?;
        if view.status != round_status::OPEN || now <= view.revealDeadline {
            return Ok(());
        }
        let data: Bytes = Market::closeRoundCall { roundId: round_id }
            .abi_encode()
            .into();
        self.send_if_it_works(&key, market, data, job, "closeRound")
            .await
    }

    /// A feed's periodic check: start the next round on deviation or heartbeat.
    async fn feed_step(self: Arc<Self>, sla: SlaRow, now: u64) -> SlaResult<()> {
        let Some(job) = self.registry.get(sla.job_id) else {
            return Ok(());
        };
        let poll = job.spec.sla.as_ref().and_then(|s| s.poll_interval);
        let feed_key = format!("feed/{}", sla.id);
        // Nothing to do more often than once per poll interval (or per second for heartbeats).
        let every = poll.unwrap_or(TICK).max(TICK);
        if !self.due(&feed_key, every) {
            return Ok(());
        }
        if poll.is_none() && sla.heartbeat == 0 {
            return Ok(());
        }
        let market = parse_address(&sla.market, "slas.market")?;
        let sla_id = parse_u256(&sla.sla_id, "slas.sla_id")?;
        let latest = view(
            self.chain.as_ref(),
            market,
            Market::latestRoundOfCall { slaId: sla_id },
            "ISlaMarket.latestRoundOf",
        )
        .await?;
        if latest.is_zero() {
            return Ok(());
        }
        let view = self.round_view(market, latest).await?;
        if now <= view.commitDeadline {
            return Ok(()); // the latest round's commit phase is not over
        }
        let started = view.commitDeadline.saturating_sub(sla.commit_window);
        let heartbeat_due = sla.heartbeat > 0 && now >= started.saturating_add(sla.heartbeat);
        let mut why = heartbeat_due.then(|| "heartbeat".to_string());
        if why.is_none() && poll.is_some() {
            let params = Bytes::from(sla.params.clone());
            let (value, _) = self
                .answer(&job, sla_id, U256::ZERO, params, market)
                .await?;
            let value = match value {
                Ok(v) => v,
                Err(e) => {
                    tracing::warn!(sla = %sla.sla_id, error = %e, "feed check: pipeline failed");
                    return Ok(());
                }
            };
            let last = match sla.last_answer.as_deref() {
                Some(a) => Some(parse_i256(a, "slas.last_answer")?),
                None => (view.status == round_status::ANSWERED).then_some(view.answer),
            };
            if deviates(value, last, sla.deviation_bps) {
                why = Some(format!(
                    "deviation: {value} against {}",
                    last.map(|l| l.to_string())
                        .unwrap_or_else(|| "no answer".into())
                ));
            }
        }
        let Some(why) = why else {
            return Ok(());
        };
        let key = format!("sla/{}/{}/start-after/{}", sla.market, sla.sla_id, latest);
        if self.chain.sent(&key).await?.is_some() {
            return Ok(());
        }
        tracing::info!(sla = %sla.sla_id, reason = %why, "starting the next feed round");
        let data: Bytes = Market::startRoundCall { slaId: sla_id }.abi_encode().into();
        self.send_if_it_works(&key, market, data, Some(&job), "startRound")
            .await
    }

    /// Whether `key` was not tried within `every`; marks it tried.
    fn due(&self, key: &str, every: Duration) -> bool {
        let Ok(mut m) = self.last_try.lock() else {
            return false;
        };
        match m.get(key) {
            Some(at) if at.elapsed() < every => false,
            _ => {
                m.insert(key.to_string(), Instant::now());
                true
            }
        }
    }

    /// Whether a round's pipeline may run now (not within [`PIPELINE_RETRY`] of a failure).
    fn may_try(&self, key: &str) -> bool {
        self.last_try
            .lock()
            .map(|m| m.get(key).is_none_or(|at| at.elapsed() >= PIPELINE_RETRY))
            .unwrap_or(false)
    }

    fn note_failure(&self, key: &str) {
        if let Ok(mut m) = self.last_try.lock() {
            m.insert(key.to_string(), Instant::now());
        }
    }

    /// Runs the job's pipeline for an SLA round (or a feed check, round 0), stores the run,
    /// and converts its final output to the int256 answer. The outer error is a store
    /// failure; the inner one why there is no answer.
    async fn answer(
        &self,
        job: &LoadedJob,
        sla_id: U256,
        round_id: U256,
        params: Bytes,
        market: Address,
    ) -> SlaResult<(Result<I256, String>, i64)> {
        let inputs = serde_json::json!({
            "slaId": sla_id.to_string(),
            "roundId": round_id.to_string(),
            "params": format!("{params:#x}"),
            "marketAddress": hex_addr(market),
        });
        let run_id = self.store.start_run(job.row.id, None, &inputs).await?;
        let ctx = RunContext {
            run_id: run_id.to_string(),
            job_spec_vars: job.spec.job_spec_vars(job.row.id),
            job_run_vars: orakel_pipeline::sla_run_vars(sla_id, round_id, params, market),
            max_task_duration: job.spec.max_task_duration,
            prior_results: HashMap::new(),
        };
        let outcome = self.runner.execute(&job.spec.pipeline, ctx).await;
        let mut errors = outcome.errors.clone();
        let answer = match outcome.state {
            PipelineRunState::Completed => final_answer(&job.spec.pipeline, &outcome.outputs),
            PipelineRunState::Errored => Err(if errors.is_empty() {
                "the pipeline failed".to_string()
            } else {
                errors.join("; ")
            }),
            PipelineRunState::Suspended => {
                Err("asynchronous bridges are not supported in sla jobs".to_string())
            }
        };
        let state = match &answer {
            Ok(_) => RunState::Completed,
            Err(why) => {
                if !errors.contains(why) {
                    errors.push(why.clone());
                }
                RunState::Errored
            }
        };
        let outputs = serde_json::to_value(&outcome.outputs).unwrap_or(serde_json::Value::Null);
        self.store
            .finish_run(
                run_id,
                state,
                &outputs,
                &errors,
                &crate::jobrun::task_rows(&outcome),
                None,
            )
            .await?;
        metrics::counter!("orakel_runs_total", "job_type" => "sla", "state" => state.as_str())
            .increment(1);
        Ok((answer, run_id))
    }
}

/// The int256 answer of a completed sla run: its one final output.
fn final_answer(
    pipeline: &orakel_pipeline::Pipeline,
    outputs: &[Option<Value>],
) -> Result<I256, String> {
    let task = pipeline
        .terminal_ids()
        .first()
        .map(|s| (*s).to_string())
        .unwrap_or_default();
    match outputs {
        [Some(v)] => orakel_pipeline::sla_answer(&task, v),
        [None] => Err(format!("task {task:?} (final output) has no value")),
        _ => Err(format!(
            "an sla pipeline must have exactly one final output, it has {}",
            outputs.len()
        )),
    }
}

#[async_trait]
impl LogHandler for SlaService {
    fn filter(&self) -> (Vec<Address>, Vec<B256>) {
        (self.registry.sla_markets(), topics())
    }

    async fn handle(&self, listener: &str, batch: LogBatch) -> orakel_chain::Result<()> {
        for log in &batch.logs {
            match self.apply_log(log).await {
                Ok(()) => {}
                Err(SlaError::Chain(e)) => return Err(e),
                Err(SlaError::Store(e)) => return Err(orakel_chain::Error::Store(e)),
                Err(e) => {
                    tracing::warn!(tx = ?log.transaction_hash, error = %e, "SLA market log skipped")
                }
            }
        }
        self.store
            .save_checkpoint(listener, &batch.checkpoint)
            .await
            .map_err(orakel_chain::Error::Store)?;
        if !batch.logs.is_empty() {
            self.wake.notify_one();
        }
        Ok(())
    }

    async fn on_head(&self, _head: u64) {}

    /// Without sla jobs there is no market to watch: the listener then polls nothing, which
    /// keeps the SLA machinery off the direct-request critical path (RPC and store writes).
    fn idle(&self) -> bool {
        self.registry.sla_markets().is_empty()
    }
}

#[cfg(test)]
#[path = "sla_tests.rs"]
mod tests;
