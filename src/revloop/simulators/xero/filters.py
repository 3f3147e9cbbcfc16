"""The subset of Xero's ``where`` and ``order`` syntax revloop relies on (NOTES §3.4).

Supported: ``==`` (and ``=``), ``!=``, ``>=``, ``<=``, ``>``, ``<``; ``AND``/``&&``, ``OR``/``||``;
parentheses; string, number, ``true``/``false``/``null`` literals; ``Guid("...")``;
``DateTime(y,m,d[,h,m,s])``; ``Field.StartsWith("x")``, ``.Contains("x")``, ``.EndsWith("x")``;
dotted paths such as ``Contact.ContactID``. Anything else is a ``QueryError`` (HTTP 400).
Predicates run against the records as they are rendered on the wire.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from .wire import WireError, is_guid, parse_timestamp

Record = dict[str, Any]
Predicate = Callable[[Record], bool]


class QueryError(ValueError):
    pass


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<op>==|!=|>=|<=|&&|\|\||[=<>(),!])
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    )""",
    re.VERBOSE,
)
_METHODS = {"StartsWith", "Contains", "EndsWith"}
_BOOLEAN_PREFIXES = ("Is", "Has", "SentToContact", "Enable", "Show", "Can")


@dataclass
class Token:
    kind: str
    text: str


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise QueryError(f"Syntax error '{text[pos : pos + 10]}'")
        kind = match.lastgroup or ""
        tokens.append(Token(kind, match.group(kind)))
        pos = match.end()
    return tokens


@dataclass
class Literal:
    value: Any


@dataclass
class Path:
    parts: list[str]


@dataclass
class _Missing:
    pass


MISSING = _Missing()


def lookup(record: Record, parts: list[str]) -> Any:
    value: Any = record
    for part in parts:
        if not isinstance(value, dict):
            return None
        # Xero matches field names case-insensitively (e.g. guid vs Guid, contactid).
        if part in value:
            value = value[part]
            continue
        lowered = {k.lower(): k for k in value}
        if part.lower() not in lowered:
            return MISSING if value is record else None
        value = value[lowered[part.lower()]]
    return value


def _comparable(value: Any, other: Any) -> tuple[Any, Any]:
    """Bring a field value and a literal to one type for comparison."""
    if isinstance(other, datetime):
        if value is None:
            return None, other
        try:
            return parse_timestamp(str(value)), other
        except WireError:
            return value, other
    if isinstance(other, Decimal) and value is not None and not isinstance(value, bool):
        try:
            return Decimal(str(value)), other
        except ArithmeticError:
            return value, other
    if isinstance(other, str) and is_guid(other) and isinstance(value, str):
        return value.lower(), other.lower()
    return value, other


def _compare(op: str, left: Any, right: Any) -> bool:
    left, right = _comparable(left, right)
    if op in ("==", "="):
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if left is None or right is None:
        return False
    try:
        if op == ">":
            return bool(left > right)
        if op == "<":
            return bool(left < right)
        if op == ">=":
            return bool(left >= right)
        return bool(left <= right)
    except TypeError:
        return False


