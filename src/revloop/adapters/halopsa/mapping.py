"""HaloPSA wire records → plain, typed records the rest of revloop can use; the one place that knows
which Halo field means what.

A record that cannot be read becomes an ``Issue`` (code ``halopsa.malformed``) naming the record and
the problem; the rest of the page is still mapped. Times on actions are decimal hours on the wire and
minutes here, exactly (``Decimal``); dates are aware UTC datetimes; "not set" values are ``None``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from pydantic import ValidationError

from revloop.domain.issues import Issue, Severity

from . import wire

MALFORMED = "halopsa.malformed"
MINUTES_PER_HOUR = Decimal(60)
R = TypeVar("R")
W = TypeVar("W", bound=wire.Wire)


@dataclass(frozen=True, slots=True)
class ClientRecord:
    source_key: str
    name: str
    active: bool
    parent_id: int | None
    ref: str | None
    accounts_id: str | None
    xero_id: str | None
    currency: str | None
    invoice_to_client_id: int | None
    dont_invoice: bool
    taxable: bool
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class SiteRecord:
    source_key: str
    name: str
    client_id: int | None
    active: bool
    timezone: str | None
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class AgentRecord:
    source_key: str
    name: str
    email: str | None
    active: bool
    is_api_agent: bool
    hourly_cost: Decimal | None
    charge_type_id: int | None
    travel_charge_type_id: int | None
    workday_id: int | None
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class TicketRecord:
    source_key: str
    summary: str
    client_id: int | None
    site_id: int | None
    agent_id: int | None
    ticket_type_id: int | None
    status_id: int | None
    contract_id: int | None
    charge_type_id: int | None
    opened_at: datetime | None
    closed_at: datetime | None
    invoice_number: str | None
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class TimeEntryRecord:
    source_key: str  # "<ticket_id>/<action_id>": action ids are unique only within their ticket
    ticket_id: int
    action_id: int
    start_utc: datetime
    end_utc: datetime | None
    minutes: Decimal
    non_billable_minutes: Decimal
    travel_minutes: Decimal
    mileage: Decimal
    charge_type_id: int | None
    travel_charge_type_id: int | None
    agent_id: int | None
    client_id: int | None
    site_id: int | None
    contract_id: int | None
    invoice_number: str | None
    note: str
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class ContractRecord:
    source_key: str
    ref: str
    client_id: int | None
    site_id: int | None
    type_id: int | None
    type_name: str | None
    active: bool
    start: datetime | None
    end: datetime | None
    billing_period: int | None
    billing_period_name: str | None
    period_charge: Decimal
    included_hours: Decimal
    rollover: bool
    fixed_price: bool
    payg: bool
    prepay: bool
    dont_invoice: bool
    previous_contract_id: int | None
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class ChargeRateRecord:
    source_key: str
    charge_type_id: int | None
    client_id: int | None  # None = the global rate
    contract_id: int | None
    valid_from: datetime | None
    valid_to: datetime | None
    current: bool
    rate: Decimal
    minimum_minutes: Decimal
    increment_minutes: Decimal
    ooh_multiplier: Decimal
    holiday_multiplier: Decimal
    weekend_multiplier: Decimal
    contract_multiplier: Decimal


@dataclass(frozen=True, slots=True)
class InvoiceLineRecord:
    source_key: str
    item_id: int | None
    item_code: str | None
    description: str
    quantity: Decimal
    unit_price: Decimal
    net_amount: Decimal | None
    tax_code: str | None
    contract_id: int | None
    period_start: datetime | None
    period_end: datetime | None


@dataclass(frozen=True, slots=True)
class InvoiceRecord:
    source_key: str
    number: str | None
    third_party_number: str | None
    client_id: int | None
    contract_id: int | None
    invoice_date: datetime | None
    due_date: datetime | None
    total: Decimal | None
    tax_total: Decimal | None
    posted: bool
    voided: bool
    xero_id: str | None
    lines: tuple[InvoiceLineRecord, ...]
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class RecurringInvoiceRecord:
    source_key: str
    client_id: int | None
    contract_id: int | None
    next_creation: datetime | None
    period: int | None
    period_type: int | None
    start: datetime | None
    end: datetime | None
    lines: tuple[InvoiceLineRecord, ...]
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class ItemRecord:
    source_key: str
    name: str
    description: str | None
    price: Decimal | None
    cost: Decimal | None
    recurring: bool
    accounts_id: str | None
    nominal_code: str | None
    active: bool
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class AssetRecord:
    source_key: str
    inventory_number: str | None
    client_id: int | None
    site_id: int | None
    asset_type_id: int | None
    contract_id: int | None
    active: bool
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class QuotationRecord:
    source_key: str
    title: str
    client_id: int | None
    status: int | None
    date: datetime | None
    expiry: datetime | None
    total: Decimal | None
    updated_at: datetime | None


@dataclass
class Mapped(Generic[R]):
    """What one read produced: the records that could be read and an issue for each that could not."""

    records: list[R] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)

    def extend(self, other: Mapped[R]) -> None:
        self.records.extend(other.records)
        self.issues.extend(other.issues)


class Malformed(ValueError):
    """A record that parses but makes no sense (e.g. a time entry without any date)."""


def _zero(value: Decimal | None) -> Decimal:
    return value if value is not None else Decimal(0)


def _one(value: Decimal | None) -> Decimal:
    return value if value is not None else Decimal(1)


def _minutes(hours: Decimal | None) -> Decimal:
    return _zero(hours) * MINUTES_PER_HOUR


def _no_negative(name: str, value: Decimal | None) -> None:
    if value is not None and value < 0:
        raise Malformed(f"{name} is negative ({value})")


# --- one function per resource ------------------------------------------------------------------------


def client(w: wire.WireClient) -> ClientRecord:
    return ClientRecord(
        source_key=str(w.id),
        name=w.name or "",
        active=not w.inactive,
        parent_id=w.toplevel_id,
        ref=w.ref,
        accounts_id=w.accountsid,
        xero_id=w.xeroid,
        currency=w.currencyisocode,
        invoice_to_client_id=w.client_to_invoice,
        dont_invoice=bool(w.dontinvoice),
        taxable=w.taxable is not False,
        updated_at=w.alastupdate,
    )


def site(w: wire.WireSite) -> SiteRecord:
    return SiteRecord(str(w.id), w.name or "", w.client_id, not w.inactive, w.timezone, w.slastupdate)


def agent(w: wire.WireAgent) -> AgentRecord:
    return AgentRecord(
        source_key=str(w.id),
        name=w.name or "",
        email=w.email,
        active=not w.isdisabled,
        is_api_agent=bool(w.isapiagent),
        hourly_cost=w.costprice,
        charge_type_id=w.chargerate,
        travel_charge_type_id=w.travelrate,
        workday_id=w.workday_id,
        updated_at=w.last_modified,
    )


def ticket(w: wire.WireTicket) -> TicketRecord:
    return TicketRecord(
        source_key=str(w.id),
        summary=w.summary or "",
        client_id=w.client_id,
        site_id=w.site_id,
        agent_id=w.agent_id,
        ticket_type_id=w.tickettype_id,
        status_id=w.status_id,
        contract_id=w.contract_id,
        charge_type_id=w.chargerate,
        opened_at=w.dateoccurred,
        closed_at=w.dateclosed,
        invoice_number=w.invoicenumber,
        updated_at=w.last_update or w.lastupdate,
    )


def time_entry(w: wire.WireAction) -> TimeEntryRecord:
    start = w.actionarrivaldate or w.datetime_ or w.actiondatecreated
    if start is None:
        raise Malformed("has no date (actionarrivaldate, datetime and actiondatecreated are all unset)")
    for name in ("timetaken", "nonbilltime", "traveltime", "mileage"):
        _no_negative(name, getattr(w, name))
    end = w.actioncompletiondate
    if end is not None and end < start:
        end = None
    return TimeEntryRecord(
        source_key=f"{w.ticket_id}/{w.id}",
        ticket_id=w.ticket_id,
        action_id=w.id,
        start_utc=start,
        end_utc=end,
        minutes=_minutes(w.timetaken),
        non_billable_minutes=_minutes(w.nonbilltime),
        travel_minutes=_minutes(w.traveltime),
        mileage=_zero(w.mileage),
        charge_type_id=w.chargerate,
        travel_charge_type_id=w.travel_chargerate,
        agent_id=w.who_agentid,
        client_id=w.client_id,
        site_id=w.site_id,
        contract_id=w.actioncontractid or w.action_contract_id,
        invoice_number=w.actioninvoicenumber,
        note=w.note or "",
        updated_at=w.last_updated,
    )


def contract(w: wire.WireContract) -> ContractRecord:
    _no_negative("periodchargeamount", w.periodchargeamount)
    return ContractRecord(
        source_key=str(w.id),
        ref=w.ref or "",
        client_id=w.client_id,
        site_id=w.site_id,
        type_id=w.contracttype,
        type_name=w.contracttype_name,
        active=w.active is not False,
        start=w.start_date,
        end=w.end_date,
        billing_period=w.billingperiod,
        billing_period_name=w.billing_period_string,
        period_charge=_zero(w.periodchargeamount),
        included_hours=_zero(w.numberofunitsfree),
        rollover=bool(w.chargerollover),
        fixed_price=bool(w.allowfixedprice),
        payg=bool(w.allowpyg),
        prepay=bool(w.allowprepay),
        dont_invoice=bool(w.dontinvoice),
        previous_contract_id=w.previouscontract,
        updated_at=w.last_modified,
    )


def charge_rate(w: wire.WireChargeRate) -> ChargeRateRecord:
    _no_negative("rate", w.rate)
    return ChargeRateRecord(
        source_key=str(w.id),
        charge_type_id=w.charge_id,
        client_id=w.area,
        contract_id=w.contract_id,
        valid_from=w.startdate,
        valid_to=w.expirydate,
        current=w.current is not False,
        rate=_zero(w.rate),
        minimum_minutes=_zero(w.minimum),
        increment_minutes=_zero(w.increment),
        ooh_multiplier=_one(w.oohmultiplier),
        holiday_multiplier=_one(w.holidaymultiplier),
        weekend_multiplier=_one(w.weekendmultiplier),
        contract_multiplier=_one(w.contractmultiplier),
    )


def _line(w: wire.WireInvoiceLine) -> InvoiceLineRecord:
    return InvoiceLineRecord(
        source_key=str(w.id),
        item_id=w.item_id,
        item_code=w.item_code,
        description=w.item_shortdescription or "",
        quantity=_one(w.qty_order),
        unit_price=_zero(w.unit_price),
        net_amount=w.net_amount,
        tax_code=w.tax_code,
        contract_id=w.contract_id,
        period_start=w.startdate,
        period_end=w.enddate,
    )


def invoice(w: wire.WireInvoice) -> InvoiceRecord:
    return InvoiceRecord(
        source_key=str(w.id),
        number=w.invoicenumber,
        third_party_number=w.thirdpartyinvoicenumber,
        client_id=w.client_id,
        contract_id=w.contract_id,
        invoice_date=w.invoice_date,
        due_date=w.duedate,
        total=w.total,
        tax_total=w.tax_total,
        posted=bool(w.posted),
        voided=bool(w.voided),
        xero_id=w.xeroid,
        lines=tuple(_line(line) for line in w.lines or ()),
        updated_at=w.last_modified,
    )


def recurring_invoice(w: wire.WireInvoice) -> RecurringInvoiceRecord:
    return RecurringInvoiceRecord(
        source_key=str(w.id),
        client_id=w.client_id,
        contract_id=w.contract_id,
        next_creation=w.nextcreationdate,
        period=w.period,
        period_type=w.period_type,
        start=w.startdate,
        end=w.enddate,
        lines=tuple(_line(line) for line in w.lines or ()),
        updated_at=w.last_modified,
    )


def item(w: wire.WireItem) -> ItemRecord:
    return ItemRecord(
        source_key=str(w.id),
        name=w.name or "",
        description=w.description,
        price=w.baseprice,
        cost=w.costprice,
        recurring=bool(w.isrecurringitem),
        accounts_id=w.accountsid,
        nominal_code=w.nominalcode,
        active=not w.inactive,
        updated_at=w.lastmodified,
    )


def asset(w: wire.WireAsset) -> AssetRecord:
    return AssetRecord(
        source_key=str(w.id),
        inventory_number=w.inventory_number,
        client_id=w.client_id,
        site_id=w.site_id,
        asset_type_id=w.assettype_id,
        contract_id=w.contract_id,
        active=not w.inactive,
        updated_at=w.dlastupdate,
    )


def quotation(w: wire.WireQuotation) -> QuotationRecord:
    return QuotationRecord(
        source_key=str(w.id),
        title=w.title or "",
        client_id=w.client_id,
        status=w.status,
        date=w.date,
        expiry=w.expiry_date,
        total=w.total,
        updated_at=w.last_update_time,
    )


# --- the mapping table ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind(Generic[W, R]):
    """How one kind of record is read: its resource, wire model and mapping."""

    name: str  # "time_entry"
    resource: str  # "Actions"
    model: type[W]
    convert: Callable[[W], R]

    def subject(self, raw: Any) -> str:
        if isinstance(raw, dict):
            rid = raw.get("id", "?")
            if self.name == "time_entry":
                return f"halopsa {self.name} {raw.get('ticket_id', '?')}/{rid}"
            return f"halopsa {self.name} {rid}"
        return f"halopsa {self.name} (not an object)"

    def one(self, raw: Any) -> R | Issue:
        """The record, or an issue that names it and says what is wrong."""
        if not isinstance(raw, dict):
            return _issue(self.subject(raw), f"expected an object, got {type(raw).__name__}")
        try:
            return self.convert(self.model.model_validate(raw))
        except ValidationError as exc:
            return _issue(self.subject(raw), _describe(exc))
        except (Malformed, ValueError, TypeError) as exc:
            return _issue(self.subject(raw), str(exc))

    def many(self, raws: Iterable[Any]) -> Mapped[R]:
        out: Mapped[R] = Mapped()
        for raw in raws:
            result = self.one(raw)
            if isinstance(result, Issue):
                out.issues.append(result)
            else:
                out.records.append(result)
        return out


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(p) for p in error["loc"]) or "record"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def _issue(subject: str, problem: str) -> Issue:
    return Issue(
        code=MALFORMED,
        severity=Severity.ERROR,
        subject=subject,
        message=f"HaloPSA sent a record revloop cannot read: {problem}",
        action="fix the record in HaloPSA, then sync again",
    )


CLIENTS: Kind[wire.WireClient, ClientRecord] = Kind("client", "Client", wire.WireClient, client)
SITES: Kind[wire.WireSite, SiteRecord] = Kind("site", "Site", wire.WireSite, site)
AGENTS: Kind[wire.WireAgent, AgentRecord] = Kind("agent", "Agent", wire.WireAgent, agent)
TICKETS: Kind[wire.WireTicket, TicketRecord] = Kind("ticket", "Tickets", wire.WireTicket, ticket)
TIME_ENTRIES: Kind[wire.WireAction, TimeEntryRecord] = Kind(
    "time_entry", "Actions", wire.WireAction, time_entry
)
CONTRACTS: Kind[wire.WireContract, ContractRecord] = Kind(
    "contract", "ClientContract", wire.WireContract, contract
)
CHARGE_RATES: Kind[wire.WireChargeRate, ChargeRateRecord] = Kind(
    "charge_rate", "ChargeRate", wire.WireChargeRate, charge_rate
)
INVOICES: Kind[wire.WireInvoice, InvoiceRecord] = Kind("invoice", "Invoice", wire.WireInvoice, invoice)
RECURRING_INVOICES: Kind[wire.WireInvoice, RecurringInvoiceRecord] = Kind(
    "recurring_invoice", "RecurringInvoice", wire.WireInvoice, recurring_invoice
)
ITEMS: Kind[wire.WireItem, ItemRecord] = Kind("item", "Item", wire.WireItem, item)
ASSETS: Kind[wire.WireAsset, AssetRecord] = Kind("asset", "Asset", wire.WireAsset, asset)
QUOTATIONS: Kind[wire.WireQuotation, QuotationRecord] = Kind(
    "quotation", "Quotation", wire.WireQuotation, quotation
)
