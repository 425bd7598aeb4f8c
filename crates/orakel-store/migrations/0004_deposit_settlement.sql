-- orakel node store, schema version 4: what became of this node's penalty deposit per SLA
-- (from the market's DepositReturned / OracleSlashed logs) and, for a node that bids as a
-- staking-pool node, the settlement of that deposit with the pool (`Node.settleBid`).

ALTER TABLE slas ADD COLUMN deposit_outcome TEXT;                     -- 'returned' | 'forfeited'
ALTER TABLE slas ADD COLUMN pool_settle_key TEXT;                     -- idempotency key of the settleBid tx in flight
ALTER TABLE slas ADD COLUMN pool_settled INTEGER NOT NULL DEFAULT 0;  -- settled with the pool
CREATE INDEX slas_unsettled ON slas (id) WHERE deposit_outcome IS NOT NULL AND pool_settled = 0;
