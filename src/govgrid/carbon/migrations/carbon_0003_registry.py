"""carbon: registry operated in pages (buffer pool, compensating entries, verification findings, engine runs)

Revision ID: carbon_0003
Revises: carbon_0002
Create Date: 2026-12-03 07:10:00
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

import govgrid.core.db

revision = "carbon_0003"
down_revision = "carbon_0002"
branch_labels = None
depends_on = None


def _projected_area(boundary: str) -> tuple[float, str]:
    """Area of a stored WGS 84 boundary on the UTM zone of its centroid (the registry's one area figure)."""
    import shapely
    from pyproj import Transformer
    from shapely.geometry import shape

    geom = shape(json.loads(boundary))
    c = geom.centroid
    zone = int((c.x + 180) // 6) + 1
    epsg = (32600 if c.y >= 0 else 32700) + zone
    to_utm = Transformer.from_crs(4326, epsg, always_xy=True)
    projected = shapely.transform(geom, lambda x, y: to_utm.transform(x, y), interleaved=False)
    return round(projected.area / 10_000.0, 4), f"EPSG:{epsg}"


def upgrade() -> None:
    op.create_table(
        "carbon_adjustments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=True),
        sa.Column("original_tco2e", sa.Float(), nullable=True),
        sa.Column("corrected_tco2e", sa.Float(), nullable=True),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("from_buffer", sa.BigInteger(), nullable=False),
        sa.Column("from_project", sa.BigInteger(), nullable=False),
        sa.Column("uncovered", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("actor_name", sa.String(length=64), nullable=False),
        sa.Column("created_at", govgrid.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_carbon_adjustments_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["project_id"], ["carbon_projects.id"], name=op.f("fk_carbon_adjustments_project_id_carbon_projects")
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["carbon_monitoring_reports.id"],
            name=op.f("fk_carbon_adjustments_report_id_carbon_monitoring_reports"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carbon_adjustments")),
    )
    with op.batch_alter_table("carbon_adjustments") as batch:
        batch.create_index(batch.f("ix_carbon_adjustments_kind"), ["kind"], unique=False)
        batch.create_index(batch.f("ix_carbon_adjustments_project_id"), ["project_id"], unique=False)
        batch.create_index(batch.f("ix_carbon_adjustments_report_id"), ["report_id"], unique=False)

    op.create_table(
        "carbon_assessment_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("report_id", sa.Integer(), nullable=True),
        sa.Column("started_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", govgrid.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", govgrid.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["carbon_projects.id"],
            name=op.f("fk_carbon_assessment_runs_project_id_carbon_projects"),
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["carbon_monitoring_reports.id"],
            name=op.f("fk_carbon_assessment_runs_report_id_carbon_monitoring_reports"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carbon_assessment_runs")),
    )
    with op.batch_alter_table("carbon_assessment_runs") as batch:
        batch.create_index(batch.f("ix_carbon_assessment_runs_project_id"), ["project_id"], unique=False)
        batch.create_index(batch.f("ix_carbon_assessment_runs_status"), ["status"], unique=False)

    with op.batch_alter_table("carbon_projects") as batch:
        batch.add_column(sa.Column("risk_rating", sa.String(length=16), nullable=False, server_default="medium"))
        batch.add_column(sa.Column("parcels", sa.Text(), nullable=True))
        batch.add_column(sa.Column("area_crs", sa.String(length=32), nullable=False, server_default=""))
    with op.batch_alter_table("carbon_monitoring_reports") as batch:
        batch.add_column(sa.Column("verification_opinion", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("verification_findings", sa.JSON(), nullable=True))
    with op.batch_alter_table("carbon_issuances") as batch:
        batch.add_column(sa.Column("buffer_quantity", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("risk_rating", sa.String(length=16), nullable=True))
    with op.batch_alter_table("carbon_credit_blocks") as batch:
        batch.add_column(sa.Column("cancellation_reason", sa.String(length=500), nullable=True))
        batch.add_column(
            sa.Column("cancelled_at", govgrid.core.db.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("carbon_movements") as batch:
        batch.add_column(sa.Column("adjustment_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_carbon_movements_adjustment_id_carbon_adjustments"),
            "carbon_adjustments",
            ["adjustment_id"],
            ["id"],
        )
        batch.create_index(batch.f("ix_carbon_movements_adjustment_id"), ["adjustment_id"], unique=False)

    # One area figure: every registered project's area on the projected CRS (UTM zone of its centroid).
    projects = sa.table(
        "carbon_projects",
        sa.column("id", sa.Integer),
        sa.column("boundary", sa.Text),
        sa.column("area_ha", sa.Float),
        sa.column("area_crs", sa.String),
    )
    conn = op.get_bind()
    for pid, boundary in conn.execute(sa.select(projects.c.id, projects.c.boundary)).all():
        area, crs = _projected_area(boundary)
        conn.execute(projects.update().where(projects.c.id == pid).values(area_ha=area, area_crs=crs))


def downgrade() -> None:
    with op.batch_alter_table("carbon_movements") as batch:
        batch.drop_index(batch.f("ix_carbon_movements_adjustment_id"))
        batch.drop_constraint(batch.f("fk_carbon_movements_adjustment_id_carbon_adjustments"), type_="foreignkey")
        batch.drop_column("adjustment_id")
    with op.batch_alter_table("carbon_credit_blocks") as batch:
        batch.drop_column("cancelled_at")
        batch.drop_column("cancellation_reason")
    with op.batch_alter_table("carbon_issuances") as batch:
        batch.drop_column("risk_rating")
        batch.drop_column("buffer_quantity")
    with op.batch_alter_table("carbon_monitoring_reports") as batch:
        batch.drop_column("verification_findings")
        batch.drop_column("verification_opinion")
    with op.batch_alter_table("carbon_projects") as batch:
        batch.drop_column("area_crs")
        batch.drop_column("parcels")
        batch.drop_column("risk_rating")
    op.drop_table("carbon_assessment_runs")
    op.drop_table("carbon_adjustments")
