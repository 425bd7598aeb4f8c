//! SLAs this node saw proposed for one of its `sla` jobs, and the commit–reveal rounds it takes
//! part in. The node's SLA service records what the market's logs say (every write here is
//! idempotent, so a log read twice after a restart changes nothing) and acts on what is
//! stored: bids, commits, reveals.

use serde::Serialize;
use sqlx::Row;

use crate::{Error, Result, Store, json_column, now_micros};

/// Where this node stands with an SLA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaState {
    /// Seen; no decision yet.
    Proposed,
    /// Bid transaction created.
    Bid,
    /// Not bid on (policy or terms; see `reason`).
    Skipped,
    /// The bid transaction reverted or was given up.
    BidFailed,
    /// Selected: the node serves the SLA's rounds.
    Active,
    /// Finalized without this node.
    NotSelected,
    /// Cancelled (too few bids); deposits refunded.
    Cancelled,
    /// Ended (rounds used up or ended by the purchaser).
    Ended,
    /// This node forfeited its deposit and left the active set.
    Slashed,
}

/// What became of this node's penalty deposit for an SLA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DepositOutcome {
    /// Credited back by the market (not selected, cancelled, evicted, or the SLA ended).
    Returned,
    /// Forfeited to the purchaser (selected, no valid reveal).
    Forfeited,
}

impl DepositOutcome {
    /// Column value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Returned => "returned",
            Self::Forfeited => "forfeited",
        }
    }

    fn parse(s: &str, id: i64) -> Result<Self> {
        match s {
            "returned" => Ok(Self::Returned),
            "forfeited" => Ok(Self::Forfeited),
            other => Err(Error::Corrupt {
                what: "slas.deposit_outcome",
                id,
                detail: other.to_string(),
            }),
        }
    }
}

impl SlaState {
    /// Column value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Proposed => "proposed",
            Self::Bid => "bid",
            Self::Skipped => "skipped",
            Self::BidFailed => "bid_failed",
            Self::Active => "active",
            Self::NotSelected => "not_selected",
            Self::Cancelled => "cancelled",
            Self::Ended => "ended",
            Self::Slashed => "slashed",
        }
    }

    fn parse(s: &str, id: i64) -> Result<Self> {
        Ok(match s {
            "proposed" => Self::Proposed,
            "bid" => Self::Bid,
            "skipped" => Self::Skipped,
            "bid_failed" => Self::BidFailed,
            "active" => Self::Active,
            "not_selected" => Self::NotSelected,
            "cancelled" => Self::Cancelled,
            "ended" => Self::Ended,
            "slashed" => Self::Slashed,
            other => {
                return Err(Error::Corrupt {
                    what: "slas.state",
                    id,
                    detail: other.to_string(),
                });
            }
        })
    }
}

/// This node's part in a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaRoundState {
    /// The round started; no answer yet.
    Started,
    /// Answer, salt and commitment stored; the commit transaction may or may not exist yet.
    Committing,
    /// Commit transaction created.
    Committed,
    /// Reveal transaction created.
    Revealed,
    /// A deadline passed before this node could act.
    Missed,
    /// Giving up on the round (see `reason`), e.g. a reverted commit.
    Errored,
}

impl SlaRoundState {
    /// Column value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Started => "started",
            Self::Committing => "committing",
            Self::Committed => "committed",
            Self::Revealed => "revealed",
            Self::Missed => "missed",
            Self::Errored => "errored",
        }
    }

    fn parse(s: &str, id: i64) -> Result<Self> {
        Ok(match s {
            "started" => Self::Started,
            "committing" => Self::Committing,
            "committed" => Self::Committed,
            "revealed" => Self::Revealed,
            "missed" => Self::Missed,
            "errored" => Self::Errored,
            other => {
                return Err(Error::Corrupt {
                    what: "sla_rounds.state",
                    id,
                    detail: other.to_string(),
                });
            }
        })
    }
}

/// The round's own result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RoundStatus {
    /// Commits or reveals still accepted.
    Open,
    /// Aggregated.
    Answered,
    /// Ended without an answer.
    Failed,
}

