"""The registry through its API: who may act, the verify -> issue -> transfer -> retire flow, refusals, bad
input."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from govgrid.carbon.models import CarbonProject, CreditBlock, Issuance
from govgrid.core.audit.models import AuditRecord

from .conftest import JUNSHAN_EAST, project_body, report_body

P = "/api/v1/carbon"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/projects"),
        ("post", "/projects"),
        ("get", "/projects/1"),
        ("get", "/projects/1/boundary"),
        ("get", "/projects/1/reports"),
        ("post", "/projects/1/reports"),
        ("get", "/projects/1/issuances"),
        ("get", "/reports/1"),
        ("post", "/reports/1/uploads"),
        ("get", "/reports/1/files/report.html"),
        ("post", "/reports/1/verify"),
        ("post", "/reports/1/landcover-check"),
        ("post", "/issuances"),
        ("get", "/accounts"),
        ("post", "/accounts"),
        ("get", "/accounts/1/blocks"),
        ("post", "/transfers"),
        ("post", "/retirements"),
        ("get", "/alerts"),
        ("patch", "/alerts/tasks/1"),
    ],
)
def test_anonymous_gets_401(client, method, path):
    r = getattr(client, method)(P + path, **({} if method == "get" else {"json": {}}))
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthorized"


def test_public_registry_is_open_without_login(client):
    r = client.get(P + "/public/registry")
    assert r.status_code == 200
    assert set(r.json()) == {
        "projects",
        "issuances",
        "retirements",
        "cancellations",
        "buffer_pools",
        "totals",
    }


def test_proponent_registers_a_project_inside_its_county(client, login, flow, db):
    p = flow.project()
    assert p["code"].startswith("P430611-") and p["division_code"] == "430611"
    assert 200 < p["area_ha"] < 260  # 0.015 deg x 0.015 deg at 29.5N is about 2.2 km2
    rec = db.scalar(
        select(AuditRecord).where(
            AuditRecord.action == "carbon.project_create", AuditRecord.entity_id == str(p["id"])
        )
    )
    assert rec is not None
    listed = client.get(P + "/projects", headers=login("jsh_forestry")).json()
    assert p["id"] in [x["id"] for x in listed["items"]]
    geo = client.get(f"{P}/projects/{p['id']}/boundary", headers=login("jsh_forestry")).json()
    assert geo["geometry"]["type"] == "Polygon"


def test_another_county_cannot_see_or_act_on_the_project(client, login, flow):
    p = flow.project()
    rep = flow.report(p["id"])
    other = login("nh_forestry")
    assert p["id"] not in [x["id"] for x in client.get(P + "/projects", headers=other).json()["items"]]
    assert client.get(f"{P}/projects/{p['id']}", headers=other).status_code == 403
    assert client.get(f"{P}/reports/{rep['id']}", headers=other).status_code == 403
    r = client.post(f"{P}/projects/{p['id']}/reports", json=report_body(), headers=other)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    r = client.post(P + "/projects", json=project_body(), headers=other)
    assert r.status_code == 403
    assert (
        client.post(f"{P}/reports/{rep['id']}/verify", json={"statement": "x"}, headers=other).status_code
        == 403
    )
    assert (
        client.post(P + "/issuances", json={"report_id": rep["id"]}, headers=login("nh_gov")).status_code
        == 403
    )


def test_full_flow_verify_issue_transfer_retire(client, login, flow, db):
    p = flow.project()
    rep = flow.report(p["id"])
    # not verified yet: no issuance
    r = flow.issue(rep["id"])
    assert r.status_code == 409
    flow.verify(rep["id"])
    # a county admin is not the registry administrator
    assert (
        client.post(P + "/issuances", json={"report_id": rep["id"]}, headers=login("jsh_gov")).status_code
        == 403
    )
    r = flow.issue(rep["id"])
    assert r.status_code == 201, r.text
    iss = r.json()
    assert iss["quantity"] == 1234  # whole tonnes of the verified 1234.7
    # medium risk: 15% of the range (its tail) is held back in the buffer pool
    assert iss["buffer_quantity"] == 185
    assert iss["serial_end"] - iss["serial_start"] + 1 == 1234
    assert iss["serial"] == f"CN-GG-{p['code']}-2018-2023-{iss['serial_start']:09d}-{iss['serial_end']:09d}"
    # the same report cannot be issued twice
    assert flow.issue(rep["id"]).status_code == 409

    registrar = login("hn_registry")
    ext = client.post(
        P + "/accounts",
        json={"holder_name": "岳阳某纸业有限公司", "division_code": "430600"},
        headers=registrar,
    )
    assert ext.status_code == 201, ext.text
    ext_id = ext.json()["id"]
    # an operator cannot open an external account
    assert (
        client.post(P + "/accounts", json={"holder_name": "x"}, headers=login("jsh_forestry")).status_code
        == 403
    )

    forestry = login("jsh_forestry")
    accounts = client.get(P + "/accounts", headers=forestry).json()
    mine = next(a for a in accounts if a["id"] == iss["account_id"])
    assert mine["balance"] == 1234 - 185 and mine["kind"] == "department"
    assert ext_id not in [a["id"] for a in accounts]  # external holders are not the county's business

    r = client.post(
        P + "/transfers",
        json={"from_account_id": mine["id"], "to_account_id": ext_id, "quantity": 500},
        headers=forestry,
    )
    assert r.status_code == 201, r.text
    moved = r.json()
    assert sum(b["quantity"] for b in moved) == 500 and moved[0]["serial_start"] == iss["serial_start"]
    # the external account is operated by the registry administrator, not by the county
    r = client.post(
        P + "/retirements",
        json={"account_id": ext_id, "quantity": 100, "beneficiary": "x", "reason": "y"},
        headers=forestry,
    )
    assert r.status_code == 403
    r = client.post(
        P + "/retirements",
        json={
            "account_id": ext_id,
            "quantity": 200,
            "beneficiary": "岳阳某纸业有限公司",
            "reason": "2024 年度碳中和",
        },
        headers=registrar,
    )
    assert r.status_code == 201, r.text
    retired = r.json()
    assert retired[0]["status"] == "retired" and retired[0]["beneficiary"] == "岳阳某纸业有限公司"

    balances = {a["id"]: a for a in client.get(P + "/accounts", headers=registrar).json()}
    assert balances[mine["id"]]["balance"] == 1234 - 185 - 500
    assert (balances[ext_id]["balance"], balances[ext_id]["retired"]) == (300, 200)
    blocks = client.get(f"{P}/accounts/{ext_id}/blocks", headers=registrar).json()
    ranges = sorted((b["serial_start"], b["serial_end"]) for b in blocks)
    assert ranges == [
        (iss["serial_start"], iss["serial_start"] + 199),
        (iss["serial_start"] + 200, iss["serial_start"] + 499),
    ]
    assert client.get(f"{P}/accounts/{ext_id}/blocks", headers=forestry).status_code == 403

    pub = client.get(P + "/public/registry").json()
    assert pub["totals"]["issued"] >= 1234
    ret = [x for x in pub["retirements"] if x["project_code"] == p["code"]]
    assert ret == [
        {
            "project_code": p["code"],
            "vintage": "2018-2023",
            "quantity": 200,
            "serial": (
                f"CN-GG-{p['code']}-2018-2023-{iss['serial_start']:09d}-{iss['serial_start'] + 199:09d}"
            ),
            "beneficiary": "岳阳某纸业有限公司",
            "reason": "2024 年度碳中和",
            "retired_at": ret[0]["retired_at"],
            "certificate": ret[0]["certificate"],
        }
    ]
    text = r.text + client.get(P + "/public/registry").text
    assert "jsh_forestry" not in text and "hn_registry" not in text and "CA-" not in text
    actions = set(db.scalars(select(AuditRecord.action).where(AuditRecord.action.like("carbon.%"))))
    assert {
        "carbon.report_verify",
        "carbon.issue",
        "carbon.transfer",
        "carbon.retire",
        "carbon.account_open",
    } <= actions

    page = client.get("/carbon/registry")
    assert page.status_code == 200 and "岳阳某纸业有限公司" in page.text and p["code"] in page.text


def test_double_issuance_over_the_same_area_and_vintage_is_refused(client, login, flow, db):
    flow.issued()
    # a second project over the same polygon, same vintage
    p2 = flow.project(name="重复申报")
    rep2 = flow.report(p2["id"])
    flow.verify(rep2["id"])
    before = db.scalar(select(func.count()).select_from(Issuance))
    r = flow.issue(rep2["id"])
    assert r.status_code == 409
    body = r.json()["error"]
    assert body["code"] == "double_issuance" and "重复签发" in body["message"]
    assert db.scalar(select(func.count()).select_from(Issuance)) == before
    # the next monitoring period over the same area is fine, and so is another area in the same period
    rep3 = flow.report(p2["id"], vintage_start=2023, vintage_end=2028)
    flow.verify(rep3["id"])
    assert flow.issue(rep3["id"]).status_code == 201
    _, _, iss4 = flow.issued(name="东侧项目", boundary=JUNSHAN_EAST)
    assert iss4["quantity"] == 1234


def test_partial_overlap_is_refused_and_a_touching_neighbour_is_not(flow):
    flow.issued()
    ring = [[112.73, 29.47], [112.745, 29.47], [112.745, 29.485], [112.73, 29.485], [112.73, 29.47]]
    p = flow.project(name="部分重叠", boundary={"type": "Polygon", "coordinates": [ring]})
    rep = flow.report(p["id"])
    flow.verify(rep["id"])
    assert flow.issue(rep["id"]).json()["error"]["code"] == "double_issuance"
    touching = [[112.735, 29.47], [112.74, 29.47], [112.74, 29.485], [112.735, 29.485], [112.735, 29.47]]
    _, _, iss = flow.issued(name="相邻", boundary={"type": "Polygon", "coordinates": [touching]})
    assert iss["quantity"] > 0


def test_vm0033_refuses_the_non_tidal_junshan_wetland(client, login, carbon_users):
    r = client.post(P + "/projects", json=project_body(methodology="vm0033"), headers=login("jsh_forestry"))
    assert r.status_code == 422
    msgs = [d["msg"] for d in r.json()["error"]["details"] if d["loc"] == ["methodology"]]
    assert msgs and "tidal" in " ".join(msgs)


def _count(db, model):
    return db.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize(
    ("over", "loc"),
    [
        (
            {
                "boundary": {
                    "type": "Polygon",
                    "coordinates": [
                        [
                            [112.72, 29.47],
                            [112.735, 29.485],
                            [112.735, 29.47],
                            [112.72, 29.485],
                            [112.72, 29.47],
                        ]
                    ],
                }
            },
            "boundary",
        ),
        (
            {
                "boundary": {
                    "type": "Polygon",
                    "coordinates": [
                        [[114.79, 35.88], [114.81, 35.88], [114.81, 35.9], [114.79, 35.9], [114.79, 35.88]]
                    ],
                }
            },
            "boundary",
        ),
        ({"boundary": {"type": "Point", "coordinates": [112.73, 29.48]}}, "boundary"),
        ({"boundary": {"type": "Polygon", "coordinates": "nope"}}, "boundary"),
        ({"crediting_end": "2017-01-01"}, "crediting_end"),
        ({"methodology": "no_such_method"}, "methodology"),
        ({"department_code": "430611-no_such_line"}, "department_code"),
    ],
)
def test_bad_project_input_is_422_and_writes_nothing(client, login, carbon_users, db, over, loc):
    before = _count(db, CarbonProject)
    r = client.post(P + "/projects", json=project_body(**over), headers=login("jsh_forestry"))
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "validation_error" and any(loc in d["loc"] for d in err["details"])
    assert _count(db, CarbonProject) == before


def test_malformed_json_and_wrong_types_are_422(client, login, carbon_users):
    h = {**login("jsh_forestry"), "content-type": "application/json"}
    r = client.post(P + "/projects", content=b"{not json", headers=h)
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
    r = client.post(P + "/projects", json=project_body(tidal="sometimes"), headers=login("jsh_forestry"))
    assert r.status_code == 422
    r = client.post(P + "/projects", json={**project_body(), "extra": 1}, headers=login("jsh_forestry"))
    assert r.status_code == 422


def test_bad_report_input(client, login, flow):
    p = flow.project()
    h = login("jsh_forestry")
    url = f"{P}/projects/{p['id']}/reports"
    assert client.post(url, json=report_body(net_creditable_tco2e=-5), headers=h).status_code == 422
    assert client.post(url, json=report_body(vintage_end=2010), headers=h).status_code == 422
    assert (
        client.post(url, json=report_body(vintage_start=2010, vintage_end=2015), headers=h).status_code == 422
    )
    assert client.post(url, json=report_body(methodology="vm0033"), headers=h).status_code == 422
    r = client.post(url, json=report_body(input_hashes={"image": "not-a-hash"}), headers=h)
    assert r.status_code == 422 and r.json()["error"]["details"][0]["loc"] == ["input_hashes", "image"]
    assert client.get(url, headers=h).json() == []


def test_transfer_and_retire_refusals_write_nothing(client, login, flow, db):
    _, _, iss = flow.issued()
    h = login("jsh_forestry")
    acc = iss["account_id"]
    ext = client.post(P + "/accounts", json={"holder_name": "某企业"}, headers=login("hn_registry")).json()[
        "id"
    ]
    blocks_before = _count(db, CreditBlock)
    cases = [
        (P + "/transfers", {"from_account_id": acc, "to_account_id": ext, "quantity": -3}, 422),
        (P + "/transfers", {"from_account_id": acc, "to_account_id": ext, "quantity": 0}, 422),
        (P + "/transfers", {"from_account_id": acc, "to_account_id": ext, "quantity": 99999}, 409),
        (P + "/transfers", {"from_account_id": acc, "to_account_id": acc, "quantity": 1}, 422),
        (P + "/transfers", {"from_account_id": acc, "to_account_id": 987654, "quantity": 1}, 422),
        (P + "/transfers", {"from_account_id": acc, "to_account_id": ext, "quantity": "many"}, 422),
        (P + "/retirements", {"account_id": acc, "quantity": 5000, "beneficiary": "b", "reason": "r"}, 409),
        (P + "/retirements", {"account_id": acc, "quantity": 5, "beneficiary": "", "reason": "r"}, 422),
    ]
    for url, body, status in cases:
        r = client.post(url, json=body, headers=h)
        assert r.status_code == status, (body, r.text)
        assert set(r.json()) == {"error"}
    assert _count(db, CreditBlock) == blocks_before
    bal = {a["id"]: a["balance"] for a in client.get(P + "/accounts", headers=login("hn_registry")).json()}
    assert bal[acc] == iss["quantity"] - iss["buffer_quantity"] and bal[ext] == 0
    # another county's operator cannot move the county's credits
    r = client.post(
        P + "/transfers",
        json={"from_account_id": acc, "to_account_id": ext, "quantity": 1},
        headers=login("nh_forestry"),
    )
    assert r.status_code == 403


def test_issue_more_than_verified_is_422(flow):
    p = flow.project()
    rep = flow.report(p["id"])
    flow.verify(rep["id"])
    r = flow.issue(rep["id"], quantity=1235)
    assert r.status_code == 422 and r.json()["error"]["details"][0]["loc"] == ["quantity"]
    r = flow.issue(rep["id"], quantity=1000)
    assert r.status_code == 201 and r.json()["quantity"] == 1000


def test_verifier_rules(client, login, flow, db):
    p = flow.project()
    rep = flow.report(p["id"])
    # the proponent cannot verify its own report
    r = client.post(
        f"{P}/reports/{rep['id']}/verify", json={"statement": "ok"}, headers=login("jsh_forestry")
    )
    assert r.status_code == 403
    assert (
        client.post(
            f"{P}/reports/{rep['id']}/verify", json={"statement": ""}, headers=login("yy_verifier")
        ).status_code
        == 422
    )
    v = flow.verify(rep["id"])
    assert v["status"] == "verified" and v["verifier_name"] == "yy_verifier"
    r = client.post(
        f"{P}/reports/{rep['id']}/verify", json={"statement": "again"}, headers=login("yy_verifier")
    )
    assert r.status_code == 409
    # the verifier sees the project it verified through its territory
    assert client.get(f"{P}/projects/{p['id']}", headers=login("yy_verifier")).status_code == 200


def test_report_files_upload_and_serve(client, login, flow):
    p = flow.project()
    rep = flow.report(p["id"])
    h = login("jsh_forestry")
    files = [
        ("files", ("report.html", b"<html><img src='fig_maps.png'></html>", "text/html")),
        ("files", ("fig_maps.png", b"\x89PNG\r\n\x1a\nfake", "image/png")),
    ]
    r = client.post(f"{P}/reports/{rep['id']}/uploads", files=files, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["files"] == ["fig_maps.png", "report.html"]
    got = client.get(f"{P}/reports/{rep['id']}/files/fig_maps.png", headers=h)
    assert (
        got.status_code == 200
        and got.headers["content-type"] == "image/png"
        and got.content.startswith(b"\x89PNG")
    )
    assert client.get(f"{P}/reports/{rep['id']}/files/missing.png", headers=h).status_code == 404
    assert (
        client.get(f"{P}/reports/{rep['id']}/files/fig_maps.png", headers=login("nh_forestry")).status_code
        == 403
    )
    bad = client.post(
        f"{P}/reports/{rep['id']}/uploads", files=[("files", ("evil.exe", b"MZ", "application/x"))], headers=h
    )
    assert bad.status_code == 422
    flow.verify(rep["id"])
    frozen = client.post(
        f"{P}/reports/{rep['id']}/uploads", files=[("files", ("more.png", b"x", "image/png"))], headers=h
    )
    assert frozen.status_code == 409


def test_pages_render_for_the_proponent(client, login, flow):
    p, _, _ = flow.issued()
    h = login("jsh_forestry")
    r = client.get("/carbon", headers=h)
    assert (
        r.status_code == 200
        and r.url.path == "/carbon/projects"
        and p["code"] in r.text
        and "/static/leaflet/leaflet.js" in r.text
    )
    r = client.get(f"/carbon/projects/{p['id']}", headers=h)
    assert r.status_code == 200 and "plotly.min.js" in r.text and f"CN-GG-{p['code']}-2018-2023" in r.text
    assert client.get("/carbon/alerts", headers=h).status_code == 200
    r = client.get("/carbon/projects", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_public_registry_page_speaks_english_when_asked(client, flow):
    flow.issued()
    r = client.get("/carbon/registry?lang=en")
    assert r.status_code == 200 and "Carbon registry" in r.text and "Retired" in r.text
