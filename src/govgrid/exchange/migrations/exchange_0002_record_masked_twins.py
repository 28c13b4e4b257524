"""exchange: static masking twins of records (静态脱敏: each record also stored masked)

Revision ID: exchange_0002
Revises: exchange_0001
Create Date: 2026-12-03 14:10:00

Rows stored before keep NULL twins: the gateway masks those in Python, as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "exchange_0002"
down_revision = "exchange_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "exchange_records",
        sa.Column("masked", sa.JSON(), nullable=True),
    )
    op.add_column("exchange_records", sa.Column("mask_key", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("exchange_records") as batch:
        batch.drop_column("mask_key")
        batch.drop_column("masked")
