from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path

import pytest
from typer.testing import CliRunner

from revloop.cli.errors import guarded
from revloop.cli.scenario import app
from revloop.domain.issues import ScenarioError
from revloop.services import scenario

E = '  - {{id: {0}, customer: {1}, charge_type: {2}, start: "{3}", minutes: {4}}}\n'
GOLDEN = Path(__file__).resolve().parents[2] / "golden"
BASE = """name: t
period: {start: 2026-10-01, end: 2026-11-01}
calendar:
  working_hours: {mon: "08:30-17:30"}
tax_rates: {OUTPUT2: "20"}
charge_types:
  remote:
    item_code: LAB
    tax_code: OUTPUT2
    rates: [{effective_from: 2026-01-01, hourly_rate: "95.00"}]
customers:
  acme: {name: Acme}
"""


def write(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(BASE + extra)
    return path


@pytest.mark.parametrize(
    ("extra", "key", "problem"),
    [
        ("bogus: 1\n", "bogus", "unknown key"),
        (
            "entries:\n" + E.format("e1", "acme", "remote", "2026-10-05T10:00", "1.5"),
            "entries[0].minutes",
            "float",
        ),
        (
            "entries:\n" + E.format("e1", "nobody", "remote", "2026-10-05T10:00", 15),
            "entries[0].customer",
            "no customer",
        ),
        (
            "entries:\n"
            + E.format("e1", "acme", "remote", "2026-10-05T25:00", 15)
            + E.format("e2", "acme", "remote", "2026-10-05T10:00", 15),
            "entries[0].start",
            "date and time",
        ),
        (
            "entries:\n"
            + E.format("e1", "acme", "remote", "2026-10-05T10:00", 15)
            + E.format("e2", "acme", "remote", "2026-10-05T10:00", 15)
            + E.format("e3", "acme", "nope", "2026-10-05T10:00", 15),
            "entries[2].charge_type",
            "no charge type",
        ),
        (
            "contracts:\n  c1: {customer: acme, kind: prepay, start: 2026-13-01}\n",
            "contracts.c1.start",
            "date",
        ),
        (
            "contracts:\n  c1: {customer: acme, kind: fixed_price, start: 2026-01-01}\n",
            "contracts.c1.fee",
            "required",
        ),
        ("settings: {rounding_scope: weekly}\n", "settings.rounding_scope", "expected one of"),
        ("settings: {timezone: Mars/Base}\n", "settings.timezone", "unknown timezone"),
        ('opening_balances: {ghost: "1"}\n', "opening_balances.ghost", "no contract"),
        (
            "expect: {invoices: [{key: k, lines: [{kind: labour, amount: 1.25}]}]}\n",
            "expect.invoices[0].lines[0].amount",
            "float",
        ),
    ],
)
def test_bad_files_name_file_key_and_problem(tmp_path: Path, extra: str, key: str, problem: str) -> None:
    path = write(tmp_path, extra)
    with pytest.raises(ScenarioError) as caught:
        scenario.load(path)
    message = caught.value.message
    assert str(path) in message
    assert f": {key}: " in message
    assert problem in message


def test_global_row_must_not_be_a_percentage(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(BASE.replace('hourly_rate: "95.00"', 'percent: "90"'))
    with pytest.raises(ScenarioError, match=r"charge_types\.remote\.rates\[0\]\.percent"):
        scenario.load(path)


def test_invalid_yaml_is_a_scenario_error(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("name: [unclosed\n")
    with pytest.raises(ScenarioError, match="not valid YAML at line"):
        scenario.load(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read"):
        scenario.load(tmp_path / "nope.yaml")


def test_output_shape_uses_strings_for_numbers() -> None:
    out = scenario.run_file(GOLDEN / "02-prepay-runs-out.yaml")
    inv = out["invoices"][0]
    assert inv["key"] == "revloop:acme:all:2026-10-01"
    assert inv["subtotal"] == "85.00" and inv["total"] == "102.00"
    line = inv["lines"][0]
    fields = "kind item_code account_code description class quantity unit_amount amount tax_code tax sources"
    assert set(line) >= {*fields.split(), "explanation"}
    assert all(isinstance(line[k], str) for k in ("quantity", "unit_amount", "amount", "tax"))
    assert out["balances"] == {"acme-prepay": "0.0000"}
    assert out["findings"][0]["code"] == "prepay.below_threshold"
    assert [x["kind"] for x in inv["lines"]] == ["recurring", "covered", "covered", "labour"]


def test_compare_reports_missing_unexpected_totals_balances_issues() -> None:
    expect = {
        "invoices": [
            {"key": "k1", "total": D("12.00"),
             "lines": [{"kind": "labour", "amount": D("10.00"), "quantity": D(1)}]},
            {"key": "k2", "lines": []},
        ],
        "balances": {"c": D(1)},
        "issues": [("rate.missing", "e1")],
        "findings": [("prepay.below_threshold", "c")],
    }  # fmt: skip
    output = {
        "invoices": [
            {"key": "k1", "total": "13.00", "lines": [
                {"kind": "labour", "item_code": "X", "class": "normal", "quantity": "2.0000",
                 "unit_amount": "5.0000", "amount": "10.00", "tax_code": "T", "tax": "2.00",
                 "sources": ["e2"]},
            ]},
            {"key": "k3", "total": "1.00", "lines": []},
        ],
        "balances": {"c": "2.0000"},
        "issues": [{"code": "tax.unknown_code", "severity": "error", "subject": "r1", "message": "m"}],
        "findings": [],
    }  # fmt: skip
    diff = "\n".join(scenario.compare(expect, output))
    for part in (
        "invoice k1:",
        "missing line: labour",
        "unexpected line: labour X normal, 2.0000 x 5.0000 = 10.00",
        "total: expected 12.00, got 13.00",
        "invoice k2: expected but not produced",
        "invoice k3: produced but not expected",
        "balance c: expected 1, got 2.0000",
        "issue rate.missing on e1: expected but not raised",
        "issue tax.unknown_code on r1: raised (error) but not expected",
        "finding prepay.below_threshold on c: expected but not raised",
    ):
        assert part in diff


runner = CliRunner()


def test_cli_run_json_and_table() -> None:
    result = runner.invoke(app, ["run", str(GOLDEN / "01-classes-and-overrides.yaml"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["invoices"][1]["total"] == "51.30"
    table = runner.invoke(app, ["run", str(GOLDEN / "01-classes-and-overrides.yaml")])
    assert table.exit_code == 0 and "revloop:globex:all:2026-10-01" in table.output


def test_cli_check_ok_and_fail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = GOLDEN / "02-prepay-runs-out.yaml"
    bad = tmp_path / "bad.yaml"
    bad.write_text(good.read_text().replace('total: "102.00"', 'total: "103.00"'))
    ok = runner.invoke(app, ["check", str(good), str(GOLDEN / "01-classes-and-overrides.yaml")])
    assert ok.exit_code == 0 and ok.output.count("OK") == 2
    code = guarded(lambda: app(["check", str(good), str(bad)], standalone_mode=False))
    captured = capsys.readouterr()
    assert code == 1
    assert "FAIL" in captured.out and "total: expected 103.00, got 102.00" in captured.out
    assert "Traceback" not in captured.out + captured.err
    assert "scenario.mismatch" in captured.err


def test_cli_bad_file_is_one_line_not_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "bogus: 1\n")
    code = guarded(lambda: app(["run", str(path)], standalone_mode=False))
    captured = capsys.readouterr()
    assert code == 4
    assert captured.err.strip().count("\n") == 0
    assert "bogus: unknown key" in captured.err and "Traceback" not in captured.err
