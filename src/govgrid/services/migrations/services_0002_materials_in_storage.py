"""services: application materials (申请材料) move into core.storage; the row keeps the key, hash and size

Upgrade writes each material's bytes to the storage (namespace ``services-materials``) and records its key,
then drops the bytes column. Downgrade copies the bytes back into the rows and drops the key; the objects stay
in the storage (run `govgrid storage sweep` after upgrading again, or remove the services-materials folder by
hand). BPMN process definitions (services_processes.xml) stay in the database: see docs/deployment.md.

No table is rebuilt (native ADD/DROP COLUMN, SQLite >= 3.35).

Revision ID: services_0002
Revises: services_0001
Create Date: 2026-12-03 14:25:00
"""

from __future__ import annotations

from govgrid.migrations import blobs

revision = "services_0002"
down_revision = "services_0001"
branch_labels = None
depends_on = None

NAMESPACE = "services-materials"


def upgrade() -> None:
    blobs.to_storage("services_materials", blob="content", media_type="content_type", namespace=NAMESPACE)


def downgrade() -> None:
    blobs.from_storage("services_materials", blob="content", media_type="content_type")
