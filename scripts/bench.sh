#!/usr/bin/env bash
# make bench: measures the figures BENCHMARKS.md and bench/results.json report.
#   1. contract gas (forge, scripts/contracts-gas.sh)
#   2. pipeline engine throughput (criterion, orakel-pipeline/benches/engine.rs)
#   3. end-to-end direct-request load on anvil (automine) against one release-built node, also
#      at a fifth of the load and on a plain anvil that computes full state roots (references)
#   4. SLA commit–reveal latency on anvil: 7 honest release-built nodes, rounds one after another
#      (bench/out/sla_latency.json)
# Environment: BENCH_RATE (default 250 req/s offered), BENCH_DURATION (default 60s),
#              BENCH_SLA_ROUNDS (default 20).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export PATH="$root/contracts/node_modules/.bin:$PATH"
out="$root/bench/out"
mkdir -p "$out"

rate="${BENCH_RATE:-250}"
duration="${BENCH_DURATION:-60s}"

echo "bench: contract gas"
scripts/contracts-gas.sh > "$out/gas.json"

echo "bench: pipeline engine (criterion)"
cargo bench -p orakel-pipeline --bench engine --locked -- --noplot 2>&1 | tee "$out/engine.txt" | grep -E "time:|thrpt:" || true

echo "bench: bridge round trip over loopback (criterion)"
cargo bench -p orakel-pipeline --bench bridge --locked -- --noplot 2>&1 | tee "$out/bridge.txt" | grep -E "time:" || true

echo "bench: end-to-end direct request, ${rate}/s offered for ${duration}"
cargo build --release -p orakel --locked
./target/release/orakel bench --rate "$rate" --duration "$duration" --json "$out/direct_request.json"

# Reference in the same run: the same node at a fifth of the load, where anvil does not
# saturate the machine's cores, separates the node's own latency from CPU contention.
ref_rate="${BENCH_REF_RATE:-50}"
echo "bench: reference, ${ref_rate}/s offered for 20s"
./target/release/orakel bench --rate "$ref_rate" --duration 20s --json "$out/direct_request_ref.json"

# The same load again on a plain anvil, which rebuilds every block's state root from its whole
# state, zeroed slots included, so each request served makes the blocks after it dearer (the
# main runs fork an idle base anvil, which computes no state roots; ADR 0015). Shows how much
# the chain's growing cost adds. Reported beside the main figures, not instead.
echo "bench: same load on a plain anvil (full state root per block), ${rate}/s offered for ${duration}"
./target/release/orakel bench --rate "$rate" --duration "$duration" --full-state-root --json "$out/direct_request_full_state_root.json"

sla_rounds="${BENCH_SLA_ROUNDS:-20}"
echo "bench: SLA commit–reveal latency, 7 honest nodes, ${sla_rounds} rounds"
./target/release/orakel bench-sla --rounds "$sla_rounds" --json "$out/sla_latency.json"

python3 scripts/bench-report.py "$out" "$rate" "$duration"
