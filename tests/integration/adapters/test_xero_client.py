"""The Xero client against the Xero simulator, in-process: paging, chunked filters, incremental reads,
429 storms, server errors, lost responses, token expiry and rotation under concurrency, batch writes
with per-item results, idempotent replays and several organisations."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from revloop.adapters.xero.auth import TokenSet
from revloop.adapters.xero.client import RetryPolicy, XeroClient
from revloop.adapters.xero.limits import Limits, Wait
from revloop.adapters.xero.wire import InvoiceStatus
from revloop.domain.issues import AuthError, RateLimited, RemoteUnavailable
from revloop.simulators.common import Fault, SimClock
from revloop.simulators.xero import XeroSimulator

from .conftest import Stores, TravelSleep, consent, custom_client, stored_client, xero_sim

SECOND_TENANT = "7b1e2d3c-4a5f-4b6c-8d7e-9f0a1b2c3d4e"


def _contacts(n: int) -> list[dict[str, Any]]:
    return [{"Name": f"Customer {i:03d}", "ContactNumber": f"HALO-{2000 + i}"} for i in range(n)]


def _invoice(contact_id: str, number: str, **changes: Any) -> dict[str, Any]:
    invoice: dict[str, Any] = {
        "Type": "ACCREC",
        "Contact": {"ContactID": contact_id},
        "InvoiceNumber": number,
        "Date": "2026-10-01",
        "DueDate": "2026-10-15",
        "LineAmountTypes": "Exclusive",
        "LineItems": [
            {
                "Description": "Remote support",
                "Quantity": Decimal("1.5"),
                "UnitAmount": Decimal("100.1234"),
                "AccountCode": "200",
                "TaxType": "OUTPUT",
            }
        ],
    }
    invoice.update(changes)
    return invoice


def _a_contact(xero: XeroClient, tenant: str) -> str:
    contact_id = xero.contacts(tenant).records[0].ContactID
    assert contact_id
    return contact_id


def _gets(sim: XeroSimulator, resource: str) -> int:
    return sim.log.counts().get(f"xero GET /api.xro/2.0/{resource}", 0)


def test_connections_and_a_read(xero: XeroClient, tenant: str) -> None:
    connections = xero.connections()
    assert [c.tenantId for c in connections] == [tenant]
    assert xero.organisation(tenant).Name == "Demo MSP Pty Ltd"
    rates = xero.tax_rates(tenant).records
    assert all(isinstance(r.EffectiveRate, Decimal) for r in rates if r.EffectiveRate is not None)


def test_paging_gets_every_contact(xsim: XeroSimulator, xero: XeroClient, tenant: str) -> None:
    xsim.seed({"Contacts": _contacts(250)})
    got = xero.contacts(tenant)
    assert got.issues == []
    assert len(got.records) == 252  # two demo contacts
    assert len({c.ContactID for c in got.records}) == 252
    assert _gets(xsim, "Contacts") == 3


def test_ids_are_sent_fifty_at_a_time(xsim: XeroSimulator, xero: XeroClient, tenant: str) -> None:
    contact = _a_contact(xero, tenant)
    created = xero.create_invoices(
        tenant, [_invoice(contact, f"RL-{n}") for n in range(60)], idempotency_key="run-1"
    )
    assert all(r.ok for r in created)
    ids = [r.record.InvoiceID for r in created if r.record and r.record.InvoiceID]
    before = _gets(xsim, "Invoices")
    found = xero.invoices(tenant, ids=ids)
    assert sorted(i.InvoiceID or "" for i in found.records) == sorted(ids)
    assert _gets(xsim, "Invoices") - before == 2
    by_number = xero.invoices(tenant, numbers=["RL-1", "RL-59"])
    assert sorted(i.InvoiceNumber or "" for i in by_number.records) == ["RL-1", "RL-59"]


def test_if_modified_since_reads_only_changes(
    xsim: XeroSimulator, xero: XeroClient, tenant: str, travel: TravelSleep
) -> None:
    contact = _a_contact(xero, tenant)
    created = xero.create_invoices(
        tenant, [_invoice(contact, f"M-{n}") for n in range(3)], idempotency_key="m"
    )
    travel(120)
    since = xsim.clock.now()
    travel(60)
    first = created[0].record
    assert first is not None and first.InvoiceID
    xero.save_invoices(
        tenant, [{"InvoiceID": first.InvoiceID, "Reference": "edited"}], idempotency_key="edit"
    )
    changed = xero.invoices(tenant, modified_since=since)
    assert [i.InvoiceNumber for i in changed.records] == ["M-0"]
    assert changed.records[0].Reference == "edited"


def test_money_round_trips_exactly(xero: XeroClient, tenant: str) -> None:
    contact = _a_contact(xero, tenant)
    [result] = xero.create_invoices(tenant, [_invoice(contact, "EX-1")], idempotency_key="ex")
    assert result.ok and result.record is not None
    line = result.record.LineItems[0]
    assert line.UnitAmount == Decimal("100.1234")
    assert line.LineAmount == Decimal("150.19")
    assert result.record.Total == Decimal("165.21")
    assert result.record.Status is InvoiceStatus.DRAFT


def test_a_batch_with_one_bad_invoice_returns_per_item_errors(
    xsim: XeroSimulator, xero: XeroClient, tenant: str
) -> None:
    contact = _a_contact(xero, tenant)
    batch = [_invoice(contact, "B-1"), _invoice(contact, "B-2"), _invoice(contact, "B-3")]
    del batch[1]["Contact"]
    results = xero.create_invoices(tenant, batch, idempotency_key="batch-1")
    assert [r.ok for r in results] == [True, False, True]
    assert [r.index for r in results] == [0, 1, 2]
    assert results[1].record is None
    assert any("Contact" in m for m in results[1].errors)
    issue = results[1].issue("invoice B-2")
    assert issue is not None and issue.code == "xero.validation"
    stored = xero.invoices(tenant, numbers=["B-1", "B-2", "B-3"]).records
    assert sorted(i.InvoiceNumber or "" for i in stored) == ["B-1", "B-3"]


def test_more_than_fifty_are_split_into_batches_with_their_own_keys(
    xsim: XeroSimulator, xero: XeroClient, tenant: str
) -> None:
    contact = _a_contact(xero, tenant)
    invoices = [_invoice(contact, f"S-{n}") for n in range(120)]
    results = xero.create_invoices(tenant, invoices, idempotency_key="split")
    assert [r.index for r in results] == list(range(120))
    assert all(r.ok for r in results)
    assert xsim.log.counts()["xero PUT /api.xro/2.0/Invoices"] == 3
    again = xero.create_invoices(tenant, invoices, idempotency_key="split")
    assert [r.record.InvoiceID for r in again if r.record] == [
        r.record.InvoiceID for r in results if r.record
    ]
    assert len(xero.invoices(tenant, where='InvoiceNumber.StartsWith("S-")').records) == 120


def test_an_idempotency_key_replay_returns_the_same_invoices(xero: XeroClient, tenant: str) -> None:
    contact = _a_contact(xero, tenant)
    batch = [_invoice(contact, "I-1"), _invoice(contact, "I-2")]
    first = xero.create_invoices(tenant, batch, idempotency_key="post-run-7")
    second = xero.create_invoices(tenant, batch, idempotency_key="post-run-7")
    assert [r.record.InvoiceID for r in first if r.record] == [r.record.InvoiceID for r in second if r.record]
    assert len(xero.invoices(tenant, numbers=["I-1", "I-2"]).records) == 2


def test_a_lost_write_response_is_replayed_not_duplicated(
    xsim: XeroSimulator, xero: XeroClient, tenant: str
) -> None:
    contact = _a_contact(xero, tenant)
    xsim.faults.add(Fault(route=r"xero PUT /api.xro/2.0/Invoices$", count=1, drop_after_commit=True))
    results = xero.create_invoices(tenant, [_invoice(contact, "D-1")], idempotency_key="lost-1")
    assert results[0].ok
    assert len(xero.invoices(tenant, numbers=["D-1"]).records) == 1


def test_a_lost_read_response_is_retried(xsim: XeroSimulator, xero: XeroClient, tenant: str) -> None:
    xsim.faults.add(Fault(route=r"xero GET /api.xro/2.0/Contacts$", count=1, drop_after_commit=True))
    assert len(xero.contacts(tenant).records) == 2


def test_a_429_storm_is_survived_with_retry_after(
    xsim: XeroSimulator, xero: XeroClient, tenant: str, travel: TravelSleep
) -> None:
    xsim.seed({"Contacts": _contacts(150)})
    headers = {"Retry-After": "7", "X-Rate-Limit-Problem": "minute"}
    xsim.faults.add(Fault(route=r"GET /api.xro/2.0/Contacts$", count=4, status=429, headers=headers))
    assert len(xero.contacts(tenant).records) == 152
    assert len([p for p in travel.pauses if 6.9 < p <= 7.0]) == 4


def test_server_errors_are_retried_then_reported(
    xsim: XeroSimulator, travel: TravelSleep, tenant: str
) -> None:
    xsim.faults.add(Fault(route=r"GET /api.xro/2.0/Contacts$", count=2, status=503))
    waits: list[Wait] = []
    with custom_client(xsim, travel, on_wait=waits.append) as client:
        assert len(client.contacts(tenant).records) == 2
    assert [(w.reason, w.seconds) for w in waits] == [("server_error", 1.0), ("server_error", 2.0)]
    xsim.faults.add(Fault(route=r"GET /api.xro/2.0/Items$", count=20, status=500))
    client = custom_client(xsim, travel, retry=RetryPolicy(attempts=3))
    with client, pytest.raises(RemoteUnavailable):
        client.items(tenant)


def test_our_limiter_keeps_under_the_minute_limit(clock: SimClock, travel: TravelSleep) -> None:
    sim = xero_sim(clock)  # 60 a minute, as Xero
    tenant = sim.credentials["tenant_id"]
    with custom_client(sim, travel) as client:
        for _ in range(150):
            client.organisation(tenant)
    assert all(e["status"] != 429 for e in sim.log.entries)
    assert sum(travel.pauses) >= 120  # 150 calls need at least two more minutes


def test_never_more_than_five_in_flight(clock: SimClock, travel: TravelSleep) -> None:
    sim = xero_sim(clock)
    tenant = sim.credentials["tenant_id"]
    sim.faults.add(Fault(route=r"GET /api.xro/2.0/Organisation$", count=40, status=0, latency=0.01))
    limits = Limits(clock=sim.clock.monotonic, sleep=travel, per_minute=1000)
    with custom_client(sim, travel, limits=limits) as client:
        threads = [
            threading.Thread(target=lambda: [client.organisation(tenant) for _ in range(2)])
            for _ in range(20)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert 1 < sim.limits.peak_in_flight[tenant] <= 5
    assert limits.for_tenant(tenant).peak_in_flight <= 5
    assert all(e["status"] == 200 for e in sim.log.entries if "Organisation" in e["route"])


def test_the_day_limit_stops_at_once(clock: SimClock, travel: TravelSleep) -> None:
    sim = xero_sim(clock, day_limit=3)
    tenant = sim.credentials["tenant_id"]
    with custom_client(sim, travel) as client:
        for _ in range(3):
            client.organisation(tenant)
        with pytest.raises(RateLimited):
            client.organisation(tenant)
        with pytest.raises(RateLimited):
            client.organisation(tenant)  # refused locally: the budget is known to be spent
    assert _gets(sim, "Organisation") == 3


def test_token_expiry_mid_run_recovers_and_rotates_the_stored_token(
    xsim: XeroSimulator, travel: TravelSleep, stores: Stores, sqlite_url: str
) -> None:
    store = stores(sqlite_url)
    store.save("default", consent(xsim), tenant_id=xsim.credentials["tenant_id"])
    xsim.seed({"Contacts": _contacts(250)})
    client, source = stored_client(xsim, store, travel)
    tenant = xsim.credentials["tenant_id"]
    seen = 0
    with client:
        for _ in client.iter_pages(tenant, "Contacts"):
            seen += 1
            if seen == 120:
                xsim.expire_all_tokens()
    assert seen == 252
    assert source.refreshes == 1
    stored = store.load("default")
    assert stored is not None and stored.version == 2


def test_tokens_are_refreshed_before_they_expire(
    xsim: XeroSimulator, travel: TravelSleep, stores: Stores, sqlite_url: str
) -> None:
    store = stores(sqlite_url)
    store.save("default", consent(xsim))
    client, source = stored_client(xsim, store, travel)
    tenant = xsim.credentials["tenant_id"]
    with client:
        client.organisation(tenant)
        travel(1800 - 30)
        client.organisation(tenant)
    assert source.refreshes == 1
    assert all(e["status"] != 401 for e in xsim.log.entries)


def test_two_refreshers_at_once_both_end_with_a_working_token(
    xsim: XeroSimulator, travel: TravelSleep, stores: Stores, store_url: str
) -> None:
    url = store_url  # SQLite (BEGIN IMMEDIATE) and PostgreSQL (SELECT ... FOR UPDATE)
    first = consent(xsim)
    # Stored as already expired, so both processes set out to refresh it at the same moment.
    expired = TokenSet(
        first.access_token, xsim.clock.now() - timedelta(minutes=1), first.refresh_token, first.scope
    )
    stores(url).save("default", expired)
    tenant = xsim.credentials["tenant_id"]
    # Two stores on two engines: two processes sharing one database.
    pairs = [stored_client(xsim, stores(url), travel) for _ in range(2)]
    # A slow token endpoint keeps the first refresher inside its lock while the second arrives.
    xsim.faults.add(Fault(route=r"POST /identity/connect/token$", count=2, status=0, latency=0.2))
    gate = threading.Barrier(2)
    tokens: list[str] = []
    failures: list[BaseException] = []

    def refresh(source: Any) -> None:
        gate.wait()
        try:
            tokens.append(source.access_token())
        except BaseException as exc:  # collected and asserted below
            failures.append(exc)

    threads = [threading.Thread(target=refresh, args=(source,)) for _, source in pairs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(tokens) == 2 and tokens[0] == tokens[1]
    assert sum(source.refreshes for _, source in pairs) == 1
    assert xsim.log.counts()["xero POST /identity/connect/token"] == 2  # the consent and one refresh
    for client, _ in pairs:
        with client:
            assert client.organisation(tenant).Name
    # The rotated refresh token was kept: another refresh, well past the grace period, still works.
    travel(3 * 3600)
    client, source = stored_client(xsim, stores(url), travel)
    with client:
        assert client.organisation(tenant).Name
    assert source.refreshes == 1


def test_several_organisations_one_login(
    xsim: XeroSimulator, travel: TravelSleep, stores: Stores, sqlite_url: str
) -> None:
    xsim.seed({"Contacts": _contacts(3)}, tenant_id=SECOND_TENANT, name="Second Org Ltd")
    store = stores(sqlite_url)
    store.save("default", consent(xsim))
    client, _ = stored_client(xsim, store, travel)
    with client:
        tenants = {c.tenantName: c.tenantId for c in client.connections()}
        assert set(tenants) == {"Demo MSP Pty Ltd", "Second Org Ltd"}
        second = client.contacts(tenants["Second Org Ltd"]).records
        demo = client.contacts(tenants["Demo MSP Pty Ltd"]).records
    assert {c.Name for c in second} == {"Customer 000", "Customer 001", "Customer 002"}
    assert len(demo) == 2


def test_a_missing_scope_is_an_auth_error_that_names_it(xsim: XeroSimulator, travel: TravelSleep) -> None:
    from revloop.adapters.xero.auth import ClientCredentialsSource, IdentityClient, XeroAuth
    from revloop.simulators.common import mock_transport

    tenant = xsim.credentials["tenant_id"]
    xsim.add_custom_connection(
        "NARROWCLIENT", "narrow-secret-0123456789", tenant, scopes="accounting.contacts"
    )
    identity = IdentityClient(
        "http://sim/identity", "NARROWCLIENT", "narrow-secret-0123456789", transport=mock_transport(xsim)
    )
    client = XeroClient(
        "http://sim/api.xro/2.0",
        auth=XeroAuth(ClientCredentialsSource(identity, now=xsim.clock.now)),
        transport=mock_transport(xsim),
        limits=Limits(clock=xsim.clock.monotonic, sleep=travel),
        sleep=travel,
    )
    with client:
        assert len(client.contacts(tenant).records) == 2
        with pytest.raises(AuthError) as caught:
            client.invoices(tenant)
    assert "AuthorizationUnsuccessful" in caught.value.message
    assert xsim.log.counts()["xero POST /identity/connect/token"] == 1  # a new token would not help
    assert "narrow-secret" not in caught.value.one_line()


def test_an_organisation_not_connected_is_an_auth_error(xero: XeroClient) -> None:
    with pytest.raises(AuthError) as caught:
        xero.contacts(SECOND_TENANT)
    assert "403" in caught.value.message


def test_built_from_settings(xsim: XeroSimulator, stores: Stores, sqlite_url: str) -> None:
    from revloop.adapters.xero.factory import custom_connection_client, stored_connection_client
    from revloop.config import load_settings
    from revloop.simulators.common import mock_transport

    creds = xsim.credentials
    common = {
        "xero_api_url": "http://sim/api.xro/2.0",
        "xero_identity_url": "http://sim/identity",
        "xero_connections_url": "http://sim/connections",
    }
    custom = load_settings(
        xero_client_id=creds["custom_client_id"], xero_client_secret=creds["custom_client_secret"], **common
    )
    with custom_connection_client(custom, transport=mock_transport(xsim)) as client:
        assert [c.tenantId for c in client.connections()] == [creds["tenant_id"]]
    store = stores(sqlite_url)
    store.save("default", consent(xsim), tenant_id=creds["tenant_id"])
    app = load_settings(
        xero_client_id=creds["client_id"], xero_client_secret=creds["client_secret"], **common
    )
    with stored_connection_client(app, store, transport=mock_transport(xsim)) as client:
        assert client.organisation(creds["tenant_id"]).Name == "Demo MSP Pty Ltd"


def test_every_read_parses(xero: XeroClient, tenant: str) -> None:
    for read in (xero.items, xero.accounts, xero.tax_rates, xero.payments, xero.credit_notes):
        got = read(tenant)
        assert got.issues == []
    codes = {a.Code: a for a in xero.accounts(tenant).records}
    assert codes["860"].SystemAccount == "ROUNDING"
    assert all(
        isinstance(i.SalesDetails.UnitPrice, Decimal) for i in xero.items(tenant).records if i.SalesDetails
    )
