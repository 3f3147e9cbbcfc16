"""POST-array upserts, action write-back with incremental sync, deletes, invoices and recurring runs."""

from __future__ import annotations

from decimal import Decimal

import httpx

from revloop.simulators.common import SimClock
from revloop.simulators.halopsa import HaloSimulator

from .support import body


def test_post_requires_an_array(api: httpx.Client) -> None:
    response = api.post("/api/Client", json={"name": "Not in an array"})
    assert response.status_code == 400
    assert api.post("/api/Client", content=b"{bad json").status_code == 400


def test_create_one_returns_the_object(api: httpx.Client, sim: HaloSimulator) -> None:
    created = body(api.post("/api/Client", json=[{"name": "New Co", "hourlyrate": 95.5}]))
    assert isinstance(created, dict)
    assert created["id"] == 160
    assert created["hourlyrate"] == Decimal("95.5")
    assert created["datecreated"].startswith("2026-09-01T12:00")
    assert created["alastupdate"] == created["datecreated"]
    assert created["autotaskid"] == -1
    assert body(api.get("/api/Client/160"))["name"] == "New Co"
    assert sim.log.counts()["halopsa POST /api/client"] == 1


def test_create_many_returns_an_array(api: httpx.Client) -> None:
    created = body(api.post("/api/Item", json=[{"name": "A"}, {"name": "B", "baseprice": 10}]))
    assert isinstance(created, list)
    assert [c["name"] for c in created] == ["A", "B"]
    assert created[1]["baseprice"] == Decimal("10")
    assert '"baseprice":10.0' in api.get(f"/api/Item/{created[1]['id']}").text


def test_update_merges_fields_and_stamps(api: httpx.Client, clock: SimClock) -> None:
    before = body(api.get("/api/Client/10"))
    clock.advance(60)
    updated = body(api.post("/api/Client", json=[{"id": 10, "xeroid": "abc-123"}]))
    assert updated["name"] == before["name"]
    assert updated["xeroid"] == "abc-123"
    assert updated["alastupdate"] > before["alastupdate"]


def test_update_of_unknown_id_is_404(api: httpx.Client) -> None:
    assert api.post("/api/Client", json=[{"id": 99999, "name": "x"}]).status_code == 404


def test_validation_errors_are_400_and_write_nothing(api: httpx.Client) -> None:
    response = api.post("/api/Actions", json=[{"ticket_id": 100, "outcome": "ok"}, {"outcome": "no ticket"}])
    assert response.status_code == 400
    assert "[1].ticket_id" in response.text
    assert body(api.get("/api/Actions", params={"ticket_id": 100}))["record_count"] == 3
    no_outcome = api.post("/api/Actions", json=[{"ticket_id": 100, "note": "x"}])
    assert no_outcome.status_code == 400 and "outcome" in no_outcome.text
    assert api.post("/api/Actions", json=[{"ticket_id": 4242, "outcome": "x"}]).status_code == 400
    assert api.post("/api/Client", json=[{"notes": "nameless"}]).status_code == 400
    assert api.post("/api/Tickets", json=[{"summary": "x", "dateoccurred": "not a date"}]).status_code == 400


def test_actions_number_per_ticket(api: httpx.Client) -> None:
    first = api.post(
        "/api/Actions",
        json=[
            {
                "ticket_id": 100,
                "outcome": "Remote Support",
                "timetaken": 1.5,
                "who_agentid": 5,
                "chargerate": 2,
            }
        ],
    )
    assert first.status_code == 201
    created = body(first)
    assert created["id"] == 4  # ticket 100 had actions 1..3
    assert created["who"] == "Alice Agent"
    assert created["timetaken"] == Decimal("1.5")
    fresh = body(api.post("/api/Actions", json=[{"ticket_id": 110, "outcome": "Note"}]))
    assert fresh["id"] == 1
    assert body(api.get("/api/Actions/4", params={"ticket_id": 100}))["timetaken"] == Decimal("1.5")
    ticket = body(api.get("/api/Tickets/100"))
    assert ticket["timetaken"] == Decimal("3.0")  # 0.25 + 0.5 + 0.75 + 1.5
    assert ticket["chargehours"] == Decimal("2.25")


