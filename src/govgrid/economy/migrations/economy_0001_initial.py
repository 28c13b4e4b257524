"""economy initial: indicator registry, import batches, exchange feeds, observations with vintages, alerts

Revision ID: economy_0001
Revises:
Create Date: 2026-12-03 07:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import govgrid.core.db

revision = "economy_0001"
down_revision = None
branch_labels = ("economy",)
depends_on = "core_0001"


def upgrade() -> None:
    op.create_table(
        "economy_indicators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name_zh", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("frequency", sa.String(length=16), nullable=False),
        sa.Column("line_code", sa.String(length=64), nullable=False),
        sa.Column("division_level", sa.String(length=16), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("created_at", govgrid.core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_economy_indicators")),
        sa.UniqueConstraint("code", name=op.f("uq_economy_indicators_code")),
    )
    op.create_table(
        "economy_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("resource_ref", sa.String(length=200), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", govgrid.core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_economy_batches")),
    )
    op.create_table(
        "economy_feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_code", sa.String(length=100), nullable=False),
        sa.Column("indicator_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("division_field", sa.String(length=64), nullable=False),
        sa.Column("period_field", sa.String(length=64), nullable=False),
        sa.Column("value_field", sa.String(length=64), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("last_run_at", govgrid.core.db.UTCDateTime(), nullable=True),
        sa.Column("last_status", sa.Text(), nullable=False),
        sa.Column("created_at", govgrid.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name=op.f("fk_economy_feeds_department_id_departments")
        ),
        sa.ForeignKeyConstraint(
            ["indicator_id"], ["economy_indicators.id"], name=op.f("fk_economy_feeds_indicator_id_economy_indicators")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_economy_feeds_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_economy_feeds")),
    )
    op.create_index(op.f("ix_economy_feeds_department_id"), "economy_feeds", ["department_id"], unique=False)
    op.create_table(
        "economy_observations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("indicator_id", sa.Integer(), nullable=False),
        sa.Column("division_code", sa.String(length=32), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("vintage", sa.Integer(), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("is_demo", sa.Boolean(), nullable=False),
        sa.Column("recorded_at", govgrid.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["economy_batches.id"], name=op.f("fk_economy_observations_batch_id_economy_batches")
        ),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name=op.f("fk_economy_observations_department_id_departments")
        ),
        sa.ForeignKeyConstraint(
            ["division_code"], ["divisions.code"], name=op.f("fk_economy_observations_division_code_divisions")
        ),
        sa.ForeignKeyConstraint(
            ["indicator_id"],
            ["economy_indicators.id"],
            name=op.f("fk_economy_observations_indicator_id_economy_indicators"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_economy_observations")),
        sa.UniqueConstraint(
            "indicator_id",
            "division_code",
            "period",
            "vintage",
            name="uq_economy_observations_vintage",
        ),
    )
    op.create_index(
        op.f("ix_economy_observations_department_id"), "economy_observations", ["department_id"], unique=False
    )
    op.create_index(
        "ix_economy_observations_series",
        "economy_observations",
        ["division_code", "indicator_id", "current", "period"],
        unique=False,
    )
    op.create_table(
        "economy_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("indicator_id", sa.Integer(), nullable=False),
        sa.Column("partner_indicator_id", sa.Integer(), nullable=True),
        sa.Column("division_code", sa.String(length=32), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("expected_low", sa.Float(), nullable=False),
        sa.Column("expected_high", sa.Float(), nullable=False),
        sa.Column("value_unit", sa.String(length=32), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("explanation_en", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("due_at", govgrid.core.db.UTCDateTime(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("handled_by", sa.String(length=64), nullable=True),
        sa.Column("handled_at", govgrid.core.db.UTCDateTime(), nullable=True),
        sa.Column("created_at", govgrid.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name=op.f("fk_economy_alerts_department_id_departments")
        ),
        sa.ForeignKeyConstraint(
            ["division_code"], ["divisions.code"], name=op.f("fk_economy_alerts_division_code_divisions")
        ),
        sa.ForeignKeyConstraint(
            ["indicator_id"], ["economy_indicators.id"], name=op.f("fk_economy_alerts_indicator_id_economy_indicators")
        ),
        sa.ForeignKeyConstraint(
            ["partner_indicator_id"],
            ["economy_indicators.id"],
            name=op.f("fk_economy_alerts_partner_indicator_id_economy_indicators"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_economy_alerts")),
        sa.UniqueConstraint(
            "kind", "indicator_id", "division_code", "period",
            name="uq_economy_alerts_finding",
        ),
    )
    op.create_index(op.f("ix_economy_alerts_department_id"), "economy_alerts", ["department_id"], unique=False)
    op.create_index(op.f("ix_economy_alerts_division_code"), "economy_alerts", ["division_code"], unique=False)


def downgrade() -> None:
    op.drop_table("economy_alerts")
    op.drop_table("economy_observations")
    op.drop_table("economy_feeds")
    op.drop_table("economy_batches")
    op.drop_table("economy_indicators")
