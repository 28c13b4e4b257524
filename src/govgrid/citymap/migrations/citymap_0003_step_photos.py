"""citymap: a photo per case step (the "after" photo of 处理反馈)

Revision ID: citymap_0003
Revises: citymap_0002
Create Date: 2026-12-03 07:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "citymap_0003"
down_revision = "citymap_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("citymap_case_steps", sa.Column("photo_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("citymap_case_steps") as batch:
        batch.drop_column("photo_id")
