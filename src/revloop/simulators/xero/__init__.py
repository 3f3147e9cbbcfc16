"""A faithful in-memory simulator of Xero's identity service, ``/connections`` and the Accounting API,
built from the published OpenAPI files and the notes in ``shared/specs/xero/NOTES.md``.

Modules: ``app`` (``XeroSimulator``: routing, auth, tenancy, limits, idempotency, faults, log),
``routes``, ``auth``, ``limits``, ``wire`` (JSON, ``/Date()/``, envelope, errors, XML), ``money``,
``lines``, ``kinds``/``documents``/``doc_render`` (invoices, credit notes, quotes, repeating
invoices), ``contacts``, ``settings``, ``payments``, ``reports``, ``filters`` (``where``/``order``),
``listing``, ``batch``, ``webhooks``, ``seeding``, ``state``, ``demo``.

Where Xero's behaviour is undocumented the simulator picks one reading and keeps it configurable or
visible: half-up midpoint rounding (``rounding=``); a default (summarised) batch with one bad element
saves nothing; concurrent-limit 429s carry no ``Retry-After``; the day window is rolling; unpaged
multi-invoice and credit-note lists omit line items; an ``ItemCode`` fills a line's missing
description, price, account and tax type.
"""

from .app import XeroSimulator
from .webhooks import sign as sign_webhook
from .webhooks import signature_ok as webhook_signature_ok

__all__ = ["XeroSimulator", "sign_webhook", "webhook_signature_ok"]
