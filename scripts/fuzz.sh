#!/usr/bin/env bash
# make fuzz / make fuzz-short: runs every cargo-fuzz target (fuzz/fuzz_targets) for N seconds
# each (default 60; `make fuzz-short` passes a few seconds).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# cargo-fuzz comes from crates.io (pinned below); its instrumentation flags need nightly
# features, which the stable toolchain provides with RUSTC_BOOTSTRAP=1 (no second toolchain
# to download). Targets are built once, without AddressSanitizer: our crates forbid `unsafe`,
# so what the fuzzer looks for is panics, aborts, hangs and runaway memory, which libFuzzer
# catches on its own, and the build is several times faster without the sanitizer.
#
# Each target reads its committed seeds (fuzz/seeds/<target>) and grows its own corpus in
# fuzz/corpus/<target> (not committed). One input running longer than 30 s counts as a hang
# (generous: on a shared, busy machine a niced fuzzer can stall for many seconds). A crash stops the script with a non-zero status and
# leaves the input in fuzz/artifacts/<target>/; reproduce it with
#   cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer none <target> artifacts/<target>/<file>
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-60}"
shift || true
cargo_fuzz_version="0.13.2"

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz $cargo_fuzz_version from crates.io"
    cargo install cargo-fuzz --version "$cargo_fuzz_version" --locked
fi
cd "$root/fuzz"
export RUSTC_BOOTSTRAP=1
flags=(--sanitizer none)

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

start=$(date +%s)
for target in "${targets[@]}"; do
    cargo fuzz build "${flags[@]}" "$target"
done
built=$(date +%s)
echo "fuzz: built ${#targets[@]} targets in $((built - start))s"

summary=()
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target" "seeds/$target"
    echo "fuzz: $target for ${seconds}s"
    log="$(mktemp)"
    if ! cargo fuzz run "${flags[@]}" "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=30 -print_final_stats=1 \
        >"$log" 2>&1; then
        tail -n 60 "$log"
        rm -f "$log"
        echo "fuzz: $target FAILED; see fuzz/artifacts/$target/" >&2
        exit 1
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rm -f "$log"
    summary+=("$target: ${execs:-?} execs in ${seconds}s, 0 crashes")
done
printf 'fuzz: %s\n' "${summary[@]}"
echo "fuzz: no crashes ($(($(date +%s) - start))s in total)"
