#!/usr/bin/env bash
# `make demo`: everything revloop does today, on the embedded store (SQLite), against simulated
# HaloPSA and Xero serving a realistic demo MSP.
set -euo pipefail
cd "$(dirname "$0")/.."
home="$1"
out="$(dirname "$home")"
export REVLOOP_HOME="$home"
unset REVLOOP_DATABASE_URL REVLOOP_CONFIG
export COLUMNS="${COLUMNS:-120}"
rl() { .venv/bin/revloop "$@"; }
step() { printf '\n== %s\n' "$*"; }

rm -rf "$home" "$out/documents"
mkdir -p "$home"

step "1. The rating engine on the worked examples (every figure checked by hand)"
total=$(ls tests/golden/*.yaml | wc -l)
matched=$(rl scenario check tests/golden/*.yaml | grep -c '^OK' || true)
echo "$matched of $total worked examples match their hand-checked figures (tests/golden/)"
rl scenario run tests/golden/02-prepay-runs-out.yaml

step "2. A demo MSP: simulated HaloPSA and Xero (60 clients, a year of work, planted problems)"
info="$out/simulator.json"
.venv/bin/revloop simulate --port 0 --size demo --halopsa-rate-limit 100000 > "$info" 2> "$out/simulator.log" &
sim=$!
trap 'kill $sim 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do [ -s "$info" ] && break; sleep 0.1; done
admin=$(head -n 1 "$info" | .venv/bin/python -c 'import json, sys; print(json.load(sys.stdin)["admin_url"])')
echo "simulators running; admin API at $admin"

step "3. Point revloop at them and connect Xero"
rl init --simulator "$admin"
# The demo MSP's name, and its Xero items for contract fees and expenses, set as an MSP would:
sed -i 's|^# company_name = ""|company_name = "Northgate IT Services Ltd"|; s|^# contract_item_codes = {}|contract_item_codes = { fixed_price = "FEE-FIXED", allowance = "FEE-ALLOW", prepay = "PREPAY" }|; s|^# expense_item_code = ""|expense_item_code = "EXPENSES"|' "$home/revloop.toml"
grep -E '^(company_name|contract_item_codes|expense_item_code)' "$home/revloop.toml"
rl connect xero --custom

step "4. Sync both sides into the store"
rl sync all

step "5. Month end for November 2026 (the open month): preview, bill, approve, post"
rl bill --period 2026-11 --preview | tail -n 12
rl bill --period 2026-11 | tail -n 4
rl approve --all --period 2026-11 --by "demo (finance)"
rl post
rl post | tail -n 1

step "6. Invoices as PDF and the billing report"
rl documents --period 2026-11 --out "$out/documents"

step "7. What needs a person, and the store"
rl findings | tail -n 15
rl status

printf '\nDone. Documents: %s\n' "$out/documents"
