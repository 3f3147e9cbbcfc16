"""Xero's wire format: exact JSON numbers, .NET ``/Date()/`` strings, the envelope and error bodies."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from random import Random
from typing import Any

import httpx

from revloop import exactjson

ZERO_GUID = "00000000-0000-0000-0000-000000000000"
PROVIDER_NAME = "revloop Xero simulator"
NOT_FOUND_TEXT = "The resource you're looking for cannot be found"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class WireError(ValueError):
    """A request value that cannot be read (bad JSON, bad date, bad number)."""


# --- JSON -----------------------------------------------------------------------------------------


def dumps(obj: Any) -> str:
    """JSON text with every ``Decimal`` written as a number, digit for digit (never via float)."""
    return exactjson.dumps(obj)


def loads(body: bytes | str) -> Any:
    """Parse JSON with every non-integer number as ``Decimal``."""
    try:
        return json.loads(body, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WireError(str(exc)) from exc


def to_decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise WireError(f"not a number: {value!r}")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise WireError(f"not a number: {value!r}") from exc
    if not result.is_finite():
        raise WireError(f"not a number: {value!r}")
    return result


# --- dates ----------------------------------------------------------------------------------------


def ms(dt: datetime) -> int:
    delta = dt.astimezone(UTC) - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def ms_date(day: str | None) -> str | None:
    """``"2026-10-01"`` → ``"/Date(1790812800000+0000)/"`` (midnight UTC of that day)."""
    if not day:
        return None
    d = date.fromisoformat(day[:10])
    return f"/Date({ms(datetime(d.year, d.month, d.day, tzinfo=UTC))}+0000)/"


def ms_timestamp(stamp: str | None) -> str | None:
    """An ISO UTC timestamp → ``"/Date(1541176290160+0000)/"``."""
    if not stamp:
        return None
    return f"/Date({ms(parse_timestamp(stamp))}+0000)/"


def envelope_time(now: datetime) -> str:
    return f"/Date({ms(now)})/"


def date_string(day: str | None) -> str | None:
    return f"{day[:10]}T00:00:00" if day else None


def iso_stamp(dt: datetime) -> str:
    """The simulator's stored form of a UTC timestamp, to the millisecond."""
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def utc_string(stamp: str | None) -> str | None:
    """``UpdatedDateUTCString``: ISO 8601 to the second with a Z."""
    if not stamp:
        return None
    return parse_timestamp(stamp).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(value: str) -> datetime:
    match = _MS_DATE.match(value)
    if match:
        return EPOCH + timedelta(milliseconds=int(match.group(1)))
    text = value.strip().replace("Z", "+00:00")
    # .NET writes up to 7 fractional digits; Python reads at most 6.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        dt = datetime.fromisoformat(text)
    except ValueError as exc:
        raise WireError(f"not a timestamp: {value!r}") from exc
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def parse_date(value: Any) -> str | None:
    """A request date (``YYYY-MM-DD``, ``YYYY-MM-DDTHH:MM:SS`` or ``/Date(ms)/``) → ``YYYY-MM-DD``."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise WireError(f"not a date: {value!r}")
    match = _MS_DATE.match(value)
    if match:
        return (EPOCH + timedelta(milliseconds=int(match.group(1)))).date().isoformat()
    try:
        return date.fromisoformat(value.strip()[:10]).isoformat()
    except ValueError as exc:
        raise WireError(f"not a date: {value!r}") from exc


# --- ids ------------------------------------------------------------------------------------------


def is_guid(value: Any) -> bool:
    return isinstance(value, str) and _GUID.match(value) is not None


class IdSource:
    """Version-4-shaped GUIDs from a seeded generator, so runs are reproducible."""

    def __init__(self, seed: int) -> None:
        self._rng = Random(seed)

    def guid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def token(self, nbytes: int = 32) -> str:
        return self._rng.getrandbits(nbytes * 8).to_bytes(nbytes, "big").hex()

    def getstate(self) -> Any:
        return self._rng.getstate()

    def setstate(self, state: Any) -> None:
        self._rng.setstate(state)


# --- responses ------------------------------------------------------------------------------------


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    merged = {"content-type": "application/json; charset=utf-8"}
    merged.update(headers or {})
    return httpx.Response(status, headers=merged, content=dumps(body).encode())


def envelope(ids: IdSource, now: datetime, **payload: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "Id": ids.guid(),
        "Status": "OK",
        "ProviderName": PROVIDER_NAME,
        "DateTimeUTC": envelope_time(now),
    }
    body.update(payload)
    return body


def validation_exception(elements: Iterable[dict[str, Any]]) -> httpx.Response:
    return json_response(
        400,
        {
            "ErrorNumber": 10,
            "Type": "ValidationException",
            "Message": "A validation exception occurred",
            "Elements": list(elements),
        },
    )


def bad_request(message: str, *, number: int = 10, kind: str = "ValidationException") -> httpx.Response:
    """A 400 that concerns the request as a whole rather than one element."""
    return json_response(
        400,
        {
            "ErrorNumber": number,
            "Type": kind,
            "Message": message,
            "Elements": [{"ValidationErrors": [{"Message": message}]}]
            if kind == "ValidationException"
            else [],
        },
    )


def query_parse_error(message: str) -> httpx.Response:
    return json_response(400, {"ErrorNumber": 16, "Type": "QueryParseException", "Message": message})


def post_data_invalid(message: str) -> httpx.Response:
    return json_response(400, {"ErrorNumber": 14, "Type": "PostDataInvalidException", "Message": message})


def problem(
    status: int, title: str, detail: str, instance: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    """The RFC 7807-style body Xero uses for 401 and 403."""
    return json_response(
        status,
        {
            "Type": None,
            "Title": title,
            "Status": status,
            "Detail": detail,
            "Instance": instance,
            "Extensions": {},
        },
        headers,
    )


def not_found() -> httpx.Response:
    return httpx.Response(404, headers={"content-type": "text/plain; charset=utf-8"}, text=NOT_FOUND_TEXT)


def plain(status: int, text: str, headers: dict[str, str] | None = None) -> httpx.Response:
    merged = {"content-type": "text/plain; charset=utf-8"}
    merged.update(headers or {})
    return httpx.Response(status, headers=merged, text=text)


# --- XML (Xero's default format when the client does not ask for JSON) ------------------------------

_IRREGULAR_SINGULARS = {
    "Currencies": "Currency",
    "TrackingCategories": "TrackingCategory",
    "Addresses": "Address",
    "Tracking": "TrackingCategory",
    "ValidationErrors": "ValidationError",
    "Warnings": "Warning",
    "Elements": "DataContractBase",
}


def _singular(name: str) -> str:
    if name in _IRREGULAR_SINGULARS:
        return _IRREGULAR_SINGULARS[name]
    return name[:-1] if name.endswith("s") else name


def _xml_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    text = str(value)
    match = _MS_DATE.match(text)
    if match:
        text = (EPOCH + timedelta(milliseconds=int(match.group(1)))).strftime("%Y-%m-%dT%H:%M:%S")
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _xml(name: str, value: Any, out: list[str]) -> None:
    if value is None:
        return
    if isinstance(value, dict):
        out.append(f"<{name}>")
        for key, child in value.items():
            _xml(str(key), child, out)
        out.append(f"</{name}>")
    elif isinstance(value, list):
        out.append(f"<{name}>")
        for child in value:
            _xml(_singular(name), child, out)
        out.append(f"</{name}>")
    else:
        out.append(f"<{name}>{_xml_text(value)}</{name}>")


def xml_response(response: httpx.Response) -> httpx.Response:
    """The same answer as XML: ``<Response>`` for data, ``<ApiException>`` for errors."""
    data = loads(response.content)
    root = "ApiException" if response.status_code >= 400 else "Response"
    out = ['<?xml version="1.0" encoding="utf-8"?>']
    _xml(root, data, out)
    headers = {
        k: v for k, v in response.headers.items() if k.lower() not in ("content-type", "content-length")
    }
    headers["content-type"] = "text/xml; charset=utf-8"
    return httpx.Response(response.status_code, headers=headers, content="".join(out).encode())
