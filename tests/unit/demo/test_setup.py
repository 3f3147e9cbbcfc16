"""The demo MSP's own settings and CSV files, written from its facts."""

from __future__ import annotations

import csv
import io
import tomllib

from revloop.demo.generator import generate
from revloop.demo.setup import agent_costs_csv, apply_settings, contract_terms_csv, settings

FILE = """[billing]
# currency = "GBP"
# contract_item_codes = {}

[costs]
# fx_rates = {}
method = "salary"

[web]
# port = 8000
"""


def test_commented_keys_are_set_in_place_and_missing_ones_added() -> None:
    wanted = {
        "billing": {"contract_item_codes": {"fixed_price": "FEE-FIXED"}},
        "costs": {"fx_rates": {"USD": "1.27"}, "payroll_accounts": ["477"]},
        "notify": {"digest_hour": 8},
    }
    text = apply_settings(FILE, wanted)
    data = tomllib.loads(text)
    assert data["billing"] == {"contract_item_codes": {"fixed_price": "FEE-FIXED"}}
    assert data["costs"] == {"fx_rates": {"USD": "1.27"}, "method": "salary", "payroll_accounts": ["477"]}
    assert data["notify"] == {"digest_hour": 8} and data["web"] == {}
    assert '# currency = "GBP"' in text  # what is not asked for stays commented
    assert apply_settings(text, wanted) == text  # applying twice changes nothing


def test_facts_become_csv_files_and_settings() -> None:
    facts = generate(seed=7, size="small").facts
    costs = list(csv.DictReader(io.StringIO(agent_costs_csv(facts))))
    assert len(costs) == len(facts["agents"]) and costs[0]["hourly_cost"] == facts["agents"][0]["hourly_cost"]
    terms = list(csv.DictReader(io.StringIO(contract_terms_csv(facts))))
    prepay = [c for c in facts["contracts"] if c["prepay"]]
    assert {f"k{c['id']}" for c in prepay} <= {t["code"] for t in terms}
    assert all(t["code"].startswith("k") for t in terms)
    wanted = settings(facts)
    assert wanted["billing"]["contract_item_codes"]["fixed_price"] == "FEE-FIXED"
    assert "GBP" not in wanted["costs"]["fx_rates"]
