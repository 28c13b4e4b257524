"""reuse initial

Revision ID: reuse_0001
Revises: 
Create Date: 2026-12-03 10:46:42.416895
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import govgrid.core.db

revision = 'reuse_0001'
down_revision = None
branch_labels = ('reuse',)
depends_on = 'core_0001'


def upgrade() -> None:
    op.create_table('reuse_cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('division_code', sa.String(length=32), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=32), nullable=False),
    sa.Column('submitted_by', sa.String(length=100), nullable=False),
    sa.Column('nominated_by', sa.String(length=100), nullable=True),
    sa.Column('pack_id', sa.String(length=80), nullable=True),
    sa.Column('measures_before', sa.JSON(), nullable=False),
    sa.Column('measures_after', sa.JSON(), nullable=False),
    sa.Column('review_note', sa.Text(), nullable=True),
    sa.Column('reviewed_by', sa.String(length=100), nullable=True),
    sa.Column('rating_count', sa.Integer(), nullable=False),
    sa.Column('rating_sum', sa.Integer(), nullable=False),
    sa.Column('is_demo', sa.Boolean(), nullable=False),
    sa.Column('created_at', govgrid.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', govgrid.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_reuse_cases_department_id_departments')),
    sa.ForeignKeyConstraint(['division_code'], ['divisions.code'], name=op.f('fk_reuse_cases_division_code_divisions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reuse_cases'))
    )
    with op.batch_alter_table('reuse_cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reuse_cases_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reuse_cases_division_code'), ['division_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_reuse_cases_state'), ['state'], unique=False)

    op.create_table('reuse_packs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pack_id', sa.String(length=80), nullable=False),
    sa.Column('version', sa.String(length=32), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('module', sa.String(length=32), nullable=False),
    sa.Column('division_code', sa.String(length=32), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', govgrid.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_reuse_packs_department_id_departments')),
    sa.ForeignKeyConstraint(['division_code'], ['divisions.code'], name=op.f('fk_reuse_packs_division_code_divisions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reuse_packs')),
    sa.UniqueConstraint('pack_id', 'version', name=op.f('uq_reuse_packs_pack_id'))
    )
    with op.batch_alter_table('reuse_packs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reuse_packs_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reuse_packs_division_code'), ['division_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_reuse_packs_pack_id'), ['pack_id'], unique=False)

    op.create_table('reuse_case_ratings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('rater', sa.String(length=120), nullable=False),
    sa.Column('division_code', sa.String(length=32), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('comment', sa.String(length=500), nullable=False),
    sa.Column('created_at', govgrid.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['reuse_cases.id'], name=op.f('fk_reuse_case_ratings_case_id_reuse_cases')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_reuse_case_ratings_department_id_departments')),
    sa.ForeignKeyConstraint(['division_code'], ['divisions.code'], name=op.f('fk_reuse_case_ratings_division_code_divisions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reuse_case_ratings')),
    sa.UniqueConstraint('case_id', 'rater', name=op.f('uq_reuse_case_ratings_case_id'))
    )
    with op.batch_alter_table('reuse_case_ratings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reuse_case_ratings_case_id'), ['case_id'], unique=False)

    op.create_table('reuse_installations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pack_row_id', sa.Integer(), nullable=False),
    sa.Column('pack_id', sa.String(length=80), nullable=False),
    sa.Column('version', sa.String(length=32), nullable=False),
    sa.Column('division_code', sa.String(length=32), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('mapping', sa.JSON(), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('undo', sa.JSON(), nullable=False),
    sa.Column('installed_at', govgrid.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('installed_by', sa.String(length=100), nullable=False),
    sa.Column('uninstalled_at', govgrid.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('uninstalled_by', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_reuse_installations_department_id_departments')),
    sa.ForeignKeyConstraint(['division_code'], ['divisions.code'], name=op.f('fk_reuse_installations_division_code_divisions')),
    sa.ForeignKeyConstraint(['pack_row_id'], ['reuse_packs.id'], name=op.f('fk_reuse_installations_pack_row_id_reuse_packs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reuse_installations'))
    )
    with op.batch_alter_table('reuse_installations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reuse_installations_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reuse_installations_division_code'), ['division_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_reuse_installations_pack_id'), ['pack_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reuse_installations_pack_row_id'), ['pack_row_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reuse_installations_state'), ['state'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('reuse_installations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reuse_installations_state'))
        batch_op.drop_index(batch_op.f('ix_reuse_installations_pack_row_id'))
        batch_op.drop_index(batch_op.f('ix_reuse_installations_pack_id'))
        batch_op.drop_index(batch_op.f('ix_reuse_installations_division_code'))
        batch_op.drop_index(batch_op.f('ix_reuse_installations_department_id'))

    op.drop_table('reuse_installations')
    with op.batch_alter_table('reuse_case_ratings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reuse_case_ratings_case_id'))

    op.drop_table('reuse_case_ratings')
    with op.batch_alter_table('reuse_packs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reuse_packs_pack_id'))
        batch_op.drop_index(batch_op.f('ix_reuse_packs_division_code'))
        batch_op.drop_index(batch_op.f('ix_reuse_packs_department_id'))

    op.drop_table('reuse_packs')
    with op.batch_alter_table('reuse_cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reuse_cases_state'))
        batch_op.drop_index(batch_op.f('ix_reuse_cases_division_code'))
        batch_op.drop_index(batch_op.f('ix_reuse_cases_department_id'))

    op.drop_table('reuse_cases')
