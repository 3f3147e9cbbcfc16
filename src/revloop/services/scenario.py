"""Billing scenarios: load a scenario file into a ``Book``, rate it, and check the result.

Loading is strict: an unknown key, an unquoted decimal (YAML reads ``1.5`` as a float), a
missing reference or a malformed date or time is a ``ScenarioError`` naming the file, the key
path (``entries[3].start``) and the problem.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import yaml

from revloop.domain.calendar import WEEKDAYS, Calendar, DayHours, Holidays, check_holiday_country, parse_hours
from revloop.domain.engine import RatingResult, rate
from revloop.domain.invoicing import InvoiceLine
from revloop.domain.issues import ScenarioError, Severity
from revloop.domain.money import q4, round2, to_decimal
from revloop.domain.periods import Period
from revloop.domain.ratebook import ChargeType, Ratebook, RateRow
from revloop.domain.rating.lines import Fields
from revloop.domain.records import (
    DEFAULT_DESCRIPTIONS,
    Book,
    CatalogueItem,
    Contract,
    CountedThing,
    Customer,
    ExpenseRecord,
    ItemIssue,
    ItemLot,
    MileageRecord,
    Purchase,
    RecurringCharge,
    Settings,
    TimeEntry,
    WriteOff,
)

T = TypeVar("T")

TOP_KEYS = {
    "name", "description", "period", "settings", "calendar", "tax_rates", "charge_types", "customers",
    "contracts", "opening_balances", "recurring", "entries", "mileage", "expenses", "items",
    "items_issued", "assets", "users", "expect",
}  # fmt: skip
LINE_FIELDS = ("kind", "item_code", "class", "quantity", "unit_amount", "amount", "tax_code", "tax")
_NUMERIC = {"quantity", "unit_amount", "amount", "tax"}


@dataclass(frozen=True, slots=True)
class Scenario:
    path: Path
    name: str
    description: str
    period: Period
    book: Book
    expect: Mapping[str, Any] | None


class _Reader:
    """Typed, path-aware reading of the parsed YAML; every failure names file and key path."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, path: str, problem: str) -> ScenarioError:
        return ScenarioError(f"{self.file}: {path}: {problem}")

    def mapping(
        self, value: object, path: str, allowed: set[str], required: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise self.fail(path, f"expected a mapping, got {_kind(value)}")
        for key in value:
            if not isinstance(key, str):
                raise self.fail(path, f"key {key!r} is not text")
            if key not in allowed:
                raise self.fail(_join(path, key), f"unknown key (allowed: {', '.join(sorted(allowed))})")
        for key in required:
            if value.get(key) is None:
                raise self.fail(_join(path, key), "required")
        return value

    def table(self, value: object, path: str) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(path, f"expected a mapping, got {_kind(value)}")
        for key in value:
            if not isinstance(key, str):
                raise self.fail(path, f"key {key!r} is not text")
        return value

    def seq(self, value: object, path: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(path, f"expected a list, got {_kind(value)}")
        return value

    def dec(self, value: object, path: str) -> Decimal:
        if isinstance(value, float):
            raise self.fail(
                path, f'unquoted decimal {value!r} is read as a float; write it as a string: "{value}"'
            )
        if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
            raise self.fail(path, f"expected a number as a string or integer, got {_kind(value)}")
        try:
            return to_decimal(value)
        except (TypeError, ValueError) as exc:
            raise self.fail(path, str(exc)) from None

    def opt_dec(self, value: object, path: str) -> Decimal | None:
        return None if value is None else self.dec(value, path)

    def text(self, value: object, path: str) -> str:
        if isinstance(value, (bool, float)):
            raise self.fail(path, f"expected text, got {_kind(value)}")
        if isinstance(value, int):
            return str(value)
        if not isinstance(value, str) or not value:
            raise self.fail(path, f"expected text, got {_kind(value)}")
        return value

    def opt_text(self, value: object, path: str) -> str | None:
        return None if value is None else self.text(value, path)

    def flag(self, value: object, path: str, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(path, f"expected true or false, got {_kind(value)}")
        return value

    def opt_flag(self, value: object, path: str) -> bool | None:
        return None if value is None else self.flag(value, path, False)

    def day(self, value: object, path: str) -> date:
        if isinstance(value, datetime):
            raise self.fail(path, "expected a date (YYYY-MM-DD), got a date and time")
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
        raise self.fail(path, f"expected a date (YYYY-MM-DD), got {value!r}")

    def opt_day(self, value: object, path: str) -> date | None:
        return None if value is None else self.day(value, path)

    def moment(self, value: object, path: str) -> datetime:
        if isinstance(value, datetime):
            return value
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value.strip())
            except ValueError:
                pass
        raise self.fail(path, f"expected a date and time (YYYY-MM-DDTHH:MM, optional offset), got {value!r}")

    def choice(self, value: object, path: str, options: tuple[str, ...], default: str | None = None) -> str:
        if value is None and default is not None:
            return default
        if value not in options:
            raise self.fail(path, f"expected one of {', '.join(options)}, got {value!r}")
        assert isinstance(value, str)
        return value


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"a boolean ({value})"
    if isinstance(value, float):
        return f"a float ({value!r})"
    return f"{type(value).__name__} {value!r}"[:80]


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


# ---------------------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """Safe YAML without implicit timestamps: dates stay text and are read (and checked) per key."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load(path: Path | str) -> Scenario:
    """Read and validate a scenario file."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{file}: cannot read the file ({exc.strerror})") from None
    try:
        data = yaml.load(text, Loader=_Loader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ScenarioError(f"{file}: not valid YAML{where}: {problem}") from None
    return parse(data, str(file), file)


def parse(data: object, name: str, file: Path | None = None) -> Scenario:
    r = _Reader(name)
    top = r.mapping(data, "", TOP_KEYS, ("name", "period"))
    pm = r.mapping(top["period"], "period", {"start", "end"}, ("start", "end"))
    try:
        period = Period(r.day(pm["start"], "period.start"), r.day(pm["end"], "period.end"))
    except ValueError as exc:
        raise r.fail("period", str(exc)) from None
    settings = _settings(r, top.get("settings"))
    calendar = _calendar(r, top.get("calendar"), "calendar", settings.timezone)
    tax_rates = {k: r.dec(v, f"tax_rates.{k}") for k, v in r.table(top.get("tax_rates"), "tax_rates").items()}
    charge_types = _charge_types(r, top.get("charge_types"))
    customers, customer_rates = _customers(r, top.get("customers"), settings, charge_types)
    contracts, contract_rates = _contracts(r, top.get("contracts"), customers, charge_types)
    opening = {}
    for cid, v in r.table(top.get("opening_balances"), "opening_balances").items():
        if cid not in contracts:
            raise r.fail(f"opening_balances.{cid}", "no contract has this id")
        opening[cid] = r.dec(v, f"opening_balances.{cid}")
    items = _items(r, top.get("items"))
    book = Book(
        settings=settings,
        calendar=calendar,
        tax_rates=tax_rates,
        ratebook=Ratebook(charge_types, customer_rates, contract_rates),
        customers=customers,
        contracts=contracts,
        opening_balances=opening,
        recurring=_list(r, top, "recurring", lambda v, p: _recurring(r, v, p, customers)),
        entries=_list(r, top, "entries", lambda v, p: _entry(r, v, p, customers, charge_types, contracts)),
        mileage=_list(r, top, "mileage", lambda v, p: _mileage(r, v, p, customers)),
        expenses=_list(r, top, "expenses", lambda v, p: _expense(r, v, p, customers)),
        items=items,
        items_issued=_list(r, top, "items_issued", lambda v, p: _issue(r, v, p, customers, items)),
        assets=_list(r, top, "assets", lambda v, p: _counted(r, v, p, customers, True)),
        users=_list(r, top, "users", lambda v, p: _counted(r, v, p, customers, False)),
    )
    expect = _expect(r, top.get("expect"))
    return Scenario(
        path=file or Path(name),
        name=r.text(top["name"], "name"),
        description=r.opt_text(top.get("description"), "description") or "",
        period=period,
        book=book,
        expect=expect,
    )


def _list(r: _Reader, top: dict[str, Any], key: str, make: Callable[[Any, str], T]) -> tuple[T, ...]:
    out: list[T] = []
    seen: set[str] = set()
    for i, value in enumerate(r.seq(top.get(key), key)):
        path = f"{key}[{i}]"
        record = make(value, path)
        rid = getattr(record, "id", None)
        if isinstance(rid, str):
            if rid in seen:
                raise r.fail(f"{path}.id", f"duplicate id {rid!r}")
            seen.add(rid)
        out.append(record)
    return tuple(out)


def _settings(r: _Reader, value: object) -> Settings:
    allowed = {
        "currency", "timezone", "rounding_scope", "ooh_mode", "money_rounding", "travel_uses_multipliers",
        "mileage_rate", "mileage_item_code", "mileage_tax_code", "mileage_surcharge",
        "expense_markup_percent",
        "descriptions",
    }  # fmt: skip
    s = r.mapping(value, "settings", allowed)
    d = Settings()
    currency = r.text(s.get("currency", d.currency), "settings.currency")
    if not (len(currency) == 3 and currency.isalpha()):
        raise r.fail("settings.currency", f"not an ISO 4217 currency code: {currency!r}")
    tz = r.text(s.get("timezone", d.timezone), "settings.timezone")
    _check_zone(r, tz, "settings.timezone")
    descriptions = []
    for kind, template in r.mapping(
        s.get("descriptions"), "settings.descriptions", set(DEFAULT_DESCRIPTIONS)
    ).items():
        path = f"settings.descriptions.{kind}"
        text = r.text(template, path)
        try:
            text.format_map(Fields())
        except (ValueError, IndexError) as exc:
            raise r.fail(path, f"not a valid template: {exc}") from None
        descriptions.append((kind, text))
    return Settings(
        currency=currency.upper(),
        timezone=tz,
        rounding_scope=r.choice(
            s.get("rounding_scope"), "settings.rounding_scope", ("entry", "ticket"), "entry"
        ),  # type: ignore[arg-type]
        ooh_mode=r.choice(s.get("ooh_mode"), "settings.ooh_mode", ("split", "start"), "split"),  # type: ignore[arg-type]
        money_rounding=r.choice(  # type: ignore[arg-type]
            s.get("money_rounding"), "settings.money_rounding", ("half_up", "half_even"), "half_up"
        ),
        travel_uses_multipliers=r.flag(
            s.get("travel_uses_multipliers"), "settings.travel_uses_multipliers", False
        ),
        mileage_rate=r.dec(s.get("mileage_rate", "0.45"), "settings.mileage_rate"),
        mileage_item_code=r.text(
            s.get("mileage_item_code", d.mileage_item_code), "settings.mileage_item_code"
        ),
        mileage_tax_code=r.text(s.get("mileage_tax_code", d.mileage_tax_code), "settings.mileage_tax_code"),
        mileage_surcharge=r.opt_dec(s.get("mileage_surcharge"), "settings.mileage_surcharge"),
        expense_markup_percent=r.dec(s.get("expense_markup_percent", 0), "settings.expense_markup_percent"),
        descriptions=tuple(descriptions),
    )


def _check_zone(r: _Reader, tz: str, path: str) -> None:
    try:
        Calendar(tz, ((),) * 7)
    except Exception:
        raise r.fail(path, f"unknown timezone {tz!r}") from None


def _calendar(r: _Reader, value: object, path: str, default_tz: str) -> Calendar:
    c = r.mapping(value, path, {"timezone", "working_hours", "holidays"})
    tz = r.text(c.get("timezone") or default_tz, f"{path}.timezone")
    _check_zone(r, tz, f"{path}.timezone")
    wh = r.mapping(c.get("working_hours"), f"{path}.working_hours", set(WEEKDAYS))
    hours: list[DayHours] = []
    for day in WEEKDAYS:
        spec = wh.get(day)
        if spec is None:
            hours.append(())
            continue
        p = f"{path}.working_hours.{day}"
        try:
            hours.append(parse_hours(r.text(spec, p)))
        except ValueError as exc:
            raise r.fail(p, str(exc)) from None
    hp = f"{path}.holidays"
    h = r.mapping(c.get("holidays"), hp, {"country", "subdivision", "add", "remove"})
    country = r.opt_text(h.get("country"), f"{hp}.country")
    subdivision = r.opt_text(h.get("subdivision"), f"{hp}.subdivision")
    if country is not None:
        try:
            check_holiday_country(country, subdivision)
        except Exception as exc:
            raise r.fail(hp, f"unknown holiday country or subdivision: {exc}") from None
    add = frozenset(r.day(v, f"{hp}.add[{i}]") for i, v in enumerate(r.seq(h.get("add"), f"{hp}.add")))
    remove = frozenset(
        r.day(v, f"{hp}.remove[{i}]") for i, v in enumerate(r.seq(h.get("remove"), f"{hp}.remove"))
    )
    return Calendar(tz, tuple(hours), Holidays(country, subdivision, add, remove))


_ROW_KEYS = {
    "effective_from", "hourly_rate", "percent", "minimum_minutes", "increment_minutes", "rounding",
    "ooh_multiplier", "weekend_multiplier", "holiday_multiplier", "overage_multiplier", "prepay_multiplier",
}  # fmt: skip


def _row(r: _Reader, value: object, path: str, is_global: bool) -> RateRow:
    m = r.mapping(value, path, _ROW_KEYS, ("effective_from",))
    hourly = r.opt_dec(m.get("hourly_rate"), f"{path}.hourly_rate")
    percent = r.opt_dec(m.get("percent"), f"{path}.percent")
    if is_global and percent is not None:
        raise r.fail(f"{path}.percent", "a global rate row gives hourly_rate, not a percentage")
    if is_global and hourly is None:
        raise r.fail(f"{path}.hourly_rate", "required on a global rate row")
    if hourly is not None and percent is not None:
        raise r.fail(path, "give hourly_rate or percent, not both")
    rounding = m.get("rounding")
    if rounding is not None:
        r.choice(rounding, f"{path}.rounding", ("up", "nearest", "down"))
    values: dict[str, Decimal | None] = {}
    for k in ("minimum_minutes", "increment_minutes", "ooh_multiplier", "weekend_multiplier",
              "holiday_multiplier", "overage_multiplier", "prepay_multiplier"):  # fmt: skip
        value = r.opt_dec(m.get(k), f"{path}.{k}")
        if value is not None and value < 0:
            raise r.fail(f"{path}.{k}", "must not be negative")
        values[k] = value
    return RateRow(
        effective_from=r.day(m["effective_from"], f"{path}.effective_from"),
        hourly_rate=hourly,
        percent=percent,
        rounding=rounding,
        **values,
    )


def _rate_rows(
    r: _Reader, value: object, path: str, charge_types: Mapping[str, ChargeType]
) -> dict[str, tuple[RateRow, ...]]:
    out: dict[str, tuple[RateRow, ...]] = {}
    for ct, rows in r.table(value, path).items():
        if ct not in charge_types:
            raise r.fail(f"{path}.{ct}", "no charge type has this id")
        out[ct] = tuple(
            _row(r, row, f"{path}.{ct}[{i}]", False) for i, row in enumerate(r.seq(rows, f"{path}.{ct}"))
        )
    return out


def _charge_types(r: _Reader, value: object) -> dict[str, ChargeType]:
    out: dict[str, ChargeType] = {}
    table = r.table(value, "charge_types")
    for cid, v in table.items():
        p = f"charge_types.{cid}"
        m = r.mapping(
            v, p, {"name", "item_code", "account_code", "tax_code", "travel", "rates"}, ("item_code",)
        )
        travel = r.opt_text(m.get("travel"), f"{p}.travel")
        if travel is not None and travel not in table:
            raise r.fail(f"{p}.travel", f"no charge type has the id {travel!r}")
        rows = tuple(
            _row(r, row, f"{p}.rates[{i}]", True) for i, row in enumerate(r.seq(m.get("rates"), f"{p}.rates"))
        )
        out[cid] = ChargeType(
            id=cid,
            name=r.text(m.get("name") or cid, f"{p}.name"),
            item_code=r.text(m["item_code"], f"{p}.item_code"),
            account_code=r.opt_text(m.get("account_code"), f"{p}.account_code"),
            tax_code=r.opt_text(m.get("tax_code"), f"{p}.tax_code"),
            travel=travel,
            rates=rows,
        )
    return out


def _customers(
    r: _Reader, value: object, settings: Settings, charge_types: Mapping[str, ChargeType]
) -> tuple[dict[str, Customer], dict[str, dict[str, tuple[RateRow, ...]]]]:
    allowed = {
        "name", "tax_code", "line_amount_types", "presentation", "show_covered_work",
        "separate_invoice_per_contract", "calendar", "rates", "mileage_rate", "mileage_surcharge",
        "expense_markup_percent", "item_prices",
    }  # fmt: skip
    customers: dict[str, Customer] = {}
    rates: dict[str, dict[str, tuple[RateRow, ...]]] = {}
    for cid, v in r.table(value, "customers").items():
        p = f"customers.{cid}"
        m = r.mapping(v, p, allowed)
        cal = m.get("calendar")
        prices = tuple(
            (k, r.dec(x, f"{p}.item_prices.{k}"))
            for k, x in r.table(m.get("item_prices"), f"{p}.item_prices").items()
        )
        customers[cid] = Customer(
            id=cid,
            name=r.text(m.get("name") or cid, f"{p}.name"),
            tax_code=r.opt_text(m.get("tax_code"), f"{p}.tax_code"),
            line_amount_types=r.choice(  # type: ignore[arg-type]
                m.get("line_amount_types"), f"{p}.line_amount_types", ("Exclusive", "Inclusive"), "Exclusive"
            ),
            presentation=r.choice(
                m.get("presentation"), f"{p}.presentation", ("itemised", "summary"), "itemised"
            ),  # type: ignore[arg-type]
            show_covered_work=r.opt_flag(m.get("show_covered_work"), f"{p}.show_covered_work"),
            separate_invoice_per_contract=r.flag(
                m.get("separate_invoice_per_contract"), f"{p}.separate_invoice_per_contract", False
            ),
            calendar=None if cal is None else _calendar(r, cal, f"{p}.calendar", settings.timezone),
            mileage_rate=r.opt_dec(m.get("mileage_rate"), f"{p}.mileage_rate"),
            mileage_surcharge=r.opt_dec(m.get("mileage_surcharge"), f"{p}.mileage_surcharge"),
            expense_markup_percent=r.opt_dec(m.get("expense_markup_percent"), f"{p}.expense_markup_percent"),
            item_prices=prices,
        )
        rates[cid] = _rate_rows(r, m.get("rates"), f"{p}.rates", charge_types)
    return customers, rates


def _contracts(
    r: _Reader, value: object, customers: Mapping[str, Customer], charge_types: Mapping[str, ChargeType]
) -> tuple[dict[str, Contract], dict[str, dict[str, tuple[RateRow, ...]]]]:
    allowed = {
        "customer", "kind", "start", "end", "covers", "service_lines", "unit", "purchases", "threshold",
        "auto_topup", "on_exhausted", "rates", "item_code", "tax_code", "account_code", "description",
        "topup_item_code", "topup_unit_amount", "fee", "billing", "hours_per_period", "rollover",
        "rollover_cap_hours",
    }  # fmt: skip
    out: dict[str, Contract] = {}
    rates: dict[str, dict[str, tuple[RateRow, ...]]] = {}
    for cid, v in r.table(value, "contracts").items():
        p = f"contracts.{cid}"
        m = r.mapping(v, p, allowed, ("customer", "kind", "start"))
        customer = r.text(m["customer"], f"{p}.customer")
        if customer not in customers:
            raise r.fail(f"{p}.customer", f"no customer has the id {customer!r}")
        kind = r.choice(m["kind"], f"{p}.kind", ("payg", "fixed_price", "allowance", "prepay"))
        covers = None
        if m.get("covers") is not None:
            covers = tuple(
                r.text(x, f"{p}.covers[{i}]") for i, x in enumerate(r.seq(m["covers"], f"{p}.covers"))
            )
            for i, ct in enumerate(covers):
                if ct not in charge_types:
                    raise r.fail(f"{p}.covers[{i}]", f"no charge type has the id {ct!r}")
        lines = None
        if m.get("service_lines") is not None:
            lines = tuple(
                r.text(x, f"{p}.service_lines[{i}]")
                for i, x in enumerate(r.seq(m["service_lines"], f"{p}.service_lines"))
            )
        purchases = []
        for i, pv in enumerate(r.seq(m.get("purchases"), f"{p}.purchases")):
            pp = f"{p}.purchases[{i}]"
            pm = r.mapping(pv, pp, {"date", "amount", "expires"}, ("date", "amount"))
            purchases.append(
                Purchase(
                    r.day(pm["date"], f"{pp}.date"),
                    r.dec(pm["amount"], f"{pp}.amount"),
                    r.opt_day(pm.get("expires"), f"{pp}.expires"),
                )
            )
        start = r.day(m["start"], f"{p}.start")
        end = r.opt_day(m.get("end"), f"{p}.end")
        if end is not None and end <= start:
            raise r.fail(f"{p}.end", "a contract must end after it starts")
        fee = r.opt_dec(m.get("fee"), f"{p}.fee")
        if kind == "fixed_price" and fee is None:
            raise r.fail(f"{p}.fee", "required for a fixed_price contract")
        hours = r.opt_dec(m.get("hours_per_period"), f"{p}.hours_per_period")
        if kind == "allowance" and hours is None:
            raise r.fail(f"{p}.hours_per_period", "required for an allowance contract")
        out[cid] = Contract(
            id=cid,
            customer=customer,
            kind=kind,  # type: ignore[arg-type]
            start=start,
            end=end,
            covers=covers,
            service_lines=lines,
            unit=r.choice(m.get("unit"), f"{p}.unit", ("hours", "money"), "hours"),  # type: ignore[arg-type]
            purchases=tuple(purchases),
            threshold=r.opt_dec(m.get("threshold"), f"{p}.threshold"),
            auto_topup=r.opt_dec(m.get("auto_topup"), f"{p}.auto_topup"),
            on_exhausted=r.choice(m.get("on_exhausted"), f"{p}.on_exhausted", ("payg", "negative"), "payg"),  # type: ignore[arg-type]
            topup_item_code=r.opt_text(m.get("topup_item_code"), f"{p}.topup_item_code"),
            topup_unit_amount=r.opt_dec(m.get("topup_unit_amount"), f"{p}.topup_unit_amount"),
            item_code=r.opt_text(m.get("item_code"), f"{p}.item_code"),
            tax_code=r.opt_text(m.get("tax_code"), f"{p}.tax_code"),
            account_code=r.opt_text(m.get("account_code"), f"{p}.account_code"),
            description=r.opt_text(m.get("description"), f"{p}.description"),
            fee=fee,
            billing=r.choice(m.get("billing"), f"{p}.billing", ("monthly", "quarterly", "annual"), "monthly"),  # type: ignore[arg-type]
            hours_per_period=hours,
            rollover=r.flag(m.get("rollover"), f"{p}.rollover", False),
            rollover_cap_hours=r.opt_dec(m.get("rollover_cap_hours"), f"{p}.rollover_cap_hours"),
        )
        rates[cid] = _rate_rows(r, m.get("rates"), f"{p}.rates", charge_types)
    return out, rates


def _need_customer(r: _Reader, m: dict[str, Any], path: str, customers: Mapping[str, Customer]) -> str:
    customer = r.text(m["customer"], f"{path}.customer")
    if customer not in customers:
        raise r.fail(f"{path}.customer", f"no customer has the id {customer!r}")
    return customer


def _recurring(r: _Reader, v: object, p: str, customers: Mapping[str, Customer]) -> RecurringCharge:
    allowed = {
        "id", "customer", "item_code", "description", "quantity", "unit_amount", "frequency", "start", "end",
        "timing", "tax_code", "account_code", "increase_percent", "increase_on",
    }  # fmt: skip
    m = r.mapping(v, p, allowed, ("id", "customer", "item_code", "unit_amount", "start", "quantity"))
    q = m["quantity"]
    quantity: Decimal | None = None
    source: str | None = None
    if isinstance(q, str) and (q == "users" or q.startswith("assets:")):
        if q.startswith("assets:") and len(q) == len("assets:"):
            raise r.fail(f"{p}.quantity", "name the asset type: assets:<type>")
        source = q
    else:
        quantity = r.dec(q, f"{p}.quantity")
    increase = r.opt_dec(m.get("increase_percent"), f"{p}.increase_percent")
    increase_on = r.opt_day(m.get("increase_on"), f"{p}.increase_on")
    if (increase is None) != (increase_on is None):
        raise r.fail(p, "increase_percent and increase_on go together")
    return RecurringCharge(
        id=r.text(m["id"], f"{p}.id"),
        customer=_need_customer(r, m, p, customers),
        item_code=r.text(m["item_code"], f"{p}.item_code"),
        description=r.text(m.get("description") or m["item_code"], f"{p}.description"),
        unit_amount=r.dec(m["unit_amount"], f"{p}.unit_amount"),
        start=r.day(m["start"], f"{p}.start"),
        quantity=quantity,
        count_source=source,
        frequency=r.choice(
            m.get("frequency"), f"{p}.frequency", ("monthly", "quarterly", "annual"), "monthly"
        ),  # type: ignore[arg-type]
        end=r.opt_day(m.get("end"), f"{p}.end"),
        timing=r.choice(m.get("timing"), f"{p}.timing", ("advance", "arrears"), "advance"),  # type: ignore[arg-type]
        tax_code=r.opt_text(m.get("tax_code"), f"{p}.tax_code"),
        account_code=r.opt_text(m.get("account_code"), f"{p}.account_code"),
        increase_percent=increase,
        increase_on=increase_on,
    )


def _entry(
    r: _Reader,
    v: object,
    p: str,
    customers: Mapping[str, Customer],
    charge_types: Mapping[str, ChargeType],
    contracts: Mapping[str, Contract],
) -> TimeEntry:
    allowed = {
        "id", "ticket", "customer", "agent", "charge_type", "start", "minutes", "hours",
        "non_billable_minutes",
        "travel_minutes", "contract", "service_line", "summary", "written_off",
    }  # fmt: skip
    m = r.mapping(v, p, allowed, ("id", "customer", "start"))
    if (m.get("minutes") is None) == (m.get("hours") is None):
        raise r.fail(p, "give minutes or hours (one of them)")
    minutes = (
        r.dec(m["minutes"], f"{p}.minutes")
        if m.get("minutes") is not None
        else r.dec(m["hours"], f"{p}.hours") * 60
    )
    ct = r.opt_text(m.get("charge_type"), f"{p}.charge_type")
    if ct is not None and ct not in charge_types:
        raise r.fail(f"{p}.charge_type", f"no charge type has the id {ct!r}")
    contract = r.opt_text(m.get("contract"), f"{p}.contract")
    if contract is not None and contract not in contracts:
        raise r.fail(f"{p}.contract", f"no contract has the id {contract!r}")
    wo = None
    if m.get("written_off") is not None:
        w = r.mapping(m["written_off"], f"{p}.written_off", {"by", "reason"}, ("by", "reason"))
        wo = WriteOff(r.text(w["by"], f"{p}.written_off.by"), r.text(w["reason"], f"{p}.written_off.reason"))
    return TimeEntry(
        id=r.text(m["id"], f"{p}.id"),
        customer=_need_customer(r, m, p, customers),
        start=r.moment(m["start"], f"{p}.start"),
        minutes=minutes,
        charge_type=ct,
        ticket=r.opt_text(m.get("ticket"), f"{p}.ticket"),
        agent=r.opt_text(m.get("agent"), f"{p}.agent") or "",
        non_billable_minutes=r.dec(m.get("non_billable_minutes", 0), f"{p}.non_billable_minutes"),
        travel_minutes=r.dec(m.get("travel_minutes", 0), f"{p}.travel_minutes"),
        contract=contract,
        service_line=r.opt_text(m.get("service_line"), f"{p}.service_line"),
        summary=r.opt_text(m.get("summary"), f"{p}.summary") or "",
        written_off=wo,
    )


def _mileage(r: _Reader, v: object, p: str, customers: Mapping[str, Customer]) -> MileageRecord:
    m = r.mapping(
        v,
        p,
        {"id", "customer", "date", "distance", "item_code", "tax_code", "description"},
        ("id", "customer", "date", "distance"),
    )
    return MileageRecord(
        id=r.text(m["id"], f"{p}.id"),
        customer=_need_customer(r, m, p, customers),
        date=r.day(m["date"], f"{p}.date"),
        distance=r.dec(m["distance"], f"{p}.distance"),
        item_code=r.opt_text(m.get("item_code"), f"{p}.item_code"),
        tax_code=r.opt_text(m.get("tax_code"), f"{p}.tax_code"),
        description=r.opt_text(m.get("description"), f"{p}.description") or "",
    )


def _expense(r: _Reader, v: object, p: str, customers: Mapping[str, Customer]) -> ExpenseRecord:
    m = r.mapping(
        v,
        p,
        {"id", "customer", "date", "cost", "category", "item_code", "tax_code", "description"},
        ("id", "customer", "date", "cost", "category"),
    )
    return ExpenseRecord(
        id=r.text(m["id"], f"{p}.id"),
        customer=_need_customer(r, m, p, customers),
        date=r.day(m["date"], f"{p}.date"),
        cost=r.dec(m["cost"], f"{p}.cost"),
        category=r.text(m["category"], f"{p}.category"),
        item_code=r.opt_text(m.get("item_code"), f"{p}.item_code"),
        tax_code=r.opt_text(m.get("tax_code"), f"{p}.tax_code"),
        description=r.opt_text(m.get("description"), f"{p}.description") or "",
    )


def _items(r: _Reader, value: object) -> dict[str, CatalogueItem]:
    out: dict[str, CatalogueItem] = {}
    for iid, v in r.table(value, "items").items():
        p = f"items.{iid}"
        m = r.mapping(v, p, {"name", "unit_price", "tax_code", "account_code", "lots"}, ("unit_price",))
        lots = []
        for i, lv in enumerate(r.seq(m.get("lots"), f"{p}.lots")):
            lp = f"{p}.lots[{i}]"
            lm = r.mapping(lv, lp, {"date", "quantity", "unit_cost"}, ("date", "quantity", "unit_cost"))
            lots.append(
                ItemLot(
                    r.day(lm["date"], f"{lp}.date"),
                    r.dec(lm["quantity"], f"{lp}.quantity"),
                    r.dec(lm["unit_cost"], f"{lp}.unit_cost"),
                )
            )
        out[iid] = CatalogueItem(
            id=iid,
            name=r.text(m.get("name") or iid, f"{p}.name"),
            unit_price=r.dec(m["unit_price"], f"{p}.unit_price"),
            tax_code=r.opt_text(m.get("tax_code"), f"{p}.tax_code"),
            account_code=r.opt_text(m.get("account_code"), f"{p}.account_code"),
            lots=tuple(lots),
        )
    return out


def _issue(
    r: _Reader, v: object, p: str, customers: Mapping[str, Customer], items: Mapping[str, CatalogueItem]
) -> ItemIssue:
    allowed = {
        "id",
        "customer",
        "item",
        "quantity",
        "date",
        "description",
        "unit_price",
        "unit_cost",
        "tax_code",
        "account_code",
    }
    m = r.mapping(v, p, allowed, ("id", "customer", "quantity", "date"))
    item = r.opt_text(m.get("item"), f"{p}.item")
    if item is not None and item not in items:
        raise r.fail(f"{p}.item", f"no catalogue item has the id {item!r}")
    if item is None:
        for k in ("description", "unit_price"):
            if m.get(k) is None:
                raise r.fail(f"{p}.{k}", "required for an ad hoc item (item: null)")
    return ItemIssue(
        id=r.text(m["id"], f"{p}.id"),
        customer=_need_customer(r, m, p, customers),
        date=r.day(m["date"], f"{p}.date"),
        quantity=r.dec(m["quantity"], f"{p}.quantity"),
        item=item,
        description=r.opt_text(m.get("description"), f"{p}.description") or "",
        unit_price=r.opt_dec(m.get("unit_price"), f"{p}.unit_price"),
        unit_cost=r.opt_dec(m.get("unit_cost"), f"{p}.unit_cost"),
        tax_code=r.opt_text(m.get("tax_code"), f"{p}.tax_code"),
        account_code=r.opt_text(m.get("account_code"), f"{p}.account_code"),
    )


def _counted(r: _Reader, v: object, p: str, customers: Mapping[str, Customer], asset: bool) -> CountedThing:
    allowed = {"id", "customer", "start", "end"} | ({"type"} if asset else set())
    m = r.mapping(v, p, allowed, ("id", "customer") + (("type",) if asset else ()))
    return CountedThing(
        id=r.text(m["id"], f"{p}.id"),
        customer=_need_customer(r, m, p, customers),
        type=r.text(m["type"], f"{p}.type") if asset else "user",
        start=r.opt_day(m.get("start"), f"{p}.start"),
        end=r.opt_day(m.get("end"), f"{p}.end"),
    )


def _expect(r: _Reader, value: object) -> dict[str, Any] | None:
    if value is None:
        return None
    m = r.mapping(value, "expect", {"invoices", "balances", "issues", "findings"})
    invoices = []
    for i, inv in enumerate(r.seq(m.get("invoices"), "expect.invoices")):
        p = f"expect.invoices[{i}]"
        im = r.mapping(inv, p, {"key", "lines", "subtotal", "tax", "total"}, ("key",))
        lines = []
        for j, line in enumerate(r.seq(im.get("lines"), f"{p}.lines")):
            lp = f"{p}.lines[{j}]"
            lm = r.mapping(line, lp, set(LINE_FIELDS) | {"description", "account_code"}, ("kind", "amount"))
            parsed: dict[str, Any] = {}
            for k, x in lm.items():
                parsed[k] = r.dec(x, f"{lp}.{k}") if k in _NUMERIC else r.opt_text(x, f"{lp}.{k}")
            lines.append(parsed)
        invoices.append(
            {
                "key": r.text(im["key"], f"{p}.key"),
                "lines": lines,
                **{
                    k: r.dec(im[k], f"{p}.{k}") for k in ("subtotal", "tax", "total") if im.get(k) is not None
                },
            }
        )
    balances = {
        k: r.dec(v, f"expect.balances.{k}") for k, v in r.table(m.get("balances"), "expect.balances").items()
    }
    marks: dict[str, list[tuple[str, str]]] = {}
    for name in ("issues", "findings"):
        marks[name] = []
        for i, x in enumerate(r.seq(m.get(name), f"expect.{name}")):
            p = f"expect.{name}[{i}]"
            xm = r.mapping(x, p, {"code", "subject", "severity", "message"}, ("code", "subject"))
            marks[name].append((r.text(xm["code"], f"{p}.code"), r.text(xm["subject"], f"{p}.subject")))
    return {
        "invoices": invoices,
        "balances": balances,
        "issues": marks["issues"],
        "findings": marks["findings"],
    }


# ---------------------------------------------------------------------------------------------
# running and output


def run(scenario: Scenario) -> RatingResult:
    return rate(scenario.book, scenario.period)


def _line_dict(line: InvoiceLine) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": line.kind,
        "item_code": line.item_code,
        "account_code": line.account_code,
        "description": line.description,
        "class": line.cls,
        "quantity": str(q4(line.quantity)),
        "unit_amount": str(q4(line.unit_amount)),
        "amount": str(line.amount),
        "tax_code": line.tax_code,
        "tax": str(line.tax),
        "sources": list(line.sources),
        "explanation": line.explanation,
    }
    if line.cost is not None:
        out["cost"] = str(round2(line.cost))
    return out


def result_dict(result: RatingResult) -> dict[str, Any]:
    """The JSON shape of ``revloop scenario run --json`` (every number a string)."""
    invoices = [
        {
            "key": inv.key,
            "customer": inv.customer,
            "currency": inv.currency,
            "line_amount_types": inv.line_amount_types,
            "lines": [_line_dict(line) for line in inv.lines],
            "subtotal": str(inv.subtotal),
            "tax": str(inv.tax),
            "total": str(inv.total),
        }
        for inv in result.invoices
    ]
    balances = {}
    for cid, value in result.balances.items():
        balances[cid] = str(round2(value)) if result.balance_units.get(cid) == "money" else str(q4(value))
    return {
        "invoices": invoices,
        "balances": balances,
        "issues": [i.as_dict() for i in result.issues],
        "findings": [{"code": f.code, "subject": f.subject, "message": f.message} for f in result.findings],
    }


def run_file(path: Path | str) -> dict[str, Any]:
    return result_dict(run(load(path)))


# ---------------------------------------------------------------------------------------------
# comparing


def _show(line: Mapping[str, Any]) -> str:
    cls = f" {line['class']}" if line.get("class") else ""
    parts = [f"{line.get('kind')} {line.get('item_code', '?')}{cls}"]
    parts.append(f"{line.get('quantity', '?')} x {line.get('unit_amount', '?')} = {line.get('amount', '?')}")
    parts.append(f"tax {line.get('tax_code', '?')} {line.get('tax', '?')}")
    return ", ".join(parts)


def _matches(expected: Mapping[str, Any], got: Mapping[str, Any]) -> bool:
    for k in LINE_FIELDS:
        if k not in expected:
            continue
        want = expected[k]
        have = got.get(k)
        if k in _NUMERIC:
            if have is None or Decimal(have) != want:
                return False
        elif want != have:
            return False
    return True


def compare(expect: Mapping[str, Any], output: Mapping[str, Any]) -> list[str]:
    """Differences between ``expect`` and a run's output, as readable lines (empty = equal)."""
    diff: list[str] = []
    got_by_key = {inv["key"]: inv for inv in output["invoices"]}
    expected_keys = set()
    for exp in expect["invoices"]:
        key = exp["key"]
        expected_keys.add(key)
        inv = got_by_key.get(key)
        if inv is None:
            diff.append(f"invoice {key}: expected but not produced")
            continue
        problems: list[str] = []
        got_lines = inv["lines"]
        nonzero = [g for g in got_lines if Decimal(g["amount"]) != 0]
        zero = [g for g in got_lines if Decimal(g["amount"]) == 0]
        used: set[int] = set()
        used_zero: set[int] = set()
        for want in exp["lines"]:
            pool, taken = (nonzero, used) if want["amount"] != 0 else (zero, used_zero)
            for i, g in enumerate(pool):
                if i not in taken and _matches(want, g):
                    taken.add(i)
                    break
            else:
                problems.append(f"  missing line: {_show({k: str(v) for k, v in want.items()})}")
        for i, g in enumerate(nonzero):
            if i not in used:
                problems.append(f"  unexpected line: {_show(g)} (sources {', '.join(g['sources'])})")
        for k in ("subtotal", "tax", "total"):
            if k in exp and Decimal(inv[k]) != exp[k]:
                problems.append(f"  {k}: expected {exp[k]}, got {inv[k]}")
        if problems:
            diff.append(f"invoice {key}:")
            diff.extend(problems)
    for key in sorted(set(got_by_key) - expected_keys):
        inv = got_by_key[key]
        diff.append(
            f"invoice {key}: produced but not expected (total {inv['total']}, {len(inv['lines'])} lines)"
        )
    for cid, want in expect["balances"].items():
        have = output["balances"].get(cid)
        if have is None:
            diff.append(f"balance {cid}: expected {want}, got none")
        elif Decimal(have) != want:
            diff.append(f"balance {cid}: expected {want}, got {have}")
    raised = {(i["code"], i["subject"]) for i in output["issues"]}
    for code, subject in expect["issues"]:
        if (code, subject) not in raised:
            diff.append(f"issue {code} on {subject}: expected but not raised")
    listed = set(expect["issues"])
    for i in output["issues"]:
        if i["severity"] == Severity.ERROR.value and (i["code"], i["subject"]) not in listed:
            diff.append(
                f"issue {i['code']} on {i['subject']}: raised (error) but not expected: {i['message']}"
            )
    found = {(f["code"], f["subject"]) for f in output["findings"]}
    for code, subject in expect["findings"]:
        if (code, subject) not in found:
            diff.append(f"finding {code} on {subject}: expected but not raised")
    return diff


@dataclass(frozen=True, slots=True)
class CheckResult:
    path: Path
    name: str
    diff: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.diff


def check(path: Path | str) -> CheckResult:
    """Run a scenario and compare it with its ``expect`` block."""
    scenario = load(path)
    if scenario.expect is None:
        raise ScenarioError(f"{path}: expect: required to check a scenario")
    output = result_dict(run(scenario))
    return CheckResult(Path(path), scenario.name, tuple(compare(scenario.expect, output)))
