"""Xero's currency rate of each invoice and credit note in another currency (units of that currency
per unit of the organisation's base currency, to 6 decimal places): revenue in the base currency is
what Xero booked, not a rate from the settings.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("invoices") as batch:
        batch.add_column(sa.Column("currency_rate", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("invoices") as batch:
        batch.drop_column("currency_rate")
