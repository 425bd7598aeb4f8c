#!/usr/bin/env bash
# Fails when the committed Rust-side artifacts (crates/orakel-contracts/artifacts/*.json) do not
# match what the current contracts/src compiles to. Re-exports into a temporary directory with
# scripts/export-artifacts.sh and compares file by file.
#
# Usage: scripts/check-artifacts.sh      (fix a failure with scripts/export-artifacts.sh and commit)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
committed="$root/crates/orakel-contracts/artifacts"
fresh="$(mktemp -d)"
trap 'rm -rf "$fresh"' EXIT

"$root/scripts/export-artifacts.sh" "$fresh" >/dev/null

stale=()
for file in "$fresh"/*.json; do
    name="$(basename "$file")"
    if [ ! -f "$committed/$name" ]; then
        stale+=("$name (missing)")
    elif ! cmp -s "$file" "$committed/$name"; then
        stale+=("$name (differs)")
    fi
done
for file in "$committed"/*.json; do
    [ -e "$file" ] || continue
    name="$(basename "$file")"
    [ -f "$fresh/$name" ] || stale+=("$name (no longer exported)")
done

if [ "${#stale[@]}" -gt 0 ]; then
    echo "check-artifacts: STALE contract artifacts in crates/orakel-contracts/artifacts:" >&2
    for entry in "${stale[@]}"; do
        echo "  - $entry" >&2
    done
    echo "check-artifacts: run scripts/export-artifacts.sh and commit the result" >&2
    exit 1
fi
echo "check-artifacts: crates/orakel-contracts/artifacts is up to date ($(ls "$fresh" | wc -l) files)"