impl RoundStatus {
    /// Column value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Answered => "answered",
            Self::Failed => "failed",
        }
    }

    fn parse(s: &str, id: i64) -> Result<Self> {
        Ok(match s {
            "open" => Self::Open,
            "answered" => Self::Answered,
            "failed" => Self::Failed,
            other => {
                return Err(Error::Corrupt {
                    what: "sla_rounds.round_status",
                    id,
                    detail: other.to_string(),
                });
            }
        })
    }
}

/// An SLA proposal to store (from `SlaProposed`).
#[derive(Debug, Clone)]
pub struct NewSla {
    /// Market contract (hex).
    pub market: String,
    /// SLA id (decimal).
    pub sla_id: String,
    /// The local sla job whose externalJobID is the specId.
    pub job_id: i64,
    /// Purchaser (hex).
    pub purchaser: String,
    /// specId (bytes32 hex).
    pub spec_id: String,
    /// jobType (bytes32 hex).
    pub job_type: String,
    /// CBOR parameters.
    pub params: Vec<u8>,
    /// Oracles to select.
    pub oracles: u32,
    /// Rounds paid for.
    pub rounds: u64,
    /// Penalty deposit (decimal juels).
    pub penalty_deposit: String,
    /// Payment per oracle and round (decimal juels).
    pub payment_per_oracle: String,
    /// Bidding closes (unix seconds).
    pub bidding_ends: u64,
    /// Commit window (seconds).
    pub commit_window: u64,
    /// Reveal window (seconds).
    pub reveal_window: u64,
    /// Heartbeat (seconds).
    pub heartbeat: u64,
    /// Deviation threshold (basis points).
    pub deviation_bps: u64,
    /// Every field of the terms (JSON), for the API.
    pub terms: serde_json::Value,
    /// Block of the log.
    pub block_number: u64,
}

/// A stored SLA.
#[derive(Debug, Clone, Serialize)]
pub struct SlaRow {
    /// Database id.
    pub id: i64,
    /// Market contract.
    pub market: String,
    /// SLA id (decimal).
    pub sla_id: String,
    /// Local job.
    pub job_id: i64,
    /// Purchaser.
    pub purchaser: String,
    /// specId.
    pub spec_id: String,
    /// jobType.
    pub job_type: String,
    /// CBOR parameters.
    #[serde(skip)]
    pub params: Vec<u8>,
    /// Oracles to select.
    pub oracles: u32,
    /// Rounds paid for.
    pub rounds: u64,
    /// Penalty deposit (juels).
    pub penalty_deposit: String,
    /// Payment per oracle and round (juels).
    pub payment_per_oracle: String,
    /// Bidding closes (unix seconds).
    pub bidding_ends: u64,
    /// Commit window (seconds).
    pub commit_window: u64,
    /// Reveal window (seconds).
    pub reveal_window: u64,
    /// Heartbeat (seconds).
    pub heartbeat: u64,
    /// Deviation threshold (basis points).
    pub deviation_bps: u64,
    /// The terms as JSON.
    pub terms: serde_json::Value,
    /// Block of the proposal.
    pub block_number: u64,
    /// State.
    pub state: SlaState,
    /// Why (skipped, failed).
    pub reason: Option<String>,
    /// Our oracle index once selected.
    pub oracle_index: Option<u32>,
    /// Our bid's score.
    pub bid_score: Option<String>,
    /// Latest round started (decimal).
    pub last_round_id: Option<String>,
    /// When it started (unix seconds).
    pub last_round_started: Option<u64>,
    /// Latest aggregate (decimal).
    pub last_answer: Option<String>,
    /// What became of our penalty deposit, once the market said.
    pub deposit_outcome: Option<DepositOutcome>,
    /// Pool nodes: the idempotency key of the `settleBid` transaction in flight.
    pub pool_settle_key: Option<String>,
    /// Pool nodes: the deposit was settled with the pool.
    pub pool_settled: bool,
    /// Unix micros.
    pub created_at: i64,
    /// Unix micros.
    pub updated_at: i64,
}

