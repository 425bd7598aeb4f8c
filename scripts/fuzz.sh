#!/usr/bin/env bash
# make fuzz: runs every cargo-fuzz target (fuzz/fuzz_targets) for N seconds each (default 60).
# cargo-fuzz comes from crates.io; its sanitizer flags need nightly features, which the stable
# toolchain provides with RUSTC_BOOTSTRAP=1 (no second toolchain to download).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-60}"
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz from crates.io"
    cargo install cargo-fuzz --locked
fi
cd "$root/fuzz"
export RUSTC_BOOTSTRAP=1
for target in $(cargo fuzz list); do
    echo "fuzz: $target for ${seconds}s"
    cargo fuzz run "$target" -- -max_total_time="$seconds" -rss_limit_mb=2048
done
echo "fuzz: no crashes"
