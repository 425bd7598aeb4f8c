-- orakel node store, schema version 3: SLAs of SLA markets this node saw proposed for one of
-- its sla jobs, and the commit-reveal rounds it takes part in. Amounts and ids that are
-- uint256 on chain are decimal TEXT; times of the SLA market are unix seconds (block
-- timestamps), bookkeeping times unix microseconds like everywhere else.

CREATE TABLE slas (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    market              TEXT    NOT NULL,  -- the SlaMarket contract
    sla_id              TEXT    NOT NULL,  -- decimal uint256
    job_id              INTEGER NOT NULL REFERENCES jobs (id),
    purchaser           TEXT    NOT NULL,
    spec_id             TEXT    NOT NULL,  -- bytes32 hex, as in the log
    job_type            TEXT    NOT NULL,  -- bytes32 hex: the reputation category
    params              BLOB    NOT NULL,  -- CBOR query parameters
    oracles             INTEGER NOT NULL,
    rounds              INTEGER NOT NULL,
    penalty_deposit     TEXT    NOT NULL,  -- decimal juels
    payment_per_oracle  TEXT    NOT NULL,  -- decimal juels
    bidding_ends        INTEGER NOT NULL,  -- unix seconds
    commit_window       INTEGER NOT NULL,  -- seconds
    reveal_window       INTEGER NOT NULL,  -- seconds
    heartbeat           INTEGER NOT NULL,  -- seconds, 0: none
    deviation_bps       INTEGER NOT NULL,
    terms               TEXT    NOT NULL,  -- JSON: every field of the terms, for the API
    block_number        INTEGER NOT NULL,  -- block of the SlaProposed log
    -- proposed -> bid | skipped ; bid -> bid_failed | active | not_selected | cancelled ;
    -- active -> ended | slashed ; proposed -> active | not_selected | cancelled (finalized
    -- before we acted)
    state               TEXT    NOT NULL,
    reason              TEXT,
    oracle_index        INTEGER,           -- our index once selected
    bid_score           TEXT,              -- our bid's reputation score (BidPlaced)
    last_round_id       TEXT,              -- decimal: the latest round started
    last_round_started  INTEGER,           -- unix seconds: when it started
    last_answer         TEXT,              -- decimal int256: the latest aggregate
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);
CREATE UNIQUE INDEX slas_unique ON slas (market, sla_id);
CREATE INDEX slas_by_state ON slas (state);

-- A round of an SLA this node serves. The answer, salt and commitment are stored before the
-- commit transaction is created (state 'committing'), so a node that restarts reveals what
-- it committed to.
CREATE TABLE sla_rounds (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    sla_row          INTEGER NOT NULL REFERENCES slas (id),
    market           TEXT    NOT NULL,
    round_id         TEXT    NOT NULL,  -- decimal uint256 (unique per market)
    oracle_index     INTEGER NOT NULL,
    commit_deadline  INTEGER NOT NULL,  -- unix seconds
    reveal_deadline  INTEGER NOT NULL,  -- unix seconds (moved by RevealOpened)
    reveal_open      INTEGER NOT NULL DEFAULT 0,  -- RevealOpened seen
    run_id           INTEGER REFERENCES job_runs (id),
    answer           TEXT,              -- decimal int256
    salt             TEXT,              -- 0x + 64 hex
    commitment       TEXT,              -- 0x + 64 hex
    copied_from      TEXT,              -- fault injection: the oracle whose commitment was copied
    -- our part: started -> committing -> committed -> revealed ; started|committing|committed -> missed | errored
    state            TEXT    NOT NULL,
    reason           TEXT,
    -- the round's result: open -> answered | failed
    round_status     TEXT    NOT NULL DEFAULT 'open',
    aggregate        TEXT,              -- decimal int256, when answered
    accepted         INTEGER,           -- our answer accepted by the aggregator (answered rounds)
    failure          TEXT,              -- why the round failed
    paid             TEXT,              -- decimal juels credited to us for this round
    slashed          TEXT,              -- decimal juels of our deposit forfeited in this round
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE UNIQUE INDEX sla_rounds_unique ON sla_rounds (market, round_id);
CREATE INDEX sla_rounds_by_sla ON sla_rounds (sla_row, id);
CREATE INDEX sla_rounds_open ON sla_rounds (round_status) WHERE round_status = 'open';
