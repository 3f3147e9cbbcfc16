"""Every scenario file in this folder must match its expected figures."""

from __future__ import annotations

from pathlib import Path

import pytest

from revloop.services import scenario

HERE = Path(__file__).parent
FILES = sorted(HERE.glob("*.yaml"))


def test_there_are_enough_scenarios() -> None:
    assert len(FILES) >= 42


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_scenario_matches(path: Path) -> None:
    result = scenario.check(path)
    assert result.ok, f"{path.name}:\n" + "\n".join(result.diff)
