use serde::Serialize;
use std::collections::HashMap;

use rusqlite::OptionalExtension;
use sqlx::Row;

use crate::{Error, Result, Store, now_micros};

/// A transaction to create.
#[derive(Debug, Clone)]
pub struct NewEthTx {
    /// Same key, same transaction: a second create returns the first one.
    pub idempotency_key: String,
    /// Chain id.
    pub chain_id: u64,
    /// Sending key.
    pub from_address: String,
    /// Recipient.
    pub to_address: String,
    /// Calldata.
    pub data: Vec<u8>,
    /// Gas limit.
    pub gas_limit: u64,
    /// Job run that asked for it.
    pub run_id: Option<i64>,
}

/// Life cycle of a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EthTxState {
    /// Nonce assigned, no attempt broadcast yet.
    Unbroadcast,
    /// At least one attempt was sent.
    Broadcast,
    /// Mined with status 1.
    Confirmed,
    /// Mined with status 0.
    Reverted,
    /// Given up (see `error`).
    Fatal,
}

impl EthTxState {
    /// Column value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unbroadcast => "unbroadcast",
            Self::Broadcast => "broadcast",
            Self::Confirmed => "confirmed",
            Self::Reverted => "reverted",
            Self::Fatal => "fatal",
        }
    }

    fn parse(s: &str, id: i64) -> Result<Self> {
        Ok(match s {
            "unbroadcast" => Self::Unbroadcast,
            "broadcast" => Self::Broadcast,
            "confirmed" => Self::Confirmed,
            "reverted" => Self::Reverted,
            "fatal" => Self::Fatal,
            other => {
                return Err(Error::Corrupt {
                    what: "eth_txs.state",
                    id,
                    detail: other.to_string(),
                });
            }
        })
    }
}

/// A stored transaction.
#[derive(Debug, Clone, Serialize)]
pub struct EthTxRow {
    /// Database id.
    pub id: i64,
    /// Idempotency key.
    pub idempotency_key: String,
    /// Chain id.
    pub chain_id: u64,
    /// Sender.
    pub from_address: String,
    /// Recipient.
    pub to_address: String,
    /// Calldata.
    #[serde(skip)]
    pub data: Vec<u8>,
    /// Gas limit.
    pub gas_limit: u64,
    /// Nonce.
    pub nonce: u64,
    /// State.
    pub state: EthTxState,
    /// Last error.
    pub error: Option<String>,
    /// Run.
    pub run_id: Option<i64>,
    /// Unix micros.
    pub created_at: i64,
    /// Unix micros of the first broadcast.
    pub broadcast_at: Option<i64>,
    /// Hash of the attempt that was mined.
    pub mined_tx_hash: Option<String>,
    /// Block it was mined in.
    pub mined_block: Option<u64>,
    /// Gas used by the mined attempt.
    pub gas_used: Option<u64>,
}

/// A signed attempt to store before it is broadcast.
#[derive(Debug, Clone)]
pub struct NewAttempt {
    /// Hash of the signed transaction.
    pub tx_hash: String,
    /// Fee cap (wei, decimal).
    pub max_fee_per_gas: String,
    /// Tip (wei, decimal).
    pub max_priority_fee_per_gas: String,
    /// Signed RLP/EIP-2718 bytes.
    pub raw: Vec<u8>,
}

/// A stored attempt.
#[derive(Debug, Clone, Serialize)]
pub struct AttemptRow {
    /// Hash.
    pub tx_hash: String,
    /// Fee cap (wei).
    pub max_fee_per_gas: String,
    /// Tip (wei).
    pub max_priority_fee_per_gas: String,
    /// Signed bytes.
    #[serde(skip)]
    pub raw: Vec<u8>,
    /// Unix micros.
    pub created_at: i64,
}

const TX_COLUMNS: &str = "id, idempotency_key, chain_id, from_address, to_address, data, gas_limit, nonce, state, \
     error, run_id, created_at, broadcast_at, mined_tx_hash, mined_block, gas_used";

fn u64_col(row: &sqlx::sqlite::SqliteRow, col: &str) -> Result<u64> {
    Ok(u64::try_from(row.try_get::<i64, _>(col)?).unwrap_or(0))
}

