"""A month end as a person runs it, over real HTTP against `revloop simulate`: sync, preview, bill,
approve, post; a month posts once, posting again creates nothing, and Xero's figures equal the
preview on every invoice."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from tests.simulator_process import small_simulator

from .test_cli import revloop


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:  # type: ignore[type-arg]
    with small_simulator(tmp_path_factory.mktemp("sim")) as info:
        yield info


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr + result.stdout
    assert "Traceback" not in result.stderr
    return result.stdout


def test_month_end_posts_once(simulator: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    env = {"REVLOOP_HOME": str(tmp_path / "home")}
    _ok(revloop("init", "--simulator", simulator["admin_url"], env=env))
    settings = tmp_path / "home" / "revloop.toml"
    text = settings.read_text()
    text = text.replace(
        "# contract_item_codes = {}",
        'contract_item_codes = { fixed_price = "FEE-FIXED", allowance = "FEE-ALLOW", prepay = "PREPAY" }',
    )
    settings.write_text(text.replace('# expense_item_code = ""', 'expense_item_code = "EXPENSES"'))
    _ok(revloop("connect", "xero", "--custom", env=env))
    _ok(revloop("sync", "all", env=env))

    preview = _ok(revloop("bill", "--period", "2026-11", "--preview", env=env))
    assert "Preview only: nothing was stored." in preview
    assert json.loads(_ok(revloop("invoices", "--json", env=env))) == {"invoices": []}

    _ok(revloop("bill", "--period", "2026-11", env=env))
    drafts = {i["key"]: i for i in json.loads(_ok(revloop("invoices", "--json", env=env)))["invoices"]}
    assert drafts and {i["status"] for i in drafts.values()} == {"draft"}
    _ok(revloop("approve", "--all", "--period", "2026-11", "--by", "finance", env=env))

    first = _ok(revloop("post", env=env))
    summary = re.search(r"(\d+) posted, (\d+) recovered, (\d+) rejected, (\d+) unmapped", first)
    assert summary is not None and summary.groups() == (str(len(drafts)), "0", "0", "0"), first
    assert "differ from Xero" not in first
    stamped = re.search(r"(\d+) HaloPSA actions stamped", first)
    assert stamped is not None and int(stamped.group(1)) > 0, first

    posted = {i["key"]: i for i in json.loads(_ok(revloop("invoices", "--json", env=env)))["invoices"]}
    for key, invoice in posted.items():
        assert invoice["status"] == "posted" and invoice["number"], key
        # Xero's read-back equals the preview (the drafts' figures) on every invoice
        assert Decimal(invoice["xero_total"]) == Decimal(invoice["total"]) == Decimal(drafts[key]["total"]), (
            key
        )

    again = _ok(revloop("post", env=env))
    assert "0 posted, 0 recovered, 0 rejected, 0 unmapped; 0 Xero calls" in again
    findings = json.loads(_ok(revloop("findings", "--json", "--code", "amount.mismatch", env=env)))
    assert findings == {"findings": []}


def test_sync_over_http_quiet_run_and_one_change(simulator: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    """A second sync with nothing changed makes at most one call per resource (the simulator's own
    request log says so); after one action is edited in HaloPSA, exactly that change lands."""
    import httpx
    import sqlalchemy as sa

    env = {"REVLOOP_HOME": str(tmp_path / "home")}
    _ok(revloop("init", "--simulator", simulator["admin_url"], env=env))
    _ok(revloop("connect", "xero", "--custom", env=env))
    _ok(revloop("sync", "all", env=env))
    admin = simulator["admin_url"]
    httpx.delete(f"{admin}/log", timeout=10).raise_for_status()
    _ok(revloop("sync", "all", env=env))
    counts = httpx.get(f"{admin}/log", timeout=10).json()["counts"]
    data_calls = {route: n for route, n in counts.items() if "/token" not in route}
    assert data_calls and max(data_calls.values()) == 1, data_calls

    halo = simulator["halopsa"]
    token = httpx.post(
        f"{halo['auth_url']}/token",
        data={
            "grant_type": "client_credentials",
            "client_id": halo["client_id"],
            "client_secret": halo["client_secret"],
            "scope": "all",
            "tenant": halo["tenant"],
        },
        timeout=10,
    ).json()["access_token"]
    store = sa.create_engine(f"sqlite:///{tmp_path / 'home' / 'revloop.db'}")
    with store.connect() as conn:
        key, before = conn.execute(
            sa.text("select source_key, minutes from time_entries order by id limit 1")
        ).one()
        total_before = conn.execute(sa.text("select count(*), sum(minutes) from time_entries")).one()
    ticket, action = key.split("/")
    edited = httpx.post(
        f"{halo['base_url']}/api/Actions",
        headers={"Authorization": f"Bearer {token}"},
        json=[{"ticket_id": int(ticket), "id": int(action), "timetaken": "2.5"}],
        timeout=10,
    )
    assert edited.status_code in (200, 201), edited.text
    _ok(revloop("sync", "halopsa", env=env))
    with store.connect() as conn:
        after = conn.execute(
            sa.text("select minutes from time_entries where source_key = :k"), {"k": key}
        ).scalar()
        total_after = conn.execute(sa.text("select count(*), sum(minutes) from time_entries")).one()
    store.dispose()
    assert after == 1500000 and after != before  # 2.5 h = 150 minutes, stored in 1/10,000
    assert total_after[0] == total_before[0]
    assert total_after[1] - total_before[1] == after - before  # nothing else moved


def test_local_overrides_survive_sync(simulator: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    import sqlalchemy as sa

    env = {"REVLOOP_HOME": str(tmp_path / "home")}
    _ok(revloop("init", "--simulator", simulator["admin_url"], env=env))
    _ok(revloop("connect", "xero", "--custom", env=env))
    _ok(revloop("sync", "halopsa", env=env))
    store = sa.create_engine(f"sqlite:///{tmp_path / 'home' / 'revloop.db'}")
    with store.connect() as conn:
        code, customer = conn.execute(
            sa.text(
                "select k.code, c.code from contracts k join customers c on c.id = k.customer_id "
                "where k.kind = 'prepay' order by k.id limit 1"
            )
        ).one()
        charge_type = conn.execute(sa.text("select code from charge_types order by id limit 1")).scalar_one()
    _ok(revloop("contract", "set", code, "--threshold", "2.5", "--auto-topup", "10", "--by", "ann", env=env))
    terms = tmp_path / "terms.csv"
    terms.write_text(f"code,covers,on_exhausted\n{code},{charge_type},negative\n")
    _ok(revloop("contract", "import", str(terms), env=env))
    wrong = tmp_path / "wrong.csv"
    wrong.write_text(f"code,on_exhausted\n{code},payg\nk-none,payg\n")
    refused_import = revloop("contract", "import", str(wrong), env=env)
    assert refused_import.returncode != 0 and "k-none" in refused_import.stderr
    _ok(
        revloop(
            "rate",
            "add",
            "--charge-type",
            charge_type,
            "--customer",
            customer,
            "--from",
            "2026-11-01",
            "--percent",
            "90",
            env=env,
        )
    )
    refused = revloop(
        "rate", "add", "--charge-type", charge_type, "--from", "2026-11-01", "--percent", "90", env=env
    )
    assert refused.returncode == 4 and "needs --rate" in refused.stderr
    _ok(revloop("sync", "halopsa", "--full", env=env))
    with store.connect() as conn:
        terms = conn.execute(
            sa.text("select threshold, auto_topup from contracts where code = :c"), {"c": code}
        ).one()
        imported = conn.execute(
            sa.text("select covers, on_exhausted from contracts where code = :c"), {"c": code}
        ).one()
        local = conn.execute(sa.text("select count(*) from rate_rows where source = 'local'")).scalar_one()
    store.dispose()
    assert terms == (25000, 100000) and local == 1  # 2.5 and 10 in 1/10,000
    assert imported == (f'["{charge_type}"]', "negative")  # the refused file changed nothing
    listing = _ok(revloop("contract", "list", "--customer", customer, env=env))
    assert code in listing
