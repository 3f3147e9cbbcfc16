"""What an MSP tells revloop that HaloPSA and Xero do not hold, written from the demo MSP's facts.

``python -m revloop.demo.setup FACTS_JSON SETTINGS_TOML OUT_DIR`` writes, as an MSP would prepare
them:

- ``OUT_DIR/agent-costs.csv`` for ``revloop costs import`` (salaries, on-costs, productive hours);
- ``OUT_DIR/contract-terms.csv`` for ``revloop contract import`` (covered charge types, prepay
  thresholds, what happens when a balance runs out);
- settings in ``SETTINGS_TOML`` (the file ``revloop init`` wrote, every key commented): the fee item
  codes, the cost model's inputs (supplier costs of recurring items, service lines of items, FX
  rates, mileage cost, P&L accounts). A commented key is set in place; its section keeps its place.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

FEE_ITEMS = {"fixed_price": "FEE-FIXED", "allowance": "FEE-ALLOW", "prepay": "PREPAY"}
PAYROLL_ACCOUNTS = ["477", "478"]


def agent_costs_csv(facts: dict[str, Any]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["agent", "from", "salary", "oncost_percent", "productive_hours", "hourly_cost"])
    for agent in facts["agents"]:
        oncost = Decimal(str(agent["on_cost_rate"])) * 100
        writer.writerow(
            [
                agent["id"],
                "2024-01-01",
                agent["salary"],
                oncost.normalize(),
                agent["productive_hours"],
                agent["hourly_cost"],
            ]
        )
    return buffer.getvalue()


def contract_terms_csv(facts: dict[str, Any]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["code", "covers", "threshold", "on_exhausted"])
    for contract in facts["contracts"]:
        prepay = contract.get("prepay") or {}
        covers = ",".join(f"ct{x}" for x in contract["covers"])
        if not covers and not prepay:
            continue
        writer.writerow(
            [f"k{contract['id']}", covers, prepay.get("threshold", ""), prepay.get("on_exhausted", "")]
        )
    return buffer.getvalue()


def settings(facts: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Settings by section, as the demo MSP would set them."""
    base = facts["currency"]
    return {
        "billing": {"contract_item_codes": dict(FEE_ITEMS)},
        "costs": {
            "item_unit_costs": {
                r["item_code"]: str(r["unit_cost"]) for rows in facts["recurring"].values() for r in rows
            },
            "service_lines": dict(facts["service_lines"]["items"]),
            "fx_rates": {k: str(v) for k, v in facts["fx"].items() if k != base},
            "mileage_cost_per_unit": str(facts["mileage_rate"]),
            "payroll_accounts": list(PAYROLL_ACCOUNTS),
            "overhead_accounts": list(facts["overheads"]["accounts"]),
        },
    }


def apply_settings(text: str, wanted: dict[str, dict[str, Any]]) -> str:
    """Set ``wanted`` keys in a settings file: a commented or set key is replaced where it stands;
    a key the file lacks is added at the end of its section (the section is added if missing)."""
    lines = text.splitlines()
    section = ""
    placed: set[tuple[str, str]] = set()
    ends: dict[str, int] = {}
    out: list[str] = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped.strip("[]").strip()
        key = stripped.lstrip("#").strip().split("=", 1)[0].strip() if "=" in stripped else ""
        if section in wanted and key in wanted[section] and (section, key) not in placed:
            out.append(_line(key, wanted[section][key]))
            placed.add((section, key))
        else:
            out.append(line)
        if section:
            ends[section] = len(out)
    for name in wanted:
        missing = [(k, v) for k, v in wanted[name].items() if (name, k) not in placed]
        if not missing:
            continue
        added = [_line(k, v) for k, v in missing]
        if name in ends:
            at = ends[name]
            out[at:at] = added
            ends = {s: (i + len(added) if i >= at and s != name else i) for s, i in ends.items()}
            ends[name] = at + len(added)
        else:
            out += ["", f"[{name}]", *added]
    return "\n".join(out) + "\n"


def _line(key: str, value: Any) -> str:
    return f"{key} = {_toml(value)}"


def _toml(value: Any) -> str:
    """A TOML value on one line (tables inline): strings, numbers, booleans, lists and tables."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {_toml(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML for {type(value).__name__}")


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: python -m revloop.demo.setup FACTS_JSON SETTINGS_TOML OUT_DIR", file=sys.stderr)
        return 2
    facts = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    settings_file, out = Path(argv[1]), Path(argv[2])
    out.mkdir(parents=True, exist_ok=True)
    (out / "agent-costs.csv").write_text(agent_costs_csv(facts), encoding="utf-8")
    (out / "contract-terms.csv").write_text(contract_terms_csv(facts), encoding="utf-8")
    settings_file.write_text(
        apply_settings(settings_file.read_text(encoding="utf-8"), settings(facts)), encoding="utf-8"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
