//! The SLA devnet: the SLA stack (reputation, market, aggregators) on the devnet chain, nodes
//! with `[sla]` bidding switched on, LINK for their deposits and an `sla` job each, and an
//! `SlaFeed` purchaser that opens SLAs. Nodes play roles — honest, lying, silent, freeloading —
//! so a round shows what the market does with each: [`run_scenario`] is what
//! `orakel devnet --sla` and the end-to-end tests run.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256, I256, U256, keccak256};
use alloy::providers::Provider;
use alloy::rpc::types::{Filter, Log};
use alloy::sol_types::SolEvent;
use orakel_contracts::deploy::{self, ONE_LINK, OpenedSla, SlaStack};
use orakel_contracts::sla::{Market, SlaTerms};
use orakel_contracts::{Reputation, SlaFeed};
use uuid::Uuid;

use crate::{Devnet, Error, Result};

/// Gas limit of the nodes' SLA transactions: the last reveal and `closeRound` aggregate, pay,
/// record reputation and call back, far beyond the default 500,000 for n = 7.
pub const SLA_GAS_LIMIT: u64 = 3_000_000;

/// What a node does in the SLA scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SlaRole {
    /// Answers the sources' median.
    Honest,
    /// Answers 10 × the median (the aggregator must reject it).
    FarLiar,
    /// Answers 0.97 × the median (close, still outside the trimmed mean).
    SlightLiar,
    /// Commits, never reveals (`[sla.fault] skip_reveal`): slashed.
    Silent,
    /// Copies another oracle's commitment (`[sla.fault] copy_commitment`): its reveal cannot
    /// match, so it is slashed.
    Freeloader,
}

impl SlaRole {
    /// Short name for summaries.
    pub fn name(self) -> &'static str {
        match self {
            Self::Honest => "honest",
            Self::FarLiar => "far liar (×10)",
            Self::SlightLiar => "slight liar (×0.97)",
            Self::Silent => "silent (no reveal)",
            Self::Freeloader => "freeloader (copies)",
        }
    }

    /// The extra factor its pipeline multiplies by, for liars.
    pub fn lie_factor(self) -> Option<&'static str> {
        match self {
            Self::FarLiar => Some("10"),
            Self::SlightLiar => Some("0.97"),
            _ => None,
        }
    }

    /// Whether the market should slash it (no valid reveal).
    pub fn slashed(self) -> bool {
        matches!(self, Self::Silent | Self::Freeloader)
    }
}

/// The seven roles of the scenario, in node order: 3 honest, 1 far liar, 1 slight liar,
/// 1 silent, 1 freeloader.
pub const SCENARIO_ROLES: [SlaRole; 7] = [
    SlaRole::Honest,
    SlaRole::FarLiar,
    SlaRole::Honest,
    SlaRole::Silent,
    SlaRole::SlightLiar,
    SlaRole::Honest,
    SlaRole::Freeloader,
];

/// One node of the SLA devnet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaNodeSetup {
    /// Its role.
    pub role: SlaRole,
    /// Its pipeline first waits this long (orders the commits in tests).
    pub pipeline_delay: Option<Duration>,
    /// It serves as a staking-pool node (ADR 0006): the devnet creates a pool node operated
    /// by its key, and it bids with the pool's stake (stake into it before opening an SLA).
    pub pool: bool,
}

impl From<SlaRole> for SlaNodeSetup {
    fn from(role: SlaRole) -> Self {
        Self {
            role,
            pipeline_delay: None,
            pool: false,
        }
    }
}

impl SlaNodeSetup {
    /// A pool node with `role`.
    pub fn pool(role: SlaRole) -> Self {
        Self {
            pool: true,
            ..Self::from(role)
        }
    }
}

/// Operator fee of the devnet's pool nodes, basis points.
pub const POOL_OPERATOR_FEE_BPS: u64 = 1000;
/// The owners' share of the devnet's pool, basis points.
pub const POOL_OWNERS_BPS: u64 = 1000;

/// How the devnet sets up SLA nodes (see [`crate::DevnetConfig::sla`]).
#[derive(Debug, Clone)]
pub struct SlaDevnetConfig {
    /// The nodes (their number overrides [`crate::DevnetConfig::nodes`]).
    pub nodes: Vec<SlaNodeSetup>,
    /// `[sla].gas_limit` of every node.
    pub gas_limit: u64,
    /// LINK transferred to each node for its deposits.
    pub node_link: U256,
    /// The external job id every node's `sla` job has; its `specId` is what SLAs ask for.
    pub job_id: Uuid,
    /// Reputation category of the SLAs (`SlaTerms.jobType`).
    pub job_type: B256,
}

