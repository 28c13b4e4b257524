"""Application materials (申请材料) in core.storage: an upload lands in the storage folder (or an S3 bucket:
moto's server mode), the row keeps only the key, hash and size, the download gives the same bytes; a refused
application writes no object; a failed transaction leaves only an orphan the sweep removes; migration
services_0002 moves blobs out of the database and its downgrade puts them back."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import select

from govgrid.config import get_settings, set_settings
from govgrid.core import migrate, storage
from govgrid.core.db import make_engine, utcnow
from govgrid.services.models import Application, Material
from govgrid.services.services import materials
from tests.carbon import test_storage as carbon_storage
from tests.core import test_storage as core_storage
from tests.services.conftest import JPEG, PDF, apply

# fixtures shared with core's moto S3 server and the carbon storage tests' fresh database
s3_endpoint = core_storage.s3_endpoint
use_s3 = core_storage.use_s3
s3_objects = carbon_storage.s3_objects
fresh_url = carbon_storage.fresh_url
insert_row = carbon_storage.insert_row

A = "/api/v1/services/applications"


@pytest.fixture()
def local_store(tmp_path: Path) -> Iterator[Path]:
    """core.storage on a fresh local folder for one test (the default kind of storage)."""
    before = get_settings()
    set_settings(before.model_copy(update={"storage_url": str(tmp_path / "store")}))
    yield tmp_path / "store"
    set_settings(before)


def _material(db, number: str) -> Material:
    app_id = db.scalar(select(Application.id).where(Application.number == number))
    mat = db.scalar(select(Material).where(Material.application_id == app_id))
    assert mat is not None
    return mat


def test_a_material_upload_lands_in_the_storage_folder_and_reads_back(client, login, world, db, local_store):
    r = apply(client, login("sv_citizen"))
    assert r.status_code == 201, r.text
    number = r.json()["number"]
    mat = _material(db, number)
    # the row holds only the key, the hash and the size; the bytes are a plain file under the storage root
    assert "content" not in Material.__table__.c
    assert mat.storage_key.startswith(materials.MATERIAL_NAMESPACE + "/")
    assert mat.sha256 == hashlib.sha256(JPEG).hexdigest() and mat.size == len(JPEG)
    assert (local_store / mat.storage_key).read_bytes() == JPEG
    got = client.get(f"{A}/{number}/materials/{mat.id}", headers=login("sv_citizen"))
    assert got.status_code == 200 and got.content == JPEG
    assert got.headers["content-type"] == "image/jpeg"
    assert got.headers["content-disposition"].startswith("attachment")
    # the deciding department sees it too; another resident and nobody at all do not
    assert client.get(f"{A}/{number}/materials/{mat.id}", headers=login("sv_health")).content == JPEG
    other = client.get(f"{A}/{number}/materials/{mat.id}", headers=login("sv_other"))
    assert other.status_code == 404 and JPEG not in other.content
    assert client.get(f"{A}/{number}/materials/{mat.id}").status_code == 401


def test_a_refused_application_writes_nothing_to_storage(client, login, world, db, local_store):
    h = login("sv_citizen")
    before = db.scalar(select(sa.func.count()).select_from(Material))
    assert apply(client, h, files=[("child_photo", "photo.jpg", PDF)]).status_code == 422
    big = JPEG + b"\x00" * (5 * 1024 * 1024)
    assert apply(client, h, files=[("child_photo", "p.jpg", big)]).status_code == 413
    assert apply(client, {}).status_code == 401
    assert storage.get_storage().keys(materials.MATERIAL_NAMESPACE) == []
    assert db.scalar(select(sa.func.count()).select_from(Material)) == before


def test_a_failed_transaction_leaves_an_orphan_that_the_sweep_removes(client, login, world, db, local_store):
    number = apply(client, login("sv_citizen")).json()["number"]
    kept = _material(db, number)
    digest = hashlib.sha256(PDF).hexdigest()
    checked = materials.CheckedFile("child_photo", "p.pdf", "application/pdf", PDF, digest)
    nested = db.begin_nested()
    mat = materials.stored(checked, application_id=kept.application_id, uploaded_at=utcnow())
    db.add(mat)
    db.flush()
    key = mat.storage_key
    assert storage.exists(key)  # the object is written before the row
    nested.rollback()
    assert db.scalar(select(Material.id).where(Material.storage_key == key)) is None
    assert storage.sweep(db).removed == []  # young: its transaction might still be running
    report = storage.sweep(db, now=datetime.now(UTC) + timedelta(hours=2))
    assert key in report.removed and not storage.exists(key)
    assert storage.exists(kept.storage_key)  # a material a row holds is never swept


def test_a_tampered_object_is_refused_not_served(client, login, world, db, local_store):
    number = apply(client, login("sv_citizen")).json()["number"]
    mat = _material(db, number)
    (local_store / mat.storage_key).write_bytes(JPEG[:-2] + b"!!")
    r = client.get(f"{A}/{number}/materials/{mat.id}", headers=login("sv_citizen"))
    assert r.status_code == 503 and "校验" in r.json()["error"]["message"]


def test_a_material_upload_lands_in_s3_and_reads_back(client, login, world, db, use_s3, s3_endpoint):
    number = apply(client, login("sv_citizen")).json()["number"]
    mat = _material(db, number)
    assert s3_objects(s3_endpoint, use_s3) == {f"{use_s3}/{mat.storage_key}": JPEG}
    got = client.get(f"{A}/{number}/materials/{mat.id}", headers=login("sv_citizen"))
    assert got.status_code == 200 and got.content == JPEG


def test_migration_moves_materials_to_storage_and_downgrade_restores_them(fresh_url, local_store):
    migrate.upgrade(fresh_url, "services_0001")
    blobs = {"child_photo": JPEG, "birth_record": PDF + os.urandom(4096)}
    engine = make_engine(fresh_url)
    with engine.begin() as conn:
        made: dict[str, dict[str, Any]] = {}
        app = insert_row(conn, "services_applications", made, workflow_state="{}")
        for code, content in blobs.items():
            insert_row(conn, "services_materials", made, application_id=app["id"], code=code, content=content,
                       content_type="application/octet-stream", size=len(content),
                       sha256=hashlib.sha256(content).hexdigest())
    mats = sa.table("services_materials", sa.column("code"), sa.column("storage_key"), sa.column("content"))
    try:
        migrate.upgrade(fresh_url, "services_0002")
        assert "content" not in {c["name"] for c in sa.inspect(engine).get_columns("services_materials")}
        with engine.connect() as conn:
            keys = dict(conn.execute(sa.select(mats.c.code, mats.c.storage_key)).all())
        assert {c: storage.get(k) for c, k in keys.items()} == blobs
        assert all(k.startswith("services-materials/") for k in keys.values())
        # and back: the bytes return to the rows, the key column goes
        command.downgrade(migrate.alembic_config(fresh_url), "services_0001")
        assert "storage_key" not in {c["name"] for c in sa.inspect(engine).get_columns("services_materials")}
        with engine.connect() as conn:
            back = dict(conn.execute(sa.select(mats.c.code, mats.c.content)).all())
        assert {c: bytes(v) for c, v in back.items()} == blobs
    finally:
        engine.dispose()
