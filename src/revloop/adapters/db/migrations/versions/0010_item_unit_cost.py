"""What an item costs the MSP per unit (HaloPSA's ``costprice``): the supplier cost of items sold
without stock lots (licences, monitoring) in the profit figures, unless ``costs.item_unit_costs``
names another.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("unit_cost", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.drop_column("unit_cost")
