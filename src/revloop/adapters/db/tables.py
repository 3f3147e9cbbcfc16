"""The store's schema (SQLAlchemy Core). Changed only through Alembic migrations.

Conventions: integer surrogate keys; the vendors' ids live in ``halopsa_id`` / ``xero_id``
columns and in the ``external_ids`` mapping ledger; money is ``Money2`` (minor units), every
other figure ``Qty4`` (1/10,000); times are UTC; dates are local dates of the MSP.
"""

from __future__ import annotations

import sqlalchemy as sa

from revloop.adapters.db.types import Money2, Qty4, Rate6, UtcDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = sa.MetaData(naming_convention=NAMING)

UTC_TS = UtcDateTime()


def _ts(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, UTC_TS, nullable=nullable)


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer, primary_key=True, autoincrement=True)


def _fk(name: str, target: str, nullable: bool = True, ondelete: str | None = None) -> sa.Column[int]:
    return sa.Column(
        name, sa.Integer, sa.ForeignKey(target, ondelete=ondelete), nullable=nullable, index=True
    )


# -- reference data -------------------------------------------------------------------------

calendars = sa.Table(
    "calendars",
    metadata,
    _id(),
    sa.Column("code", sa.String(64), nullable=False, unique=True),
    sa.Column("timezone", sa.String(64)),
    sa.Column("working_hours", sa.JSON, nullable=False, default=dict),
    sa.Column("holiday_country", sa.String(8)),
    sa.Column("holiday_subdivision", sa.String(16)),
    sa.Column("holidays_add", sa.JSON, nullable=False, default=list),
    sa.Column("holidays_remove", sa.JSON, nullable=False, default=list),
)

tax_rates = sa.Table(
    "tax_rates",
    metadata,
    sa.Column("code", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, default=""),
    sa.Column("rate_percent", Qty4(), nullable=False),
    sa.Column("status", sa.String(32), nullable=False, default="ACTIVE"),
    _ts("updated_at"),
)

