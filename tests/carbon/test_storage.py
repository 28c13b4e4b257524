"""Carbon report files (uploads, engine outputs, land-cover rasters) in core.storage: an upload lands in the
storage folder (or an S3 bucket: moto's server mode), the row keeps only the key, hash and size, the bytes
read back the same; a failed transaction leaves only an orphan the sweep removes; migration carbon_0005
moves blobs out of the database and its downgrade puts them back."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import select
from sqlalchemy.engine import make_url

from govgrid.carbon.models import ReportFile
from govgrid.carbon.services import reports
from govgrid.config import get_settings, set_settings
from govgrid.core import migrate, storage
from govgrid.core.audit.service import SystemActor
from govgrid.core.db import make_engine
from govgrid.core.errors import UnavailableError
from tests.carbon.registry import conftest as registry
from tests.carbon.registry.conftest import landcover_tif
from tests.core import test_storage as core_storage

# fixtures shared with the registry tests and core's moto S3 server
carbon_users = registry.carbon_users
flow = registry.flow
s3_endpoint = core_storage.s3_endpoint
use_s3 = core_storage.use_s3

P = "/api/v1/carbon"
RASTER = landcover_tif(np.arange(400, dtype=np.uint8).reshape(20, 20) % 7)


def s3_objects(endpoint: str, prefix: str) -> dict[str, bytes]:
    """Every object under `prefix` in the govgrid-test bucket, read with boto3 (not through core.storage)."""
    import boto3

    s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="test", aws_secret_access_key="test",
                      region_name="us-east-1")
    listed = s3.list_objects_v2(Bucket="govgrid-test", Prefix=prefix + "/").get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket="govgrid-test", Key=o["Key"])["Body"].read() for o in listed}


@pytest.fixture()
def local_store(tmp_path: Path) -> Iterator[Path]:
    """core.storage on a fresh local folder for one test (the default kind of storage)."""
    before = get_settings()
    set_settings(before.model_copy(update={"storage_url": str(tmp_path / "store")}))
    yield tmp_path / "store"
    set_settings(before)


def _upload(client, login, report_id: int, name: str, content: bytes, user: str = "jsh_forestry"):
    return client.post(
        f"{P}/reports/{report_id}/uploads",
        files=[("files", (name, content, "image/tiff"))],
        headers=login(user),
    )


def _row(db, report_id: int, name: str) -> ReportFile:
    f = db.scalar(select(ReportFile).where(ReportFile.report_id == report_id, ReportFile.name == name))
    assert f is not None
    return f


def test_a_raster_upload_lands_in_the_storage_folder_and_reads_back(client, login, flow, db, local_store):
    p = flow.project()
    rep = flow.report(p["id"])
    r = _upload(client, login, rep["id"], "landcover_2018.tif", RASTER)
    assert r.status_code == 201, r.text
    f = _row(db, rep["id"], "landcover_2018.tif")
    # the row holds only the key, the hash and the size; the bytes are a plain file under the storage root
    assert "content" not in ReportFile.__table__.c
    assert f.storage_key.startswith(reports.FILE_NAMESPACE + "/")
    assert f.sha256 == hashlib.sha256(RASTER).hexdigest() and f.size == len(RASTER)
    assert (local_store / f.storage_key).read_bytes() == RASTER
    got = client.get(f"{P}/reports/{rep['id']}/files/landcover_2018.tif", headers=login("yy_verifier"))
    assert got.status_code == 200 and got.content == RASTER
    assert got.headers["x-content-sha256"] == f.sha256
    # the raster is read back from storage for the land-cover check (in memory, never a user path)
    assert reports.report_files(db, report_id=rep["id"], names=["landcover_2018.tif"]) == {
        "landcover_2018.tif": RASTER
    }
    # nobody, and another county's forestry bureau, get nothing
    assert client.get(f"{P}/reports/{rep['id']}/files/landcover_2018.tif").status_code == 401
    other = client.get(f"{P}/reports/{rep['id']}/files/landcover_2018.tif", headers=login("nh_forestry"))
    assert other.status_code in (403, 404) and RASTER not in other.content


def test_a_refused_upload_writes_nothing_to_storage(client, login, flow, db, local_store):
    rep = flow.report(flow.project()["id"])
    bad = _upload(client, login, rep["id"], "landcover_2018.tif", b"<VRTDataset></VRTDataset>")
    assert bad.status_code == 422 and bad.json()["error"]["message"]
    foreign = _upload(client, login, rep["id"], "landcover_2018.tif", RASTER, user="nh_forestry")
    assert foreign.status_code in (403, 404)
    assert storage.get_storage().keys(reports.FILE_NAMESPACE) == []
    assert db.scalar(select(ReportFile.id).where(ReportFile.report_id == rep["id"])) is None


def test_a_replaced_file_reads_the_new_bytes_and_the_old_object_is_swept(
    client, login, flow, db, local_store
) -> None:
    rep = flow.report(flow.project()["id"])
    assert _upload(client, login, rep["id"], "result.json", b'{"a": 1}').status_code == 201
    old = _row(db, rep["id"], "result.json").storage_key
    assert _upload(client, login, rep["id"], "result.json", b'{"a": 2}').status_code == 201
    new = _row(db, rep["id"], "result.json")
    got = client.get(f"{P}/reports/{rep['id']}/files/result.json", headers=login("jsh_forestry"))
    assert got.content == b'{"a": 2}' and new.storage_key != old
    report = storage.sweep(db, now=datetime.now(UTC) + timedelta(hours=2))
    assert old in report.removed and storage.exists(new.storage_key)


def test_a_failed_transaction_leaves_an_orphan_that_the_sweep_removes(flow, db, local_store):
    rep = flow.report(flow.project()["id"])
    nested = db.begin_nested()
    f = reports.add_report_file(
        db, actor=SystemActor("tests"), report_id=rep["id"], name="landcover_2023.tif", content=RASTER
    )
    key = f.storage_key
    assert storage.exists(key)  # the object is written before the row
    nested.rollback()
    assert db.scalar(select(ReportFile.id).where(ReportFile.storage_key == key)) is None
    assert storage.sweep(db).removed == []  # young: its transaction might still be running
    report = storage.sweep(db, now=datetime.now(UTC) + timedelta(hours=2))
    assert key in report.removed and not storage.exists(key)


def test_a_tampered_object_is_refused_not_served(client, login, flow, db, local_store):
    rep = flow.report(flow.project()["id"])
    assert _upload(client, login, rep["id"], "result.json", b'{"a": 1}').status_code == 201
    f = _row(db, rep["id"], "result.json")
    (local_store / f.storage_key).write_bytes(b'{"a": 9}')
    r = client.get(f"{P}/reports/{rep['id']}/files/result.json", headers=login("jsh_forestry"))
    assert r.status_code == 503 and "校验" in r.json()["error"]["message"] and b'"a": 9' not in r.content
    with pytest.raises(UnavailableError):
        reports.file_bytes(f)


def test_a_raster_upload_lands_in_s3_and_reads_back(client, login, flow, db, use_s3, s3_endpoint):
    rep = flow.report(flow.project()["id"])
    assert _upload(client, login, rep["id"], "landcover_2018.tif", RASTER).status_code == 201
    f = _row(db, rep["id"], "landcover_2018.tif")
    assert s3_objects(s3_endpoint, use_s3) == {f"{use_s3}/{f.storage_key}": RASTER}
    got = client.get(f"{P}/reports/{rep['id']}/files/landcover_2018.tif", headers=login("yy_verifier"))
    assert got.status_code == 200 and got.content == RASTER


# --- migration carbon_0005 on a database that holds blobs ---------------------------------------------------


@pytest.fixture()
def fresh_url(tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file, or a new database on GOVGRID_TEST_DATABASE_URL's server."""
    base = os.environ.get("GOVGRID_TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path / 'migrate.db'}"
        return
    url, name = make_url(base), f"govgrid_mig_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _filler(column: sa.Column) -> Any:
    """A value any NOT NULL column of this type accepts."""
    kind = column.type
    for types, value in (
        ((sa.Boolean,), False),
        ((sa.Integer,), 1),
        ((sa.Float, sa.Numeric), 1.0),
        ((sa.DateTime,), datetime(2020, 1, 1, tzinfo=UTC)),
        ((sa.Date,), date(2020, 1, 1)),
        ((sa.JSON,), {}),
        ((sa.LargeBinary,), b""),
    ):
        if isinstance(kind, types):
            return value
    return "x"


def insert_row(
    conn: sa.Connection, table: str, made: dict[str, dict[str, Any]], **values: Any
) -> dict[str, Any]:
    """Insert a row into a reflected table, filling NOT NULL columns and creating the parent rows it needs."""
    meta = sa.MetaData()
    t = sa.Table(table, meta, autoload_with=conn)
    row = dict(values)
    for col in t.columns:
        if col.name in row or col.nullable or col.server_default is not None:
            continue
        if col.primary_key and isinstance(col.type, sa.Integer):
            continue
        fks = list(col.foreign_keys)
        if fks:
            parent = fks[0].column
            if parent.table.name not in made:
                made[parent.table.name] = insert_row(conn, parent.table.name, made)
            row[col.name] = made[parent.table.name][parent.name]
        else:
            row[col.name] = _filler(col)
    pk = conn.execute(t.insert().values(**row).returning(*t.primary_key.columns)).one()
    return {**row, **pk._mapping}


def test_migration_moves_report_files_to_storage_and_downgrade_restores_them(fresh_url, local_store):
    migrate.upgrade(fresh_url, "carbon_0004")
    blobs = {"landcover_2018.tif": RASTER, "report.pdf": b"%PDF-1.4 " + os.urandom(2048)}
    engine = make_engine(fresh_url)
    with engine.begin() as conn:
        made: dict[str, dict[str, Any]] = {}
        project = insert_row(conn, "carbon_projects", made, crediting_start=date(2018, 1, 1),
                             crediting_end=date(2037, 12, 31), boundary="{}")
        report = insert_row(conn, "carbon_monitoring_reports", made, project_id=project["id"],
                            vintage_start=2018, vintage_end=2023)
        for name, content in blobs.items():
            insert_row(conn, "carbon_report_files", made, report_id=report["id"], name=name, content=content,
                       media_type="application/octet-stream", size=len(content),
                       sha256=hashlib.sha256(content).hexdigest())
    files = sa.table("carbon_report_files", sa.column("name"), sa.column("storage_key"), sa.column("size"),
                     sa.column("content"))
    try:
        migrate.upgrade(fresh_url, "carbon_0005")
        assert "content" not in {c["name"] for c in sa.inspect(engine).get_columns("carbon_report_files")}
        with engine.connect() as conn:
            keys = dict(conn.execute(sa.select(files.c.name, files.c.storage_key)).all())
        assert {n: storage.get(k) for n, k in keys.items()} == blobs
        assert all(k.startswith("carbon-files/") for k in keys.values())
        # and back: the bytes return to the rows, the key column goes
        command.downgrade(migrate.alembic_config(fresh_url), "carbon_0004")
        assert "storage_key" not in {c["name"] for c in sa.inspect(engine).get_columns("carbon_report_files")}
        with engine.connect() as conn:
            back = dict(conn.execute(sa.select(files.c.name, files.c.content)).all())
        assert {n: bytes(c) for n, c in back.items()} == blobs
    finally:
        engine.dispose()