/// A round to store (from `RoundStarted` of an SLA this node serves).
#[derive(Debug, Clone)]
pub struct NewSlaRound {
    /// The SLA's row.
    pub sla_row: i64,
    /// Market contract.
    pub market: String,
    /// Round id (decimal).
    pub round_id: String,
    /// Our oracle index.
    pub oracle_index: u32,
    /// Commit deadline (unix seconds).
    pub commit_deadline: u64,
    /// Reveal deadline (unix seconds).
    pub reveal_deadline: u64,
}

/// A stored round.
#[derive(Debug, Clone, Serialize)]
pub struct SlaRoundRow {
    /// Database id.
    pub id: i64,
    /// The SLA's row.
    pub sla_row: i64,
    /// Market contract.
    pub market: String,
    /// Round id (decimal).
    pub round_id: String,
    /// Our oracle index.
    pub oracle_index: u32,
    /// Commit deadline (unix seconds).
    pub commit_deadline: u64,
    /// Reveal deadline (unix seconds).
    pub reveal_deadline: u64,
    /// `RevealOpened` seen.
    pub reveal_open: bool,
    /// The run that computed the answer.
    pub run_id: Option<i64>,
    /// Our answer (decimal int256).
    pub answer: Option<String>,
    /// Our salt (hex).
    #[serde(skip)]
    pub salt: Option<String>,
    /// Our commitment (hex).
    pub commitment: Option<String>,
    /// Fault injection: whose commitment was copied.
    pub copied_from: Option<String>,
    /// Our part.
    pub state: SlaRoundState,
    /// Why (missed, errored).
    pub reason: Option<String>,
    /// The round's result.
    pub round_status: RoundStatus,
    /// The aggregate, when answered.
    pub aggregate: Option<String>,
    /// Whether the aggregator accepted our answer.
    pub accepted: Option<bool>,
    /// Why the round failed.
    pub failure: Option<String>,
    /// Juels credited to us.
    pub paid: Option<String>,
    /// Juels of our deposit forfeited.
    pub slashed: Option<String>,
    /// Unix micros.
    pub created_at: i64,
    /// Unix micros.
    pub updated_at: i64,
}

const SLA_COLUMNS: &str = "id, market, sla_id, job_id, purchaser, spec_id, job_type, params, oracles, rounds, \
     penalty_deposit, payment_per_oracle, bidding_ends, commit_window, reveal_window, heartbeat, deviation_bps, \
     terms, block_number, state, reason, oracle_index, bid_score, last_round_id, last_round_started, last_answer, \
     deposit_outcome, pool_settle_key, pool_settled, created_at, updated_at";

const ROUND_COLUMNS: &str = "id, sla_row, market, round_id, oracle_index, commit_deadline, reveal_deadline, \
     reveal_open, run_id, answer, salt, commitment, copied_from, state, reason, round_status, aggregate, accepted, \
     failure, paid, slashed, created_at, updated_at";