customers = sa.Table(
    "customers",
    metadata,
    _id(),
    sa.Column("code", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("country", sa.String(2)),
    _fk("calendar_id", "calendars.id"),
    sa.Column("tax_code", sa.String(64)),
    sa.Column("line_amount_types", sa.String(16), nullable=False, default="Exclusive"),
    sa.Column("presentation", sa.String(16), nullable=False, default="itemised"),
    sa.Column("show_covered_work", sa.Boolean),
    sa.Column("separate_invoice_per_contract", sa.Boolean, nullable=False, default=False),
    sa.Column("mileage_rate", Qty4()),
    sa.Column("expense_markup_percent", Qty4()),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("local_overrides", sa.JSON, nullable=False, default=dict),
    _ts("source_updated_at"),
    _ts("created_at", nullable=False),
    _ts("updated_at", nullable=False),
)

external_ids = sa.Table(
    "external_ids",
    metadata,
    _id(),
    sa.Column("entity", sa.String(32), nullable=False),  # customer, charge_type, item, tax_code, agent, ...
    sa.Column("local_id", sa.String(64), nullable=False),
    sa.Column("system", sa.String(16), nullable=False),  # halopsa | xero
    sa.Column("external_id", sa.String(128), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, default="confirmed"),  # confirmed|suggested|rejected
    sa.Column(
        "method", sa.String(32), nullable=False, default="manual"
    ),  # stored_id|contact_number|name|manual
    sa.Column("confirmed_by", sa.String(128)),
    _ts("created_at", nullable=False),
    sa.UniqueConstraint("system", "entity", "external_id", "local_id"),
    sa.Index("ix_external_ids_lookup", "entity", "local_id", "system"),
)

sites = sa.Table(
    "sites",
    metadata,
    _id(),
    sa.Column("halopsa_id", sa.String(64), unique=True),
    _fk("customer_id", "customers.id", nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("timezone", sa.String(64)),
)

agents = sa.Table(
    "agents",
    metadata,
    _id(),
    sa.Column("halopsa_id", sa.String(64), unique=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("email", sa.String(255)),
    sa.Column("role", sa.String(64)),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
)

agent_costs = sa.Table(
    "agent_costs",
    metadata,
    _id(),
    _fk("agent_id", "agents.id", nullable=False, ondelete="CASCADE"),
    sa.Column("effective_from", sa.Date, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("annual_salary", Money2(), nullable=False),
    sa.Column("oncost_percent", Qty4(), nullable=False, default=0),
    sa.Column("productive_hours_per_year", Qty4(), nullable=False),
    sa.Column("hourly_cost", Qty4()),  # when given directly instead of derived
    sa.UniqueConstraint("agent_id", "effective_from"),
)

charge_types = sa.Table(
    "charge_types",
    metadata,
    _id(),
    sa.Column("code", sa.String(64), nullable=False, unique=True),
    sa.Column("halopsa_id", sa.String(64), unique=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("item_code", sa.String(64)),
    sa.Column("account_code", sa.String(32)),
    sa.Column("tax_code", sa.String(64)),
    sa.Column("travel_charge_type_id", sa.Integer, sa.ForeignKey("charge_types.id")),
    sa.Column("service_line", sa.String(64)),
    sa.Column("billable", sa.Boolean, nullable=False, default=True),
)

contracts = sa.Table(
    "contracts",
    metadata,
    _id(),
    sa.Column("code", sa.String(64), nullable=False, unique=True),
    sa.Column("halopsa_id", sa.String(64), unique=True),
    _fk("customer_id", "customers.id", nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # payg | fixed_price | allowance | prepay
    sa.Column("start", sa.Date, nullable=False),
    sa.Column("end", sa.Date),  # exclusive; NULL = open
    sa.Column("covers", sa.JSON),  # charge type codes; NULL = all
    sa.Column("service_lines", sa.JSON),
    sa.Column("billing", sa.String(16), nullable=False, default="monthly"),
    sa.Column("fee", Money2()),
    sa.Column("hours_per_period", Qty4()),
    sa.Column("rollover", sa.Boolean, nullable=False, default=False),
    sa.Column("rollover_cap_hours", Qty4()),
    sa.Column("unit", sa.String(8)),  # prepay: hours | money
    sa.Column("threshold", Qty4()),
    sa.Column("auto_topup", Qty4()),
    sa.Column("on_exhausted", sa.String(16), nullable=False, default="payg"),
    sa.Column("item_code", sa.String(64)),
    sa.Column("tax_code", sa.String(64)),
    sa.Column("description", sa.Text),
    sa.Column("topup_item_code", sa.String(64)),
    sa.Column("topup_unit_amount", Qty4()),
    sa.Column("annual_value", Money2()),
    sa.Column("local_overrides", sa.JSON, nullable=False, default=dict),
    _ts("source_updated_at"),
    sa.CheckConstraint("kind in ('payg','fixed_price','allowance','prepay')", name="kind"),
)

contract_purchases = sa.Table(
    "contract_purchases",
    metadata,
    _id(),
    _fk("contract_id", "contracts.id", nullable=False, ondelete="CASCADE"),
    sa.Column("date", sa.Date, nullable=False),
    sa.Column("amount", Qty4(), nullable=False),  # hours or money, per the contract's unit
    sa.Column("expires", sa.Date),  # inclusive
    sa.Column("source", sa.String(16), nullable=False, default="halopsa"),  # halopsa | topup | local
    sa.Column("halopsa_id", sa.String(64)),
    sa.Column("invoice_key", sa.String(200)),
)

contract_balances = sa.Table(
    "contract_balances",
    metadata,
    _fk("contract_id", "contracts.id", nullable=False, ondelete="CASCADE"),
    sa.Column("period_start", sa.Date, nullable=False),
    sa.Column("period_end", sa.Date, nullable=False),
    sa.Column("opening", Qty4()),
    sa.Column("closing", Qty4(), nullable=False),
    sa.Column("unit", sa.String(8), nullable=False),  # hours | money
    _ts("computed_at", nullable=False),
    sa.PrimaryKeyConstraint("contract_id", "period_start"),
)

rate_rows = sa.Table(
    "rate_rows",
    metadata,
    _id(),
    _fk("charge_type_id", "charge_types.id", nullable=False, ondelete="CASCADE"),
    sa.Column("scope", sa.String(16), nullable=False),  # global | customer | contract
    _fk("customer_id", "customers.id", ondelete="CASCADE"),
    _fk("contract_id", "contracts.id", ondelete="CASCADE"),
    sa.Column("effective_from", sa.Date, nullable=False),
    sa.Column("hourly_rate", Qty4()),
    sa.Column("percent", Qty4()),
    sa.Column("minimum_minutes", Qty4()),
    sa.Column("increment_minutes", Qty4()),
    sa.Column("rounding", sa.String(8)),  # up | nearest | down
    sa.Column("ooh_multiplier", Qty4()),
    sa.Column("weekend_multiplier", Qty4()),
    sa.Column("holiday_multiplier", Qty4()),
    sa.Column("overage_multiplier", Qty4()),
    sa.Column("prepay_multiplier", Qty4()),
    sa.Column("source", sa.String(16), nullable=False, default="halopsa"),  # halopsa | local
    sa.CheckConstraint("scope in ('global','customer','contract')", name="scope"),
    sa.CheckConstraint(
        "(scope = 'global' and customer_id is null and contract_id is null) or "
        "(scope = 'customer' and customer_id is not null and contract_id is null) or "
        "(scope = 'contract' and contract_id is not null)",
        name="scope_owner",
    ),
    sa.Index(
        "ix_rate_rows_resolve", "charge_type_id", "scope", "customer_id", "contract_id", "effective_from"
    ),
)

# -- work ------------------------------------------------------------------------------------

tickets = sa.Table(
    "tickets",
    metadata,
    _id(),
    sa.Column("halopsa_id", sa.String(64), unique=True),
    _fk("customer_id", "customers.id"),
    _fk("site_id", "sites.id"),
    _fk("contract_id", "contracts.id"),
    sa.Column("summary", sa.Text, nullable=False, default=""),
    sa.Column("service_line", sa.String(64)),
    _ts("opened_at"),
    _ts("closed_at"),
    _ts("source_updated_at"),
)

time_entries = sa.Table(
    "time_entries",
    metadata,
    _id(),
    sa.Column("source_key", sa.String(128), nullable=False, unique=True),  # "<ticket_id>/<action_id>"
    _fk("ticket_id", "tickets.id"),
    _fk("customer_id", "customers.id"),
    _fk("agent_id", "agents.id"),
    _fk("charge_type_id", "charge_types.id"),
    _fk("contract_id", "contracts.id"),
    sa.Column("start_utc", UTC_TS, nullable=False),
    sa.Column("work_date", sa.Date, nullable=False, index=True),  # local date of the start
    sa.Column("minutes", Qty4(), nullable=False),
    sa.Column("non_billable_minutes", Qty4(), nullable=False, default=0),
    sa.Column("travel_minutes", Qty4(), nullable=False, default=0),
    sa.Column("mileage", Qty4(), nullable=False, default=0),
    sa.Column("service_line", sa.String(64)),
    sa.Column("note", sa.Text),
    # billing state: unbilled | invoiced | covered | written_off | not_billable
    sa.Column("billing_state", sa.String(16), nullable=False, default="unbilled", index=True),
    sa.Column("invoice_key", sa.String(200), index=True),
    sa.Column("invoice_number", sa.String(64)),
    sa.Column("state_reason", sa.Text),
    sa.Column("state_by", sa.String(128)),
    _ts("state_at"),
    _ts("source_updated_at"),
    sa.CheckConstraint(
        "billing_state in ('unbilled','invoiced','covered','written_off','not_billable')", name="state"
    ),
    sa.Index("ix_time_entries_customer_date", "customer_id", "work_date"),
    sa.Index("ix_time_entries_state_date", "billing_state", "work_date", "minutes"),
)

expenses = sa.Table(
    "expenses",
    metadata,
    _id(),
    sa.Column("source_key", sa.String(128), nullable=False, unique=True),
    _fk("customer_id", "customers.id", nullable=False),
    _fk("ticket_id", "tickets.id"),
    sa.Column("date", sa.Date, nullable=False),
    sa.Column("category", sa.String(64), nullable=False, default=""),
    sa.Column("cost", Money2(), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("item_code", sa.String(64)),
    sa.Column("tax_code", sa.String(64)),
    sa.Column("billing_state", sa.String(16), nullable=False, default="unbilled"),
    sa.Column("invoice_key", sa.String(200)),
)

assets = sa.Table(
    "assets",
    metadata,
    _id(),
    sa.Column("halopsa_id", sa.String(64), unique=True),
    _fk("customer_id", "customers.id", nullable=False),
    _fk("site_id", "sites.id"),
    sa.Column("asset_type", sa.String(64), nullable=False),
    sa.Column("name", sa.String(255), nullable=False, default=""),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("since", sa.Date),
    sa.Column("until", sa.Date),
)

# -- catalogue and recurring ------------------------------------------------------------------

items = sa.Table(
    "items",
    metadata,
    _id(),
    sa.Column("code", sa.String(64), nullable=False, unique=True),
    sa.Column("halopsa_id", sa.String(64), unique=True),
    sa.Column("xero_id", sa.String(64), unique=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("unit_price", Qty4()),
    sa.Column("unit_cost", Qty4()),  # halopsa: costprice (what one costs the MSP)
    sa.Column("tax_code", sa.String(64)),
    sa.Column("account_code", sa.String(32)),
    sa.Column("service_line", sa.String(64)),
)

item_prices = sa.Table(
    "item_prices",
    metadata,
    _fk("item_id", "items.id", nullable=False, ondelete="CASCADE"),
    _fk("customer_id", "customers.id", nullable=False, ondelete="CASCADE"),
    sa.Column("unit_price", Qty4(), nullable=False),
    sa.PrimaryKeyConstraint("item_id", "customer_id"),
)

item_lots = sa.Table(
    "item_lots",
    metadata,
    _id(),
    _fk("item_id", "items.id", nullable=False, ondelete="CASCADE"),
    sa.Column("date", sa.Date, nullable=False),
    sa.Column("quantity", Qty4(), nullable=False),
    sa.Column("unit_cost", Qty4(), nullable=False),
    sa.Column("remaining", Qty4(), nullable=False),
)

items_issued = sa.Table(
    "items_issued",
    metadata,
    _id(),
    sa.Column("source_key", sa.String(128), nullable=False, unique=True),
    _fk("customer_id", "customers.id", nullable=False),
    _fk("item_id", "items.id"),
    sa.Column("date", sa.Date, nullable=False),
    sa.Column("quantity", Qty4(), nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("unit_price", Qty4()),
    sa.Column("unit_cost", Qty4()),
    sa.Column("tax_code", sa.String(64)),
    sa.Column("billing_state", sa.String(16), nullable=False, default="unbilled"),
    sa.Column("invoice_key", sa.String(200)),
)

recurring_charges = sa.Table(
    "recurring_charges",
    metadata,
    _id(),
    sa.Column("code", sa.String(64), nullable=False, unique=True),
    sa.Column("halopsa_id", sa.String(64), unique=True),
    _fk("customer_id", "customers.id", nullable=False),
    _fk("contract_id", "contracts.id"),
    sa.Column("item_code", sa.String(64), nullable=False),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("quantity", Qty4()),
    sa.Column("count_source", sa.String(64)),  # assets:<type> | users
    sa.Column("unit_amount", Qty4(), nullable=False),
    sa.Column("frequency", sa.String(16), nullable=False, default="monthly"),
    sa.Column("start", sa.Date, nullable=False),
    sa.Column("end", sa.Date),
    sa.Column("timing", sa.String(8), nullable=False, default="advance"),
    sa.Column("tax_code", sa.String(64)),
    sa.Column("increase_percent", Qty4()),
    sa.Column("increase_on", sa.Date),
    sa.Column("service_line", sa.String(64)),
)

quotes = sa.Table(
    "quotes",
    metadata,
    _id(),
    sa.Column("system", sa.String(16), nullable=False),  # halopsa | xero
    sa.Column("external_id", sa.String(128), nullable=False),
    _fk("customer_id", "customers.id"),
    sa.Column("number", sa.String(64)),
    sa.Column("date", sa.Date),
    sa.Column("expiry", sa.Date),
    sa.Column("status", sa.String(32)),
    sa.Column("currency", sa.String(3)),
    sa.Column("total", Money2()),
    sa.Column("title", sa.Text),
    _ts("source_updated_at"),
    sa.UniqueConstraint("system", "external_id"),
)

# -- invoices ----------------------------------------------------------------------------------

billing_periods = sa.Table(
    "billing_periods",
    metadata,
    sa.Column("start", sa.Date, primary_key=True),
    sa.Column("end", sa.Date, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, default="open"),  # open | closed
    _ts("closed_at"),
    sa.Column("closed_by", sa.String(128)),
)

invoices = sa.Table(
    "invoices",
    metadata,
    _id(),
    # origin: revloop (our drafts and what we posted) | xero (read from Xero) | halopsa
    sa.Column("origin", sa.String(16), nullable=False),
    sa.Column("doc_type", sa.String(16), nullable=False, default="invoice"),  # invoice | credit_note
    sa.Column("key", sa.String(200), unique=True),  # revloop:<customer>:<contract|all>:<period start>[:rN]
    _fk("customer_id", "customers.id"),
    _fk("contract_id", "contracts.id"),
    sa.Column("period_start", sa.Date),
    sa.Column("period_end", sa.Date),
    sa.Column("currency", sa.String(3), nullable=False),
    # xero: its CurrencyRate (units of ``currency`` per unit of the base currency), 6 dp
    sa.Column("currency_rate", Rate6()),
    sa.Column("line_amount_types", sa.String(16), nullable=False, default="Exclusive"),
    # revloop: draft | approved | posting | posted | superseded ; xero: DRAFT|AUTHORISED|PAID|VOIDED|...
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("external_id", sa.String(128)),
    sa.Column("number", sa.String(64)),
    sa.Column("reference", sa.String(255)),
    sa.Column("date", sa.Date),
    sa.Column("due_date", sa.Date),
    sa.Column("subtotal", Money2(), nullable=False, default=0),
    sa.Column("tax", Money2(), nullable=False, default=0),
    sa.Column("total", Money2(), nullable=False, default=0),
    sa.Column("amount_due", Money2()),
    sa.Column("amount_paid", Money2()),
    sa.Column("corrects_invoice_id", sa.Integer, sa.ForeignKey("invoices.id")),
    sa.Column("xero_invoice_id", sa.String(128)),  # halopsa: the Xero InvoiceID HaloPSA records
    sa.Column("approved_by", sa.String(128)),
    _ts("approved_at"),
    _ts("posted_at"),
    _ts("source_updated_at"),
    _ts("created_at", nullable=False),
    sa.UniqueConstraint("origin", "external_id"),
    sa.Index("ix_invoices_period", "period_start", "customer_id"),
    sa.Index("ix_invoices_reference", "reference"),
)

invoice_lines = sa.Table(
    "invoice_lines",
    metadata,
    _id(),
    _fk("invoice_id", "invoices.id", nullable=False, ondelete="CASCADE"),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("item_code", sa.String(64)),
    sa.Column("account_code", sa.String(32)),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("line_class", sa.String(16)),
    sa.Column("quantity", Qty4(), nullable=False),
    sa.Column("unit_amount", Qty4(), nullable=False),
    sa.Column("amount", Money2(), nullable=False),
    sa.Column("tax_code", sa.String(64)),
    sa.Column("tax", Money2(), nullable=False, default=0),
    sa.Column("explanation", sa.Text, nullable=False, default=""),
    sa.Column("sources", sa.JSON, nullable=False, default=list),
    _fk("contract_id", "contracts.id"),
    sa.Column("service_line", sa.String(64)),
    sa.Column("cost", Money2()),  # kept for margin, never shown on the invoice
    sa.UniqueConstraint("invoice_id", "position"),
)

payments = sa.Table(
    "payments",
    metadata,
    _id(),
    sa.Column("external_id", sa.String(128), nullable=False, unique=True),
    _fk("invoice_id", "invoices.id"),
    sa.Column("date", sa.Date, nullable=False),
    sa.Column("amount", Money2(), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    _ts("source_updated_at"),
)

# -- machinery ---------------------------------------------------------------------------------

sync_watermarks = sa.Table(
    "sync_watermarks",
    metadata,
    sa.Column("system", sa.String(16), primary_key=True),
    sa.Column("resource", sa.String(64), primary_key=True),
    sa.Column("watermark", sa.String(64)),
    _ts("last_run_at"),
    _ts("last_full_at"),
    sa.Column("records", sa.Integer, nullable=False, default=0),
)

#: Records a webhook said changed, waiting for the next incremental sync to read them by id
#: (``resource`` is the sync's resource name, e.g. ``invoices``; ``event_at`` the newest event's time).
sync_marks = sa.Table(
    "sync_marks",
    metadata,
    sa.Column("system", sa.String(16), primary_key=True),
    sa.Column("resource", sa.String(64), primary_key=True),
    sa.Column("record_id", sa.String(64), primary_key=True),
    sa.Column("tenant_id", sa.String(64), nullable=False, default=""),
    _ts("event_at", nullable=False),
    _ts("received_at", nullable=False),
)

outbox = sa.Table(
    "outbox",
    metadata,
    _id(),
    sa.Column("key", sa.String(200), nullable=False, unique=True),
    sa.Column("kind", sa.String(32), nullable=False),  # invoice | credit_note | halopsa_writeback
    _fk("invoice_id", "invoices.id"),
    sa.Column("idempotency_key", sa.String(128), nullable=False, unique=True),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, default="pending"),  # pending|sent|done|failed
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("last_error", sa.Text),
    sa.Column("external_id", sa.String(128)),
    _ts("created_at", nullable=False),
    _ts("updated_at", nullable=False),
    sa.Index("ix_outbox_status", "status", "id"),
)

findings = sa.Table(
    "findings",
    metadata,
    _id(),
    sa.Column("fingerprint", sa.String(128), nullable=False, unique=True),
    sa.Column("kind", sa.String(16), nullable=False, default="finding"),  # issue | finding
    sa.Column("code", sa.String(64), nullable=False, index=True),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("subjects", sa.JSON, nullable=False, default=list),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False, default=""),
    sa.Column("amount", Money2()),
    sa.Column("currency", sa.String(3)),
    sa.Column("state", sa.String(16), nullable=False, default="open", index=True),
    sa.Column("state_reason", sa.Text),
    sa.Column("state_by", sa.String(128)),
    _ts("first_seen", nullable=False),
    _ts("last_seen", nullable=False),
    _ts("resolved_at"),
    sa.CheckConstraint("state in ('open','acknowledged','resolved')", name="state"),
)

audit_journal = sa.Table(
    "audit_journal",
    metadata,
    _id(),
    _ts("at", nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("entity", sa.String(64), nullable=False),
    sa.Column("entity_id", sa.String(200), nullable=False),
    sa.Column("details", sa.JSON, nullable=False, default=dict),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False, unique=True),
)

secrets = sa.Table(
    "secrets",
    metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("ciphertext", sa.LargeBinary, nullable=False),
    sa.Column("version", sa.Integer, nullable=False, default=1),
    sa.Column("expires_at", UTC_TS),
    _ts("updated_at", nullable=False),
)

#: One Xero authorisation (a code-flow login with a rotating refresh token, or a Custom Connection).
#: ``tokens`` is the Fernet-encrypted token set; ``version`` grows by one on every change, so a refresh
#: is a compare-and-swap and two refreshers can never both store a rotated token.
xero_connections = sa.Table(
    "xero_connections",
    metadata,
    _id(),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("mode", sa.String(16), nullable=False, default="code"),  # code | custom
    sa.Column("tenant_id", sa.String(64)),  # the organisation revloop posts to by default
    sa.Column("tokens", sa.LargeBinary),
    _ts("access_expires_at"),
    _ts("refreshed_at"),
    sa.Column("version", sa.BigInteger, nullable=False, default=1),
    _ts("created_at", nullable=False),
    _ts("updated_at", nullable=False),
)

#: Xero's Profit and Loss, one row per month and account, as last read: the books' side of the cost
#: model (payroll and overhead accounts divided by the hours logged in the same months).
pnl_lines = sa.Table(
    "pnl_lines",
    metadata,
    _id(),
    sa.Column("month", sa.Date, nullable=False),  # first day of the month
    sa.Column("section", sa.String(64), nullable=False),  # the report's section title
    sa.Column("account_code", sa.String(32), nullable=False, default=""),
    sa.Column("account_name", sa.String(255), nullable=False),
    sa.Column("amount", Money2(), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    _ts("fetched_at", nullable=False),
    sa.UniqueConstraint("month", "section", "account_name"),
)

#: Typed exceptions to the billed-vs-contracted identity that a person records (a write-off, an
#: agreed price change); the computed ones (proration, credit notes) are derived, not stored.
contract_adjustments = sa.Table(
    "contract_adjustments",
    metadata,
    _id(),
    _fk("contract_id", "contracts.id", nullable=False, ondelete="CASCADE"),
    sa.Column("period_start", sa.Date, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),  # write_off | price_change | other
    sa.Column("amount", Money2(), nullable=False),  # signed: what the contract value is reduced by
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    _ts("created_at", nullable=False),
)

#: Scheduled jobs of ``revloop watch``: a lease says which process runs a job now, so several
#: processes against one PostgreSQL store never run the same job twice at once.
job_leases = sa.Table(
    "job_leases",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("holder", sa.String(128)),
    _ts("lease_until"),
    _ts("last_started_at"),
    _ts("last_finished_at"),
    _ts("last_ok_at"),
    sa.Column("last_error", sa.Text),
    sa.Column("runs", sa.Integer, nullable=False, default=0),
    sa.Column("failures", sa.Integer, nullable=False, default=0),
)

#: Every alert and digest entry sent, so the same alert never goes to the same recipient twice.
notifications = sa.Table(
    "notifications",
    metadata,
    _id(),
    sa.Column("fingerprint", sa.String(128), nullable=False),  # the finding's (or threshold's)
    sa.Column("channel", sa.String(16), nullable=False),  # email | webhook
    sa.Column("recipient", sa.String(255), nullable=False),
    sa.Column("mode", sa.String(16), nullable=False),  # alert | digest
    sa.Column("status", sa.String(16), nullable=False, default="pending"),  # pending | sent | failed
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("last_error", sa.Text),
    _ts("created_at", nullable=False),
    _ts("sent_at"),
    _ts("last_attempt_at"),
    sa.UniqueConstraint("fingerprint", "channel", "recipient"),
)

#: People who sign in to the web dashboard; ``role`` is one of revloop.web.roles.Role. Passwords
#: are argon2 hashes; ``failed_logins`` and ``locked_until`` throttle guessing.
users = sa.Table(
    "users",
    metadata,
    _id(),
    sa.Column("name", sa.String(128), nullable=False, unique=True),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    _ts("created_at", nullable=False),
    _ts("last_login_at"),
    sa.Column("failed_logins", sa.Integer, nullable=False, default=0),
    _ts("locked_until"),
    sa.CheckConstraint("role in ('admin','finance','service_manager','technician')", name="role"),
)

#: Signed-in dashboard sessions: ``id`` is the SHA-256 of the random token in the cookie (the token
#: itself is never stored); ``csrf_token`` is the session's synchroniser token.
web_sessions = sa.Table(
    "web_sessions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    _fk("user_id", "users.id", nullable=False, ondelete="CASCADE"),
    _ts("created_at", nullable=False),
    _ts("expires_at", nullable=False),
    _ts("last_seen_at", nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
)

#: tables a person cares about in ``revloop status``, in the order shown
REPORTED = (
    "customers",
    "agents",
    "tickets",
    "time_entries",
    "contracts",
    "rate_rows",
    "recurring_charges",
    "items",
    "assets",
    "quotes",
    "invoices",
    "payments",
    "outbox",
    "findings",
    "audit_journal",
)
