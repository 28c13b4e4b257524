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

import sqlalchemy as sa
from alembic import op

revision = "services_0002"
down_revision = "services_0001"
branch_labels = None
depends_on = None

NAMESPACE = "services-materials"
materials = sa.table(
    "services_materials",
    sa.column("id", sa.Integer),
    sa.column("content_type", sa.String),
    sa.column("content", sa.LargeBinary),
    sa.column("storage_key", sa.String),
)


def upgrade() -> None:
    from govgrid.core import storage

    op.add_column("services_materials", sa.Column("storage_key", sa.String(length=96), nullable=True))
    conn = op.get_bind()
    ids = list(conn.execute(sa.select(materials.c.id).order_by(materials.c.id)).scalars())
    for material_id in ids:  # one at a time: materials are up to 5 MB each
        row = conn.execute(
            sa.select(materials.c.content_type, materials.c.content).where(materials.c.id == material_id)
        ).one()
        key = storage.put(NAMESPACE, bytes(row.content), content_type=row.content_type)
        conn.execute(materials.update().where(materials.c.id == material_id).values(storage_key=key))
    # unique; left nullable (as the model declares it) so that no dialect needs a table rebuild
    op.create_index("uq_services_materials_storage_key", "services_materials", ["storage_key"], unique=True)
    op.execute("ALTER TABLE services_materials DROP COLUMN content")


def downgrade() -> None:
    from govgrid.core import storage

    op.add_column("services_materials", sa.Column("content", sa.LargeBinary(), nullable=True))
    conn = op.get_bind()
    rows = list(conn.execute(sa.select(materials.c.id, materials.c.storage_key).order_by(materials.c.id)))
    for material_id, key in rows:
        conn.execute(materials.update().where(materials.c.id == material_id).values(content=storage.get(key)))
    if conn.dialect.name != "sqlite":
        op.alter_column("services_materials", "content", existing_type=sa.LargeBinary(), nullable=False)
    op.drop_index("uq_services_materials_storage_key", table_name="services_materials")
    op.execute("ALTER TABLE services_materials DROP COLUMN storage_key")