/// The one mapping of an `eth_txs` row selected with [`TX_COLUMNS`] to [`EthTxRow`], for sqlx
/// rows (`try_get`) and rusqlite rows (`get`) alike: `$get` is the method reading a column by
/// name.
macro_rules! eth_tx_row {
    ($row:expr, $get:ident) => {{
        let row = $row;
        let unsigned = |v: i64| u64::try_from(v).unwrap_or(0);
        let id: i64 = row.$get("id")?;
        let state: String = row.$get("state")?;
        let mined_block: Option<i64> = row.$get("mined_block")?;
        let gas_used: Option<i64> = row.$get("gas_used")?;
        EthTxRow {
            id,
            idempotency_key: row.$get("idempotency_key")?,
            chain_id: unsigned(row.$get("chain_id")?),
            from_address: row.$get("from_address")?,
            to_address: row.$get("to_address")?,
            data: row.$get("data")?,
            gas_limit: unsigned(row.$get("gas_limit")?),
            nonce: unsigned(row.$get("nonce")?),
            state: EthTxState::parse(&state, id)?,
            error: row.$get("error")?,
            run_id: row.$get("run_id")?,
            created_at: row.$get("created_at")?,
            broadcast_at: row.$get("broadcast_at")?,
            mined_tx_hash: row.$get("mined_tx_hash")?,
            mined_block: mined_block.map(unsigned),
            gas_used: gas_used.map(unsigned),
        }
    }};
}

fn tx_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<EthTxRow> {
    Ok(eth_tx_row!(row, try_get))
}

