"""Events outbox: every published domain event is a row written in the publisher's transaction

Revision ID: core_0004
Revises: core_0003
Create Date: 2026-12-03 10:50:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import govgrid.core.db

revision = 'core_0004'
down_revision = 'core_0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('core_outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', govgrid.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('available_at', govgrid.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', govgrid.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_outbox'))
    )
    with op.batch_alter_table('core_outbox', schema=None) as batch_op:
        batch_op.create_index('ix_core_outbox_pending', ['available_at', 'id'], unique=False,
                              postgresql_where=sa.text('delivered_at IS NULL'),
                              sqlite_where=sa.text('delivered_at IS NULL'))
        batch_op.create_index(batch_op.f('ix_core_outbox_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('core_outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_outbox_created_at'))
        batch_op.drop_index('ix_core_outbox_pending')
    op.drop_table('core_outbox')
