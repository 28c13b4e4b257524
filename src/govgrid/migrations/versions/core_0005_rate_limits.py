"""Shared rate-limit counters (the `limits` library's storage over SQLAlchemy)

Revision ID: core_0005
Revises: core_0004
Create Date: 2026-12-03 10:52:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'core_0005'
down_revision = 'core_0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('core_rate_limits',
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_core_rate_limits'))
    )
    with op.batch_alter_table('core_rate_limits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_rate_limits_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('core_rate_limits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_rate_limits_expires_at'))
    op.drop_table('core_rate_limits')
