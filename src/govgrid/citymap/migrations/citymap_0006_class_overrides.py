"""citymap: a county's own settings per GB/T 30428 class (deadline hours, handling line, active)

A county without rows runs the standard catalogue exactly as before; a solution pack's citymap section writes
these rows in the adopting county and its uninstall restores them.

Revision ID: citymap_0006
Revises: citymap_0005
Create Date: 2026-12-03 14:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import govgrid.core.db

revision = "citymap_0006"
down_revision = "citymap_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "citymap_class_overrides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("class_code", sa.String(length=4), nullable=False),
        sa.Column("deadline_hours", sa.Float(), nullable=True),
        sa.Column("line", sa.String(length=40), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", govgrid.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citymap_class_overrides")),
        sa.UniqueConstraint("county_code", "kind", "class_code", name="uq_citymap_class_overrides_class"),
    )
    op.create_index(
        op.f("ix_citymap_class_overrides_county_code"), "citymap_class_overrides", ["county_code"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_citymap_class_overrides_county_code", table_name="citymap_class_overrides")
    op.drop_table("citymap_class_overrides")