def test_action_dates_are_stored_naive_utc(api: httpx.Client) -> None:
    created = body(
        api.post(
            "/api/Actions",
            json=[
                {
                    "ticket_id": 100,
                    "outcome": "Remote",
                    "actionarrivaldate": "2026-08-30T10:00:00+02:00",
                    "actioncompletiondate": "2026-08-30T09:30:00.250Z",
                    "actiontravelstartdate": None,
                }
            ],
        )
    )
    assert created["actionarrivaldate"] == "2026-08-30T08:00:00"
    assert created["actioncompletiondate"] == "2026-08-30T09:30:00.250"


def test_actioninvoicenumber_write_back_and_incremental_sync(api: httpx.Client, clock: SimClock) -> None:
    since = "2026-09-01T12:00:00"
    changed = body(api.get("/api/Tickets", params={"lastupdatefromdate": since}))
    assert changed["record_count"] == 0
    clock.advance(30)
    written = body(
        api.post(
            "/api/Actions",
            json=[
                {
                    "ticket_id": 101,
                    "id": 2,
                    "actioninvoicenumber": "INV-1001",
                    "action_invoice_line_id": 77,
                    "invoice_id": 1001,
                },
            ],
        )
    )
    assert written["actioninvoicenumber"] == "INV-1001"
    assert written["outcome"] == "Remote Support"  # untouched fields kept
    assert written["last_updated"].startswith("2026-09-01T12:00:3")
    again = body(api.get("/api/Actions/2", params={"ticket_id": 101}))
    assert again["action_invoice_line_id"] == 77 and again["invoice_id"] == 1001
    changed = body(api.get("/api/Tickets", params={"lastupdatefromdate": since}))
    assert [t["id"] for t in changed["tickets"]] == [101]
    assert (
        body(
            api.get(
                "/api/Tickets",
                params={"lastupdatefromdate": since, "lastupdatetodate": "2026-09-01T12:00:10"},
            )
        )["record_count"]
        == 0
    )
    by_stamp = body(
        api.get(
            "/api/Actions", params={"datesearch": "last_updated", "startdate": since, "enddate": "2026-09-02"}
        )
    )
    assert [(a["ticket_id"], a["id"]) for a in by_stamp["actions"]] == [(101, 2)]
    unbilled = body(api.get("/api/Tickets", params={"ready_for_invoicing": "true", "order": "id"}))
    assert [t["id"] for t in unbilled["tickets"]] == [100, 101, 102, 103]
    api.post("/api/Actions", json=[{"ticket_id": 101, "id": 1, "actioninvoicenumber": "INV-1001"}])
    unbilled = body(api.get("/api/Tickets", params={"ready_for_invoicing": "true", "order": "id"}))
    assert [t["id"] for t in unbilled["tickets"]] == [100, 102, 103]


def test_incremental_sync_on_other_stamps(api: httpx.Client, clock: SimClock) -> None:
    clock.advance(5)
    api.post("/api/ClientContract", json=[{"id": 500, "periodchargeamount": "1600.00"}])
    found = body(api.get("/api/ClientContract", params={"lastupdatefromdate": "2026-09-01T12:00:01"}))
    assert [c["id"] for c in found["contracts"]] == [500]
    assert found["contracts"][0]["periodchargeamount"] == Decimal("1600.00")
    flag = body(api.get("/api/Client", params={"lastupdatefromdate": "true"}))
    assert flag["record_count"] == 149


def test_ticket_post_answers_with_post_key_names(api: httpx.Client) -> None:
    created = body(
        api.post("/api/Tickets", json=[{"summary": "New", "client_id": 10, "category_1": "Network"}])
    )
    assert "lastupdate" in created and "last_update" not in created
    assert created["category1"] == "Network" and "category_1" not in created
    again = body(api.get(f"/api/Tickets/{created['id']}"))
    assert again["last_update"] == created["lastupdate"]
    assert again["client_name"] == "Client 000"


def test_delete(api: httpx.Client) -> None:
    gone = api.delete("/api/Actions/1", params={"ticket_id": 100})
    assert gone.status_code == 200 and body(gone)["id"] == 1
    assert api.get("/api/Actions/1", params={"ticket_id": 100}).status_code == 404
    assert api.delete("/api/Actions/2").status_code == 400
    assert api.delete("/api/Client/11").status_code == 200
    assert api.delete("/api/Client/11").status_code == 404
    assert api.delete("/api/ChargeRate/1").status_code == 405
    assert api.delete("/api/Expense/1").status_code == 405
    assert api.delete("/api/Tickets/103").status_code == 200
    assert body(api.get("/api/Actions", params={"ticket_id": 103}))["record_count"] == 0


