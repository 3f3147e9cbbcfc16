"""The Xero InvoiceID HaloPSA records for each of its invoices (its ``xeroid``): a HaloPSA invoice is
matched to its Xero copy by that id first, then by number and reference.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("invoices") as batch:
        batch.add_column(sa.Column("xero_invoice_id", sa.String(128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("invoices") as batch:
        batch.drop_column("xero_invoice_id")
