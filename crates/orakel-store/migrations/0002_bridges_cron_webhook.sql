-- orakel node store, schema version 2: bridges (external adapters), external initiators, and
-- runs suspended by asynchronous bridge tasks. Cron and webhook runs use job_runs with
-- request_id NULL (allowed since version 1).

-- A bridge: a named external adapter the pipeline's `bridge` tasks call.
CREATE TABLE bridges (
    id                        INTEGER PRIMARY KEY AUTOINCREMENT,
    name                      TEXT    NOT NULL UNIQUE, -- lower case letters, digits, '_' and '-'
    url                       TEXT    NOT NULL,
    confirmations             INTEGER NOT NULL DEFAULT 0,
    minimum_contract_payment  TEXT    NOT NULL DEFAULT '0', -- decimal juels
    -- hex SHA-256 of the token the adapter presents to the node (resume calls); the token
    -- itself is shown once at creation and never stored
    incoming_token_hash       TEXT    NOT NULL,
    -- the token the node presents to the adapter; it has to be sent, so it is stored
    outgoing_token            TEXT    NOT NULL,
    input_schema              TEXT,            -- JSON Schema of the request, NULL: none
    output_schema             TEXT,            -- JSON Schema of the response, NULL: none
    created_at                INTEGER NOT NULL,
    updated_at                INTEGER NOT NULL
);

-- A service allowed to start runs of the webhook jobs that list it.
CREATE TABLE external_initiators (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT    NOT NULL UNIQUE,
    url          TEXT,
    access_key   TEXT    NOT NULL UNIQUE,  -- an identifier, sent in X-Chainlink-EA-AccessKey
    secret_hash  TEXT    NOT NULL,         -- hex SHA-256 of the secret (X-Chainlink-EA-Secret)
    created_at   INTEGER NOT NULL
);

-- A run waiting for asynchronous bridges. The run stays 'running' in job_runs; this row holds
-- the results of the tasks that already finished, and suspended_tasks the tasks that wait.
-- Both are deleted when the run finishes (or replaced when it suspends again).
CREATE TABLE run_suspensions (
    run_id        INTEGER PRIMARY KEY REFERENCES job_runs (id),
    results       TEXT    NOT NULL,  -- JSON: the finished tasks' results, to resume from
    suspended_at  INTEGER NOT NULL
);

-- A task of a suspended run waiting for its adapter's answer. The answer is stored before the
-- run continues, so it is not lost to a crash; the run continues once every task of the
-- suspension has its answer.
CREATE TABLE suspended_tasks (
    run_id       INTEGER NOT NULL REFERENCES run_suspensions (run_id) ON DELETE CASCADE,
    dot_id       TEXT    NOT NULL,
    seq          INTEGER NOT NULL,  -- pipeline order, to answer same-bridge tasks in order
    bridge_name  TEXT    NOT NULL,  -- the bridge whose incoming token may answer it
    answer       TEXT,              -- JSON {"value": …} or {"error": "…"}; NULL while waiting
    answered_at  INTEGER,
    PRIMARY KEY (run_id, dot_id)
);
