#!/usr/bin/env bash
# Installs everything orakel needs on a fresh machine, from the package registries only.
# Idempotent: each step checks first and does nothing when its tool is already there.
#   - Rust toolchain components rustfmt and clippy (the machine's rustup toolchain)
#   - node + npm (Debian packages) for the Solidity toolchain
#   - forge, anvil, solc-js, OpenZeppelin (npm, pinned in contracts/package-lock.json)
#   - the sample external adapter built with @chainlink/external-adapter-framework
#     (npm, pinned in adapters/ea-framework/package-lock.json; `npm ci` when stale)
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

# adapters/ea-framework: reinstall from the lock file only when an installed package is
# missing or at another version than locked.
ea="$root/adapters/ea-framework"
ea_stale=$(node - "$ea" <<'NODE'
const fs = require('fs');
const path = require('path');
const dir = process.argv[2];
const lock = JSON.parse(fs.readFileSync(path.join(dir, 'package-lock.json'), 'utf8'));
let stale = 0;
for (const [key, entry] of Object.entries(lock.packages || {})) {
  if (!key.startsWith('node_modules/') || !entry.version || entry.optional) continue;
  let installed = null;
  try {
    installed = JSON.parse(fs.readFileSync(path.join(dir, key, 'package.json'), 'utf8')).version;
  } catch (_) {}
  if (String(installed).replace(/^v/, '') !== entry.version) stale++;
}
console.log(stale);
NODE
)
if [ "$ea_stale" != 0 ]; then
    say "installing the framework adapter's npm packages (adapters/ea-framework, npm ci)"
    (cd "$ea" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
say "ok (forge $("$root/contracts/node_modules/.bin/forge" --version | head -1 | awk '{print $3}'), anvil on $root/contracts/node_modules/.bin)"
