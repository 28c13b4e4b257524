"""core.storage: one interface over the local disk and S3-compatible object storage (moto's server mode as
the S3 stand-in); keys are generated, malformed keys never reach the filesystem; the sweep removes only old
orphans; a city map photo uploaded through the API lands in S3 and reads back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from govgrid.citymap.models import Photo
from govgrid.citymap.services.photos import PHOTO_NAMESPACE
from govgrid.config import Settings, get_settings, set_settings
from govgrid.core import storage
from govgrid.core.errors import NotFoundError
from tests.live import free_port

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
API = "/api/v1/citymap"


@pytest.fixture()
def local(tmp_path: Path) -> storage.Storage:
    """A storage root in a fresh folder."""
    return storage.open_storage(str(tmp_path / "files"))


def test_put_get_exists_delete_on_local_disk(local: storage.Storage, tmp_path: Path) -> None:
    key = local.put("citymap-photos", PNG, content_type="image/png")
    assert storage.KEY_RE.match(key) and key.startswith("citymap-photos/")
    assert local.get(key) == PNG and local.exists(key)
    assert (tmp_path / "files" / key).read_bytes() == PNG  # a plain file under the root
    assert local.keys("citymap-photos") == [key]
    other = local.put("citymap-photos", b"second", content_type="image/png")
    assert other != key  # never reused, even for the same namespace in the same second
    local.delete(key)
    assert not local.exists(key)
    with pytest.raises(NotFoundError):
        local.get(key)
    local.delete(key)  # deleting twice is harmless
    assert not list((tmp_path / "files").rglob("*.part-*"))  # no partial write left behind


@pytest.mark.parametrize("key", [
    "../../etc/passwd",
    "/etc/passwd",
    "citymap-photos/../../secret",
    "citymap-photos/20261203/101500-" + "g" * 32,
    "citymap-photos/20261203/101500-" + "a" * 32 + "/../x",
    "",
])
def test_keys_that_did_not_come_from_put_are_refused(
    local: storage.Storage, tmp_path: Path, key: str
) -> None:
    (tmp_path / "secret").write_bytes(b"outside")
    with pytest.raises(NotFoundError):
        local.get(key)
    with pytest.raises(NotFoundError):
        local.delete(key)
    assert not local.exists(key)
    assert (tmp_path / "secret").exists()


@pytest.mark.parametrize("namespace", ["", "../x", "A", "a/b", "x" * 41])
def test_namespaces_are_code_chosen_names(local: storage.Storage, namespace: str) -> None:
    with pytest.raises(ValueError):
        local.put(namespace, b"x", content_type="image/png")


def test_unknown_scheme_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="unsupported scheme"):
        storage.open_storage("ftp://example.cn/files")


def test_default_folder_sits_beside_the_sqlite_database() -> None:
    settings = Settings(database_url="sqlite:////srv/govgrid/govgrid.db", demo_mode=True)
    assert storage.default_url(settings) == "/srv/govgrid/files"
    assert storage.default_url(settings.model_copy(update={"storage_url": "s3://b/p"})) == "s3://b/p"


@pytest.fixture()
def use_storage(tmp_path: Path, database_url: str) -> Iterator[None]:  # settings are configured with it
    """Route core.storage to a fresh local folder for one test."""
    before = get_settings()
    set_settings(before.model_copy(update={"storage_url": str(tmp_path / "store")}))
    yield
    set_settings(before)


def test_sweep_removes_old_orphans_only(db, use_storage) -> None:
    store = storage.get_storage()
    kept = store.put("test-sweep", b"row holds me", content_type="text/plain")
    orphan_young = store.put("test-sweep", b"a transaction may still commit", content_type="text/plain")
    later = datetime.now(UTC) + timedelta(hours=2)
    sources = {"test-sweep": lambda _s: {kept}}
    report = storage.sweep(db, dry_run=True, sources=sources)
    assert report.removed == [] and report.kept_young == 1  # within the grace period: left alone
    report = storage.sweep(db, now=later, dry_run=True, sources=sources)
    assert report.removed == [orphan_young] and store.exists(orphan_young)  # a dry run removes nothing
    report = storage.sweep(db, now=later, sources=sources)
    assert report.removed == [orphan_young]
    assert store.exists(kept) and not store.exists(orphan_young)


def test_a_failed_transaction_leaves_an_orphan_never_a_row_without_its_object(db, use_storage) -> None:
    from govgrid.citymap.services import photos
    from govgrid.core.audit.service import SystemActor

    nested = db.begin_nested()
    photo = photos.save_photo(db, actor=SystemActor("tests"), content_type="image/png", data=PNG)
    key = photo.storage_key
    assert storage.exists(key)  # the object is written before the row
    nested.rollback()
    assert db.scalar(select(Photo.id).where(Photo.storage_key == key)) is None
    report = storage.sweep(db, now=datetime.now(UTC) + timedelta(hours=2))
    assert key in report.removed and not storage.exists(key)


# --- S3 through moto's server mode ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on a free loopback port with one bucket, govgrid-test."""
    import boto3
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="test", aws_secret_access_key="test",
                 region_name="us-east-1").create_bucket(Bucket="govgrid-test")
    yield endpoint
    server.stop()


