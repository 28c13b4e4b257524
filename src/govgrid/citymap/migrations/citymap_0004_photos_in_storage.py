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

import sqlalchemy as sa
from alembic import op

revision = "citymap_0004"
down_revision = "citymap_0003"
branch_labels = None
depends_on = None

NAMESPACE = "citymap-photos"
photos = sa.table(
    "citymap_photos",
    sa.column("id", sa.Integer),
    sa.column("content_type", sa.String),
    sa.column("data", sa.LargeBinary),
    sa.column("storage_key", sa.String),
)


def upgrade() -> None:
    from govgrid.core import storage

    op.add_column("citymap_photos", sa.Column("storage_key", sa.String(length=96), nullable=True))
    conn = op.get_bind()
    ids = list(conn.execute(sa.select(photos.c.id).order_by(photos.c.id)).scalars())
    for photo_id in ids:  # one at a time: photos are up to 8 MB each
        row = conn.execute(
            sa.select(photos.c.content_type, photos.c.data).where(photos.c.id == photo_id)
        ).one()
        key = storage.put(NAMESPACE, bytes(row.data), content_type=row.content_type)
        conn.execute(photos.update().where(photos.c.id == photo_id).values(storage_key=key))
    # unique; left nullable (as the model declares it) so that no dialect needs a table rebuild
    op.create_index("uq_citymap_photos_storage_key", "citymap_photos", ["storage_key"], unique=True)
    op.execute("ALTER TABLE citymap_photos DROP COLUMN data")


def downgrade() -> None:
    from govgrid.core import storage

    op.add_column("citymap_photos", sa.Column("data", sa.LargeBinary(), nullable=True))
    conn = op.get_bind()
    rows = list(conn.execute(sa.select(photos.c.id, photos.c.storage_key).order_by(photos.c.id)))
    for photo_id, key in rows:
        conn.execute(photos.update().where(photos.c.id == photo_id).values(data=storage.get(key)))
    if conn.dialect.name != "sqlite":
        op.alter_column("citymap_photos", "data", existing_type=sa.LargeBinary(), nullable=False)
    op.drop_index("uq_citymap_photos_storage_key", table_name="citymap_photos")
    op.execute("ALTER TABLE citymap_photos DROP COLUMN storage_key")
