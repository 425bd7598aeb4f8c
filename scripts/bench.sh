#!/usr/bin/env bash
# make bench: measures the figures BENCHMARKS.md and bench/results.json report.
#   1. contract gas (forge, scripts/contracts-gas.sh)
#   2. pipeline engine throughput (criterion, orakel-pipeline/benches/engine.rs)
#   3. end-to-end direct-request load on anvil (automine) against one release-built node, also
#      at a fifth of the load and with anvil and the node in one scheduling group (references)
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

# The same load again with anvil and the node in the bench's own session, one scheduling group
# whose threads all compete with each other (the setting before ADR 0012): on 2 cores anvil mining
# 500 blocks/s takes more than one core, and this shows how much of the latency is waiting for a
# core the chain holds. Reported beside the main figures, not instead.
echo "bench: same load, anvil and node in one session, ${rate}/s offered for ${duration}"
./target/release/orakel bench --rate "$rate" --duration "$duration" --one-session --json "$out/direct_request_one_session.json"

sla_rounds="${BENCH_SLA_ROUNDS:-20}"
echo "bench: SLA commit–reveal latency, 7 honest nodes, ${sla_rounds} rounds"
./target/release/orakel bench-sla --rounds "$sla_rounds" --json "$out/sla_latency.json"

python3 scripts/bench-report.py "$out" "$rate" "$duration"