@pytest.fixture()
def use_s3(s3_endpoint: str, database_url: str) -> Iterator[str]:  # settings are configured with it
    """core.storage on s3://govgrid-test/<fresh prefix> for one test."""
    import uuid

    before = get_settings()
    prefix = uuid.uuid4().hex[:8]
    set_settings(before.model_copy(update={
        "storage_url": f"s3://govgrid-test/{prefix}", "storage_s3_endpoint_url": s3_endpoint,
        "storage_s3_key_id": "test", "storage_s3_secret": SecretStr("test"), "storage_s3_region": "us-east-1",
    }))
    yield prefix
    set_settings(before)


def _s3_objects(endpoint: str, prefix: str) -> dict[str, bytes]:
    import boto3

    s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="test", aws_secret_access_key="test",
                      region_name="us-east-1")
    listed = s3.list_objects_v2(Bucket="govgrid-test", Prefix=prefix + "/").get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket="govgrid-test", Key=o["Key"])["Body"].read() for o in listed}


def test_put_get_exists_delete_on_s3(use_s3: str, s3_endpoint: str) -> None:
    key = storage.put("citymap-photos", PNG, content_type="image/png")
    assert storage.get(key) == PNG and storage.exists(key)
    assert _s3_objects(s3_endpoint, use_s3) == {f"{use_s3}/{key}": PNG}
    assert storage.get_storage().keys("citymap-photos") == [key]
    storage.delete(key)
    assert not storage.exists(key) and _s3_objects(s3_endpoint, use_s3) == {}
    with pytest.raises(NotFoundError):
        storage.get(key)
    with pytest.raises(NotFoundError):
        storage.get("../" + key)


def test_a_city_map_photo_uploaded_through_the_api_lands_in_s3_and_reads_back(
    client, login, use_s3: str, s3_endpoint: str, db
) -> None:
    r = client.post(f"{API}/photos/upload", files={"file": ("a.png", PNG, "image/png")},
                    headers=login("pd_dispatcher"))
    assert r.status_code == 201, r.text
    photo = db.get(Photo, r.json()["photo_id"])
    assert photo is not None and photo.storage_key.startswith(PHOTO_NAMESPACE + "/")
    assert _s3_objects(s3_endpoint, use_s3) == {f"{use_s3}/{photo.storage_key}": PNG}
    r = client.get(f"{API}/photos/{photo.id}", headers=login("pd_dispatcher"))
    assert r.status_code == 200 and r.content == PNG and r.headers["content-type"] == "image/png"
    # another county's dispatcher, and nobody at all, get nothing
    assert client.get(f"{API}/photos/{photo.id}", headers=login("nh_dispatcher")).status_code == 404
    assert client.get(f"{API}/photos/{photo.id}").status_code == 401
    # a refused upload writes nothing to the bucket
    r = client.post(f"{API}/photos/upload", files={"file": ("a.gif", b"GIF89a", "image/gif")},
                    headers=login("pd_dispatcher"))
    assert r.status_code == 422 and len(_s3_objects(s3_endpoint, use_s3)) == 1


def test_storage_sweep_command_removes_old_orphans(database_url: str, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from govgrid.cli import app as cli_app

    before = get_settings()
    set_settings(before.model_copy(update={"storage_url": str(tmp_path / "store")}))
    try:
        store = storage.get_storage()
        old = storage.new_key(PHOTO_NAMESPACE, now=datetime.now(UTC) - timedelta(days=2))
        store.fs.pipe_file(f"{store.root}/{old}", PNG)  # an orphan two days old (no row holds its key)
        young = store.put(PHOTO_NAMESPACE, PNG, content_type="image/png")
        result = CliRunner().invoke(cli_app, ["storage", "sweep", "--dry-run"])
        assert result.exit_code == 0, result.output
        assert f"would remove {old}" in result.output and store.exists(old)
        result = CliRunner().invoke(cli_app, ["storage", "sweep"])
        assert result.exit_code == 0 and f"removed {old}" in result.output
        assert not store.exists(old) and store.exists(young)  # the young one may still get its row
    finally:
        set_settings(before)


def test_a_changed_object_is_refused_not_served(use_storage) -> None:
    import hashlib

    from govgrid.core.errors import UnavailableError

    key = storage.put("test-verify", b"as attached", content_type="text/plain")
    digest = hashlib.sha256(b"as attached").hexdigest()
    assert storage.get_verified(key, size=11, sha256=digest) == b"as attached"
    # the same key holding other bytes of the same length, as a tampered object store would
    (Path(get_settings().storage_url) / key).write_bytes(b"as altered!")
    with pytest.raises(UnavailableError):
        storage.get_verified(key, size=11, sha256=digest)
