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

import sqlalchemy as sa
from alembic import op

revision = "carbon_0005"
down_revision = "carbon_0004"
branch_labels = None
depends_on = None

NAMESPACE = "carbon-files"
files = sa.table(
    "carbon_report_files",
    sa.column("id", sa.Integer),
    sa.column("media_type", sa.String),
    sa.column("content", sa.LargeBinary),
    sa.column("storage_key", sa.String),
)


def upgrade() -> None:
    from govgrid.core import storage

    op.add_column("carbon_report_files", sa.Column("storage_key", sa.String(length=96), nullable=True))
    conn = op.get_bind()
    ids = list(conn.execute(sa.select(files.c.id).order_by(files.c.id)).scalars())
    for file_id in ids:  # one at a time: rasters are up to 20 MB each
        row = conn.execute(sa.select(files.c.media_type, files.c.content).where(files.c.id == file_id)).one()
        key = storage.put(NAMESPACE, bytes(row.content), content_type=row.media_type)
        conn.execute(files.update().where(files.c.id == file_id).values(storage_key=key))
    # unique; left nullable (as the model declares it) so that no dialect needs a table rebuild
    op.create_index("uq_carbon_report_files_storage_key", "carbon_report_files", ["storage_key"], unique=True)
    op.execute("ALTER TABLE carbon_report_files DROP COLUMN content")


def downgrade() -> None:
    from govgrid.core import storage

    op.add_column("carbon_report_files", sa.Column("content", sa.LargeBinary(), nullable=True))
    conn = op.get_bind()
    rows = list(conn.execute(sa.select(files.c.id, files.c.storage_key).order_by(files.c.id)))
    for file_id, key in rows:
        conn.execute(files.update().where(files.c.id == file_id).values(content=storage.get(key)))
    if conn.dialect.name != "sqlite":
        op.alter_column("carbon_report_files", "content", existing_type=sa.LargeBinary(), nullable=False)
    op.drop_index("uq_carbon_report_files_storage_key", table_name="carbon_report_files")
    op.execute("ALTER TABLE carbon_report_files DROP COLUMN storage_key")
