"""Reconciliation: HaloPSA (as synced), revloop's own records and Xero (as synced) compared.

``reconcile(app, now=..., period=...)`` runs every check and records what it finds as findings
(idempotently: a problem seen again is the same finding, one that went away is resolved);
``balance(app, customer, now=...)`` says whether a customer's contract still covers new work.
The checks are described in docs/reconciliation.md.
"""

from revloop.services.reconcile.balance import balance
from revloop.services.reconcile.run import ReconcileResult, reconcile

__all__ = ["ReconcileResult", "balance", "reconcile"]
