"""carbon: mark the report files the server generated itself

Revision ID: carbon_0002
Revises: carbon_0001
Create Date: 2026-12-03 00:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "carbon_0002"
down_revision = "carbon_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Files already stored are uploads (served as downloads) except the demo loader's own engine run: the first
    # report of a demo project, written in the loader's transaction (is_demo cannot be set through the API).
    with op.batch_alter_table("carbon_report_files") as batch:
        batch.add_column(sa.Column("generated", sa.Boolean(), nullable=False, server_default=sa.false()))
    files = sa.table(
        "carbon_report_files", sa.column("report_id", sa.Integer), sa.column("generated", sa.Boolean)
    )
    reports = sa.table(
        "carbon_monitoring_reports", sa.column("id", sa.Integer), sa.column("project_id", sa.Integer)
    )
    projects = sa.table("carbon_projects", sa.column("id", sa.Integer), sa.column("is_demo", sa.Boolean))
    first_demo_reports = (
        sa.select(sa.func.min(reports.c.id))
        .select_from(reports.join(projects, projects.c.id == reports.c.project_id))
        .where(projects.c.is_demo == sa.true())
        .group_by(reports.c.project_id)
    )
    op.execute(files.update().where(files.c.report_id.in_(first_demo_reports)).values(generated=True))


def downgrade() -> None:
    with op.batch_alter_table("carbon_report_files") as batch:
        batch.drop_column("generated")
