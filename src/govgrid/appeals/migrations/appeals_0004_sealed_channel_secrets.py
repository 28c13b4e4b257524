"""appeals: room for sealed WeChat channel secrets

Revision ID: appeals_0004
Revises: appeals_0003
Create Date: 2026-11-27 03:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "appeals_0004"
down_revision = "appeals_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing clear values stay readable (core.sealing passes unprefixed values through) and are sealed on next save.
    with op.batch_alter_table("appeals_wechat_channels") as batch:
        batch.alter_column("token", type_=sa.String(255), existing_type=sa.String(64), existing_nullable=False)
        batch.alter_column("encoding_aes_key", type_=sa.String(255), existing_type=sa.String(43),
                           existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("appeals_wechat_channels") as batch:
        batch.alter_column("encoding_aes_key", type_=sa.String(43), existing_type=sa.String(255),
                           existing_nullable=False)
        batch.alter_column("token", type_=sa.String(64), existing_type=sa.String(255), existing_nullable=False)
