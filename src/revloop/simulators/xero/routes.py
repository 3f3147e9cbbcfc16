"""The Accounting API's routes: path templates, handlers, and the OAuth scopes each one needs."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from . import contacts, documents, payments, reports, settings
from .state import Ctx
from .wire import not_found

API = "/api.xro/2.0"

# Scope groups: (scopes that allow reading, scopes that allow writing).
SETTINGS = ({"accounting.settings", "accounting.settings.read"}, {"accounting.settings"})
ITEMS = (
    SETTINGS[0] | {"accounting.invoices", "accounting.invoices.read"},
    {"accounting.settings", "accounting.invoices"},
)
CONTACTS = ({"accounting.contacts", "accounting.contacts.read"}, {"accounting.contacts"})
INVOICES = (
    {
        "accounting.transactions",
        "accounting.transactions.read",
        "accounting.invoices",
        "accounting.invoices.read",
    },
    {"accounting.transactions", "accounting.invoices"},
)
PAYMENTS = (
    {
        "accounting.transactions",
        "accounting.transactions.read",
        "accounting.payments",
        "accounting.payments.read",
    },
    {"accounting.transactions", "accounting.payments"},
)
REPORTS: tuple[set[str], set[str]] = (
    {"accounting.reports.read", "accounting.reports.profitandloss.read"},
    set(),
)

Handler = Callable[[Ctx, dict[str, str], Any], httpx.Response]


@dataclass
class Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    handler: Handler
    scopes: tuple[set[str], set[str]]


def _doc_routes(kind: documents.Kind, scopes: tuple[set[str], set[str]]) -> list[tuple[str, str, Any, Any]]:
    one = f"/{kind.key}/{{{kind.id_field}}}"
    return [
        ("GET", f"/{kind.key}", lambda c, p, b: documents.list_documents(c, kind), scopes),
        (
            "PUT",
            f"/{kind.key}",
            lambda c, p, b: documents.write_documents(c, kind, b, create_only=True),
            scopes,
        ),
        (
            "POST",
            f"/{kind.key}",
            lambda c, p, b: documents.write_documents(c, kind, b, create_only=False),
            scopes,
        ),
        ("GET", one, lambda c, p, b: documents.get_document(c, kind, p[kind.id_field]), scopes),
        (
            "POST",
            one,
            lambda c, p, b: documents.write_documents(
                c, kind, b, create_only=False, forced_id=p[kind.id_field]
            ),
            scopes,
        ),
    ]


def _api_routes() -> list[tuple[str, str, Any, Any]]:
    routes: list[tuple[str, str, Any, Any]] = [
        ("GET", "/Organisation", lambda c, p, b: settings.get_organisation(c), SETTINGS),
        ("GET", "/Accounts", lambda c, p, b: settings.list_accounts(c), SETTINGS),
        ("GET", "/Accounts/{AccountID}", lambda c, p, b: settings.get_account(c, p["AccountID"]), SETTINGS),
        ("GET", "/TaxRates", lambda c, p, b: settings.list_tax_rates(c), SETTINGS),
        ("GET", "/TaxRates/{TaxType}", lambda c, p, b: settings.list_tax_rates(c, p["TaxType"]), SETTINGS),
        ("GET", "/Currencies", lambda c, p, b: settings.list_currencies(c), SETTINGS),
        ("GET", "/BrandingThemes", lambda c, p, b: settings.list_branding_themes(c), SETTINGS),
        (
            "GET",
            "/BrandingThemes/{BrandingThemeID}",
            lambda c, p, b: settings.list_branding_themes(c, p["BrandingThemeID"]),
            SETTINGS,
        ),
        ("GET", "/TrackingCategories", lambda c, p, b: settings.list_tracking(c), SETTINGS),
        (
            "GET",
            "/TrackingCategories/{TrackingCategoryID}",
            lambda c, p, b: settings.list_tracking(c, p["TrackingCategoryID"]),
            SETTINGS,
        ),
        ("GET", "/Items", lambda c, p, b: settings.list_items(c), ITEMS),
        ("PUT", "/Items", lambda c, p, b: settings.write_items(c, b, create_only=True), ITEMS),
        ("POST", "/Items", lambda c, p, b: settings.write_items(c, b, create_only=False), ITEMS),
        ("GET", "/Items/{ItemID}", lambda c, p, b: settings.get_item(c, p["ItemID"]), ITEMS),
        (
            "POST",
            "/Items/{ItemID}",
            lambda c, p, b: settings.write_items(c, b, create_only=False, forced_id=p["ItemID"]),
            ITEMS,
        ),
        ("GET", "/Contacts", lambda c, p, b: contacts.list_contacts(c), CONTACTS),
        ("PUT", "/Contacts", lambda c, p, b: contacts.write_contacts(c, b, create_only=True), CONTACTS),
        ("POST", "/Contacts", lambda c, p, b: contacts.write_contacts(c, b, create_only=False), CONTACTS),
        ("GET", "/Contacts/{ContactID}", lambda c, p, b: contacts.get_contact(c, p["ContactID"]), CONTACTS),
        (
            "POST",
            "/Contacts/{ContactID}",
            lambda c, p, b: _post_contact(c, p["ContactID"], b),
            CONTACTS,
        ),
        ("GET", "/Payments", lambda c, p, b: payments.list_payments(c), PAYMENTS),
        ("PUT", "/Payments", lambda c, p, b: payments.create_payments(c, b), PAYMENTS),
        ("POST", "/Payments", lambda c, p, b: payments.create_payments(c, b), PAYMENTS),
        ("GET", "/Payments/{PaymentID}", lambda c, p, b: payments.get_payment(c, p["PaymentID"]), PAYMENTS),
        (
            "POST",
            "/Payments/{PaymentID}",
            lambda c, p, b: payments.delete_payment(c, p["PaymentID"], b),
            PAYMENTS,
        ),
        (
            "PUT",
            "/CreditNotes/{CreditNoteID}/Allocations",
            lambda c, p, b: payments.allocate_credit_note(c, p["CreditNoteID"], b),
            INVOICES,
        ),
        ("GET", "/Reports/ProfitAndLoss", lambda c, p, b: reports.profit_and_loss(c), REPORTS),
    ]
    routes += _doc_routes(documents.INVOICE, INVOICES)
    routes += _doc_routes(documents.CREDIT_NOTE, INVOICES)
    routes += _doc_routes(documents.QUOTE, INVOICES)
    routes += _doc_routes(documents.REPEATING, INVOICES)
    return routes


def _post_contact(ctx: Ctx, key: str, body: Any) -> httpx.Response:
    record = contacts.find(ctx.org, key)
    if record is None:
        return not_found()
    return contacts.write_contacts(ctx, body, create_only=False, forced_id=record["ContactID"])


def _compile(template: str) -> re.Pattern[str]:
    pattern = re.sub(r"\\\{[A-Za-z]+\\\}", r"([^/]+)", re.escape(template))
    return re.compile(f"^{pattern}/?$", re.IGNORECASE)


def api_routes() -> list[Route]:
    return [Route(m, f"{API}{t}", _compile(f"{API}{t}"), h, s) for m, t, h, s in _api_routes()]
