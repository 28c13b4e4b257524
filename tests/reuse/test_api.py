"""The reuse JSON API: every route refuses anonymous callers, another division's data stays out of reach,
bad input is a 4xx in the one error shape with nothing written, and the install flow over HTTP."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govgrid.core.audit.service import SystemActor
from govgrid.reuse import packfile
from govgrid.reuse.models import Case, Installation
from govgrid.reuse.services import cases, packs
from tests.reuse.conftest import MAPPING, NEIHUANG, PINGDING

API = "/api/v1/reuse"
ROUTES = [
    ("get", "/packs"), ("post", "/packs"), ("post", "/packs/export"), ("get", "/packs/1"),
    ("get", "/packs/1/file"), ("post", "/packs/1/preview"), ("post", "/packs/1/install"),
    ("get", "/installations"), ("post", "/installations/1/uninstall"), ("get", "/cases"), ("post", "/cases"),
    ("get", "/cases/1"), ("post", "/cases/1/review"), ("post", "/cases/1/decision"),
    ("post", "/cases/1/promote"), ("post", "/cases/1/resubmit"), ("post", "/cases/1/ratings"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_refuses_anonymous_callers(client, method, path):
    r = getattr(client, method)(API + path, **({"json": {}} if method == "post" and path != "/packs" else {}))
    assert r.status_code == 401, (path, r.status_code, r.text)
    assert r.json()["error"]["code"]


def test_install_over_http_shows_the_diff_first_then_applies_and_uninstalls(client, neihuang: Session, login):
    pd = login("pd_gov")
    pack = packs.export_pack(neihuang, actor=SystemActor("test"), division_code=NEIHUANG, module="appeals")
    listed = client.get(f"{API}/packs", headers=pd)
    assert listed.status_code == 200 and pack.pack_id in [p["pack_id"] for p in listed.json()]
    body = {"division_code": PINGDING, "mapping": MAPPING}
    diff = client.post(f"{API}/packs/{pack.id}/preview", json=body, headers=pd)
    assert diff.status_code == 200, diff.text
    assert diff.json()[0]["key"] == "appeals/categories" and diff.json()[0]["changes"]
    assert neihuang.scalar(select(func.count()).select_from(Installation)) == 0
    done = client.post(f"{API}/packs/{pack.id}/install", json=body, headers=pd)
    assert done.status_code == 201, done.text
    inst = done.json()["installation"]
    assert inst["state"] == "installed" and inst["division_code"] == PINGDING
    mine = client.get(f"{API}/installations", headers=pd).json()
    assert [i["id"] for i in mine] == [inst["id"]]
    # Neihuang's admin neither sees Pingding's installation nor may uninstall it
    nh = login("nh_gov")
    assert client.get(f"{API}/installations", headers=nh).json() == []
    assert client.post(f"{API}/installations/{inst['id']}/uninstall", headers=nh).status_code == 404
    gone = client.post(f"{API}/installations/{inst['id']}/uninstall", headers=pd)
    assert gone.status_code == 200 and gone.json()["state"] == "uninstalled"


def test_another_divisions_admin_may_not_preview_install_or_export_there(client, neihuang: Session, login):
    pack = packs.export_pack(neihuang, actor=SystemActor("test"), division_code=NEIHUANG, module="appeals")
    nh = login("nh_gov")
    body = {"division_code": PINGDING, "mapping": {}}
    assert client.post(f"{API}/packs/{pack.id}/preview", json=body, headers=nh).status_code == 403
    assert client.post(f"{API}/packs/{pack.id}/install", json=body, headers=nh).status_code == 403
    r = client.post(f"{API}/packs/export", json={"division_code": PINGDING, "module": "appeals"}, headers=nh)
    assert r.status_code == 403 and "admin" in r.json()["error"]["message"]
    assert neihuang.scalar(select(func.count()).select_from(Installation)) == 0


def test_upload_checks_the_file(client, neihuang: Session, login):
    pack = packs.export_pack(neihuang, actor=SystemActor("test"), division_code=NEIHUANG, module="appeals")
    raw = packfile.to_bytes(pack.document)
    pd = login("pd_gov")
    ok = client.post(f"{API}/packs", files={"file": ("p.json", raw, "application/json")}, headers=pd)
    assert ok.status_code == 201 and ok.json()["id"] == pack.id
    tampered = raw.replace(b'"resolve_days": 1', b'"resolve_days": 9', 1)
    bad = client.post(f"{API}/packs", files={"file": ("p.json", tampered, "application/json")}, headers=pd)
    assert bad.status_code == 422 and "签名" in bad.json()["error"]["message"]
    dl = client.get(f"{API}/packs/{pack.id}/file", headers=pd)
    assert dl.status_code == 200 and dl.content == raw


def test_bad_input_is_a_4xx_and_nothing_is_written(client, neihuang: Session, login):
    pd = login("pd_gov")
    pack = packs.export_pack(neihuang, actor=SystemActor("test"), division_code=NEIHUANG, module="appeals")
    r = client.post(f"{API}/packs/{pack.id}/install", json={"division_code": "x", "mapping": {}}, headers=pd)
    assert r.status_code == 422
    r = client.post(f"{API}/packs/{pack.id}/install",
                    json={"division_code": PINGDING, "mapping": {"lines": "all"}}, headers=pd)
    assert r.status_code == 422 and r.json()["error"]["details"]
    assert client.get(f"{API}/packs/999999", headers=pd).status_code == 404
    r = client.post(f"{API}/cases", json={"division_code": PINGDING, "title": "", "summary": "x"}, headers=pd)
    assert r.status_code == 422
    r = client.post(f"{API}/cases", json={"division_code": PINGDING, "title": "t", "summary": "s",
                                          "pack_id": "no-such-pack"}, headers=pd)
    assert r.status_code == 422 and r.json()["error"]["details"][0]["loc"] == ["pack_id"]
    assert neihuang.scalar(select(func.count()).select_from(Installation)) == 0
    assert neihuang.scalar(select(func.count()).select_from(Case)) == 0


def test_a_case_in_review_is_hidden_from_another_division(client, db: Session, login):
    case = cases.submit(db, actor=SystemActor("test"), division_code=PINGDING, title="平定县一张图",
                        summary="网格化管理")
    assert client.get(f"{API}/cases/{case.id}", headers=login("nh_gov")).status_code == 404
    assert case.id not in [c["id"] for c in client.get(f"{API}/cases", headers=login("nh_gov")).json()]
    assert client.get(f"{API}/cases/{case.id}", headers=login("pd_viewer")).status_code == 200
    # the county may not review its own case; nor may another county
    assert client.post(f"{API}/cases/{case.id}/review", headers=login("pd_gov")).status_code == 403
    assert client.post(f"{API}/cases/{case.id}/review", headers=login("nh_gov")).status_code == 404
    r = client.post(f"{API}/cases/{case.id}/review", headers=login("admin"))
    assert r.status_code == 200 and r.json()["state"] == "under_review"
    r = client.post(f"{API}/cases/{case.id}/decision", json={"accept": True}, headers=login("admin"))
    assert r.json()["state"] == "accepted"
    # in the library now: Neihuang reads and rates it; Pingding may not rate its own case
    assert client.get(f"{API}/cases/{case.id}", headers=login("nh_gov")).status_code == 200
    rated = client.post(f"{API}/cases/{case.id}/ratings", json={"score": 4}, headers=login("nh_gov"))
    assert rated.status_code == 200 and rated.json()["rating"] == 4.0
    own = client.post(f"{API}/cases/{case.id}/ratings", json={"score": 5}, headers=login("pd_gov"))
    assert own.status_code == 403
    assert client.post(f"{API}/cases/{case.id}/ratings", json={"score": 6},
                       headers=login("nh_gov")).status_code == 422
