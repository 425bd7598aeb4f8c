#!/usr/bin/env bash
# Prints the gas of the hot paths of the direct-request flow and of the SLA market's commit-reveal
# rounds as one flat JSON object:
#   {"gas.oracle_request": N, "gas.oracle_fulfil": M, "commit_reveal.gas_commit": C, ...}
#
# Method: contracts/test/gas/Gas.t.sol makes each call once from a forge test and reads
# `vm.lastCallGas().gasTotalUsed` — the execution gas of that one external call frame, without a
# transaction's 21,000 base cost and calldata cost:
#   gas.oracle_request = PriceConsumer.requestPrice -> LINK.transferAndCall -> Oracle.onTokenTransfer
#                        -> oracleRequest (the consumer's second request, so its nonce slot is set)
#   gas.oracle_fulfil  = Oracle.fulfillOracleRequest including the PriceConsumer.fulfill callback,
#                        for a request made in setUp (a separate transaction: cold storage)
# contracts/test/gas/SlaGas.t.sol measures the SLA market (ADR 0005) in FULL TRANSACTION gas
# (21,000 + calldata + execution gas of the call frame, each call priced as a fresh transaction via
# `vm.cool`; see the test's header):
#   commit_reveal.gas_commit / gas_reveal   one non-finalising commit / reveal (n = 7)
#   commit_reveal.gas_per_oracle            their sum (budget: <= 90,000)
#   commit_reveal.gas_round_n{4,7,16,31}    a whole answered round: n commits + n reveals, the last
#                                           reveal with aggregation, payments, reputation, callback
# contracts/test/gas/StakingGas.t.sol measures the staking pool, also in full transaction gas:
#   staking.gas_{stake,withdraw,distribute}_{1,100,10000}   with that many stakers already in the node
# contracts/test/gas/PoolGas.t.sol measures serving the real SlaMarket as a staking-pool node against
# serving it as a plain oracle (ADR 0006 decision 9), also in full transaction gas:
#   staking.gas_pool_bid / gas_direct_bid        Node.bid(node, market, deposit, bid(slaId)) /
#                                                link.transferAndCall(market, deposit, bid(slaId))
#   staking.gas_pool_commit / gas_direct_commit  a commit that does not open reveals (n = 7), through
#                                                Node.forward / sent by the oracle itself
#   staking.gas_pool_reveal / gas_direct_reveal  a reveal that does not end the round, likewise
#   staking.gas_settle / gas_settle_slash        Node.settleBid with 0 / the whole deposit forfeited
# The tests emit each figure as a `log_named_uint` event; this script reads them from
# `forge test --json -vv` (decoded_logs).
#
# Usage: scripts/contracts-gas.sh     (needs scripts/setup-foundry.sh; $FORGE overrides forge)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
contracts="$root/contracts"

forge="${FORGE:-}"
if [ -z "$forge" ]; then
    if [ -x "$contracts/node_modules/.bin/forge" ]; then
        forge="$contracts/node_modules/.bin/forge"
    elif command -v forge >/dev/null 2>&1; then
        forge="$(command -v forge)"
    else
        echo "contracts-gas: forge not found; run scripts/setup-foundry.sh" >&2
        exit 1
    fi
fi

cd "$contracts"
"$forge" build --quiet >&2
report="$("$forge" test --match-path 'test/gas/*.t.sol' --json -vv)"

# The report goes through stdin: with the SLA gas tests it is too large for an argument.
printf '%s' "$report" | node -e '
const report = JSON.parse(require("fs").readFileSync(0, "utf8"));
const wanted = [
  "gas.oracle_request", "gas.oracle_fulfil",
  "commit_reveal.gas_commit", "commit_reveal.gas_reveal", "commit_reveal.gas_per_oracle",
  "commit_reveal.gas_round_n4", "commit_reveal.gas_round_n7", "commit_reveal.gas_round_n16",
  "commit_reveal.gas_round_n31",
  "staking.gas_stake_1", "staking.gas_stake_100", "staking.gas_stake_10000",
  "staking.gas_withdraw_1", "staking.gas_withdraw_100", "staking.gas_withdraw_10000",
  "staking.gas_distribute_1", "staking.gas_distribute_100", "staking.gas_distribute_10000",
  "staking.gas_pool_bid", "staking.gas_direct_bid", "staking.gas_pool_commit", "staking.gas_direct_commit",
  "staking.gas_pool_reveal", "staking.gas_direct_reveal", "staking.gas_settle", "staking.gas_settle_slash",
];
const found = {};
for (const suite of Object.values(report)) {
  for (const [test, result] of Object.entries(suite.test_results || {})) {
    if (result.status !== "Success") {
      console.error(`contracts-gas: ${test} failed: ${result.reason}`);
      process.exit(1);
    }
    for (const line of result.decoded_logs || []) {
      const m = /^((?:gas|commit_reveal|staking)\.[a-z0-9_]+): (\d+)$/.exec(line.trim());
      if (m) found[m[1]] = Number(m[2]);
    }
  }
}
const out = {};
for (const key of wanted) {
  if (!(key in found)) {
    console.error(`contracts-gas: no ${key} figure in the forge output`);
    process.exit(1);
  }
  out[key] = found[key];
}
console.log(JSON.stringify(out));
'
