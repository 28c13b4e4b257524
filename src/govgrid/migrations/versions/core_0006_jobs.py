"""Dead letters of the job queue (core.jobs)

Revision ID: core_0006
Revises: core_0005
Create Date: 2026-12-03 11:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import govgrid.core.db

revision = 'core_0006'
down_revision = 'core_0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('core_job_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_name', sa.String(length=100), nullable=False),
    sa.Column('queue_job_id', sa.BigInteger(), nullable=True),
    sa.Column('args', sa.JSON(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('failed_at', govgrid.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('retried_at', govgrid.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('retried_by', sa.String(length=100), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_job_failures'))
    )
    with op.batch_alter_table('core_job_failures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_job_failures_failed_at'), ['failed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_core_job_failures_job_name'), ['job_name'], unique=False)
        batch_op.create_index(batch_op.f('ix_core_job_failures_queue_job_id'), ['queue_job_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_core_job_failures_status'), ['status'], unique=False)


def downgrade() -> None:
    op.drop_table('core_job_failures')
