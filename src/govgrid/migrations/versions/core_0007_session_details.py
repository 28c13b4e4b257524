"""Sessions remember where they came from and when they were last used (the administrator's sessions page)

Revision ID: core_0007
Revises: core_0006
Create Date: 2026-12-03 11:45:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import govgrid.core.db

revision = 'core_0007'
down_revision = 'core_0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('address', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('user_agent', sa.String(length=256), nullable=True))
        batch_op.add_column(sa.Column('last_seen_at', govgrid.core.db.UTCDateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.drop_column('last_seen_at')
        batch_op.drop_column('user_agent')
        batch_op.drop_column('address')
