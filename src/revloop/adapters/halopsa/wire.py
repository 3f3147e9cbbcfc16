"""HaloPSA payloads as Halo sends them, read leniently into typed models.

Halo's habits (NOTES §2.3): ids may come as ``21.0`` or ``"21"``; ``-1`` (and for references ``0``)
means "not set"; an unset date is ``1900-01-01T00:00:00``; dates carry no offset and mean UTC; every
record carries far more fields than we read, and builds add fields often. The models therefore allow
extra fields, and every value goes through one of the readers below. JSON is parsed with ``Decimal``
for every non-integer number, so no figure ever passes through a float.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from revloop import exactjson
from revloop.exactjson import read_decimal

EMPTY_YEAR = 1900


# --- JSON --------------------------------------------------------------------------------------------


def loads(body: bytes | str) -> Any:
    """Parse JSON with every non-integer number as ``Decimal``."""
    return json.loads(body, parse_float=Decimal)


def _convert(obj: Any) -> Any:
    """HaloPSA's dates: naive UTC ISO text."""
    if isinstance(obj, datetime):
        return format_dt(obj)
    raise TypeError(f"cannot write {type(obj).__name__} as JSON")


def dumps(obj: Any) -> str:
    """JSON text; a ``Decimal`` is written digit for digit, never through float."""
    return exactjson.dumps(obj, convert=_convert, ensure_ascii=True)


# --- value readers -----------------------------------------------------------------------------------

_INT_TEXT = re.compile(r"^-?\d+(\.0+)?$")