fn tx_from_inline_row(row: &rusqlite::Row<'_>) -> Result<EthTxRow> {
    Ok(eth_tx_row!(row, get))
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Store {
    /// Raises the stored next nonce of a key to at least `chain_nonce` (the chain's pending
    /// count), creating the row if needed. Returns the next nonce now stored.
    pub async fn sync_nonce(&self, address: &str, chain_id: u64, chain_nonce: u64) -> Result<u64> {
        let row = sqlx::query(
            "INSERT INTO nonces (address, chain_id, next_nonce) VALUES ($1, $2, $3) \
             ON CONFLICT (address, chain_id) DO UPDATE SET next_nonce = MAX(next_nonce, excluded.next_nonce) \
             RETURNING next_nonce",
        )
        .bind(address)
        .bind(to_i64(chain_id))
        .bind(to_i64(chain_nonce))
        .fetch_one(&self.pool)
        .await?;
        u64_col(&row, "next_nonce")
    }

    /// The transaction with this idempotency key, if any.
    pub async fn eth_tx_by_key(&self, key: &str) -> Result<Option<EthTxRow>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TX_COLUMNS} FROM eth_txs WHERE idempotency_key = $1"
        )))
        .bind(key)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(tx_from_row).transpose()
    }

    /// Creates a transaction and assigns it the key's next nonce, atomically. If the idempotency
    /// key exists already, returns that transaction and `false` — a fulfilment is never created
    /// twice. The key's nonce row must exist ([`Store::sync_nonce`]).
    pub async fn create_eth_tx(&self, new: &NewEthTx) -> Result<(EthTxRow, bool)> {
        let (row, _, created) = self.create_eth_tx_signed(new, |_| Ok(None)).await?;
        Ok((row, created))
    }

    /// Like [`Store::create_eth_tx`], and signs the first attempt with the assigned nonce
    /// (`sign`; `None` stores no attempt) and stores it in the same write, so a new transaction
    /// costs one commit.
    /// Returns the transaction, its first attempt (`None` when the key existed already) and
    /// whether it was created.
    pub async fn create_eth_tx_signed<F>(
        &self,
        new: &NewEthTx,
        sign: F,
    ) -> Result<(EthTxRow, Option<NewAttempt>, bool)>
    where
        F: FnOnce(u64) -> std::result::Result<Option<NewAttempt>, String>,
    {
        let mut sign = Some(sign);
        let mut created = self
            .create_eth_txs_signed(std::slice::from_ref(new), |_, nonce| match sign.take() {
                Some(f) => f(nonce),
                None => Err("signer called twice".to_owned()),
            })
            .await?;
        created.pop().ok_or_else(|| Error::Corrupt {
            what: "eth_txs",
            id: 0,
            detail: "batch creation returned nothing".to_owned(),
        })
    }

    /// Creates many transactions in one commit (group commit): keys that exist already come
    /// back as they are (`false`), the others get consecutive nonces in slice order, are
    /// signed (`sign(new, nonce)`) and stored with their first attempt. The answer is in slice
    /// order; a key repeated inside the batch is created once.
    pub async fn create_eth_txs_signed<F>(
        &self,
        news: &[NewEthTx],
        mut sign: F,
    ) -> Result<Vec<(EthTxRow, Option<NewAttempt>, bool)>>
    where
        F: FnMut(&NewEthTx, u64) -> std::result::Result<Option<NewAttempt>, String>,
    {
        let Some(first) = news.first() else {
            return Ok(Vec::new());
        };
        if news
            .iter()
            .any(|n| n.from_address != first.from_address || n.chain_id != first.chain_id)
        {
            return Err(Error::Conflict(
                "one batch of transactions must share sender and chain".to_owned(),
            ));
        }
        let _urgent = self.urgent_write();
        let now = now_micros();
        // Keys stored already (a resumed run asking again) come back as stored; the first
        // occurrence of each other key creates a transaction.
        let (existing, fresh_keys, made) = self
            .write_inline(|tx| {
                let mut lookup = tx.prepare(&format!(
                    "SELECT {TX_COLUMNS} FROM eth_txs WHERE idempotency_key = ?1"
                ))?;
                let mut existing: HashMap<&str, EthTxRow> = HashMap::new();
                let mut fresh_keys: HashMap<&str, usize> = HashMap::new();
                let mut to_create: Vec<&NewEthTx> = Vec::new();
                for n in news {
                    let key = n.idempotency_key.as_str();
                    if existing.contains_key(key) || fresh_keys.contains_key(key) {
                        continue;
                    }
                    let mut rows = lookup.query([key])?;
                    match rows.next()? {
                        Some(row) => {
                            existing.insert(key, tx_from_inline_row(row)?);
                        }
                        None => {
                            fresh_keys.insert(key, to_create.len());
                            to_create.push(n);
                        }
                    }
                }
                let mut made: Vec<(EthTxRow, Option<NewAttempt>)> =
                    Vec::with_capacity(to_create.len());
                if to_create.is_empty() {
                    return Ok((existing, fresh_keys, made));
                }
                let count = i64::try_from(to_create.len()).unwrap_or(i64::MAX);
                let first_nonce: Option<i64> = tx
                    .query_row(
                        "UPDATE nonces SET next_nonce = next_nonce + ?3 WHERE address = ?1 AND chain_id = ?2 \
                         RETURNING next_nonce - ?3",
                        rusqlite::params![first.from_address, to_i64(first.chain_id), count],
                        |row| row.get(0),
                    )
                    .optional()?;
                let Some(first_nonce) = first_nonce else {
                    return Err(Error::Conflict(format!(
                        "no nonce is tracked for {} on chain {}; sync it first",
                        first.from_address, first.chain_id
                    )));
                };
                let first_nonce = u64::try_from(first_nonce).map_err(|_| Error::Corrupt {
                    what: "nonces.next_nonce",
                    id: 0,
                    detail: format!("negative nonce {first_nonce}"),
                })?;
                let mut insert_tx = tx.prepare(
                    "INSERT INTO eth_txs (idempotency_key, chain_id, from_address, to_address, data, gas_limit, \
                     nonce, state, run_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'unbroadcast', ?8, ?9) \
                     RETURNING id",
                )?;
                let mut insert_attempt = tx.prepare(
                    "INSERT INTO eth_tx_attempts (eth_tx_id, tx_hash, max_fee_per_gas, max_priority_fee_per_gas, \
                     raw, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?;
                for (i, n) in to_create.into_iter().enumerate() {
                    let nonce = first_nonce + i as u64;
                    let id: i64 = insert_tx.query_row(
                        rusqlite::params![
                            n.idempotency_key,
                            to_i64(n.chain_id),
                            n.from_address,
                            n.to_address,
                            n.data,
                            to_i64(n.gas_limit),
                            to_i64(nonce),
                            n.run_id,
                            now,
                        ],
                        |row| row.get(0),
                    )?;
                    let attempt = sign(n, nonce).map_err(|detail| Error::Corrupt {
                        what: "signing",
                        id,
                        detail,
                    })?;
                    if let Some(a) = &attempt {
                        insert_attempt.execute(rusqlite::params![
                            id,
                            a.tx_hash,
                            a.max_fee_per_gas,
                            a.max_priority_fee_per_gas,
                            a.raw,
                            now,
                        ])?;
                    }
                    let row = EthTxRow {
                        id,
                        idempotency_key: n.idempotency_key.clone(),
                        chain_id: n.chain_id,
                        from_address: n.from_address.clone(),
                        to_address: n.to_address.clone(),
                        data: n.data.clone(),
                        gas_limit: n.gas_limit,
                        nonce,
                        state: EthTxState::Unbroadcast,
                        error: None,
                        run_id: n.run_id,
                        created_at: now,
                        broadcast_at: None,
                        mined_tx_hash: None,
                        mined_block: None,
                        gas_used: None,
                    };
                    made.push((row, attempt));
                }
                Ok((existing, fresh_keys, made))
            })
            .await?;
        let mut out = Vec::with_capacity(news.len());
        let mut handed: std::collections::HashSet<usize> = std::collections::HashSet::new();
        for n in news {
            if let Some(row) = existing.get(n.idempotency_key.as_str()) {
                out.push((row.clone(), None, false));
            } else if let Some(&i) = fresh_keys.get(n.idempotency_key.as_str())
                && let Some((row, attempt)) = made.get(i)
            {
                if handed.insert(i) {
                    out.push((row.clone(), attempt.clone(), true));
                } else {
                    out.push((row.clone(), None, false));
                }
            }
        }
        Ok(out)
    }

    /// Attempts of several transactions (oldest first per transaction), in one query.
    pub async fn attempts_of(
        &self,
        eth_tx_ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, Vec<AttemptRow>>> {
        let mut out: std::collections::HashMap<i64, Vec<AttemptRow>> =
            std::collections::HashMap::new();
        if eth_tx_ids.is_empty() {
            return Ok(out);
        }
        // The ids are integers from our own rows, so listing them inline is safe.
        let list = eth_tx_ids
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT eth_tx_id, tx_hash, max_fee_per_gas, max_priority_fee_per_gas, raw, created_at \
             FROM eth_tx_attempts WHERE eth_tx_id IN ({list}) ORDER BY id"
        )))
        .fetch_all(&self.reader)
        .await?;
        for r in &rows {
            let id: i64 = r.try_get("eth_tx_id")?;
            out.entry(id).or_default().push(AttemptRow {
                tx_hash: r.try_get("tx_hash")?,
                max_fee_per_gas: r.try_get("max_fee_per_gas")?,
                max_priority_fee_per_gas: r.try_get("max_priority_fee_per_gas")?,
                raw: r.try_get("raw")?,
                created_at: r.try_get("created_at")?,
            });
        }
        Ok(out)
    }

    /// Records several mined transactions in one write: `(id, hash, block, gas used, success)`.
    pub async fn mark_mined_many(&self, mined: &[(i64, String, u64, u64, bool)]) -> Result<()> {
        if mined.is_empty() {
            return Ok(());
        }
        self.background_write().await;
        let now = now_micros();
        // One statement per chunk: this runs while fulfilments wait for the same writer.
        for chunk in mined.chunks(5000) {
            let mut update = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "UPDATE eth_txs SET state = v.column2, mined_tx_hash = v.column3, mined_block = v.column4, \
                 gas_used = v.column5, confirmed_at = v.column6 FROM (",
            );
            update.push_values(chunk, |mut row, (id, hash, block, gas_used, success)| {
                let state = if *success {
                    EthTxState::Confirmed
                } else {
                    EthTxState::Reverted
                };
                row.push_bind(*id)
                    .push_bind(state.as_str())
                    .push_bind(hash.clone())
                    .push_bind(to_i64(*block))
                    .push_bind(to_i64(*gas_used))
                    .push_bind(now);
            });
            update.push(") AS v WHERE eth_txs.id = v.column1");
            update.build().execute(&self.pool).await?;
        }
        Ok(())
    }

    /// Stores a signed attempt. Call before broadcasting it.
    pub async fn insert_attempt(&self, eth_tx_id: i64, attempt: &NewAttempt) -> Result<()> {
        sqlx::query(
            "INSERT INTO eth_tx_attempts (eth_tx_id, tx_hash, max_fee_per_gas, max_priority_fee_per_gas, raw, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tx_hash) DO NOTHING",
        )
        .bind(eth_tx_id)
        .bind(&attempt.tx_hash)
        .bind(&attempt.max_fee_per_gas)
        .bind(&attempt.max_priority_fee_per_gas)
        .bind(&attempt.raw)
        .bind(now_micros())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Attempts of a transaction, oldest first.
    pub async fn attempts(&self, eth_tx_id: i64) -> Result<Vec<AttemptRow>> {
        let rows = sqlx::query(
            "SELECT tx_hash, max_fee_per_gas, max_priority_fee_per_gas, raw, created_at FROM eth_tx_attempts \
             WHERE eth_tx_id = $1 ORDER BY id",
        )
        .bind(eth_tx_id)
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AttemptRow {
                    tx_hash: r.try_get("tx_hash")?,
                    max_fee_per_gas: r.try_get("max_fee_per_gas")?,
                    max_priority_fee_per_gas: r.try_get("max_priority_fee_per_gas")?,
                    raw: r.try_get("raw")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Marks a transaction as sent (keeps the first broadcast time).
    pub async fn mark_broadcast(&self, eth_tx_id: i64) -> Result<()> {
        sqlx::query(
            "UPDATE eth_txs SET state = 'broadcast', error = NULL, broadcast_at = COALESCE(broadcast_at, $1) \
             WHERE id = $2 AND state IN ('unbroadcast', 'broadcast')",
        )
        .bind(now_micros())
        .bind(eth_tx_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Marks several transactions as sent, in one database transaction.
    pub async fn mark_broadcast_many(&self, eth_tx_ids: &[i64]) -> Result<()> {
        if eth_tx_ids.is_empty() {
            return Ok(());
        }
        self.background_write().await;
        let now = now_micros();
        for chunk in eth_tx_ids.chunks(10_000) {
            let mut update = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "UPDATE eth_txs SET state = 'broadcast', error = NULL, broadcast_at = COALESCE(broadcast_at, ",
            );
            update.push_bind(now);
            update.push(") WHERE state IN ('unbroadcast', 'broadcast') AND id IN (");
            let mut ids = update.separated(", ");
            for id in chunk {
                ids.push_bind(*id);
            }
            update.push(")");
            update.build().execute(&self.pool).await?;
        }
        Ok(())
    }

    /// Notes a (retryable) error on a transaction without changing its state.
    pub async fn note_tx_error(&self, eth_tx_id: i64, error: &str) -> Result<()> {
        sqlx::query("UPDATE eth_txs SET error = $1 WHERE id = $2")
            .bind(error)
            .bind(eth_tx_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records that an attempt was mined.
    pub async fn mark_mined(
        &self,
        eth_tx_id: i64,
        tx_hash: &str,
        block: u64,
        gas_used: u64,
        success: bool,
    ) -> Result<()> {
        let state = if success {
            EthTxState::Confirmed
        } else {
            EthTxState::Reverted
        };
        sqlx::query(
            "UPDATE eth_txs SET state = $1, mined_tx_hash = $2, mined_block = $3, gas_used = $4, confirmed_at = $5 \
             WHERE id = $6",
        )
        .bind(state.as_str())
        .bind(tx_hash)
        .bind(to_i64(block))
        .bind(to_i64(gas_used))
        .bind(now_micros())
        .bind(eth_tx_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Gives up on a transaction.
    pub async fn mark_fatal(&self, eth_tx_id: i64, error: &str) -> Result<()> {
        sqlx::query("UPDATE eth_txs SET state = 'fatal', error = $1 WHERE id = $2")
            .bind(error)
            .bind(eth_tx_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Transactions not yet mined (unbroadcast or broadcast), in nonce order per sender.
    pub async fn open_eth_txs(&self) -> Result<Vec<EthTxRow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TX_COLUMNS} FROM eth_txs WHERE state IN ('unbroadcast', 'broadcast') ORDER BY from_address, nonce"
        )))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(tx_from_row).collect()
    }

    /// Recent transactions, newest first.
    pub async fn list_eth_txs(&self, limit: u32) -> Result<Vec<EthTxRow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TX_COLUMNS} FROM eth_txs ORDER BY id DESC LIMIT $1"
        )))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(tx_from_row).collect()
    }

    /// How many transactions a run created (a fulfilment must be at most one).
    pub async fn count_eth_txs_for_key_prefix(&self, prefix: &str) -> Result<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM eth_txs WHERE substr(idempotency_key, 1, length($1)) = $1",
        )
        .bind(prefix)
        .fetch_one(&self.reader)
        .await?;
        Ok(row.try_get("n")?)
    }
}
