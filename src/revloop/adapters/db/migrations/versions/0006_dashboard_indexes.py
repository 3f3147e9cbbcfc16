"""Indexes for the dashboard over a large store: hours by billing state and month (the overview's
sums, read from the index alone), and invoices by reference (what Xero holds under an invoice key).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_time_entries_state_date", "time_entries", ["billing_state", "work_date", "minutes"], unique=False
    )
    op.create_index("ix_invoices_reference", "invoices", ["reference"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_invoices_reference", table_name="invoices")
    op.drop_index("ix_time_entries_state_date", table_name="time_entries")
