"""carbon: report files (uploads, engine outputs, land-cover rasters) move into core.storage; rows keep the key

Upgrade writes each file's bytes to the storage (namespace ``carbon-files``) and records its key, then drops
the bytes column; the sha256 and size already on the row stay as they are. Downgrade copies the bytes back
into the rows and drops the key; the objects stay in the storage (run `govgrid storage sweep` after
upgrading again, or remove the carbon-files folder by hand).

No table is rebuilt (native ADD/DROP COLUMN, SQLite >= 3.35).

Revision ID: carbon_0005
Revises: carbon_0004
Create Date: 2026-12-03 14:20:00
"""

from __future__ import annotations

from govgrid.migrations import blobs

revision = "carbon_0005"
down_revision = "carbon_0004"
branch_labels = None
depends_on = None

NAMESPACE = "carbon-files"


def upgrade() -> None:
    blobs.to_storage("carbon_report_files", blob="content", media_type="media_type", namespace=NAMESPACE)


def downgrade() -> None:
    blobs.from_storage("carbon_report_files", blob="content", media_type="media_type")
