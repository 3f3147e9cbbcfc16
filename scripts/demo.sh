#!/usr/bin/env bash
# `make demo`: everything revloop does today, on the embedded store (SQLite), in one go.
set -euo pipefail
cd "$(dirname "$0")/.."
home="$1"
export REVLOOP_HOME="$home"
unset REVLOOP_DATABASE_URL REVLOOP_CONFIG
rl() { .venv/bin/revloop "$@"; }

echo "== revloop demo (data in $home)"
rm -rf "$home"
mkdir -p "$home"
echo "-- 1. initialise the store"
rl init
echo "-- 2. the store's state"
rl status
echo "-- 3. the rating engine on the worked examples (every figure hand-checked)"
examples=(tests/golden/01-classes-and-overrides.yaml tests/golden/02-prepay-runs-out.yaml)
total=$(ls tests/golden/*.yaml | wc -l)
matched=$(rl scenario check tests/golden/*.yaml | grep -c '^OK')
echo "$matched of $total worked examples match their hand-checked figures (tests/golden/)"
rl scenario run "${examples[1]}"
