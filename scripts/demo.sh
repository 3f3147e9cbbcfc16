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
