"""Paging a date window of actions across tickets: action ids repeat from ticket to ticket, so the
repeated-page guard must compare (ticket, id), not the id alone."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from revloop.adapters.halopsa.client import HaloClient
from revloop.simulators.halopsa import HaloSimulator


def test_an_action_window_pages_across_tickets(hsim: HaloSimulator, halo: HaloClient) -> None:
    tickets = [{"id": t, "client_id": 1, "summary": f"T{t}"} for t in range(1, 151)]
    actions = [
        {
            "id": a,
            "ticket_id": t,
            "outcome": "Remote Support",
            "timetaken": Decimal("0.5"),
            "actionarrivaldate": "2026-10-01T09:00:00",
            "last_updated": "2026-10-01T10:00:00",
        }
        for t in range(1, 151)
        for a in (1, 2)
    ]
    hsim.seed({"clients": [{"id": 1, "name": "One"}], "tickets": tickets, "actions": actions})
    got = halo.time_entries(
        start=datetime(2026, 9, 1, tzinfo=UTC),
        end=datetime(2026, 11, 1, tzinfo=UTC),
        datesearch="last_updated",
    )
    assert got.issues == []
    assert len({r.source_key for r in got.records}) == 300
    assert hsim.log.counts()["halopsa GET /api/actions"] == 3
