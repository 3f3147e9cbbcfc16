"""The dashboard's data: one set of models for the pages and the API, and ``redact``, the single
place money leaves a response for a role that may not see it.

A field that is money is declared ``Money`` (a Decimal, or null when redacted); free text that may
name amounts (a finding's message) is ``MoneyText`` and has its figures masked; text that is all
about money (a line's pricing explanation) is ``MoneyOnlyText`` and is dropped. ``redact`` walks a
model and everything in it, so a new field declared with these types is covered everywhere.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from revloop.web.roles import Action, Role, can

_MONEY = "x-money"
_MONEY_TEXT = "x-money-text"

Money = Annotated[
    Decimal | None,
    Field(
        json_schema_extra={_MONEY: True},
        description="An amount of money; null for roles that may not see money.",
    ),
]
MoneyText = Annotated[str, Field(json_schema_extra={_MONEY_TEXT: "mask"})]
OptionalMoneyText = Annotated[str | None, Field(json_schema_extra={_MONEY_TEXT: "mask"})]
MoneyOnlyText = Annotated[
    str | None,
    Field(
        json_schema_extra={_MONEY_TEXT: "drop"},
        description="About prices and amounts; null for roles that may not see money.",
    ),
]

MASK = "•••"
#: figures that read as money in free text: "413.26", "1,234.50", "£95", "GBP 12.00", "-40.00"
_AMOUNT = re.compile(
    r"(?:[£$€¥]\s?|\b[A-Z]{3}\s)?-?\d{1,3}(?:,\d{3})+(?:\.\d+)?"
    r"|(?:[£$€¥]\s?|\b[A-Z]{3}\s)?-?\d+\.\d{2,4}\b"
    r"|[£$€¥]\s?-?\d+"
)


def mask_amounts(text: str) -> str:
    return _AMOUNT.sub(MASK, text)


class Model(BaseModel):
    model_config = ConfigDict(frozen=True)


M = TypeVar("M", bound=BaseModel)


def _marker(extra: Any, key: str) -> Any:
    return extra.get(key) if isinstance(extra, dict) else None


def _redact_value(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return _strip(value)
    if isinstance(value, list):
        return [_redact_value(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_redact_value(v) for v in value)
    if isinstance(value, dict):
        return {k: _redact_value(v) for k, v in value.items()}
    return value


def _strip(model: M) -> M:
    update: dict[str, Any] = {}
    for name, info in type(model).model_fields.items():
        extra = info.json_schema_extra
        value = getattr(model, name)
        if _marker(extra, _MONEY) or _marker(extra, _MONEY_TEXT) == "drop":
            update[name] = None
        elif _marker(extra, _MONEY_TEXT) == "mask":
            update[name] = mask_amounts(value) if isinstance(value, str) else value
        else:
            update[name] = _redact_value(value)
    return model.model_copy(update=update)


def redact(model: M, role: Role | str) -> M:
    """``model`` as ``role`` may see it: unchanged for a role with ``view_money``; otherwise every
    money field null, every money-only text null and every amount in free text masked."""
    if can(role, Action.VIEW_MONEY):
        return model
    return _strip(model)


# -- shared pieces ------------------------------------------------------------------------------


class Amount(Model):
    currency: str
    amount: Money


class ErrorDetail(Model):
    code: str
    message: str
    hint: str = ""


class ErrorBody(Model):
    error: ErrorDetail


# -- session ------------------------------------------------------------------------------------


class LoginRequest(BaseModel):
    name: str = Field(max_length=512)
    password: str = Field(max_length=4096)


class SessionInfo(Model):
    name: str
    role: Role
    role_label: str
    permissions: list[str]
    csrf_token: str
    expires_at: datetime


# -- overview -----------------------------------------------------------------------------------


class SyncStatus(Model):
    system: str
    resource: str
    last_run_at: datetime | None
    last_full_at: datetime | None
    records: int


class SyncJob(Model):
    last_ok_at: datetime | None
    last_started_at: datetime | None
    last_error: str | None
    failures: int


class PeriodState(Model):
    period: str  # YYYY-MM
    label: str
    start: date
    end: date
    status: str  # open | closed | not billed
    invoices: dict[str, int]  # status -> count


class Overview(Model):
    period: str
    label: str
    billed: list[Amount] = Field(description="Invoices of the period posted to Xero, by currency.")
    billed_hours: Decimal = Field(description="Hours of the period's work invoiced or covered by contracts.")
    unbilled: list[Amount] = Field(
        description="Drafts of the period not yet posted (draft, approved, posting), by currency."
    )
    unbilled_hours: Decimal = Field(description="Hours of the period's work not yet invoiced.")
    at_risk: list[Amount] = Field(description="Sum of the amounts of open findings, by currency.")
    findings_by_severity: dict[str, int]
    open_findings: int
    sync: list[SyncStatus]
    sync_job: SyncJob | None
    periods: list[PeriodState]


# -- findings -----------------------------------------------------------------------------------


class FindingOut(Model):
    id: int
    code: str
    severity: str
    state: str
    subjects: list[str]
    message: MoneyText
    action: MoneyText
    amount: Money
    currency: str | None
    first_seen: datetime
    last_seen: datetime
    state_reason: OptionalMoneyText = None
    state_by: str | None = None


class FindingList(Model):
    findings: list[FindingOut]
    codes: list[str]
    count: int = Field(description="How many findings match the filters.")
    page: int = Field(default=1, description="This page (the last one when a later page was asked for).")
    pages: int = Field(default=1, description="How many pages the findings fill.")
    per_page: int = Field(default=100, description="Findings a page.")


class AcknowledgeRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class ResolveRequest(BaseModel):
    reason: str = Field(default="resolved", min_length=1, max_length=2000)


# -- invoices -----------------------------------------------------------------------------------


class InvoiceOut(Model):
    key: str
    customer: str | None
    status: str
    number: str | None
    period: str | None
    currency: str
    subtotal: Money
    tax: Money
    total: Money
    xero_total: Money
    xero_status: str | None
    matches_xero: bool | None = Field(
        None, description="Whether Xero's total equals revloop's; null until posted (or redacted)."
    )


class InvoiceList(Model):
    period: str | None
    invoices: list[InvoiceOut]
    count: int = 0  # every invoice of the period (or all), over every page
    page: int = 1
    pages: int = 1
    per_page: int = 0


# -- billing ------------------------------------------------------------------------------------


class LineOut(Model):
    kind: str
    description: str
    quantity: Decimal
    unit_amount: Money
    amount: Money
    tax: Money
    explanation: MoneyOnlyText


class XeroSide(Model):
    state: Literal["new", "same", "differs"]
    number: str | None
    total: Money


class DraftOut(Model):
    key: str
    customer: str
    customer_name: str
    currency: str
    hours: Decimal
    subtotal: Money
    tax: Money
    total: Money
    stored_status: str | None = Field(description="The stored invoice's status under this key, if any.")
    xero: XeroSide
    line_count: int = Field(description="How many lines the draft has (GET .../draft?key= lists them).")


class IssueOut(Model):
    code: str
    severity: str
    subject: str
    message: MoneyText
    action: MoneyText


class PreviewProgress(Model):
    stage: Literal["queued", "reading", "rating", "comparing", "done", "failed"] = Field(
        description="reading the work, rating customers, comparing with Xero and the stored drafts."
    )
    done: int = Field(description="While rating: customers rated so far.")
    out_of: int = Field(description="While rating: customers to rate.")
    started_at: datetime | None


class ApproveResult(Model):
    period: str
    state: Literal["idle", "running", "done", "failed"] = Field(
        default="done",
        description="idle: no approval of the period from the dashboard since the server started.",
    )
    started_by: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    stage: str = Field(default="", description="While running: keeping (the drafts written) or approving.")
    done: int = 0
    out_of: int = Field(default=0, description="While running: drafts to keep, or to approve.")
    approved: list[str] = Field(default_factory=list)
    already: list[str] = Field(default_factory=list, description="Chosen drafts not waiting for approval.")
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    message: OptionalMoneyText = None


class Preview(Model):
    period: str
    label: str
    state: Literal["computing", "ready"] = Field(
        description="ready: computed from the store as it is now (answered 200); computing: being computed "
        "(answered 202, without drafts; ``progress`` says how far)."
    )
    stale: bool = Field(
        description="The summary was computed from an earlier state of the store; a new preview is being "
        "computed. Never approvable."
    )
    progress: PreviewProgress | None = Field(description="The computation under way, if any.")
    computed_at: datetime | None = Field(description="When the summary shown was computed.")
    fingerprint: str | None = Field(
        description="The store's state the preview was computed from (null unless ready). Send it with an "
        "approval: nothing is approved if the store changed since."
    )
    period_status: str
    draft_count: int = Field(description="Drafts in the whole preview.")
    totals: list[Amount]
    hours: Decimal
    issues: list[IssueOut] = Field(description="The first 100 issues (``issue_count`` says how many).")
    issue_count: int
    findings: list[IssueOut] = Field(description="The first 100 findings (``finding_count``).")
    finding_count: int
    drafts: list[DraftOut] = Field(description="One page of the drafts matching ``q``, in ``sort`` order.")
    count: int = Field(description="Drafts matching ``q``.")
    page: int
    pages: int
    per_page: int
    q: str
    sort: str
    approval: ApproveResult | None = Field(description="The period's current or last approval from here.")


class DraftDetail(Model):
    period: str
    label: str
    state: Literal["computing", "ready"]
    stale: bool
    progress: PreviewProgress | None
    fingerprint: str | None
    draft: DraftOut | None = Field(description="Null while the first preview of the period is computed.")
    lines: list[LineOut] = Field(description="One page of the draft's lines, each with its explanation.")
    line_page: int
    line_pages: int
    lines_per_page: int


class ApproveRequest(BaseModel):
    keys: list[str] = Field(
        default_factory=list,
        max_length=100_000,
        description="Invoice keys of drafts in the preview; empty = every draft of the period.",
    )
    fingerprint: str | None = Field(default=None, max_length=128, description="The preview's fingerprint.")


# -- posting ------------------------------------------------------------------------------------


class Posted(Model):
    key: str
    number: str


class Rejected(Model):
    key: str
    why: str


class PostStatus(Model):
    state: Literal["idle", "running", "done", "failed"]
    started_by: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    sent: int = Field(default=0, description="Invoices sent to Xero so far in this run.")
    queued: list[str] = Field(default_factory=list)
    posted: list[Posted] = Field(default_factory=list)
    recovered: list[Posted] = Field(default_factory=list)
    rejected: list[Rejected] = Field(default_factory=list)
    unmapped: list[str] = Field(default_factory=list)
    mismatches: list[str] = Field(default_factory=list)
    written_back: int = 0
    xero_calls: int = 0
    message: str | None = None
