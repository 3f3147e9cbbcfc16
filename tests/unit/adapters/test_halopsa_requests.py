"""The HaloPSA client's request loop over a scripted transport: paging rules, envelopes and bare
arrays, Retry-After, token reuse and the single retry on 401."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from revloop.adapters.halopsa.client import HaloClient, records_of
from revloop.adapters.halopsa.pacing import RetryPolicy, RollingWindow, Wait, retry_after
from revloop.domain.issues import ConnectorError

Route = Callable[[httpx.Request], httpx.Response]


def _client(route: Route, waits: list[Wait] | None = None, **kw: Any) -> tuple[HaloClient, list[str]]:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/token":
            calls.append("token")
            return httpx.Response(200, json={"access_token": f"t{len(calls)}", "expires_in": 3600})
        calls.append(str(request.url.params))
        return route(request)

    client = HaloClient(
        "http://halo/api",
        "http://halo/auth",
        "id",
        "secret",
        transport=httpx.MockTransport(handler),
        sleep=lambda s: None,
        on_wait=waits.append if waits is not None else None,
        **kw,
    )
    return client, calls


def _capped(total: int, cap: int = 100, key: str = "clients") -> Route:
    rows = [{"id": i} for i in range(1, total + 1)]

    def route(request: httpx.Request) -> httpx.Response:
        size = min(int(request.url.params.get("page_size", "50")), cap)
        page = int(request.url.params.get("page_no", "1"))
        return httpx.Response(200, json={"record_count": total, key: rows[(page - 1) * size : page * size]})

    return route


def test_pages_are_followed_on_the_real_length() -> None:
    client, calls = _client(_capped(250), page_size=1000)
    assert [r["id"] for r in client.iter_pages("Client")] == list(range(1, 251))
    assert len([c for c in calls if c != "token"]) == 3
    assert "page_size=1000" in calls[1] and "order=id" in calls[1] and "pageinate=true" in calls[1]


def test_an_exact_multiple_stops_on_record_count() -> None:
    client, calls = _client(_capped(200))
    assert len(client.list_all("Client")) == 200
    assert len(calls) == 3  # token + 2 pages


def test_without_record_count_a_short_page_ends_the_loop() -> None:
    rows = [{"id": i} for i in range(1, 131)]

    def route(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page_no"])
        return httpx.Response(200, json={"clients": rows[(page - 1) * 100 : page * 100]})

    client, _ = _client(route)
    assert len(client.list_all("Client")) == 130


def test_bare_array_resources_are_read_in_one_call() -> None:
    client, calls = _client(lambda r: httpx.Response(200, json=[{"id": 1}, {"id": 2}]))
    assert len(client.list_all("Agent")) == 2
    assert "pageinate" not in calls[1]


def test_records_of_reads_envelopes_and_arrays() -> None:
    assert records_of("RecurringInvoice", {"record_count": 1, "invoices": [{"id": 1}]}) == ([{"id": 1}], 1)
    assert records_of("Status", [{"id": 1}]) == ([{"id": 1}], None)
    assert records_of("Unknown", {"record_count": "2.0", "things": [{}, {}]}) == ([{}, {}], 2)
    with pytest.raises(ConnectorError):
        records_of("Client", {"record_count": 1})


def test_retry_after_seconds_and_http_dates() -> None:
    now = datetime(2026, 10, 1, 12, tzinfo=UTC)
    when = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert retry_after(httpx.Response(429, headers={"Retry-After": "12"})) == 12
    assert retry_after(httpx.Response(429, headers={"Retry-After": when}), now) == 90
    assert retry_after(httpx.Response(429)) is None
    assert retry_after(httpx.Response(429, headers={"Retry-After": "soon"})) is None


def test_waits_are_reported_with_their_reason() -> None:
    answers = iter([httpx.Response(429, headers={"Retry-After": "3"}), httpx.Response(503)])

    def route(request: httpx.Request) -> httpx.Response:
        return next(answers, httpx.Response(200, json=[{"id": 1}]))

    waits: list[Wait] = []
    client, _ = _client(route, waits)
    assert client.list_all("Agent") == [{"id": 1}]
    assert [(w.reason, w.seconds) for w in waits] == [("rate_limited", 3.0), ("server_error", 1.0)]


def test_a_write_that_creates_is_not_retried_after_a_server_error() -> None:
    hits: list[str] = []

    def route(request: httpx.Request) -> httpx.Response:
        hits.append(request.method)
        return httpx.Response(502)

    client, _ = _client(route, retry=RetryPolicy(attempts=4))
    with pytest.raises(ConnectorError):
        client.upsert_clients([{"name": "New"}])
    assert hits == ["POST"]
    hits.clear()
    with pytest.raises(ConnectorError):
        client.upsert_clients([{"id": 5, "name": "Old"}])
    assert hits == ["POST"] * 4


def test_a_token_is_fetched_once_and_again_once_after_a_401() -> None:
    seen: list[str] = []
    answers = iter([httpx.Response(401)])

    def route(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return next(answers, httpx.Response(200, json=[]))

    client, calls = _client(route)
    client.get("Agent")
    client.get("Agent")
    assert calls.count("token") == 2
    assert seen[0] != seen[1] == seen[2]


def test_the_rolling_window_counts_per_window() -> None:
    now = [0.0]
    window = RollingWindow(3, 10.0, clock=lambda: now[0])
    assert [window.take() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert window.take() == pytest.approx(10.0)
    now[0] = 10.0
    assert window.take() == 0.0


def test_secrets_stay_out_of_repr() -> None:
    client, _ = _client(lambda r: httpx.Response(200, json=[]))
    assert "secret" not in repr(client.auth)


def test_a_server_that_ignores_paging_is_caught_not_looped_forever() -> None:
    rows = [{"id": i} for i in range(1, 101)]
    client, _ = _client(lambda r: httpx.Response(200, json={"clients": rows}))
    with pytest.raises(ConnectorError) as caught:
        client.list_all("Client")
    assert "page 2" in caught.value.message
