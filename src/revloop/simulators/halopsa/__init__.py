"""A faithful in-memory HaloPSA tenant (REST API v2) for tests and for running with no tenant.

Endpoints (paths under the optional ``prefix``; ``/api/...`` matched case-insensitively):

- ``POST /auth/token[?tenant=]`` form ``grant_type=client_credentials&client_id&client_secret&scope``;
  ``GET /api/authinfo`` (no auth) gives ``auth_url`` (``<base>/auth``) and ``tenant_id``.
- ``GET /api/<Resource>`` lists, ``GET /api/<Resource>/{id}`` single records, ``POST /api/<Resource>``
  with a JSON array (upsert), ``DELETE /api/<Resource>/{id}`` where Halo has it.

List response shape per resource (``{"record_count": N, "<key>": [...]}``, plus ``page_no`` and
``page_size`` when ``pageinate=true``; or a bare JSON array):

==================  ===================  ==========================================================
Resource            List shape           Notes
==================  ===================  ==========================================================
Client              ``clients``          lean list items; full record on single GET
Site                ``sites``            ``client_id`` written as a double (``21.0``)
Agent               bare array           ``GET /Agent/me``; id 1 = Unassigned (hidden by default)
Tickets             ``tickets``          ``lastupdatefromdate``/``lastupdatetodate`` for sync
Actions             ``actions``          needs ``ticket_id`` or ``startdate``+``enddate``
ClientContract      ``contracts``
ChargeRate          bare array           read only
Lookup              bare array           ``?lookupid=17`` = charge types
Invoice             ``invoices``         ``lines`` with ``includelines`` or on single GET
RecurringInvoice    ``invoices``         ``POST /RecurringInvoice/process`` ``[ids]``
Item                ``items``
Asset               ``assets``
Quotation           ``quotes``
Expense             ``expenses``         no DELETE
Holiday             bare array           ids are uuid strings (``holid`` is the number)
Workday             bare array           ``showholidays=true`` nests ``holidays``
ClientPrepay        ``prepay``           key unconfirmed in public sources
Status, Priority    bare array           Priority ids are strings (``priorityid`` is the number)
==================  ===================  ==========================================================

Behaviour and the choices made where the sources are unsure are documented in the modules: ``app``
(routing, auth, error shapes), ``query`` (paging, the 100-row cap, default count and order, filters),
``views`` (list vs single-GET shapes), ``writes`` (upserts, action write-back, deletes), ``wire``
(dates, numbers), ``limits`` (the rolling rate limit) and ``resources`` (field defaults).
"""

from .app import DEMO_CREDENTIALS, HaloSimulator

__all__ = ["DEMO_CREDENTIALS", "HaloSimulator"]
