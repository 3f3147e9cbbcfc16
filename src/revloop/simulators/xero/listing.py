"""What every list GET shares: If-Modified-Since, ``where``, ``order``, paging and the envelope."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

from .filters import QueryError, apply_order, compile_where
from .state import Ctx
from .wire import WireError, parse_timestamp

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


@dataclass
class ListSpec:
    """How one resource lists."""

    key: str  # envelope key, e.g. "Invoices"
    type_name: str  # for QueryParseException messages
    fields: Iterable[str]
    paged: bool = True
    page_size_param: bool = True  # Quotes page but have no pageSize
    default_order: str | None = None
    modified_since: bool = True  # honours If-Modified-Since (not every endpoint does)


def modified_since(headers: dict[str, str]) -> datetime | None:
    value = headers.get("if-modified-since")
    if not value:
        return None
    try:
        return parse_timestamp(value)
    except WireError:
        pass
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError) as exc:
        raise QueryError(f"Invalid If-Modified-Since header '{value}'") from exc


def split_list(value: str | None) -> list[str]:
    if not value:
        return []
    return [v.strip().strip('"').strip() for v in value.split(",") if v.strip().strip('"').strip()]


def run_list(
    ctx: Ctx,
    spec: ListSpec,
    records: list[dict[str, Any]],
    render: Callable[[dict[str, Any]], dict[str, Any]],
    *,
    stamp_of: Callable[[dict[str, Any]], str | None] = lambda r: r.get("UpdatedDateUTC"),
) -> dict[str, Any]:
    """Filter, order and page ``records`` (stored form); returns the envelope payload."""
    since = modified_since(ctx.headers) if spec.modified_since else None
    if since is not None:
        floor = since.replace(microsecond=0)
        records = [
            r for r in records if (s := stamp_of(r)) and parse_timestamp(s).replace(microsecond=0) >= floor
        ]
    where = ctx.params.get("where")
    order = ctx.params.get("order") or spec.default_order
    predicate = compile_where(where, fields=spec.fields, type_name=spec.type_name) if where else None
    page_text = ctx.params.get("page")
    paged = spec.paged and page_text is not None
    page, size = 1, DEFAULT_PAGE_SIZE
    if paged:
        try:
            page = max(1, int(page_text or 1))
            if spec.page_size_param and ctx.params.get("pageSize"):
                size = min(MAX_PAGE_SIZE, max(1, int(ctx.params["pageSize"])))
        except ValueError as exc:
            raise QueryError("page and pageSize must be integers") from exc
    payload: dict[str, Any] = {}
    if predicate is None and not order:
        # Nothing to filter or sort on the wire form: render only the page asked for.
        count = len(records)
        chosen = records[(page - 1) * size : page * size] if paged else records
        rendered = [render(r) for r in chosen]
    else:
        rendered = [render(r) for r in records]
        if predicate is not None:
            rendered = [r for r in rendered if predicate(r)]
        if order:
            rendered = apply_order(rendered, order, fields=spec.fields)
        count = len(rendered)
        if paged:
            rendered = rendered[(page - 1) * size : page * size]
    if paged:
        payload["pagination"] = {
            "page": page,
            "pageSize": size,
            "pageCount": math.ceil(count / size) if count else 0,
            "itemCount": count,
        }
    payload[spec.key] = rendered
    return payload
