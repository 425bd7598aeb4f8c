-- orakel node store, schema version 1.
-- Timestamps are unix microseconds (INTEGER). Addresses and hashes are 0x-prefixed lower-case hex.

CREATE TABLE jobs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    external_job_id  TEXT    NOT NULL,
    name             TEXT,
    job_type         TEXT    NOT NULL,
    spec_toml        TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    deleted_at       INTEGER
);
-- a deleted job's id may be reused by a new spec
CREATE UNIQUE INDEX jobs_external_job_id_live ON jobs (external_job_id) WHERE deleted_at IS NULL;

-- Last block a log listener has fully handed off to the store.
CREATE TABLE log_checkpoints (
    listener      TEXT    PRIMARY KEY,
    block_number  INTEGER NOT NULL,
    block_hash    TEXT    NOT NULL,
    updated_at    INTEGER NOT NULL
);

-- One row per OracleRequest log that matched a job.
CREATE TABLE oracle_requests (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id             INTEGER NOT NULL REFERENCES jobs (id),
    oracle_address     TEXT    NOT NULL,
    request_id         TEXT    NOT NULL,
    requester          TEXT    NOT NULL,
    payment            TEXT    NOT NULL,
    cancel_expiration  INTEGER NOT NULL,
    block_number       INTEGER NOT NULL,
    block_hash         TEXT    NOT NULL,
    tx_hash            TEXT    NOT NULL,
    log_index          INTEGER NOT NULL,
    log_topics         TEXT    NOT NULL, -- JSON array of hex topics
    log_data           BLOB    NOT NULL,
    -- pending -> running -> fulfilled | errored ; pending|running -> cancelled ; pending -> ignored
    state              TEXT    NOT NULL,
    reason             TEXT,
    received_at        INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);
CREATE UNIQUE INDEX oracle_requests_unique ON oracle_requests (oracle_address, request_id, job_id);
CREATE INDEX oracle_requests_open ON oracle_requests (state) WHERE state IN ('pending', 'running');

CREATE TABLE job_runs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id       INTEGER NOT NULL REFERENCES jobs (id),
    request_id   INTEGER REFERENCES oracle_requests (id),
    state        TEXT    NOT NULL, -- running | completed | errored | cancelled
    inputs       TEXT    NOT NULL, -- JSON
    outputs      TEXT,             -- JSON
    errors       TEXT,             -- JSON array of strings
    created_at   INTEGER NOT NULL,
    finished_at  INTEGER
);
CREATE UNIQUE INDEX job_runs_one_per_request ON job_runs (request_id) WHERE request_id IS NOT NULL;
CREATE INDEX job_runs_by_job ON job_runs (job_id, id);

CREATE TABLE task_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id      INTEGER NOT NULL REFERENCES job_runs (id),
    dot_id      TEXT    NOT NULL,
    task_type   TEXT    NOT NULL,
    output      TEXT,             -- JSON
    error       TEXT,
    started_at  INTEGER NOT NULL,
    elapsed_us  INTEGER NOT NULL
);
CREATE INDEX task_runs_by_run ON task_runs (run_id);

-- Next nonce to hand out per sending key and chain.
CREATE TABLE nonces (
    address     TEXT    NOT NULL,
    chain_id    INTEGER NOT NULL,
    next_nonce  INTEGER NOT NULL,
    PRIMARY KEY (address, chain_id)
);

CREATE TABLE eth_txs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key  TEXT    NOT NULL UNIQUE,
    chain_id         INTEGER NOT NULL,
    from_address     TEXT    NOT NULL,
    to_address       TEXT    NOT NULL,
    data             BLOB    NOT NULL,
    gas_limit        INTEGER NOT NULL,
    nonce            INTEGER NOT NULL,
    -- unbroadcast -> broadcast -> confirmed | reverted ; any -> fatal
    state            TEXT    NOT NULL,
    error            TEXT,
    run_id           INTEGER,
    created_at       INTEGER NOT NULL,
    broadcast_at     INTEGER,
    confirmed_at     INTEGER,
    mined_tx_hash    TEXT,
    mined_block      INTEGER,
    gas_used         INTEGER
);
CREATE INDEX eth_txs_open ON eth_txs (state) WHERE state IN ('unbroadcast', 'broadcast');
CREATE UNIQUE INDEX eth_txs_nonce ON eth_txs (from_address, chain_id, nonce);

-- Every signed version of a transaction (fee bumps are new attempts with the same nonce).
CREATE TABLE eth_tx_attempts (
    id                        INTEGER PRIMARY KEY AUTOINCREMENT,
    eth_tx_id                 INTEGER NOT NULL REFERENCES eth_txs (id),
    tx_hash                   TEXT    NOT NULL UNIQUE,
    max_fee_per_gas           TEXT    NOT NULL,
    max_priority_fee_per_gas  TEXT    NOT NULL,
    raw                       BLOB    NOT NULL,
    created_at                INTEGER NOT NULL
);
CREATE INDEX eth_tx_attempts_by_tx ON eth_tx_attempts (eth_tx_id);