class _Parser:
    def __init__(self, tokens: list[Token], fields: set[str] | None, type_name: str) -> None:
        self.tokens = tokens
        self.pos = 0
        self.fields = {f.lower() for f in fields} if fields is not None else None
        self.type_name = type_name

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise QueryError("Unexpected end of expression")
        self.pos += 1
        return token

    def expect(self, text: str) -> None:
        token = self.take()
        if token.text != text:
            raise QueryError(f"'{text}' expected")

    def is_word(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token.text.upper() in words and token.kind in ("name", "op")

    def parse(self) -> Predicate:
        predicate = self.expr()
        if self.peek() is not None:
            raise QueryError(f"Syntax error '{self.peek().text}'")  # type: ignore[union-attr]
        return predicate

    def expr(self) -> Predicate:
        terms = [self.conjunction()]
        while self.is_word("OR", "||"):
            self.take()
            terms.append(self.conjunction())
        if len(terms) == 1:
            return terms[0]
        return lambda r: any(t(r) for t in terms)

    def conjunction(self) -> Predicate:
        terms = [self.primary()]
        while self.is_word("AND", "&&"):
            self.take()
            terms.append(self.primary())
        if len(terms) == 1:
            return terms[0]
        return lambda r: all(t(r) for t in terms)

    def primary(self) -> Predicate:
        token = self.peek()
        if token is not None and token.text == "(":
            self.take()
            inner = self.expr()
            self.expect(")")
            return inner
        if token is not None and (token.text == "!" or token.text.upper() == "NOT"):
            raise QueryError("Operator 'NOT' is not supported")
        left = self.operand()
        token = self.peek()
        if token is not None and token.kind == "op" and token.text in ("==", "=", "!=", ">=", "<=", ">", "<"):
            op = self.take().text
            right = self.operand()
            return self._comparison(op, left, right)
        if isinstance(left, Path) and left.parts[-1].startswith(_BOOLEAN_PREFIXES):
            parts = left.parts
            return lambda r: lookup(r, parts) is True
        if callable(left):
            return left  # type: ignore[no-any-return]
        raise QueryError("Expression of type 'Boolean' expected")

    def _comparison(self, op: str, left: Any, right: Any) -> Predicate:
        if isinstance(left, Literal) and isinstance(right, Path):
            flipped = {">": "<", "<": ">", ">=": "<=", "<=": ">="}.get(op, op)
            return self._comparison(flipped, right, left)
        if isinstance(left, Path) and isinstance(right, Literal):
            parts, value = left.parts, right.value
            return lambda r: _compare(op, lookup(r, parts), value)
        if isinstance(left, Path) and isinstance(right, Path):
            lp, rp = left.parts, right.parts
            return lambda r: _compare(op, lookup(r, lp), lookup(r, rp))
        if callable(left) and isinstance(right, Literal) and isinstance(right.value, bool):
            want = right.value
            return lambda r: (left(r) == want) if op in ("==", "=") else (left(r) != want)
        raise QueryError("Operator '" + op + "' incompatible with operand types")

    def _check_field(self, parts: list[str]) -> None:
        if self.fields is not None and parts[0].lower() not in self.fields:
            raise QueryError(f"No property or field '{parts[0]}' exists in type '{self.type_name}'")

    def operand(self) -> Any:
        token = self.take()
        if token.kind == "string":
            return Literal(bytes(token.text[1:-1], "utf-8").decode("unicode_escape"))
        if token.kind == "number":
            return Literal(Decimal(token.text))
        if token.kind != "name":
            raise QueryError(f"Syntax error '{token.text}'")
        word = token.text
        upper = word.upper()
        if upper in ("TRUE", "FALSE"):
            return Literal(upper == "TRUE")
        if upper == "NULL":
            return Literal(None)
        nxt = self.peek()
        if nxt is not None and nxt.text == "(":
            if upper == "GUID":
                return Literal(self._guid_args())
            if upper == "DATETIME":
                return Literal(self._datetime_args())
            parts = word.split(".")
            if len(parts) >= 2 and parts[-1] in _METHODS:
                self._check_field(parts[:-1])
                return self._method(parts[:-1], parts[-1])
            raise QueryError(f"No applicable method '{parts[-1]}' exists")
        parts = word.split(".")
        self._check_field(parts)
        return Path(parts)

    def _args(self) -> list[Token]:
        self.expect("(")
        args: list[Token] = []
        while True:
            token = self.take()
            if token.text == ")" and not args:
                return args
            args.append(token)
            sep = self.take()
            if sep.text == ")":
                return args
            if sep.text != ",":
                raise QueryError("',' or ')' expected")

    def _guid_args(self) -> str:
        args = self._args()
        if len(args) != 1 or args[0].kind != "string" or not is_guid(args[0].text[1:-1]):
            raise QueryError('Guid("...") expects one GUID string')
        return args[0].text[1:-1].lower()

    def _datetime_args(self) -> datetime:
        args = self._args()
        if not 3 <= len(args) <= 6 or any(a.kind != "number" or "." in a.text for a in args):
            raise QueryError("DateTime(year, month, day[, hour, minute, second]) expected")
        try:
            parts = [int(a.text) for a in args] + [0, 0, 0]
            return datetime(parts[0], parts[1], parts[2], parts[3], parts[4], parts[5], tzinfo=UTC)
        except ValueError as exc:
            raise QueryError(str(exc)) from exc

    def _method(self, parts: list[str], method: str) -> Predicate:
        args = self._args()
        if len(args) != 1 or args[0].kind != "string":
            raise QueryError(f"{method} expects one string argument")
        needle = args[0].text[1:-1]

        def call(record: Record) -> bool:
            value = lookup(record, parts)
            if not isinstance(value, str):
                return False
            if method == "StartsWith":
                return value.startswith(needle)
            if method == "EndsWith":
                return value.endswith(needle)
            return needle in value

        return call


def compile_where(text: str, *, fields: Iterable[str] | None = None, type_name: str = "Object") -> Predicate:
    tokens = tokenize(text)
    if not tokens:
        return lambda r: True
    return _Parser(tokens, set(fields) if fields is not None else None, type_name).parse()


def _sort_value(value: Any) -> tuple[int, Any]:
    if value is None or value is MISSING:
        return (0, 0)
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, int | Decimal):
        return (1, Decimal(value))
    if isinstance(value, str) and value.startswith("/Date("):
        try:
            return (1, Decimal(int(parse_timestamp(value).timestamp() * 1000)))
        except WireError:
            pass
    return (2, str(value).lower())


def apply_order(records: list[Record], order: str, *, fields: Iterable[str] | None = None) -> list[Record]:
    """``order=Date DESC, InvoiceNumber`` (stable, applied right to left)."""
    known = {f.lower() for f in fields} if fields is not None else None
    keys: list[tuple[list[str], bool]] = []
    for clause in order.split(","):
        words = clause.split()
        if not words:
            continue
        if len(words) > 2 or (len(words) == 2 and words[1].upper() not in ("ASC", "DESC")):
            raise QueryError(f"Syntax error in order '{clause.strip()}'")
        parts = words[0].split(".")
        if known is not None and parts[0].lower() not in known:
            raise QueryError(f"No property or field '{parts[0]}' exists")
        keys.append((parts, len(words) == 2 and words[1].upper() == "DESC"))
    result = list(records)
    for parts, descending in reversed(keys):
        result.sort(key=lambda r, p=parts: _sort_value(lookup(r, p)), reverse=descending)  # type: ignore[misc]
    return result
