"""Xero payloads: exact JSON numbers both ways, .NET ``/Date()/`` dates, tolerant typed models.

- JSON is parsed with ``Decimal`` for every non-integer number and written with each ``Decimal`` as a
  number, digit for digit, never through float (NOTES §9.4).
- Dates come as ``/Date(1539993600000+0000)/`` (milliseconds since the epoch, UTC) or ISO text; a
  document date is the UTC calendar date of that instant (NOTES §4). Dates are written ``YYYY-MM-DD``.
- Enum values Xero adds later are kept as plain strings (the official SDK crashes on them, NOTES §9.1).
- Every model keeps unknown fields (``extra="allow"``).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from revloop import exactjson
from revloop.exactjson import read_decimal

ZERO_GUID = "00000000-0000-0000-0000-000000000000"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


# --- JSON --------------------------------------------------------------------------------------------


def loads(body: bytes | str) -> Any:
    """Parse JSON with every non-integer number as ``Decimal``."""
    return json.loads(body, parse_float=Decimal)


def _convert(obj: Any) -> Any:
    """Xero's request dates: ``YYYY-MM-DD`` and UTC ``YYYY-MM-DDTHH:MM:SS``; enums as their value."""
    if isinstance(obj, datetime):
        return obj.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, StrEnum):
        return obj.value
    raise TypeError(f"cannot write {type(obj).__name__} as JSON")


def dumps(obj: Any) -> str:
    """JSON text; ``Decimal`` as an exact number, ``date`` as ``YYYY-MM-DD``."""
    return exactjson.dumps(obj, convert=_convert)


# --- dates -------------------------------------------------------------------------------------------


def parse_timestamp(value: Any) -> datetime | None:
    """``/Date(ms+0000)/`` or ISO text (a missing zone means UTC) → an aware UTC datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if not isinstance(value, str):
        raise ValueError(f"not a timestamp: {value!r}")
    match = _MS_DATE.match(value.strip())
    if match:
        return EPOCH + timedelta(milliseconds=int(match.group(1)))
    text = value.strip()
    if text[-1] in "Zz":
        text = text[:-1] + "+00:00"
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)  # .NET writes up to 7 fractional digits
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not a timestamp: {value!r}") from None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def parse_date(value: Any) -> date | None:
    """A document date: the UTC calendar date of ``/Date(ms)/``, or the date part of ISO text."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and not _MS_DATE.match(value.strip()):
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            raise ValueError(f"not a date: {value!r}") from None
    stamp = parse_timestamp(value)
    return stamp.date() if stamp else None


def ms_date(day: date) -> str:
    """``date(2026, 10, 1)`` → ``/Date(1790812800000+0000)/`` (midnight UTC)."""
    moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return f"/Date({ms(moment)}+0000)/"


