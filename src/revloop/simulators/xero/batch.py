"""Batch writes (NOTES §3.5): validate every element, then either answer 400 ValidationException with
the failed elements (the default: nothing is saved) or, with ``summarizeErrors=false``, save the
good ones and answer 200 with a per-element ``StatusAttributeString``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

from .state import Ctx
from .wire import ZERO_GUID, envelope, json_response, post_data_invalid, validation_exception


@dataclass
class Outcome:
    echo: dict[str, Any]  # the element as sent (for error answers)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    commit: Callable[[], dict[str, Any]] | None = None  # applies the write, returns the stored record


@dataclass
class BatchScope:
    """Claims made by earlier elements of the same batch (numbers, names)."""

    claimed: dict[str, set[str]] = field(default_factory=dict)
    pending: dict[str, Decimal] = field(default_factory=dict)  # e.g. amounts paid per document so far

    def claim(self, kind: str, value: str) -> bool:
        """False if ``value`` was already claimed in this batch."""
        seen = self.claimed.setdefault(kind, set())
        if value in seen:
            return False
        seen.add(value)
        return True


def elements_of(body: Any, key: str) -> list[dict[str, Any]] | None:
    """``{"Invoices": [...]}``, or one bare object, as a list; None if the body is unusable."""
    if isinstance(body, dict) and key in body:
        items = body[key]
        if isinstance(items, list) and all(isinstance(i, dict) for i in items):
            return items
        return None
    if isinstance(body, dict):
        return [body]
    return None


def run_batch(
    ctx: Ctx,
    body: Any,
    *,
    key: str,
    id_field: str,
    error_flag: str,
    validate: Callable[[dict[str, Any], BatchScope], Outcome],
    render: Callable[[dict[str, Any]], dict[str, Any]],
    allow_partial: bool = True,
) -> httpx.Response:
    items = elements_of(body, key)
    if items is None:
        return post_data_invalid(f"The request body could not be read as {key}")
    if not items:
        return json_response(200, envelope(ctx.ids, ctx.now, **{key: []}))
    scope = BatchScope()
    outcomes = [validate(item, scope) for item in items]
    partial = allow_partial and ctx.flag("summarizeErrors") is False
    failed = [o for o in outcomes if o.errors]
    if failed and not partial:
        return validation_exception(_error_element(o, id_field, error_flag) for o in failed)
    results: list[dict[str, Any]] = []
    for outcome in outcomes:
        if outcome.errors or outcome.commit is None:
            element = _error_element(outcome, id_field, error_flag)
            element["StatusAttributeString"] = "ERROR"
            results.append(element)
            continue
        rendered = render(outcome.commit())
        if partial:
            rendered["StatusAttributeString"] = "WARNING" if outcome.warnings else "OK"
        if outcome.warnings:
            rendered["Warnings"] = [{"Message": m} for m in outcome.warnings]
        results.append(rendered)
    return json_response(200, envelope(ctx.ids, ctx.now, **{key: results}))


def _error_element(outcome: Outcome, id_field: str, error_flag: str) -> dict[str, Any]:
    element = dict(outcome.echo)
    element.setdefault(id_field, ZERO_GUID)
    element[error_flag] = True
    element["ValidationErrors"] = [{"Message": m} for m in outcome.errors]
    if outcome.warnings:
        element["Warnings"] = [{"Message": m} for m in outcome.warnings]
    return element
