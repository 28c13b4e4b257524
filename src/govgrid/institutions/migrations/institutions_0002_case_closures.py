"""institutions: case closures reported by other modules (the ledger's "cases closed")

Revision ID: institutions_0002
Revises: institutions_0001
Create Date: 2026-12-03 14:30:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import govgrid.core.db


revision = 'institutions_0002'
down_revision = 'institutions_0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('institutions_case_closures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_code', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('external_ref', sa.String(length=64), nullable=False),
    sa.Column('result', sa.String(length=200), nullable=False),
    sa.Column('closed_at', govgrid.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', govgrid.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_institutions_case_closures')),
    sa.UniqueConstraint('case_code', name=op.f('uq_institutions_case_closures_case_code'))
    )
    with op.batch_alter_table('institutions_case_closures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_institutions_case_closures_external_ref'), ['external_ref'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('institutions_case_closures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_institutions_case_closures_external_ref'))
    op.drop_table('institutions_case_closures')
