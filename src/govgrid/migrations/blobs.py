"""Migration steps that move a table's file bytes into `core.storage` (the row keeps the key) and back.

Used by the modules' "files in storage" migrations (city-map photos, carbon report files, service materials):
the upgrade adds `storage_key`, writes each row's bytes to the storage one row at a time (files of megabytes),
indexes the key as unique and drops the bytes column; the downgrade copies the bytes back and drops the key
(the objects stay in the storage: `govgrid storage sweep` removes them). No table is rebuilt (native
ADD/DROP COLUMN, SQLite >= 3.35); the key column stays nullable, as the models declare it."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

KEY = "storage_key"


def _table(name: str, blob: str, media_type: str) -> sa.TableClause:
    return sa.table(
        name,
        sa.column("id", sa.Integer),
        sa.column(media_type, sa.String),
        sa.column(blob, sa.LargeBinary),
        sa.column(KEY, sa.String),
    )


def to_storage(table: str, *, blob: str, media_type: str, namespace: str) -> None:
    """Move every row's `blob` bytes into the storage under `namespace`; drop the column."""
    from govgrid.core import storage

    t = _table(table, blob, media_type)
    op.add_column(table, sa.Column(KEY, sa.String(length=96), nullable=True))
    conn = op.get_bind()
    for row_id in list(conn.execute(sa.select(t.c.id).order_by(t.c.id)).scalars()):
        row = conn.execute(sa.select(t.c[media_type], t.c[blob]).where(t.c.id == row_id)).one()
        key = storage.put(namespace, bytes(row[1]), content_type=row[0])
        conn.execute(t.update().where(t.c.id == row_id).values({KEY: key}))
    op.create_index(f"uq_{table}_{KEY}", table, [KEY], unique=True)
    op.execute(f"ALTER TABLE {table} DROP COLUMN {blob}")


def from_storage(table: str, *, blob: str, media_type: str) -> None:
    """Copy every row's bytes back from the storage into a new `blob` column; drop the key."""
    from govgrid.core import storage

    t = _table(table, blob, media_type)
    op.add_column(table, sa.Column(blob, sa.LargeBinary(), nullable=True))
    conn = op.get_bind()
    for row_id, key in list(conn.execute(sa.select(t.c.id, t.c[KEY]).order_by(t.c.id))):
        conn.execute(t.update().where(t.c.id == row_id).values({blob: storage.get(key)}))
    if conn.dialect.name != "sqlite":
        op.alter_column(table, blob, existing_type=sa.LargeBinary(), nullable=False)
    op.drop_index(f"uq_{table}_{KEY}", table_name=table)
    op.execute(f"ALTER TABLE {table} DROP COLUMN {KEY}")
