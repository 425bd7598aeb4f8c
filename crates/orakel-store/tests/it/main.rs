//! orakel-store integration tests: every public operation against a real SQLite database,
//! in memory and in a file (durability, concurrent writers on several connections).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod batches;
mod bridges;
mod durability;
mod jobs;
mod props;
mod requests;
mod runs;
mod sla;
mod txs;

use std::path::Path;

use orakel_store::{Checkpoint, JobRow, NewEthTx, NewJob, NewRequest, Store};

/// The URL of a SQLite file at `path`.
pub fn file_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// A fresh store backed by a file in a new temporary directory (kept alive by the returned guard).
pub async fn file_store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&file_url(&dir.path().join("node.sqlite")))
        .await
        .unwrap();
    (store, dir)
}

/// A job spec with the given external id.
pub fn new_job(external_job_id: &str) -> NewJob {
    NewJob {
        external_job_id: external_job_id.to_string(),
        name: Some(format!("job {external_job_id}")),
        job_type: "directrequest".to_string(),
        spec_toml: format!("type = \"directrequest\"\nexternalJobID = \"{external_job_id}\"\n"),
    }
}

/// Inserts a job and returns it.
pub async fn insert_job(store: &Store, external_job_id: &str) -> JobRow {
    store.insert_job(&new_job(external_job_id)).await.unwrap()
}

/// The oracle contract most tests use.
pub const ORACLE: &str = "0x00000000000000000000000000000000000000aa";

/// A block hash derived from a number and a fork tag, so reorged blocks get other hashes.
pub fn block_hash(number: u64, fork: u8) -> String {
    format!("0x{fork:02x}{number:062x}")
}

/// An `OracleRequest` log of `job_id` with request id `n`, seen in block `block` on `fork`.
pub fn request(job_id: i64, n: u64, block: u64, fork: u8) -> NewRequest {
    NewRequest {
        job_id,
        oracle_address: ORACLE.to_string(),
        request_id: format!("0x{n:064x}"),
        requester: "0x00000000000000000000000000000000000000bb".to_string(),
        payment: "100000000000000000".to_string(),
        cancel_expiration: 1_700_000_000 + i64::try_from(n).unwrap(),
        block_number: block,
        block_hash: block_hash(block, fork),
        tx_hash: format!("0x{fork:02x}{:062x}", n + 1_000),
        log_index: n % 7,
        log_topics: vec![
            "0xd8d7ecc4800d25fa53ce0372f13a416d98907a7ef3d8d3bdd79cf4fe75529c65".to_string(),
            format!("0x{:064x}", job_id),
        ],
        log_data: vec![0xde, 0xad, u8::try_from(n % 256).unwrap(), 0xef],
        ignore_reason: None,
        start: None,
    }
}

/// The checkpoint at `block` on `fork`.
pub fn checkpoint(block: u64, fork: u8) -> Checkpoint {
    Checkpoint {
        block_number: block,
        block_hash: block_hash(block, fork),
    }
}

/// A sender address numbered `n`.
pub fn sender(n: u64) -> String {
    format!("0x{n:040x}")
}

/// A transaction from `from` with idempotency key `key`.
pub fn new_tx(key: &str, from: &str) -> NewEthTx {
    NewEthTx {
        idempotency_key: key.to_string(),
        chain_id: 31337,
        from_address: from.to_string(),
        to_address: ORACLE.to_string(),
        data: key.as_bytes().to_vec(),
        gas_limit: 300_000,
        run_id: None,
    }
}