fn u64_of(row: &sqlx::sqlite::SqliteRow, col: &str) -> Result<u64> {
    Ok(u64::try_from(row.try_get::<i64, _>(col)?).unwrap_or(0))
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn sla_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<SlaRow> {
    let id: i64 = row.try_get("id")?;
    let state: String = row.try_get("state")?;
    Ok(SlaRow {
        id,
        market: row.try_get("market")?,
        sla_id: row.try_get("sla_id")?,
        job_id: row.try_get("job_id")?,
        purchaser: row.try_get("purchaser")?,
        spec_id: row.try_get("spec_id")?,
        job_type: row.try_get("job_type")?,
        params: row.try_get("params")?,
        oracles: u32::try_from(row.try_get::<i64, _>("oracles")?).unwrap_or(0),
        rounds: u64_of(row, "rounds")?,
        penalty_deposit: row.try_get("penalty_deposit")?,
        payment_per_oracle: row.try_get("payment_per_oracle")?,
        bidding_ends: u64_of(row, "bidding_ends")?,
        commit_window: u64_of(row, "commit_window")?,
        reveal_window: u64_of(row, "reveal_window")?,
        heartbeat: u64_of(row, "heartbeat")?,
        deviation_bps: u64_of(row, "deviation_bps")?,
        terms: json_column(row, "terms", id)?.unwrap_or(serde_json::Value::Null),
        block_number: u64_of(row, "block_number")?,
        state: SlaState::parse(&state, id)?,
        reason: row.try_get("reason")?,
        oracle_index: row
            .try_get::<Option<i64>, _>("oracle_index")?
            .and_then(|i| u32::try_from(i).ok()),
        bid_score: row.try_get("bid_score")?,
        last_round_id: row.try_get("last_round_id")?,
        last_round_started: row
            .try_get::<Option<i64>, _>("last_round_started")?
            .map(|t| u64::try_from(t).unwrap_or(0)),
        last_answer: row.try_get("last_answer")?,
        deposit_outcome: match row.try_get::<Option<String>, _>("deposit_outcome")? {
            Some(s) => Some(DepositOutcome::parse(&s, id)?),
            None => None,
        },
        pool_settle_key: row.try_get("pool_settle_key")?,
        pool_settled: row.try_get::<i64, _>("pool_settled")? != 0,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn round_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<SlaRoundRow> {
    let id: i64 = row.try_get("id")?;
    let state: String = row.try_get("state")?;
    let status: String = row.try_get("round_status")?;
    Ok(SlaRoundRow {
        id,
        sla_row: row.try_get("sla_row")?,
        market: row.try_get("market")?,
        round_id: row.try_get("round_id")?,
        oracle_index: u32::try_from(row.try_get::<i64, _>("oracle_index")?).unwrap_or(0),
        commit_deadline: u64_of(row, "commit_deadline")?,
        reveal_deadline: u64_of(row, "reveal_deadline")?,
        reveal_open: row.try_get::<i64, _>("reveal_open")? != 0,
        run_id: row.try_get("run_id")?,
        answer: row.try_get("answer")?,
        salt: row.try_get("salt")?,
        commitment: row.try_get("commitment")?,
        copied_from: row.try_get("copied_from")?,
        state: SlaRoundState::parse(&state, id)?,
        reason: row.try_get("reason")?,
        round_status: RoundStatus::parse(&status, id)?,
        aggregate: row.try_get("aggregate")?,
        accepted: row.try_get::<Option<i64>, _>("accepted")?.map(|a| a != 0),
        failure: row.try_get("failure")?,
        paid: row.try_get("paid")?,
        slashed: row.try_get("slashed")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn state_list<T: Copy>(states: &[T], f: impl Fn(T) -> &'static str) -> String {
    states
        .iter()
        .map(|s| format!("'{}'", f(*s)))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Store {
    /// Stores a proposal unless it is stored already. Returns the row id of a new row.
    pub async fn insert_sla(&self, sla: &NewSla) -> Result<Option<i64>> {
        let now = now_micros();
        let row = sqlx::query(
            "INSERT INTO slas (market, sla_id, job_id, purchaser, spec_id, job_type, params, oracles, rounds, \
             penalty_deposit, payment_per_oracle, bidding_ends, commit_window, reveal_window, heartbeat, \
             deviation_bps, terms, block_number, state, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, 'proposed', $19, $19) \
             ON CONFLICT (market, sla_id) DO NOTHING RETURNING id",
        )
        .bind(&sla.market)
        .bind(&sla.sla_id)
        .bind(sla.job_id)
        .bind(&sla.purchaser)
        .bind(&sla.spec_id)
        .bind(&sla.job_type)
        .bind(&sla.params)
        .bind(i64::from(sla.oracles))
        .bind(to_i64(sla.rounds))
        .bind(&sla.penalty_deposit)
        .bind(&sla.payment_per_oracle)
        .bind(to_i64(sla.bidding_ends))
        .bind(to_i64(sla.commit_window))
        .bind(to_i64(sla.reveal_window))
        .bind(to_i64(sla.heartbeat))
        .bind(to_i64(sla.deviation_bps))
        .bind(sla.terms.to_string())
        .bind(to_i64(sla.block_number))
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| r.try_get("id").map_err(Error::from))
            .transpose()
    }

    /// An SLA by market and id.
    pub async fn sla(&self, market: &str, sla_id: &str) -> Result<Option<SlaRow>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SLA_COLUMNS} FROM slas WHERE market = $1 AND sla_id = $2"
        )))
        .bind(market)
        .bind(sla_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(sla_from_row).transpose()
    }

    /// An SLA by row id.
    pub async fn sla_by_row(&self, id: i64) -> Result<Option<SlaRow>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SLA_COLUMNS} FROM slas WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(sla_from_row).transpose()
    }

    /// The newest SLAs first, at most `limit`.
    pub async fn list_slas(&self, limit: u32) -> Result<Vec<SlaRow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SLA_COLUMNS} FROM slas ORDER BY id DESC LIMIT $1"
        )))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(sla_from_row).collect()
    }

    /// Every SLA with on-chain id `sla_id` (one per market), oldest first.
    pub async fn slas_with_id(&self, sla_id: &str) -> Result<Vec<SlaRow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SLA_COLUMNS} FROM slas WHERE sla_id = $1 ORDER BY id"
        )))
        .bind(sla_id)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(sla_from_row).collect()
    }

    /// SLAs in any of `states`, oldest first.
    pub async fn slas_in(&self, states: &[SlaState]) -> Result<Vec<SlaRow>> {
        if states.is_empty() {
            return Ok(Vec::new());
        }
        let list = state_list(states, SlaState::as_str);
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SLA_COLUMNS} FROM slas WHERE state IN ({list}) ORDER BY id"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(sla_from_row).collect()
    }

    /// How many SLAs are in any of `states`.
    pub async fn count_slas_in(&self, states: &[SlaState]) -> Result<u64> {
        if states.is_empty() {
            return Ok(0);
        }
        let list = state_list(states, SlaState::as_str);
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) AS n FROM slas WHERE state IN ({list})"
        )))
        .fetch_one(&self.pool)
        .await?;
        u64_of(&row, "n")
    }

    /// Moves SLA `id` from one of `from` to `to` (with a reason, or none). False when it was
    /// in another state.
    pub async fn transition_sla(
        &self,
        id: i64,
        from: &[SlaState],
        to: SlaState,
        reason: Option<&str>,
    ) -> Result<bool> {
        if from.is_empty() {
            return Ok(false);
        }
        let list = state_list(from, SlaState::as_str);
        let done = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE slas SET state = $1, reason = $2, updated_at = $3 WHERE id = $4 AND state IN ({list})"
        )))
        .bind(to.as_str())
        .bind(reason)
        .bind(now_micros())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// `SlaFinalized` with this node at `index`: the SLA becomes active (from any state
    /// before finalization).
    pub async fn set_sla_selected(&self, id: i64, index: u32) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE slas SET state = 'active', oracle_index = $1, reason = NULL, updated_at = $2 \
             WHERE id = $3 AND state IN ('proposed', 'bid', 'bid_failed', 'skipped')",
        )
        .bind(i64::from(index))
        .bind(now_micros())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Our bid's score (`BidPlaced`).
    pub async fn set_sla_bid_score(&self, id: i64, score: &str) -> Result<()> {
        sqlx::query("UPDATE slas SET bid_score = $1, updated_at = $2 WHERE id = $3")
            .bind(score)
            .bind(now_micros())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A round of the SLA started at `started` (unix seconds). Only moves forward: a log read
    /// again does not take it back to an older round.
    pub async fn set_sla_round_started(&self, id: i64, round_id: &str, started: u64) -> Result<()> {
        sqlx::query(
            "UPDATE slas SET last_round_id = $1, last_round_started = $2, updated_at = $3 \
             WHERE id = $4 AND (last_round_started IS NULL OR last_round_started <= $2)",
        )
        .bind(round_id)
        .bind(to_i64(started))
        .bind(now_micros())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The SLA's latest aggregate.
    pub async fn set_sla_last_answer(&self, id: i64, answer: &str) -> Result<()> {
        sqlx::query("UPDATE slas SET last_answer = $1, updated_at = $2 WHERE id = $3")
            .bind(answer)
            .bind(now_micros())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records what became of our deposit for SLA `id`. The first outcome stands (the market
    /// settles a deposit once); returns whether this call recorded it.
    pub async fn set_sla_deposit_outcome(&self, id: i64, outcome: DepositOutcome) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE slas SET deposit_outcome = $1, updated_at = $2 WHERE id = $3 AND deposit_outcome IS NULL",
        )
        .bind(outcome.as_str())
        .bind(now_micros())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// SLAs whose deposit outcome is known but not yet settled with the pool, oldest first.
    pub async fn unsettled_pool_deposits(&self) -> Result<Vec<SlaRow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SLA_COLUMNS} FROM slas WHERE deposit_outcome IS NOT NULL AND pool_settled = 0 ORDER BY id"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(sla_from_row).collect()
    }

    /// Sets (or clears, to try again) the key of SLA `id`'s `settleBid` transaction.
    pub async fn set_sla_pool_settle_key(&self, id: i64, key: Option<&str>) -> Result<()> {
        sqlx::query("UPDATE slas SET pool_settle_key = $1, updated_at = $2 WHERE id = $3")
            .bind(key)
            .bind(now_micros())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// SLA `id`'s deposit is settled with the pool (or has nothing to settle).
    pub async fn set_sla_pool_settled(&self, id: i64) -> Result<()> {
        sqlx::query("UPDATE slas SET pool_settled = 1, updated_at = $1 WHERE id = $2")
            .bind(now_micros())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Stores a round unless it is stored already. Returns the id of a new row.
    pub async fn insert_sla_round(&self, round: &NewSlaRound) -> Result<Option<i64>> {
        let now = now_micros();
        let row = sqlx::query(
            "INSERT INTO sla_rounds (sla_row, market, round_id, oracle_index, commit_deadline, reveal_deadline, \
             state, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'started', $7, $7) \
             ON CONFLICT (market, round_id) DO NOTHING RETURNING id",
        )
        .bind(round.sla_row)
        .bind(&round.market)
        .bind(&round.round_id)
        .bind(i64::from(round.oracle_index))
        .bind(to_i64(round.commit_deadline))
        .bind(to_i64(round.reveal_deadline))
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| r.try_get("id").map_err(Error::from))
            .transpose()
    }

    /// A round by market and round id.
    pub async fn sla_round(&self, market: &str, round_id: &str) -> Result<Option<SlaRoundRow>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ROUND_COLUMNS} FROM sla_rounds WHERE market = $1 AND round_id = $2"
        )))
        .bind(market)
        .bind(round_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(round_from_row).transpose()
    }

    /// A round by row id.
    pub async fn sla_round_by_row(&self, id: i64) -> Result<Option<SlaRoundRow>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ROUND_COLUMNS} FROM sla_rounds WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(round_from_row).transpose()
    }

    /// The rounds of an SLA, newest first, at most `limit`.
    pub async fn sla_rounds_of(&self, sla_row: i64, limit: u32) -> Result<Vec<SlaRoundRow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ROUND_COLUMNS} FROM sla_rounds WHERE sla_row = $1 ORDER BY id DESC LIMIT $2"
        )))
        .bind(sla_row)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(round_from_row).collect()
    }

    /// Rounds whose result is not known yet, oldest first: what the node still acts on
    /// (after a restart too).
    pub async fn open_sla_rounds(&self) -> Result<Vec<SlaRoundRow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ROUND_COLUMNS} FROM sla_rounds WHERE round_status = 'open' ORDER BY id"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(round_from_row).collect()
    }

    /// Stores our answer, salt and commitment and moves the round `started -> committing`:
    /// this must commit before the commit transaction is created. False when the round had
    /// left `started` (someone stored a commitment first).
    #[allow(clippy::too_many_arguments)]
    pub async fn store_sla_commitment(
        &self,
        id: i64,
        answer: Option<&str>,
        salt: Option<&str>,
        commitment: &str,
        run_id: Option<i64>,
        copied_from: Option<&str>,
    ) -> Result<bool> {
        let _urgent = self.urgent_write();
        let done = sqlx::query(
            "UPDATE sla_rounds SET answer = $1, salt = $2, commitment = $3, run_id = $4, copied_from = $5, \
             state = 'committing', reason = NULL, updated_at = $6 WHERE id = $7 AND state = 'started'",
        )
        .bind(answer)
        .bind(salt)
        .bind(commitment)
        .bind(run_id)
        .bind(copied_from)
        .bind(now_micros())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Fault injection (freeloader): the answer and salt it will try to reveal.
    pub async fn set_sla_round_reveal_data(&self, id: i64, answer: &str, salt: &str) -> Result<()> {
        sqlx::query(
            "UPDATE sla_rounds SET answer = $1, salt = $2, updated_at = $3 WHERE id = $4 AND answer IS NULL",
        )
        .bind(answer)
        .bind(salt)
        .bind(now_micros())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Notes why a round is still waiting (e.g. its pipeline failed and will be retried),
    /// without changing its state.
    pub async fn note_sla_round(&self, id: i64, reason: &str) -> Result<()> {
        sqlx::query("UPDATE sla_rounds SET reason = $1, updated_at = $2 WHERE id = $3")
            .bind(reason)
            .bind(now_micros())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Moves round `id` from one of `from` to `to`. False when it was in another state.
    pub async fn transition_sla_round(
        &self,
        id: i64,
        from: &[SlaRoundState],
        to: SlaRoundState,
        reason: Option<&str>,
    ) -> Result<bool> {
        if from.is_empty() {
            return Ok(false);
        }
        let list = state_list(from, SlaRoundState::as_str);
        let done = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE sla_rounds SET state = $1, reason = $2, updated_at = $3 WHERE id = $4 AND state IN ({list})"
        )))
        .bind(to.as_str())
        .bind(reason)
        .bind(now_micros())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// `RevealOpened`: reveals are accepted until `reveal_deadline`.
    pub async fn set_sla_round_reveal_open(
        &self,
        market: &str,
        round_id: &str,
        reveal_deadline: u64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE sla_rounds SET reveal_open = 1, reveal_deadline = $1, updated_at = $2 \
             WHERE market = $3 AND round_id = $4",
        )
        .bind(to_i64(reveal_deadline))
        .bind(now_micros())
        .bind(market)
        .bind(round_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The round ended: `Answered` with the aggregate and whether our answer was accepted, or
    /// `Failed` with why. A round's result is written once.
    pub async fn finish_sla_round(
        &self,
        market: &str,
        round_id: &str,
        status: RoundStatus,
        aggregate: Option<&str>,
        accepted: Option<bool>,
        failure: Option<&str>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE sla_rounds SET round_status = $1, aggregate = $2, accepted = $3, failure = $4, updated_at = $5 \
             WHERE market = $6 AND round_id = $7 AND round_status = 'open'",
        )
        .bind(status.as_str())
        .bind(aggregate)
        .bind(accepted.map(i64::from))
        .bind(failure)
        .bind(now_micros())
        .bind(market)
        .bind(round_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// `OraclePaid` / `OracleSlashed` for us in a round.
    pub async fn set_sla_round_settlement(
        &self,
        market: &str,
        round_id: &str,
        paid: Option<&str>,
        slashed: Option<&str>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE sla_rounds SET paid = COALESCE($1, paid), slashed = COALESCE($2, slashed), updated_at = $3 \
             WHERE market = $4 AND round_id = $5",
        )
        .bind(paid)
        .bind(slashed)
        .bind(now_micros())
        .bind(market)
        .bind(round_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Saves a listener's checkpoint on its own (listeners whose logs are recorded by
    /// idempotent writes before it).
    pub async fn save_checkpoint(
        &self,
        listener: &str,
        checkpoint: &crate::Checkpoint,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO log_checkpoints (listener, block_number, block_hash, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (listener) DO UPDATE SET block_number = excluded.block_number, \
             block_hash = excluded.block_hash, updated_at = excluded.updated_at",
        )
        .bind(listener)
        .bind(to_i64(checkpoint.block_number))
        .bind(&checkpoint.block_hash)
        .bind(now_micros())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
