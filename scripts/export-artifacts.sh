#!/usr/bin/env bash
# Builds contracts/src with forge and writes the artifacts the Rust side binds to:
#   crates/orakel-contracts/artifacts/<Name>.json = {"abi": [...], "bytecode": {"object": "0x..."},
#                                                    "deployedBytecode": {"object": "0x..."}}
# for every contract in CONTRACTS below, and {"abi": [...]} only for every interface in INTERFACES
# (interfaces have no bytecode; the Rust side binds them to talk to contracts whose
# implementation is deployed from elsewhere or not exported yet). Output is pretty-printed with sorted keys and a trailing
# newline, so diffs are readable and re-running on a fresh clone gives byte-identical files
# (foundry.toml drops the metadata hash/CBOR trailer from the bytecode).
#
# Usage: scripts/export-artifacts.sh [DEST_DIR]     (default: crates/orakel-contracts/artifacts)
# Needs the toolchain from scripts/setup-foundry.sh; $FORGE overrides which forge is used.
# Builds into a temporary out/cache dir, so contracts/out and contracts/cache are left alone.
set -euo pipefail

CONTRACTS=(
    LinkToken Oracle PriceConsumer RevertingConsumer
    SlaMarket SlaFeed Reputation
    TrimmedMeanAggregator MedianAggregator ModeAggregator TwoDevAggregator
    PoolRegistry PoolStorage LinkPool Node NodeFactory NodeStaking PoolOwners
)
# None at the moment: the SLA market is bound to its implementation (SlaMarket), which carries
# the interface's ABI plus its custom errors and extra views.
INTERFACES=()

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
contracts="$root/contracts"
dest="${1:-$root/crates/orakel-contracts/artifacts}"

forge="${FORGE:-}"
if [ -z "$forge" ]; then
    if [ -x "$contracts/node_modules/.bin/forge" ]; then
        forge="$contracts/node_modules/.bin/forge"
    elif command -v forge >/dev/null 2>&1; then
        forge="$(command -v forge)"
    else
        echo "export-artifacts: forge not found; run scripts/setup-foundry.sh" >&2
        exit 1
    fi
fi

build="$(mktemp -d)"
trap 'rm -rf "$build"' EXIT

# Only src/ is compiled: the deployable bytecode must not depend on tests or scripts.
(cd "$contracts" && "$forge" build src --out "$build/out" --cache-path "$build/cache" --force --quiet)

mkdir -p "$dest"
node - "$build/out" "$dest" "${CONTRACTS[@]}" -- "${INTERFACES[@]}" <<'NODE'
const fs = require('fs');
const path = require('path');
const [outDir, dest, ...rest] = process.argv.slice(2);
const split = rest.indexOf('--');
const names = split < 0 ? rest : rest.slice(0, split);
const interfaces = split < 0 ? [] : rest.slice(split + 1);

// Recursively sorts object keys; arrays keep their order (ABI order is the compiler's).
function sortKeys(value) {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys(value[k])]));
  }
  return value;
}

for (const name of names) {
  const file = path.join(outDir, `${name}.sol`, `${name}.json`);
  if (!fs.existsSync(file)) {
    console.error(`export-artifacts: no forge artifact for ${name} (expected ${name}.sol defining ${name})`);
    process.exit(1);
  }
  const artifact = JSON.parse(fs.readFileSync(file, 'utf8'));
  const bytecode = artifact.bytecode && artifact.bytecode.object;
  const deployed = artifact.deployedBytecode && artifact.deployedBytecode.object;
  if (!bytecode || bytecode === '0x' || !deployed || deployed === '0x') {
    console.error(`export-artifacts: ${name} has no bytecode (abstract contract or interface?)`);
    process.exit(1);
  }
  if (/__\$[0-9a-fA-F]{34}\$__/.test(bytecode)) {
    console.error(`export-artifacts: ${name} needs library linking, which is not supported`);
    process.exit(1);
  }
  const out = {
    abi: sortKeys(artifact.abi),
    bytecode: { object: bytecode },
    deployedBytecode: { object: deployed },
  };
  fs.writeFileSync(path.join(dest, `${name}.json`), JSON.stringify(out, null, 2) + '\n');
}

// Interfaces: the ABI only. Anything with bytecode is a contract and belongs in CONTRACTS.
for (const name of interfaces) {
  const file = path.join(outDir, `${name}.sol`, `${name}.json`);
  if (!fs.existsSync(file)) {
    console.error(`export-artifacts: no forge artifact for ${name} (expected ${name}.sol defining ${name})`);
    process.exit(1);
  }
  const artifact = JSON.parse(fs.readFileSync(file, 'utf8'));
  const bytecode = artifact.bytecode && artifact.bytecode.object;
  if (bytecode && bytecode !== '0x') {
    console.error(`export-artifacts: ${name} has bytecode; list it in CONTRACTS, not INTERFACES`);
    process.exit(1);
  }
  const out = { abi: sortKeys(artifact.abi) };
  fs.writeFileSync(path.join(dest, `${name}.json`), JSON.stringify(out, null, 2) + '\n');
}
const written = names.concat(interfaces);
console.log(`export-artifacts: wrote ${written.map((n) => n + '.json').join(', ')} to ${dest}`);
NODE
