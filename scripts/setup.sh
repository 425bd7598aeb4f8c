#!/usr/bin/env bash
# Installs everything orakel needs on a fresh machine, from the package registries only.
# Idempotent: each step checks first and does nothing when its tool is already there.
#   - Rust toolchain components rustfmt and clippy (the machine's rustup toolchain)
#   - node + npm (Debian packages) for the Solidity toolchain
#   - forge, anvil, solc-js, OpenZeppelin (npm, pinned in contracts/package-lock.json)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

say() { echo "setup: $*"; }

command -v cargo >/dev/null 2>&1 || { echo "setup: cargo not found; install Rust (rustup) first" >&2; exit 1; }

for comp in rustfmt clippy; do
    bin=$([ "$comp" = rustfmt ] && echo cargo-fmt || echo cargo-clippy)
    if ! command -v "$bin" >/dev/null 2>&1; then
        say "adding rustup component $comp"
        rustup component add "$comp"
    fi
done

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    say "installing nodejs and npm (Debian)"
    if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq nodejs npm; else sudo apt-get update -qq && sudo apt-get install -y -qq nodejs npm; fi
fi

"$root/scripts/setup-foundry.sh" >/dev/null
say "ok (forge $("$root/contracts/node_modules/.bin/forge" --version | head -1 | awk '{print $3}'), anvil on $root/contracts/node_modules/.bin)"
