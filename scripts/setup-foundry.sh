#!/usr/bin/env bash
# Installs orakel's pinned Solidity toolchain from the npm registry into contracts/node_modules:
#   forge  1.7.1  (@foundry-rs/forge-linux-amd64)   anvil 1.7.1 (@foundry-rs/anvil-linux-amd64)
#   solc-js 0.8.30 (solc, run through contracts/bin/solc)   OpenZeppelin 5.7.0 (@openzeppelin/contracts)
# The exact versions are pinned in contracts/package.json and contracts/package-lock.json.
#
# Idempotent: when node_modules already holds every locked package at its locked version and the
# binaries run, nothing is installed. Otherwise `npm ci` restores node_modules from the lock file.
#
# Where the binaries are: the @foundry-rs/*-linux-amd64 packages ship the native executables in
# their own bin/ folder, and npm links them into node_modules/.bin:
#   contracts/node_modules/@foundry-rs/forge-linux-amd64/bin/forge
#   contracts/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil
#   contracts/node_modules/.bin/forge, contracts/node_modules/.bin/anvil   (symlinks to the above)
# Put contracts/node_modules/.bin on PATH to reach both (the Makefile does). The devnet looks for
# anvil in $ORAKEL_ANVIL, then PATH, then contracts/node_modules/.bin/anvil.
#
# Usage: scripts/setup-foundry.sh            (needs node >= 20 and npm; Linux x86_64 only)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
contracts="$root/contracts"
bin_dir="$contracts/node_modules/.bin"
forge="$contracts/node_modules/@foundry-rs/forge-linux-amd64/bin/forge"
anvil="$contracts/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"

die() {
    echo "setup-foundry: $*" >&2
    exit 1
}

command -v node >/dev/null 2>&1 || die "node (>= 20) is required (Debian: apt-get install nodejs npm)"
command -v npm >/dev/null 2>&1 || die "npm is required (Debian: apt-get install npm)"
[ "$(uname -s)" = Linux ] && [ "$(uname -m)" = x86_64 ] ||
    die "the pinned foundry npm packages are for Linux x86_64 only (this is $(uname -s) $(uname -m))"
[ -f "$contracts/package-lock.json" ] || die "contracts/package-lock.json is missing"

# Prints the locked packages whose installed copy is missing or at another version.
stale_packages() {
    node - "$contracts" <<'NODE'
const fs = require('fs');
const path = require('path');
const dir = process.argv[2];
const lock = JSON.parse(fs.readFileSync(path.join(dir, 'package-lock.json'), 'utf8'));
for (const [key, entry] of Object.entries(lock.packages || {})) {
  if (!key.startsWith('node_modules/') || !entry.version) continue;
  let installed = null;
  try {
    installed = JSON.parse(fs.readFileSync(path.join(dir, key, 'package.json'), 'utf8')).version;
  } catch (_) {}
  if (installed !== entry.version) console.log(`${key.slice('node_modules/'.length)}@${entry.version}`);
}
NODE
}

# The locked version of an npm package.
locked_version() {
    node -e 'const l=require(process.argv[1]);console.log(l.packages["node_modules/"+process.argv[2]].version)' \
        "$contracts/package-lock.json" "$1"
}

toolchain_ok() {
    [ -z "$(stale_packages)" ] || return 1
    [ -x "$forge" ] && [ -x "$anvil" ] && [ -x "$bin_dir/forge" ] && [ -x "$bin_dir/anvil" ] || return 1
    "$forge" --version 2>/dev/null | grep -q "Version: $(locked_version @foundry-rs/forge-linux-amd64)" || return 1
    "$anvil" --version 2>/dev/null | grep -q "Version: $(locked_version @foundry-rs/anvil-linux-amd64)" || return 1
}

if toolchain_ok; then
    echo "setup-foundry: toolchain already installed at the locked versions"
else
    if [ -d "$contracts/node_modules" ]; then
        stale="$(stale_packages | tr '\n' ' ')"
        echo "setup-foundry: updating contracts/node_modules from package-lock.json${stale:+ (missing or changed: ${stale% })}"
    else
        echo "setup-foundry: installing contracts/node_modules from package-lock.json"
    fi
    (cd "$contracts" && npm ci --no-audit --no-fund --loglevel=error)
    toolchain_ok || die "npm ci finished but the toolchain does not check out (see above)"
fi

solc_version="$("$contracts/bin/solc" --version | sed -n 's/^Version: //p')"
[ -n "$solc_version" ] || die "contracts/bin/solc (solc-js wrapper) does not answer --version"

echo "forge: $bin_dir/forge -> $forge ($("$forge" --version | sed -n 's/^forge Version: //p'))"
echo "anvil: $bin_dir/anvil -> $anvil ($("$anvil" --version | sed -n 's/^anvil Version: //p'))"
echo "solc:  $contracts/bin/solc ($solc_version, solc-js)"
echo "PATH:  export PATH=\"$bin_dir:\$PATH\""