def read_int(value: Any) -> int:
    """An id or count: ``21``, ``21.0`` or ``"21"``. Anything fractional or non-numeric is refused."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not an id")
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        if value != value.to_integral_value():
            raise ValueError(f"{value} is not a whole number")
        return int(value)
    if isinstance(value, float):
        raise ValueError("float values are not accepted")
    if isinstance(value, str) and _INT_TEXT.match(value.strip()):
        return int(Decimal(value.strip()))
    raise ValueError(f"not an id: {value!r}")


def read_ref(value: Any) -> int | None:
    """A reference to another record: ``None`` for null, ``""``, ``-1`` and ``0`` (Halo's "not set")."""
    if value is None or value == "":
        return None
    number = read_int(value)
    return None if number in (-1, 0) else number


def parse_dt(value: Any) -> datetime | None:
    """A Halo date as an aware UTC datetime; ``None`` for empty values and years up to 1900."""
    if value is None:
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if text[-1] in "Zz":
            text = text[:-1] + "+00:00"
        text = re.sub(r"(\.\d{6})\d+", r"\1", text)  # .NET may send 7 fractional digits
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not a date: {value!r}") from None
    else:
        raise ValueError(f"not a date: {value!r}")
    dt = dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
    if dt.year <= EMPTY_YEAR:
        return None
    return dt


def format_dt(value: datetime) -> str:
    """A datetime as Halo writes it: naive UTC, to the second."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%S")


def read_text(value: Any) -> str | None:
    """Text, with ``""`` read as not set."""
    if value is None:
        return None
    if isinstance(value, str):
        return value or None
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return str(value)
    raise ValueError(f"not text: {value!r}")


def read_bool(value: Any) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError(f"not a boolean: {value!r}")


Id = Annotated[int, BeforeValidator(read_int)]
Ref = Annotated[int | None, BeforeValidator(read_ref)]
Num = Annotated[Decimal | None, BeforeValidator(read_decimal)]
When = Annotated[datetime | None, BeforeValidator(parse_dt)]
Text = Annotated[str | None, BeforeValidator(read_text)]
Flag = Annotated[bool | None, BeforeValidator(read_bool)]


class Wire(BaseModel):
    """Base of every Halo payload: unknown fields are kept, never refused."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)


# --- resources ---------------------------------------------------------------------------------------


class WireClient(Wire):
    id: Id
    name: Text = None
    inactive: Flag = None
    toplevel_id: Ref = None
    ref: Text = None
    hourlyrate: Num = None
    dontinvoice: Flag = None
    taxable: Flag = None
    accountsid: Text = None
    xeroid: Text = None
    currencyisocode: Text = None
    client_to_invoice: Ref = None
    excludefrominvoicesync: Flag = None
    alastupdate: When = None


class WireSite(Wire):
    id: Id
    name: Text = None
    client_id: Ref = None
    inactive: Flag = None
    timezone: Text = None
    isinvoicesite: Flag = None
    accountsid: Text = None
    slastupdate: When = None


class WireAgent(Wire):
    id: Id
    name: Text = None
    email: Text = None
    isdisabled: Flag = None
    isapiagent: Flag = None
    costprice: Num = None
    chargerate: Ref = None
    travelrate: Ref = None
    workday_id: Ref = None
    last_modified: When = None


class WireTicket(Wire):
    id: Id
    summary: Text = None
    client_id: Ref = None
    site_id: Ref = None
    agent_id: Ref = None
    tickettype_id: Ref = None
    status_id: Ref = None
    contract_id: Ref = None
    chargerate: Ref = None
    dateoccurred: When = None
    dateclosed: When = None
    last_update: When = None
    lastupdate: When = None  # the POST echo's spelling
    invoicenumber: Text = None
    parent_id: Ref = None


class WireAction(Wire):
    id: Id
    ticket_id: Id
    who_agentid: Ref = None
    outcome: Text = None
    note: Text = None
    datetime_: When = Field(default=None, alias="datetime")
    actiondatecreated: When = None
    actionarrivaldate: When = None
    actioncompletiondate: When = None
    last_updated: When = None
    timetaken: Num = None
    nonbilltime: Num = None
    traveltime: Num = None
    mileage: Num = None
    chargerate: Ref = None
    travel_chargerate: Ref = None
    actioncontractid: Ref = None
    action_contract_id: Ref = None
    actioninvoicenumber: Text = None
    client_id: Ref = None
    site_id: Ref = None


class WireContract(Wire):
    id: Id
    ref: Text = None
    client_id: Ref = None
    site_id: Ref = None
    contracttype: Ref = None
    contracttype_name: Text = None
    active: Flag = None
    start_date: When = None
    end_date: When = None
    billingperiod: Ref = None
    billing_period_string: Text = None
    periodchargeamount: Num = None
    numberofunitsfree: Num = None
    chargerollover: Flag = None
    allowfixedprice: Flag = None
    allowpyg: Flag = None
    allowprepay: Flag = None
    dontinvoice: Flag = None
    previouscontract: Ref = None
    last_modified: When = None


class WireChargeRate(Wire):
    id: Id
    area: Ref = None
    contract_id: Ref = None
    charge_id: Ref = None
    startdate: When = None
    expirydate: When = None
    current: Flag = None
    rate: Num = None
    minimum: Num = None
    increment: Num = None
    oohmultiplier: Num = None
    holidaymultiplier: Num = None
    weekendmultiplier: Num = None
    contractmultiplier: Num = None


class WireInvoiceLine(Wire):
    id: Id
    ihid: Ref = None
    item_code: Text = None
    item_id: Ref = Field(default=None, alias="_itemid")
    item_shortdescription: Text = None
    qty_order: Num = None
    unit_price: Num = None
    net_amount: Num = None
    tax_code: Text = None
    contract_id: Ref = None
    startdate: When = None
    enddate: When = None


class WireInvoice(Wire):
    id: Id
    invoicenumber: Text = None
    thirdpartyinvoicenumber: Text = None
    client_id: Ref = None
    contract_id: Ref = None
    invoice_date: When = None
    duedate: When = None
    total: Num = None
    tax_total: Num = None
    posted: Flag = None
    voided: Flag = None
    xeroid: Text = None
    is_recurring_invoice: Flag = None
    nextcreationdate: When = None
    period: Ref = None
    period_type: Ref = None
    startdate: When = None
    enddate: When = None
    last_modified: When = None
    lines: list[WireInvoiceLine] | None = None


class WireItem(Wire):
    id: Id
    name: Text = None
    description: Text = None
    baseprice: Num = None
    costprice: Num = None
    isrecurringitem: Flag = None
    accountsid: Text = None
    nominalcode: Text = None
    inactive: Flag = None
    lastmodified: When = None


class WireAsset(Wire):
    id: Id
    inventory_number: Text = None
    client_id: Ref = None
    site_id: Ref = None
    assettype_id: Ref = None
    contract_id: Ref = None
    inactive: Flag = None
    dlastupdate: When = None


class WireQuotation(Wire):
    id: Id
    title: Text = None
    client_id: Ref = None
    status: Ref = None
    date: When = None
    expiry_date: When = None
    total: Num = None
    last_update_time: When = None
