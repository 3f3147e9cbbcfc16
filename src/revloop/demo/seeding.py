"""Loading a generated MSP into the simulators.

Xero's seed takes payments separately and applies them to their invoices, so invoices are handed
over as they stood before payment (AUTHORISED, nothing paid); each seeded payment then brings its
invoice to the state the generated record shows (PAID, ``AmountDue`` 0).
"""

from __future__ import annotations

from typing import Any, Protocol

from .model import DemoMsp

UNPAID_FIELDS = ("AmountDue", "Payments", "FullyPaidOnDate")


class Seedable(Protocol):
    def seed(self, data: dict[str, Any], **kw: Any) -> None: ...


def xero_seed_data(msp: DemoMsp) -> dict[str, Any]:
    data = dict(msp.xero)
    invoices = []
    for raw in msp.xero.get("Invoices", []):
        record = {k: v for k, v in raw.items() if k not in UNPAID_FIELDS}
        record["AmountPaid"] = 0
        if record.get("Status") == "PAID":
            record["Status"] = "AUTHORISED"
        invoices.append(record)
    data["Invoices"] = invoices
    return data


def seed_simulators(msp: DemoMsp, halopsa: Seedable, xero: Seedable, *, tenant_id: str, name: str) -> None:
    halopsa.seed(msp.halopsa, replace=True)
    xero.seed(xero_seed_data(msp), tenant_id=tenant_id, name=name, chart=False)