impl SlaDevnetConfig {
    /// The 7-node scenario: [`SCENARIO_ROLES`]. The silent node's pipeline waits 2 s, so the
    /// freeloader (which copies the first commitment it sees) copies one that is revealed
    /// later, and its own reveal is refused, rather than copying the silent node's.
    pub fn scenario() -> Self {
        let mut cfg = Self::with_roles(&SCENARIO_ROLES);
        for node in &mut cfg.nodes {
            if node.role == SlaRole::Silent {
                node.pipeline_delay = Some(Duration::from_secs(2));
            }
        }
        cfg
    }

    /// [`SlaDevnetConfig::scenario`] with the first honest, the silent and the freeloader
    /// node serving as staking-pool nodes (`orakel devnet --sla --pool`).
    pub fn pool_scenario() -> Self {
        let mut cfg = Self::scenario();
        let mut first_honest = true;
        for node in &mut cfg.nodes {
            node.pool = match node.role {
                SlaRole::Honest => std::mem::replace(&mut first_honest, false),
                SlaRole::Silent | SlaRole::Freeloader => true,
                SlaRole::FarLiar | SlaRole::SlightLiar => false,
            };
        }
        cfg
    }

    /// Nodes with the given roles, no delays.
    pub fn with_roles(roles: &[SlaRole]) -> Self {
        Self {
            nodes: roles.iter().copied().map(SlaNodeSetup::from).collect(),
            gas_limit: SLA_GAS_LIMIT,
            node_link: ONE_LINK * U256::from(100u64),
            job_id: Uuid::new_v4(),
            job_type: keccak256("price:ETH-USD"),
        }
    }
}

/// The SLA part of a running devnet.
#[derive(Debug, Clone)]
pub struct SlaNetwork {
    /// Reputation, market and aggregators.
    pub stack: SlaStack,
    /// The nodes' shared external job id.
    pub job_id: Uuid,
    /// The `specId` SLAs must carry to reach the nodes' jobs.
    pub spec_id: B256,
    /// `SlaTerms.jobType` of the SLAs.
    pub job_type: B256,
    /// The staking pool, when a node serves as a pool node (the market is whitelisted).
    pub pool: Option<orakel_contracts::pool::PoolStack>,
}

/// The aggregation rule an SLA names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggregatorChoice {
    /// Trimmed mean, k = 1.
    TrimmedMean,
    /// Median.
    Median,
    /// Strict-majority mode.
    Mode,
    /// Mean within two standard deviations.
    TwoDev,
}

impl AggregatorChoice {
    /// Readable name for summaries.
    pub fn name(self) -> &'static str {
        match self {
            Self::TrimmedMean => "trimmed mean (k = 1)",
            Self::Median => "median",
            Self::Mode => "mode (strict majority)",
            Self::TwoDev => "mean within two standard deviations",
        }
    }
}

/// What the purchaser (an `SlaFeed`) asks for.
#[derive(Debug, Clone)]
pub struct SlaOrder {
    /// Pair the oracles fetch (an SLA parameter).
    pub pair: String,
    /// Scale of answers (an SLA parameter): price × `times`.
    pub times: u64,
    /// n.
    pub oracles: u8,
    /// Valid reveals needed.
    pub min_responses: u8,
    /// Deposit per oracle, juels.
    pub penalty_deposit: U256,
    /// Payment per oracle and round, juels.
    pub payment_per_oracle: U256,
    /// Rounds paid for.
    pub rounds: u32,
    /// Bidding lasts this long from the chain time of opening.
    pub bidding: Duration,
    /// Commit window, seconds.
    pub commit_window: u32,
    /// Reveal window, seconds.
    pub reveal_window: u32,
    /// Feeds: anyone may start a round this many seconds after the last one (0: oracles only).
    pub heartbeat: u32,
    /// Feeds: deviation threshold, basis points.
    pub deviation_bps: u32,
    /// Aggregation rule.
    pub aggregator: AggregatorChoice,
    /// Decimals the feed reports (the scale of `times`).
    pub decimals: u8,
}

impl SlaOrder {
    /// A one-shot SLA for `oracles` oracles with short windows that suit an automining anvil:
    /// bidding 6 s, commit 8 s, reveal 8 s; trimmed mean (k = 1); 4 valid reveals needed
    /// (fewer when n < 4); 5 LINK deposit, 0.1 LINK payment; answers are price × 10^18.
    pub fn one_shot(oracles: u8) -> Self {
        Self {
            pair: "ETH-USD".into(),
            times: 1_000_000_000_000_000_000,
            oracles,
            min_responses: oracles.clamp(1, 4),
            penalty_deposit: ONE_LINK * U256::from(5u64),
            payment_per_oracle: ONE_LINK / U256::from(10u64),
            rounds: 1,
            bidding: Duration::from_secs(6),
            commit_window: 8,
            reveal_window: 8,
            heartbeat: 0,
            deviation_bps: 0,
            aggregator: AggregatorChoice::TrimmedMean,
            decimals: 18,
        }
    }

