#!/usr/bin/env bash
# Prints the gas of the two hot paths of the direct-request flow as one flat JSON object:
#   {"gas.oracle_request": N, "gas.oracle_fulfil": M}
#
# Method: contracts/test/gas/Gas.t.sol makes each call once from a forge test and reads
# `vm.lastCallGas().gasTotalUsed` — the execution gas of that one external call frame, without a
# transaction's 21,000 base cost and calldata cost:
#   gas.oracle_request = PriceConsumer.requestPrice -> LINK.transferAndCall -> Oracle.onTokenTransfer
#                        -> oracleRequest (the consumer's second request, so its nonce slot is set)
#   gas.oracle_fulfil  = Oracle.fulfillOracleRequest including the PriceConsumer.fulfill callback,
#                        for a request made in setUp (a separate transaction: cold storage)
# The test emits each figure as a `log_named_uint` event; this script reads them from
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
report="$("$forge" test --match-path 'test/gas/Gas.t.sol' --json -vv)"

node -e '
const report = JSON.parse(process.argv[1]);
const wanted = ["gas.oracle_request", "gas.oracle_fulfil"];
const found = {};
for (const suite of Object.values(report)) {
  for (const [test, result] of Object.entries(suite.test_results || {})) {
    if (result.status !== "Success") {
      console.error(`contracts-gas: ${test} failed: ${result.reason}`);
      process.exit(1);
    }
    for (const line of result.decoded_logs || []) {
      const m = /^(gas\.[a-z_]+): (\d+)$/.exec(line.trim());
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
' "$report"
