"""citymap: photos move out of the database into core.storage (local disk or S3); the row keeps the key

Upgrade writes each photo's bytes to the storage and records its key, then drops the bytes column. Downgrade
copies the bytes back into the rows and drops the key; the objects stay in the storage (run
`govgrid storage sweep` after upgrading again, or remove the citymap-photos folder by hand).

No table is rebuilt (native ADD/DROP COLUMN, SQLite >= 3.35): citymap_photos is referenced by cases and steps.

Revision ID: citymap_0004
Revises: citymap_0003
Create Date: 2026-12-03 11:00:00
"""

from __future__ import annotations

from govgrid.migrations import blobs

revision = "citymap_0004"
down_revision = "citymap_0003"
branch_labels = None
depends_on = None

NAMESPACE = "citymap-photos"


def upgrade() -> None:
    blobs.to_storage("citymap_photos", blob="data", media_type="content_type", namespace=NAMESPACE)


def downgrade() -> None:
    blobs.from_storage("citymap_photos", blob="data", media_type="content_type")
