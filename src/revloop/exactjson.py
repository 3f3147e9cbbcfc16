"""JSON written exactly: every ``Decimal`` digit for digit, never through a float; floats refused.

The vendors' wire modules share this encoder and differ only in how they write their other types
(dates above all), which they hand in as ``convert``: it returns a JSON-able stand-in for a value the
encoder does not know, or raises ``TypeError``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any


def dumps(obj: Any, *, convert: Callable[[Any], Any] | None = None, ensure_ascii: bool = False) -> str:
    out: list[str] = []
    _encode(obj, out, convert, ensure_ascii)
    return "".join(out)


def _encode(obj: Any, out: list[str], convert: Callable[[Any], Any] | None, ascii_only: bool) -> None:
    if obj is None or isinstance(obj, bool | str):
        out.append(json.dumps(obj, ensure_ascii=ascii_only))
    elif isinstance(obj, Decimal):
        if not obj.is_finite():
            raise ValueError(f"cannot write {obj!r} as a JSON number")
        out.append(format(obj, "f"))
    elif isinstance(obj, int):
        out.append(str(obj))
    elif isinstance(obj, float):
        raise TypeError("floats are not written on the wire; use Decimal")
    elif isinstance(obj, dict):
        out.append("{")
        for i, (key, value) in enumerate(obj.items()):
            if i:
                out.append(",")
            out.append(json.dumps(str(key), ensure_ascii=ascii_only))
            out.append(":")
            _encode(value, out, convert, ascii_only)
        out.append("}")
    elif isinstance(obj, list | tuple):
        out.append("[")
        for i, value in enumerate(obj):
            if i:
                out.append(",")
            _encode(value, out, convert, ascii_only)
        out.append("]")
    elif convert is not None:
        _encode(convert(obj), out, None, ascii_only)
    else:
        raise TypeError(f"cannot write {type(obj).__name__} as JSON")


def read_decimal(value: Any) -> Decimal | None:
    """A number read off the wire: Decimal, int or numeric text; empty is None; a float or a boolean
    is a ``ValueError`` (so that model validation reports it as a bad field)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    if isinstance(value, float):
        raise ValueError("float values are not accepted")
    if isinstance(value, Decimal | int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"not a number: {value!r}") from None
    else:
        raise ValueError(f"not a number: {value!r}")
    if not result.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return result
