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

rm -rf "$home" "$out/documents" "$out/setup" "$out/snapshot"
mkdir -p "$home"

step "1. The rating engine on the worked examples (every figure checked by hand)"
total=$(ls tests/golden/*.yaml | wc -l)
matched=$(rl scenario check tests/golden/*.yaml | grep -c '^OK' || true)
echo "$matched of $total worked examples match their hand-checked figures (tests/golden/)"
rl scenario run tests/golden/02-prepay-runs-out.yaml

step "2. A demo MSP: simulated HaloPSA and Xero (60 clients, a year of work, planted problems)"
info="$out/simulator.json"
.venv/bin/revloop simulate --port 0 --size demo --halopsa-rate-limit 100000 --snapshot-dir "$out/snapshot" \
  > "$info" 2> "$out/simulator.log" &
sim=$!
trap 'kill $sim 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do [ -s "$info" ] && break; sleep 0.1; done
admin=$(head -n 1 "$info" | .venv/bin/python -c 'import json, sys; print(json.load(sys.stdin)["admin_url"])')
echo "simulators running; admin API at $admin"

step "3. Point revloop at them and connect Xero"
rl init --simulator "$admin"
# What the MSP tells revloop beside HaloPSA and Xero: its name, fee item codes, the cost model's inputs
# (settings), its agents' costs and its contracts' local terms (CSV files imported below).
sed -i 's|^# company_name = ""|company_name = "Northgate IT Services Ltd"|; s|^# expense_item_code = ""|expense_item_code = "EXPENSES"|' "$home/revloop.toml"
.venv/bin/python -m revloop.demo.setup "$out/snapshot/facts.json" "$home/revloop.toml" "$out/setup"
grep -E '^(company_name|contract_item_codes|expense_item_code|fx_rates)' "$home/revloop.toml"
rl connect xero --custom

step "4. Sync both sides into the store; the MSP's own terms and costs"
rl sync all
rl contract import "$out/setup/contract-terms.csv"
rl costs import "$out/setup/agent-costs.csv"
rl costs pnl --from 2025-11 --to 2026-10 | tail -n 3

step "5. Month end for November 2026 (the open month): preview, bill, approve, post"
rl bill --period 2026-11 --preview | tail -n 12
rl bill --period 2026-11 | tail -n 4
rl approve --all --period 2026-11 --by "demo (finance)"
rl post
rl post | tail -n 1

step "6. Invoices as PDF and the billing report"
rl documents --period 2026-11 --out "$out/documents"

step "7. Reconciliation: where money leaks (HaloPSA, revloop and Xero compared)"
rl reconcile --report "$out/documents/reconciliation" | tail -n 25
planted=$(.venv/bin/python -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$out/snapshot/manifest.json")
found=$(.venv/bin/python - "$out/snapshot/manifest.json" "$out/documents/reconciliation/reconciliation.json" <<'PY'
import json, sys
planted = json.load(open(sys.argv[1]))
found = json.load(open(sys.argv[2]))["findings"]
hit = sum(
    1
    for p in planted
    if any(f["code"] == p["code"] and set(p["subjects"]) <= set(f["subjects"]) and f["amount"] == p["amount"] for f in found)
)
print(hit)
PY
)
echo "$found of $planted planted problems found with their amounts (the generator's manifest)"

step "8. True profit per client and service line (the 12 closed months)"
rl costs show | tail -n 6
rl profit --from 2025-11 --to 2026-10 --by client --charts "$out/documents/charts" | tail -n 25
rl profit --from 2025-11 --to 2026-10 --by service-line | tail -n 12

step "9. What needs a person, and the store"
rl findings | tail -n 15
rl status

printf '\nDocuments, reconciliation report and charts: %s\n' "$out/documents"

step "10. The dashboard on the demo data"
password=$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(12))')
printf '%s\n' "$password" | rl user add finance --role finance > /dev/null
printf '%s\n' "$password" | rl user add admin --role admin > /dev/null
port="${DEMO_PORT:-8000}"
echo "Sign in at http://127.0.0.1:$port/ as 'finance' (or 'admin', who also manages users and settings)"
echo "with the password: $password"
if [ -t 1 ] && [ "${DEMO_SERVE:-1}" = 1 ]; then
  echo "Serving until Ctrl+C (the simulated HaloPSA and Xero stay up meanwhile)."
  rl serve --port "$port" || true
else
  echo "To serve it: REVLOOP_HOME=$home .venv/bin/revloop serve --port $port"
fi