def test_chargerate_is_read_only(api: httpx.Client) -> None:
    assert api.post("/api/ChargeRate", json=[{"rate": 1}]).status_code == 405


def test_invoice_lines_and_totals(api: httpx.Client) -> None:
    created = body(
        api.post(
            "/api/Invoice",
            json=[
                {
                    "client_id": 10,
                    "invoice_date": "2026-09-01",
                    "lines": [
                        {
                            "item_shortdescription": "Labour",
                            "qty_order": 2.5,
                            "unit_price": 100,
                            "tax_rate": 20,
                        },
                        {"item_shortdescription": "Licence", "qty_order": 3, "unit_price": "12.50"},
                    ],
                }
            ],
        )
    )
    assert created["invoicenumber"] == str(created["id"])
    assert created["revenue"] == Decimal("287.50")
    assert created["tax_total"] == Decimal("50.00")
    assert created["total"] == Decimal("337.50")
    assert created["invoice_date"] == "2026-09-01T00:00:00"
    assert [line["ihid"] for line in created["lines"]] == [created["id"]] * 2
    assert created["lines"][0]["id"] > 1
    synced = body(
        api.post(
            "/api/Invoice", json=[{"id": created["id"], "thirdpartyinvoicenumber": "X-1", "xeroid": "guid-1"}]
        )
    )
    assert synced["thirdpartyinvoicenumber"] == "X-1" and len(synced["lines"]) == 2
    line = created["lines"][1]
    changed = body(
        api.post("/api/Invoice/updatelines", json=[{"id": line["id"], "ihid": created["id"], "qty_order": 4}])
    )
    assert changed[0]["net_amount"] == Decimal("50.00")
    assert body(api.get(f"/api/Invoice/{created['id']}"))["revenue"] == Decimal("300.00")


def test_recurring_invoice_process(api: httpx.Client) -> None:
    made = body(api.post("/api/RecurringInvoice/process", json=[50]))
    assert len(made) == 1
    invoice = made[0]
    assert invoice["recurring_invoice_id"] == 50
    assert invoice["invoice_date"] == "2026-09-01T00:00:00"
    assert invoice["revenue"] == Decimal("500.00")
    assert invoice["lines"][0]["recurring_invoice_line_id"] == 70
    template = body(api.get("/api/RecurringInvoice/50"))
    assert template["nextcreationdate"] == "2026-10-01T00:00:00"
    assert template["lastcreated"] == "2026-09-01T00:00:00"
    listed = body(api.get("/api/Invoice", params={"recurringinvoice_id": 50}))
    assert listed["record_count"] == 1
    assert api.post("/api/RecurringInvoice/process", json=[4242]).status_code == 404


def test_holiday_ids_are_uuids(api: httpx.Client) -> None:
    created = body(api.post("/api/Holiday", json=[{"name": "Christmas", "date": "2026-12-25"}]))
    assert len(created["id"]) == 36 and created["holid"] >= 1
    assert body(api.get(f"/api/Holiday/{created['id']}"))["name"] == "Christmas"


def test_creation_dates_default_to_now(api: httpx.Client, sim: HaloSimulator) -> None:
    ticket = body(api.post("/api/Tickets", json=[{"summary": "Opened now", "client_id": 10}]))
    assert ticket["dateoccurred"] == "2026-09-01T12:00:00"
    assert ticket["dateclosed"] == "1900-01-01T00:00:00"
    sim.seed({"clients": [{"id": 10, "name": "Client 000", "paymentterms": 14}]})
    invoice = body(api.post("/api/Invoice", json=[{"client_id": 10}]))
    assert invoice["invoice_date"] == "2026-09-01T12:00:00"
    assert invoice["duedate"] == "2026-09-15T12:00:00"


def test_string_ids_for_priorities_and_seeded_holidays(api: httpx.Client, sim: HaloSimulator) -> None:
    sim.seed({"priorities": [{"priorityid": 1, "name": "Critical"}], "holidays": [{"name": "Seeded"}]})
    priorities = body(api.get("/api/Priority"))
    assert isinstance(priorities[0]["id"], str) and priorities[0]["priorityid"] == 1
    created = body(api.post("/api/Priority", json=[{"name": "Low"}]))
    assert created["id"] != priorities[0]["id"] and created["priorityid"] == 2
    holidays = {h["name"]: h["id"] for h in body(api.get("/api/Holiday"))}
    assert len(set(holidays.values())) == 2 and all(isinstance(v, str) for v in holidays.values())
