"""The findings queue comes a page at a time, most severe first, with how many there are; acting
on a finding returns to the page it was on."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient

from revloop.adapters.db import repository
from revloop.bootstrap import App
from revloop.domain.findings import Finding
from revloop.domain.issues import Severity
from revloop.web import views
from revloop.web.roles import Role
from tests.integration.web.conftest import Clock


def _token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


def _plant(store: App, clock: Clock, n: int) -> None:
    findings = [
        Finding(
            "time.unbilled",
            (Severity.INFO, Severity.WARNING, Severity.ERROR)[i % 3],
            (f"halopsa:action:page-{i}",),
            f"planted finding {i}",
            action="look at it",
        )
        for i in range(n)
    ]
    with store.engine.begin() as conn:
        repository.record_findings(conn, findings, at=clock() - timedelta(days=1))


def test_pages_cover_every_finding_once_most_severe_first(store: App, clock: Clock) -> None:
    _plant(store, clock, 25)
    every = views.findings(store, state=None, per_page=10_000)
    first = views.findings(store, state=None, page=1, per_page=7)
    assert first.count == every.count >= 25
    assert first.pages == -(-every.count // 7) and first.page == 1
    seen = [
        f.id
        for n in range(1, first.pages + 1)
        for f in views.findings(store, state=None, page=n, per_page=7).findings
    ]
    assert seen == [f.id for f in every.findings]  # the same order, each once
    ranks = {"error": 0, "warning": 1, "info": 2}
    assert [ranks[f.severity] for f in every.findings] == sorted(ranks[f.severity] for f in every.findings)
    beyond = views.findings(store, state=None, page=first.pages + 3, per_page=7)
    assert beyond.page == first.pages and beyond.findings


def test_api_and_page_page_through(
    store: App, clock: Clock, client_for: Callable[[Role], TestClient]
) -> None:
    _plant(store, clock, 130)
    client = client_for(Role.FINANCE)
    one = client.get("/api/findings", params={"state": "all"}).json()
    assert one["page"] == 1 and one["per_page"] == 100 and one["pages"] == 2 and len(one["findings"]) == 100
    two = client.get("/api/findings", params={"state": "all", "page": 2}).json()
    assert len(two["findings"]) == one["count"] - 100
    assert not {f["id"] for f in one["findings"]} & {f["id"] for f in two["findings"]}
    page = client.get("/findings", params={"state": "all", "page": 2})
    assert page.status_code == 200 and "Page 2 of 2" in page.text and 'rel="prev"' in page.text
    # acknowledging on page 2 comes back to page 2
    target = two["findings"][0]["id"]
    answer = client.post(
        f"/findings/{target}/acknowledge",
        data={"reason": "checked", "back": "state=all&page=2", "csrf_token": _token(page.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    assert "page=2" in answer.headers["location"]
