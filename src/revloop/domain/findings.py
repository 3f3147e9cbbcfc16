"""Findings: what reconciliation (and billing) found that a person should look at.

A finding names its records as ``subjects`` in the notation ``halopsa:<resource>:<id>``,
``xero:<resource>:<id>`` or ``revloop:<what>:<id>``, the amount at stake, and what to do. Its
identity is its ``fingerprint`` (code + subjects), so detecting the same problem again never
makes a second finding.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal

from revloop.domain.issues import Severity
from revloop.domain.money import round2


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    severity: Severity
    subjects: tuple[str, ...]
    message: str
    action: str = ""
    amount: Decimal | None = None
    currency: str | None = None
    details: tuple[tuple[str, str], ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.subjects:
            raise ValueError("a finding needs at least one subject")
        if self.amount is not None:
            object.__setattr__(self, "amount", round2(self.amount))

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.code, self.subjects)

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "subjects": list(self.subjects),
            "amount": None if self.amount is None else str(self.amount),
            "message": self.message,
            "action": self.action,
        }


def fingerprint(code: str, subjects: tuple[str, ...] | list[str]) -> str:
    body = code + "\x1f" + "\x1f".join(sorted(subjects))
    return hashlib.sha256(body.encode()).hexdigest()[:40]