def ms(moment: datetime) -> int:
    delta = moment.astimezone(UTC) - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def http_date(moment: datetime) -> str:
    """The ``If-Modified-Since`` value: ISO 8601 UTC to the second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


# --- enums (known values; anything else stays a string) -------------------------------------------------


class InvoiceType(StrEnum):
    ACCREC = "ACCREC"
    ACCPAY = "ACCPAY"


class InvoiceStatus(StrEnum):
    DRAFT = "DRAFT"
    SUBMITTED = "SUBMITTED"
    AUTHORISED = "AUTHORISED"
    PAID = "PAID"
    VOIDED = "VOIDED"
    DELETED = "DELETED"


class AmountType(StrEnum):
    EXCLUSIVE = "Exclusive"
    INCLUSIVE = "Inclusive"
    NO_TAX = "NoTax"


class ContactState(StrEnum):
    ACTIVE = "ACTIVE"
    ARCHIVED = "ARCHIVED"
    GDPRREQUEST = "GDPRREQUEST"


class ResultStatus(StrEnum):
    OK = "OK"
    WARNING = "WARNING"
    ERROR = "ERROR"


def _tolerant(enum: type[StrEnum]) -> BeforeValidator:
    def convert(value: Any) -> Any:
        if isinstance(value, str):
            try:
                return enum(value)
            except ValueError:
                return value
        return value

    return BeforeValidator(convert)


Money = Annotated[Decimal | None, BeforeValidator(read_decimal)]
Day = Annotated[date | None, BeforeValidator(parse_date)]
Stamp = Annotated[datetime | None, BeforeValidator(parse_timestamp)]


class Wire(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)


class XeroMessage(Wire):
    Message: str = ""


class Connection(Wire):
    id: str
    tenantId: str
    tenantType: str | None = None
    tenantName: str | None = None
    authEventId: str | None = None
    createdDateUtc: Stamp = None
    updatedDateUtc: Stamp = None


class ContactRef(Wire):
    ContactID: str | None = None
    Name: str | None = None
    ContactNumber: str | None = None


class LineItem(Wire):
    LineItemID: str | None = None
    Description: str | None = None
    Quantity: Money = None
    UnitAmount: Money = None
    ItemCode: str | None = None
    AccountCode: str | None = None
    TaxType: str | None = None
    TaxAmount: Money = None
    LineAmount: Money = None
    DiscountRate: Money = None
    Tracking: list[dict[str, Any]] = Field(default_factory=list)


class Invoice(Wire):
    InvoiceID: str | None = None
    InvoiceNumber: str | None = None
    Type: Annotated[InvoiceType | str | None, _tolerant(InvoiceType)] = None
    Status: Annotated[InvoiceStatus | str | None, _tolerant(InvoiceStatus)] = None
    LineAmountTypes: Annotated[AmountType | str | None, _tolerant(AmountType)] = None
    Contact: ContactRef | None = None
    Reference: str | None = None
    Date: Day = None
    DueDate: Day = None
    CurrencyCode: str | None = None
    CurrencyRate: Money = None
    LineItems: list[LineItem] = Field(default_factory=list)
    SubTotal: Money = None
    TotalTax: Money = None
    Total: Money = None
    AmountDue: Money = None
    AmountPaid: Money = None
    AmountCredited: Money = None
    RepeatingInvoiceID: str | None = None
    Url: str | None = None
    UpdatedDateUTC: Stamp = None
    StatusAttributeString: Annotated[ResultStatus | str | None, _tolerant(ResultStatus)] = None
    ValidationErrors: list[XeroMessage] = Field(default_factory=list)
    Warnings: list[XeroMessage] = Field(default_factory=list)


class Contact(Wire):
    ContactID: str | None = None
    ContactNumber: str | None = None
    AccountNumber: str | None = None
    ContactStatus: Annotated[ContactState | str | None, _tolerant(ContactState)] = None
    Name: str | None = None
    EmailAddress: str | None = None
    TaxNumber: str | None = None
    DefaultCurrency: str | None = None
    IsCustomer: bool | None = None
    IsSupplier: bool | None = None
    UpdatedDateUTC: Stamp = None
    StatusAttributeString: Annotated[ResultStatus | str | None, _tolerant(ResultStatus)] = None
    ValidationErrors: list[XeroMessage] = Field(default_factory=list)
    Warnings: list[XeroMessage] = Field(default_factory=list)


class ItemDetails(Wire):
    UnitPrice: Money = None
    AccountCode: str | None = None
    TaxType: str | None = None


class Item(Wire):
    ItemID: str | None = None
    Code: str | None = None
    Name: str | None = None
    Description: str | None = None
    IsSold: bool | None = None
    IsPurchased: bool | None = None
    SalesDetails: ItemDetails | None = None
    PurchaseDetails: ItemDetails | None = None
    UpdatedDateUTC: Stamp = None
    StatusAttributeString: Annotated[ResultStatus | str | None, _tolerant(ResultStatus)] = None
    ValidationErrors: list[XeroMessage] = Field(default_factory=list)
    Warnings: list[XeroMessage] = Field(default_factory=list)


class TaxComponent(Wire):
    Name: str | None = None
    Rate: Money = None
    IsCompound: bool | None = None


class TaxRate(Wire):
    Name: str | None = None
    TaxType: str | None = None
    Status: str | None = None
    DisplayTaxRate: Money = None
    EffectiveRate: Money = None
    TaxComponents: list[TaxComponent] = Field(default_factory=list)


class Account(Wire):
    AccountID: str | None = None
    Code: str | None = None
    Name: str | None = None
    Type: str | None = None
    Status: str | None = None
    TaxType: str | None = None
    SystemAccount: str | None = None


_Invoice = Invoice


class Payment(Wire):
    PaymentID: str | None = None
    Date: Day = None
    Amount: Money = None
    Status: str | None = None
    Reference: str | None = None
    Invoice: _Invoice | None = None
    UpdatedDateUTC: Stamp = None


class CreditNote(Wire):
    CreditNoteID: str | None = None
    CreditNoteNumber: str | None = None
    Type: str | None = None
    Status: Annotated[InvoiceStatus | str | None, _tolerant(InvoiceStatus)] = None
    LineAmountTypes: Annotated[AmountType | str | None, _tolerant(AmountType)] = None
    Contact: ContactRef | None = None
    Reference: str | None = None
    Date: Day = None
    CurrencyCode: str | None = None
    CurrencyRate: Money = None
    SubTotal: Money = None
    TotalTax: Money = None
    Total: Money = None
    RemainingCredit: Money = None
    LineItems: list[LineItem] = Field(default_factory=list)
    UpdatedDateUTC: Stamp = None
    ValidationErrors: list[XeroMessage] = Field(default_factory=list)

    # read like an invoice where posting handles both alike
    @property
    def InvoiceID(self) -> str | None:
        return self.CreditNoteID

    @property
    def InvoiceNumber(self) -> str | None:
        return self.CreditNoteNumber

    @property
    def DueDate(self) -> Day:
        return None


class Allocation(Wire):
    AllocationID: str | None = None
    Amount: Money = None
    Date: Day = None
    ValidationErrors: list[XeroMessage] = Field(default_factory=list)


class Organisation(Wire):
    OrganisationID: str | None = None
    Name: str | None = None
    ShortCode: str | None = None
    BaseCurrency: str | None = None
    CountryCode: str | None = None
    Version: str | None = None
    Timezone: str | None = None
    PeriodLockDate: Day = None


class ReportAttribute(Wire):
    Id: str | None = None
    Value: str | None = None


class ReportCell(Wire):
    Value: Annotated[str | None, BeforeValidator(lambda v: None if v is None else str(v))] = None
    Attributes: list[ReportAttribute] = Field(default_factory=list)


class ReportRow(Wire):
    """A report row: ``Header``, ``Section`` (with ``Rows``), ``Row`` or ``SummaryRow``."""

    RowType: str | None = None
    Title: str | None = None
    Cells: list[ReportCell] = Field(default_factory=list)
    Rows: list[ReportRow] = Field(default_factory=list)


class Report(Wire):
    ReportID: str | None = None
    ReportName: str | None = None
    ReportType: str | None = None
    ReportTitles: list[str] = Field(default_factory=list)
    ReportDate: str | None = None
    UpdatedDateUTC: Stamp = None
    Rows: list[ReportRow] = Field(default_factory=list)


def messages(element: dict[str, Any], key: str = "ValidationErrors") -> list[str]:
    """The ``Message`` texts of an element's ``ValidationErrors`` (or ``Warnings``)."""
    found = element.get(key) or []
    return [str(m.get("Message", "")) for m in found if isinstance(m, dict)]