    /// The SLA's `params`: diet CBOR `{pair, times}`, as the nodes' `cborparse` reads them.
    pub fn params(&self) -> Vec<u8> {
        let mut entries = BTreeMap::new();
        entries.insert(
            "pair".to_string(),
            orakel_pipeline::Value::String(self.pair.clone()),
        );
        entries.insert(
            "times".to_string(),
            orakel_pipeline::Value::Decimal(self.times.into()),
        );
        orakel_pipeline::encode_diet_cbor(&entries)
    }
}

/// A feed whose SLA was opened.
#[derive(Debug, Clone)]
pub struct OpenedFeed {
    /// The `SlaFeed` (purchaser and callback).
    pub feed: Address,
    /// The SLA.
    pub sla: OpenedSla,
    /// Its terms.
    pub terms: SlaTerms,
}

fn chain_err(e: impl std::fmt::Display) -> Error {
    Error::Chain(e.to_string())
}

fn to_u96(v: U256, what: &str) -> Result<alloy::primitives::aliases::U96> {
    u128::try_from(v)
        .ok()
        .and_then(|x| alloy::primitives::aliases::U96::try_from(x).ok())
        .ok_or_else(|| Error::Setup(format!("{what} {v} does not fit in uint96")))
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Devnet {
    /// The SLA part of the devnet, or an error when it was started without
    /// [`crate::DevnetConfig::sla`].
    pub fn sla_network(&self) -> Result<&SlaNetwork> {
        self.sla
            .as_ref()
            .ok_or_else(|| Error::Setup("the devnet was started without SLA nodes".into()))
    }

    /// The chain's time as the next block will roughly have it: the later of the latest
    /// block's timestamp and the clock (an idle automining anvil mines no blocks).
    pub async fn chain_now(&self) -> Result<u64> {
        let block = self
            .provider
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await
            .map_err(chain_err)?
            .ok_or_else(|| Error::Chain("no latest block".into()))?;
        Ok(block.header.timestamp.max(unix_now()))
    }

    /// The terms `order` asks for (bidding ends `order.bidding` after the chain time now).
    pub async fn sla_terms(&self, order: &SlaOrder) -> Result<SlaTerms> {
        let net = self.sla_network()?;
        let aggregator = match order.aggregator {
            AggregatorChoice::TrimmedMean => net.stack.trimmed_mean,
            AggregatorChoice::Median => net.stack.median,
            AggregatorChoice::Mode => net.stack.mode,
            AggregatorChoice::TwoDev => net.stack.two_dev,
        };
        let now = self.chain_now().await?;
        Ok(SlaTerms {
            specId: net.spec_id,
            jobType: net.job_type,
            params: order.params().into(),
            oracles: order.oracles,
            minResponses: order.min_responses,
            minReputation: 0,
            penaltyDeposit: to_u96(order.penalty_deposit, "penalty deposit")?,
            paymentPerOracle: to_u96(order.payment_per_oracle, "payment per oracle")?,
            rounds: order.rounds,
            biddingEnds: now + order.bidding.as_secs().max(1),
            commitWindow: order.commit_window,
            revealWindow: order.reveal_window,
            heartbeat: order.heartbeat,
            deviationBps: order.deviation_bps,
            aggregator,
            reputation: net.stack.reputation,
            callback: Address::ZERO,
            callbackSelector: Default::default(),
        })
    }

    /// Deploys an `SlaFeed` owned by the deployer, funds it with the SLA's payment and opens
    /// the SLA `order` describes.
    pub async fn open_sla_feed(&self, order: &SlaOrder, description: &str) -> Result<OpenedFeed> {
        let net = self.sla_network()?;
        let feed = deploy::deploy_sla_feed(
            &self.provider,
            self.deployer,
            self.link,
            net.stack.market,
            order.decimals,
            description,
        )
        .await?;
        let terms = self.sla_terms(order).await?;
        let sla =
            deploy::fund_and_open_sla_feed(&self.provider, self.deployer, self.link, feed, &terms)
                .await?;
        Ok(OpenedFeed { feed, sla, terms })
    }

    /// Every log of the SLA market from block `from` on.
    pub async fn market_logs(&self, from: u64) -> Result<Vec<Log>> {
        let net = self.sla_network()?;
        let filter = Filter::new().address(net.stack.market).from_block(from);
        self.provider.get_logs(&filter).await.map_err(chain_err)
    }

    /// Polls the market's logs from block `from` until `found` returns something, or fails
    /// after `timeout` naming `what`.
    pub async fn wait_for_market<T>(
        &self,
        from: u64,
        timeout: Duration,
        what: &str,
        mut found: impl FnMut(&[Log]) -> Option<T>,
    ) -> Result<T> {
        let deadline = Instant::now() + timeout;
        loop {
            let logs = self.market_logs(from).await?;
            if let Some(t) = found(&logs) {
                return Ok(t);
            }
            if Instant::now() >= deadline {
                return Err(Error::Chain(format!("{what}: not seen within {timeout:?}")));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The reputation score (basis points) of `oracle` for the SLA job type.
    pub async fn reputation_score(&self, oracle: Address) -> Result<U256> {
        let net = self.sla_network()?;
        Reputation::new(net.stack.reputation, &self.provider)
            .score_1(oracle, net.job_type)
            .call()
            .await
            .map_err(chain_err)
    }
}

/// First event of type `E` in `logs` that `pick` accepts.
pub fn find_event<E: SolEvent>(logs: &[Log], mut pick: impl FnMut(&E) -> bool) -> Option<E> {
    logs.iter().find_map(|l| {
        if l.topic0() != Some(&E::SIGNATURE_HASH) {
            return None;
        }
        E::decode_log_data(l.data()).ok().filter(|e| pick(e))
    })
}

/// Every event of type `E` in `logs` that `pick` accepts.
pub fn events<E: SolEvent>(logs: &[Log], mut pick: impl FnMut(&E) -> bool) -> Vec<E> {
    logs.iter()
        .filter(|l| l.topic0() == Some(&E::SIGNATURE_HASH))
        .filter_map(|l| E::decode_log_data(l.data()).ok())
        .filter(|e| pick(e))
        .collect()
}

/// One selected oracle's part in the scenario's round.
#[derive(Debug, Clone)]
pub struct OracleOutcome {
    /// Its index in the SLA.
    pub index: usize,
    /// The devnet node.
    pub node: usize,
    /// Its address.
    pub address: Address,
    /// Its role.
    pub role: SlaRole,
    /// Whether it committed.
    pub committed: bool,
    /// Its valid reveal.
    pub revealed: Option<I256>,
    /// Whether the aggregator accepted it.
    pub accepted: bool,
    /// Deposit forfeited.
    pub slashed: Option<U256>,
    /// Payment earned.
    pub paid: Option<U256>,
    /// LINK credited in the market after the SLA (payment and returned deposit).
    pub withdrawable: U256,
    /// Reputation score before the SLA, basis points.
    pub score_before: U256,
    /// … and after.
    pub score_after: U256,
    /// `recordOf(oracle, jobType)` after: assigned, completed, accepted, penalties.
    pub record: (u32, u32, u32, U256),
}

/// What the scenario's round produced.
#[derive(Debug, Clone)]
pub struct ScenarioReport {
    /// The feed and its SLA.
    pub opened: OpenedFeed,
    /// The round.
    pub round_id: U256,
    /// `RoundAnswered.answer`, when answered.
    pub answer: Option<I256>,
    /// `RoundAnswered.acceptedMask` (bit i: oracle index i).
    pub accepted_mask: U256,
    /// `RoundFailed.reason`, when it failed.
    pub failure: Option<u8>,
    /// `latestRoundData().answer` of the feed, when it has one.
    pub feed_answer: Option<I256>,
    /// Every selected oracle, in index order.
    pub oracles: Vec<OracleOutcome>,
    /// Lowest and highest revealed answer of the honest oracles.
    pub honest_range: Option<(I256, I256)>,
    /// LINK the purchaser (the feed) got back: forfeited deposits and unspent payment.
    pub purchaser_credit: U256,
    /// From opening the SLA to the round's end.
    pub elapsed: Duration,
    /// The aggregation rule the SLA named.
    pub aggregator: AggregatorChoice,
}

impl ScenarioReport {
    /// Whether the market did what it should: an answer within the honest range (also in the
    /// feed), no liar accepted, the silent and the freeloader slashed and unpaid, every
    /// honest oracle accepted and paid.
    pub fn checks(&self) -> Vec<(String, bool)> {
        let in_range = match (self.answer, self.honest_range) {
            (Some(a), Some((lo, hi))) => lo <= a && a <= hi,
            _ => false,
        };
        let mut out = vec![
            ("the round was answered".to_string(), self.answer.is_some()),
            (
                "the answer lies within the honest oracles' answers".to_string(),
                in_range,
            ),
            (
                "the feed reports the answer".to_string(),
                self.feed_answer.is_some() && self.feed_answer == self.answer,
            ),
        ];
        for o in &self.oracles {
            let ok = match o.role {
                SlaRole::Honest => o.accepted && o.paid.is_some() && o.slashed.is_none(),
                SlaRole::FarLiar | SlaRole::SlightLiar => {
                    o.revealed.is_some() && !o.accepted && o.paid.is_none() && o.slashed.is_none()
                }
                SlaRole::Silent | SlaRole::Freeloader => {
                    o.slashed.is_some() && o.paid.is_none() && o.withdrawable.is_zero()
                }
            };
            let expect = match o.role {
                SlaRole::Honest => "accepted and paid",
                SlaRole::FarLiar | SlaRole::SlightLiar => "revealed, rejected, not slashed",
                SlaRole::Silent | SlaRole::Freeloader => "slashed, nothing to withdraw",
            };
            out.push((
                format!("oracle {} ({}): {expect}", o.index, o.role.name()),
                ok,
            ));
        }
        out
    }

    /// Whether every check passed.
    pub fn success(&self) -> bool {
        self.checks().iter().all(|(_, ok)| *ok)
    }
}

/// Formats juels as LINK.
pub fn link_amount(juels: U256) -> String {
    let whole = juels / ONE_LINK;
    let frac = juels % ONE_LINK;
    if frac.is_zero() {
        return format!("{whole} LINK");
    }
    let digits = format!("{:0>18}", frac.to_string());
    format!("{whole}.{} LINK", digits.trim_end_matches('0'))
}

/// Formats an answer scaled by 10^`decimals` as a decimal number.
pub fn unscale(v: I256, decimals: u8) -> String {
    let neg = v.is_negative();
    let abs = v.unsigned_abs();
    let scale = U256::from(10u64).pow(U256::from(decimals));
    let whole = abs / scale;
    let frac = abs % scale;
    let sign = if neg { "-" } else { "" };
    if frac.is_zero() || decimals == 0 {
        return format!("{sign}{whole}");
    }
    let digits = format!(
        "{:0>width$}",
        frac.to_string(),
        width = usize::from(decimals)
    );
    format!("{sign}{whole}.{}", digits.trim_end_matches('0'))
}

/// The readable summary `orakel devnet --sla` prints.
pub fn summary_lines(report: &ScenarioReport) -> Vec<String> {
    let decimals = 18;
    let t = &report.opened.terms;
    let mut out = vec![
        format!(
            "SLA {} on feed {:#x}: n = {}, minResponses = {}, deposit {}, payment {} per oracle, {}",
            report.opened.sla.sla_id,
            report.opened.feed,
            t.oracles,
            t.minResponses,
            link_amount(U256::from(t.penaltyDeposit)),
            link_amount(U256::from(t.paymentPerOracle)),
            report.aggregator.name(),
        ),
        format!(
            "round {} (score = reputation in basis points, before → after):",
            report.round_id
        ),
        format!(
            "  {:<5} {:<7} {:<42} {:<20} {:>26}  {:<9} {:>12} {:>12}  {}",
            "index", "node", "oracle", "role", "revealed", "accepted", "paid", "slashed", "score"
        ),
    ];
    for o in &report.oracles {
        let revealed = o.revealed.map(|a| unscale(a, decimals)).unwrap_or_else(|| {
            if o.committed {
                "(no valid reveal)".into()
            } else {
                "(no commit)".into()
            }
        });
        out.push(format!(
            "  {:<5} node-{:<2} {:#x} {:<20} {:>26}  {:<9} {:>12} {:>12}  {} → {}",
            o.index,
            o.node,
            o.address,
            o.role.name(),
            revealed,
            if o.accepted { "yes" } else { "no" },
            o.paid.map(link_amount).unwrap_or_else(|| "-".into()),
            o.slashed.map(link_amount).unwrap_or_else(|| "-".into()),
            o.score_before,
            o.score_after,
        ));
    }
    match (report.answer, report.honest_range) {
        (Some(a), Some((lo, hi))) => out.push(format!(
            "delivered answer {} (honest range {} … {}); feed latestRoundData: {}",
            unscale(a, decimals),
            unscale(lo, decimals),
            unscale(hi, decimals),
            report
                .feed_answer
                .map(|f| unscale(f, decimals))
                .unwrap_or_else(|| "(none)".into()),
        )),
        (Some(a), None) => out.push(format!(
            "delivered answer {} (no honest reveal)",
            unscale(a, decimals)
        )),
        (None, _) => out.push(format!(
            "no answer (RoundFailed reason {:?})",
            report.failure
        )),
    }
    let slashed: U256 = report.oracles.iter().filter_map(|o| o.slashed).sum();
    let paid: U256 = report.oracles.iter().filter_map(|o| o.paid).sum();
    out.push(format!(
        "slashed deposits {} (to the purchaser), payments {}; purchaser credited {}; round took {:.1} s from opening",
        link_amount(slashed),
        link_amount(paid),
        link_amount(report.purchaser_credit),
        report.elapsed.as_secs_f64()
    ));
    out.push("checks:".into());
    for (what, ok) in report.checks() {
        out.push(format!("  [{}] {what}", if ok { "ok" } else { "FAILED" }));
    }
    out
}

/// Runs one SLA on the devnet: opens `order` through a new feed, waits until the nodes bid,
/// finalize and the first round ends (answered or failed) and, for one-shot SLAs, the SLA
/// ended, then reads what happened to every selected oracle. `say` gets progress lines.
pub async fn run_scenario(
    devnet: &Devnet,
    order: &SlaOrder,
    mut say: impl FnMut(&str),
) -> Result<ScenarioReport> {
    let net = devnet.sla_network()?.clone();
    let roles: HashMap<Address, (usize, SlaRole)> = devnet
        .nodes
        .iter()
        .map(|n| {
            (
                n.oracle_address(),
                (n.index, n.sla_role.unwrap_or(SlaRole::Honest)),
            )
        })
        .collect();
    let mut before = HashMap::new();
    for node in &devnet.nodes {
        before.insert(
            node.oracle_address(),
            devnet.reputation_score(node.oracle_address()).await?,
        );
    }
    let from = devnet.block_number().await?;
    let started = Instant::now();
    let opened = devnet.open_sla_feed(order, "ETH / USD (SLA)").await?;
    let sla_id = opened.sla.sla_id;
    say(&format!(
        "SLA {sla_id} proposed by feed {:#x}: bidding for {} s, commit {} s, reveal {} s",
        opened.feed,
        order.bidding.as_secs(),
        order.commit_window,
        order.reveal_window
    ));

    let slack = Duration::from_secs(60);
    let selected = devnet
        .wait_for_market(from, order.bidding + slack, "SlaFinalized", |logs| {
            if let Some(c) = find_event::<Market::SlaCancelled>(logs, |e| e.slaId == sla_id) {
                return Some(Err(Error::Chain(format!(
                    "SLA {sla_id} cancelled: only {} qualified bids",
                    c.qualifiedBids
                ))));
            }
            find_event::<Market::SlaFinalized>(logs, |e| e.slaId == sla_id).map(|e| Ok(e.oracles))
        })
        .await??;
    let logs = devnet.market_logs(from).await?;
    let round_id = find_event::<Market::RoundStarted>(&logs, |e| e.slaId == sla_id)
        .map(|e| e.roundId)
        .ok_or_else(|| Error::Chain("no RoundStarted after SlaFinalized".into()))?;
    say(&format!(
        "selected {} oracles; round {round_id} started",
        selected.len()
    ));

    let round_time = Duration::from_secs(u64::from(order.commit_window + order.reveal_window));
    let ended = devnet
        .wait_for_market(from, round_time + slack, "the round's end", |logs| {
            let answered = find_event::<Market::RoundAnswered>(logs, |e| e.roundId == round_id);
            let failed = find_event::<Market::RoundFailed>(logs, |e| e.roundId == round_id);
            let sla_over = order.rounds > 1
                || find_event::<Market::SlaEnded>(logs, |e| e.slaId == sla_id).is_some();
            (sla_over && (answered.is_some() || failed.is_some())).then_some((answered, failed))
        })
        .await?;
    let elapsed = started.elapsed();
    let (answered, failed) = ended;
    say(&match &answered {
        Some(a) => format!("round {round_id} answered: {}", a.answer),
        None => format!("round {round_id} failed"),
    });

    let logs = devnet.market_logs(from).await?;
    let market = orakel_contracts::SlaMarket::new(net.stack.market, &devnet.provider);
    let reputation = Reputation::new(net.stack.reputation, &devnet.provider);
    let accepted_mask = answered
        .as_ref()
        .map(|a| a.acceptedMask)
        .unwrap_or_default();
    let mut oracles = Vec::new();
    for (index, address) in selected.iter().copied().enumerate() {
        let (node, role) = roles
            .get(&address)
            .copied()
            .unwrap_or((usize::MAX, SlaRole::Honest));
        let committed = find_event::<Market::Committed>(&logs, |e| {
            e.roundId == round_id && e.oracle == address
        })
        .is_some();
        let revealed =
            find_event::<Market::Revealed>(&logs, |e| e.roundId == round_id && e.oracle == address)
                .map(|e| e.answer);
        let slashed = find_event::<Market::OracleSlashed>(&logs, |e| {
            e.roundId == round_id && e.oracle == address
        })
        .map(|e| e.amount);
        let paid = find_event::<Market::OraclePaid>(&logs, |e| {
            e.roundId == round_id && e.oracle == address
        })
        .map(|e| e.amount);
        let withdrawable = market
            .withdrawable(address)
            .call()
            .await
            .map_err(chain_err)?;
        let record = reputation
            .recordOf(address, net.job_type)
            .call()
            .await
            .map_err(chain_err)?;
        oracles.push(OracleOutcome {
            index,
            node,
            address,
            role,
            committed,
            revealed,
            accepted: index < 256 && accepted_mask.bit(index),
            slashed,
            paid,
            withdrawable,
            score_before: before.get(&address).copied().unwrap_or_default(),
            score_after: devnet.reputation_score(address).await?,
            record: (
                record.assigned,
                record.completed,
                record.accepted,
                U256::from(record.penalties),
            ),
        });
    }
    let honest: Vec<I256> = oracles
        .iter()
        .filter(|o| o.role == SlaRole::Honest)
        .filter_map(|o| o.revealed)
        .collect();
    let honest_range = honest
        .iter()
        .min()
        .copied()
        .zip(honest.iter().max().copied());
    let feed_answer = SlaFeed::new(opened.feed, &devnet.provider)
        .latestRoundData()
        .call()
        .await
        .ok()
        .map(|r| r.answer);
    let purchaser_credit = market
        .withdrawable(opened.feed)
        .call()
        .await
        .map_err(chain_err)?;
    Ok(ScenarioReport {
        opened,
        round_id,
        answer: answered.as_ref().map(|a| a.answer),
        accepted_mask,
        failure: failed.map(|f| f.reason),
        feed_answer,
        oracles,
        honest_range,
        purchaser_credit,
        elapsed,
        aggregator: order.aggregator,
    })
}

/// Figures of [`run_latency_bench`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct LatencyReport {
    /// Median wall-clock latency from sending `startRound` to seeing `RoundAnswered`, ms.
    #[serde(rename = "commit_reveal.latency_n7_ms")]
    pub p50_ms: f64,
    /// 95th percentile, ms.
    #[serde(rename = "commit_reveal.latency_n7_p95_ms")]
    pub p95_ms: f64,
    /// Slowest round, ms.
    #[serde(rename = "commit_reveal.latency_n7_max_ms")]
    pub max_ms: f64,
    /// Rounds measured.
    #[serde(rename = "commit_reveal.rounds")]
    pub rounds: usize,
    /// Oracles per round.
    #[serde(rename = "commit_reveal.oracles")]
    pub oracles: usize,
    /// Every round's latency, ms, in order.
    #[serde(rename = "commit_reveal.samples_ms")]
    pub samples_ms: Vec<f64>,
}

/// The `q` quantile (nearest rank) of sorted `xs`.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted
        .get(rank.saturating_sub(1).min(sorted.len() - 1))
        .copied()
        .unwrap_or_default()
}

/// Measures commit–reveal latency: opens a feed SLA with `rounds + 1` rounds served by every
/// node of the devnet (all should be honest), waits for round 1 (started by `finalize`) to
/// end, then `rounds` times starts the next round itself (anyone may, the heartbeat being
/// 1 s) and records the wall-clock time from sending `startRound` until the market's
/// `RoundAnswered` for that round is seen. Rounds run one after another.
pub async fn run_latency_bench(
    devnet: &Devnet,
    rounds: usize,
    mut say: impl FnMut(&str),
) -> Result<LatencyReport> {
    let n = devnet.nodes.len();
    let mut order = SlaOrder::one_shot(u8::try_from(n).unwrap_or(u8::MAX));
    order.rounds = u32::try_from(rounds + 1).unwrap_or(u32::MAX);
    order.heartbeat = 1;
    order.bidding = Duration::from_secs(5);
    order.commit_window = 30;
    order.reveal_window = 30;
    let from = devnet.block_number().await?;
    let opened = devnet.open_sla_feed(&order, "ETH / USD (latency)").await?;
    let sla_id = opened.sla.sla_id;
    say(&format!(
        "SLA {sla_id}: {n} oracles, {} rounds; waiting for bidding and round 1",
        order.rounds
    ));
    let first = devnet
        .wait_for_market(from, Duration::from_secs(90), "round 1", |logs| {
            let started = find_event::<Market::RoundStarted>(logs, |e| e.slaId == sla_id)?;
            let done = find_event::<Market::RoundAnswered>(logs, |e| e.roundId == started.roundId)
                .is_some()
                || find_event::<Market::RoundFailed>(logs, |e| e.roundId == started.roundId)
                    .is_some();
            done.then_some(started.roundId)
        })
        .await?;
    say(&format!("round {first} done; measuring {rounds} rounds"));
    let market =
        orakel_contracts::SlaMarket::new(devnet.sla_network()?.stack.market, &devnet.provider);
    let mut samples = Vec::with_capacity(rounds);
    for i in 0..rounds {
        // The previous round started at most a second ago: wait out the heartbeat.
        let retry_until = Instant::now() + Duration::from_secs(10);
        let mut last_error = String::new();
        let (t0, receipt) = loop {
            // Simulated against the pending block: an idle anvil's latest block is as old as
            // the last transaction, so the heartbeat has not passed there.
            let call = market.startRound(sla_id).from(devnet.deployer);
            let simulated = call.call().block(alloy::eips::BlockId::pending()).await;
            if let Err(e) = &simulated {
                last_error = e.to_string();
            }
            if simulated.is_ok() {
                let t0 = Instant::now();
                let receipt = call
                    .send()
                    .await
                    .map_err(chain_err)?
                    .get_receipt()
                    .await
                    .map_err(chain_err)?;
                if receipt.status() {
                    break (t0, receipt);
                }
            }
            if Instant::now() >= retry_until {
                return Err(Error::Chain(format!(
                    "startRound of SLA {sla_id} kept failing (round {}): {last_error}",
                    i + 2
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let block = receipt.block_number.unwrap_or(from);
        let round_id = receipt
            .inner
            .logs()
            .iter()
            .find_map(|l| l.log_decode::<Market::RoundStarted>().ok())
            .map(|l| l.inner.data.roundId)
            .ok_or_else(|| Error::Chain("startRound emitted no RoundStarted".into()))?;
        let filter = Filter::new()
            .address(devnet.sla_network()?.stack.market)
            .from_block(block);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let logs = devnet.provider.get_logs(&filter).await.map_err(chain_err)?;
            if find_event::<Market::RoundAnswered>(&logs, |e| e.roundId == round_id).is_some() {
                break;
            }
            if find_event::<Market::RoundFailed>(&logs, |e| e.roundId == round_id).is_some() {
                return Err(Error::Chain(format!("round {round_id} failed")));
            }
            if Instant::now() >= deadline {
                return Err(Error::Chain(format!(
                    "round {round_id} not answered within 60 s"
                )));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let ms = t0.elapsed().as_secs_f64() * 1000.0;
        say(&format!("round {round_id}: {ms:.0} ms"));
        samples.push(ms);
    }
    let mut sorted = samples.clone();
    sorted.sort_by(f64::total_cmp);
    Ok(LatencyReport {
        p50_ms: quantile(&sorted, 0.5),
        p95_ms: quantile(&sorted, 0.95),
        max_ms: sorted.last().copied().unwrap_or_default(),
        rounds: samples.len(),
        oracles: n,
        samples_ms: samples,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn pool_scenario_backs_one_honest_and_both_slashed_roles() {
        let cfg = SlaDevnetConfig::pool_scenario();
        let pooled: Vec<SlaRole> = cfg
            .nodes
            .iter()
            .filter(|n| n.pool)
            .map(|n| n.role)
            .collect();
        assert_eq!(
            pooled,
            vec![SlaRole::Honest, SlaRole::Silent, SlaRole::Freeloader]
        );
        assert_eq!(cfg.nodes.len(), SCENARIO_ROLES.len());
    }

    #[test]
    fn scenario_roles() {
        let honest = SCENARIO_ROLES
            .iter()
            .filter(|r| **r == SlaRole::Honest)
            .count();
        assert_eq!((SCENARIO_ROLES.len(), honest), (7, 3));
        assert_eq!(
            SCENARIO_ROLES.iter().filter(|r| r.slashed()).count(),
            2,
            "silent and freeloader"
        );
    }

    #[test]
    fn params_are_diet_cbor() {
        let order = SlaOrder::one_shot(7);
        let decoded = orakel_pipeline::decode_diet_cbor(&order.params()).unwrap();
        let orakel_pipeline::Value::Map(m) = decoded else {
            panic!("a map");
        };
        assert_eq!(
            m.get("pair"),
            Some(&orakel_pipeline::Value::String("ETH-USD".into()))
        );
        assert_eq!(
            m.get("times"),
            Some(&orakel_pipeline::Value::Decimal(
                1_000_000_000_000_000_000u64.into()
            ))
        );
    }

    #[test]
    fn quantiles_are_nearest_rank() {
        let xs: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(quantile(&xs, 0.5), 10.0);
        assert_eq!(quantile(&xs, 0.95), 19.0);
        assert_eq!(quantile(&[], 0.5), 0.0);
        assert_eq!(quantile(&[7.0], 0.95), 7.0);
    }

    #[test]
    fn amounts_format() {
        assert_eq!(link_amount(ONE_LINK * U256::from(5u64)), "5 LINK");
        assert_eq!(link_amount(ONE_LINK / U256::from(10u64)), "0.1 LINK");
        let v = I256::try_from(3_000_123_400_000_000_000_000i128).unwrap();
        assert_eq!(unscale(v, 18), "3000.1234");
        assert_eq!(unscale(-v, 18), "-3000.1234");
    }
}
