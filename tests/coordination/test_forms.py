"""The hardware and compute-pool forms without a browser: registered and changed by an admin, bad input shown
beside the field with nothing written, CSRF and login required, another county's hardware out of reach."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govgrid.coordination.models import Asset, ComputePool
from govgrid.coordination.services import assets
from govgrid.core.audit.models import AuditRecord
from govgrid.core.audit.service import SystemActor
from tests.conftest import cookie_login, csrf_token

ROOM = {
    "department_code": "410527-government", "kind": "machine_room", "name": "内黄县政务云机房",
    "location": "内黄县行政中心 B1", "lon": "114.90", "lat": "35.95", "capacity": "40",
    "capacity_unit": "机柜", "utilisation": "62.5",
}
POOL = {
    "department_code": "410527-government", "code": "NH-T1", "name": "内黄测试算力池", "region": "河南·安阳",
    "capacity_units": "64", "cost_per_unit": "0.8", "residency": "410527 410500", "scheduler_address": "",
}


def _post(client, path: str, data: dict[str, str], page: str):
    token = csrf_token(client, page)
    return client.post(
        path, headers={"X-CSRF-Token": token, "Accept": "text/html"}, data={**data, "csrf_token": token},
        follow_redirects=False,
    )


def test_anonymous_and_tokenless_posts_write_nothing(client, db: Session, users):
    for path, data in (("/coordination/assets", ROOM), ("/coordination/pools", POOL)):
        r = client.post(path, data=data, headers={"Accept": "text/html"}, follow_redirects=False)
        assert r.status_code in (302, 303, 401, 403), path
    cookie_login(client, db, "nh_gov")
    assert client.post("/coordination/assets", data=ROOM, follow_redirects=False).status_code == 403
    assert client.post("/coordination/pools", data=POOL, follow_redirects=False).status_code == 403
    assert db.scalar(select(func.count(Asset.id)).where(Asset.name == ROOM["name"])) == 0
    assert db.scalar(select(func.count(ComputePool.id)).where(ComputePool.code == "NH-T1")) == 0


def test_an_admin_registers_and_changes_a_machine_room(client, db: Session, users):
    cookie_login(client, db, "nh_gov")
    page = client.get("/coordination/assets", headers={"Accept": "text/html"}).text
    assert 'id="asset-form"' in page and "登记硬件" in page and "利用率（%）" in page
    r = _post(client, "/coordination/assets", ROOM, "/coordination/assets")
    assert r.status_code == 303, r.text[:800]
    room = db.scalar(select(Asset).where(Asset.name == ROOM["name"]))
    assert room is not None and room.utilisation == 0.625 and room.capacity_unit == "机柜"
    assert "已保存硬件设施" in client.get(r.headers["location"], headers={"Accept": "text/html"}).text

    edit = client.get(f"/coordination/assets?edit={room.id}", headers={"Accept": "text/html"}).text
    assert "修改硬件设施" in edit and 'value="62.5"' in edit
    r = _post(client, "/coordination/assets", {**ROOM, "asset_id": str(room.id), "utilisation": "20",
                                              "capacity": "48"}, f"/coordination/assets?edit={room.id}")
    assert r.status_code == 303
    db.refresh(room)
    assert (room.utilisation, room.capacity) == (0.2, 48)

    # a precise position and a large capacity come back whole in the edit form: saving it moves nothing
    room.lon, room.lat, room.capacity = 114.9012345, 35.9512345, 1234567.0
    db.flush()
    edit = client.get(f"/coordination/assets?edit={room.id}", headers={"Accept": "text/html"}).text
    assert 'value="114.9012345"' in edit and 'value="35.9512345"' in edit and 'value="1234567"' in edit
    actions = db.scalars(select(AuditRecord.action).where(
        AuditRecord.entity_type == "asset", AuditRecord.entity_id == str(room.id))).all()
    assert "coordination.asset_add" in actions and "coordination.asset_update" in actions


def test_bad_hardware_input_is_shown_beside_the_field_and_nothing_is_written(client, db: Session, users):
    cookie_login(client, db, "nh_gov")
    r = _post(client, "/coordination/assets", {**ROOM, "lon": "200", "utilisation": "很高", "name": ""},
              "/coordination/assets")
    assert r.status_code == 422
    assert 'id="error-lon"' in r.text and "经度应为 73-136" in r.text
    assert 'id="error-utilisation"' in r.text and 'id="error-name"' in r.text
    assert 'id="error-capacity"' not in r.text
    assert 'value="内黄县行政中心 B1"' in r.text  # what the user typed is kept
    assert db.scalar(select(func.count(Asset.id)).where(Asset.location == ROOM["location"])) == 0
    # a department outside the caller's scope: refused with the reason, in the form
    r = _post(client, "/coordination/assets", {**ROOM, "department_code": "140321-government"},
              "/coordination/assets")
    assert r.status_code == 403 and 'id="asset-form-error"' in r.text and "无权" in r.text
    assert db.scalar(select(func.count(Asset.id)).where(Asset.location == ROOM["location"])) == 0


def test_another_countys_hardware_cannot_be_opened_or_changed(client, db: Session, users):
    theirs = assets.add_asset(
        db, actor=SystemActor("test"), department_code="140321-government",
        data=assets.AssetData(kind="server", name="平定县服务器", capacity=10, utilisation=0.5),
    )
    cookie_login(client, db, "nh_gov")
    assert "平定县服务器" not in client.get("/coordination/assets", headers={"Accept": "text/html"}).text
    opened = client.get(f"/coordination/assets?edit={theirs.id}", headers={"Accept": "text/html"})
    assert opened.status_code == 404
    r = _post(client, "/coordination/assets", {**ROOM, "asset_id": str(theirs.id), "name": "改名"},
              "/coordination/assets")
    assert r.status_code == 404
    db.refresh(theirs)
    assert theirs.name == "平定县服务器"


def test_an_admin_registers_a_compute_pool_and_bad_input_is_shown(client, db: Session, users):
    cookie_login(client, db, "nh_gov")
    assert 'id="pool-form"' in client.get("/coordination/pools", headers={"Accept": "text/html"}).text
    bad = {**POOL, "residency": "410527 999999", "capacity_units": "0", "scheduler_address": "http://x"}
    r = _post(client, "/coordination/pools", bad, "/coordination/pools")
    assert r.status_code == 422
    assert 'id="error-capacity_units"' in r.text and 'id="error-scheduler_address"' in r.text
    assert db.scalar(select(func.count(ComputePool.id)).where(ComputePool.code == "NH-T1")) == 0
    r = _post(client, "/coordination/pools", {**POOL, "residency": "410527 999999"}, "/coordination/pools")
    assert r.status_code == 422 and 'id="error-residency"' in r.text  # unknown division, from the service
    r = _post(client, "/coordination/pools", {**POOL, "department_code": ""}, "/coordination/pools")
    assert r.status_code == 422 and 'id="error-department_code"' in r.text  # beside the field, not a 404
    r = _post(client, "/coordination/pools", POOL, "/coordination/pools")
    assert r.status_code == 303
    pool = db.scalar(select(ComputePool).where(ComputePool.code == "NH-T1"))
    assert pool is not None and pool.residency == ["410527", "410500"] and pool.capacity_units == 64
    page = client.get(r.headers["location"], headers={"Accept": "text/html"}).text
    assert "已登记算力池 NH-T1" in page and 'data-code="NH-T1"' in page
    r = _post(client, "/coordination/pools", POOL, "/coordination/pools")
    assert r.status_code == 422 and 'id="error-code"' in r.text  # the code is taken
    assert db.scalar(select(func.count(ComputePool.id)).where(ComputePool.code == "NH-T1")) == 1


def test_the_forms_speak_english_when_asked(client, db: Session, users):
    cookie_login(client, db, "nh_gov")
    text = client.get("/coordination/pools?lang=en", headers={"Accept": "text/html"}).text
    assert "Register a compute pool" in text and "登记算力池" not in text
