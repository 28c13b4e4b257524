"""The entity directory: CSV import all or nothing with row reasons, classes, scoping, masking."""

from sqlalchemy import func, select

from govgrid.market.models import MarketEntity
from tests.market.conftest import code

API = "/api/v1/market"
HEADER = "credit_code,name,legal_rep,penalties,complaints,abnormal,tax_status,division_code\n"


def _count(db) -> int:
    return db.scalar(select(func.count()).select_from(MarketEntity))


def _upload(client, headers, text, dept="410527-market_regulation", name="entities.csv"):
    return client.post(
        f"{API}/entities/import",
        headers=headers,
        data={"department_code": dept},
        files={"file": (name, text.encode(), "text/csv")},
    )


def test_import_classifies_and_lists_in_scope(client, db, users, login):
    text = HEADER + (
        f"{code('410527', 1)},内黄甲商贸有限公司,张三,0,0,否,A,410527100\n"
        f"{code('410527', 2)},内黄乙食品有限公司,李四,2,1,是,B,\n"
        f"{code('410527', 3, '92')},内黄丙餐饮店,王五,0,0,,D,\n"
    )
    r = _upload(client, login("nh_market"), text)
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 3 and r.json()["classes"] == {"A": 1, "D": 2}
    page = client.get(f"{API}/entities", headers=login("nh_market")).json()
    assert page["total"] == 3 and page["counts"] == {"A": 1, "D": 2}
    one = client.get(f"{API}/entities/{code('410527', 2)}", headers=login("nh_market")).json()
    assert one["credit_class"] == "D" and one["legal_rep"] == "李四"
    assert any("经营异常名录" in x for x in one["risk_reasons"])
    # the city's market line sees the county's directory, with the legal representative masked
    seen = client.get(f"{API}/entities/{code('410527', 2)}", headers=login("ay_market")).json()
    assert seen["legal_rep"] == "李*"
    # another county does not (and cannot tell it exists)
    assert client.get(f"{API}/entities/{code('410527', 2)}", headers=login("pd_market")).status_code == 404
    assert client.get(f"{API}/entities", headers=login("pd_market")).json()["total"] == 0
    # re-import updates, never duplicates
    again = _upload(
        client, login("nh_market"), HEADER + f"{code('410527', 1)},内黄甲商贸有限公司,张三,1,0,否,A,\n"
    )
    assert again.json() == {"created": 0, "updated": 1, "classes": {"B": 1, "D": 2}}


def test_bad_rows_refuse_the_whole_file_with_reasons(client, db, users, login):
    before = _count(db)
    good = code("410527", 11)
    text = HEADER + (
        f"{good},好企业,赵六,0,0,否,A,\n"
        f"{good[:-1]}{'0' if good[-1] != '0' else '1'},坏校验位,钱七,0,0,否,A,\n"
        f"{code('410527', 12)},,孙八,abc,0,也许,Z,140321\n"
        f"{good},重复,周九,0,0,否,A,\n"
    )
    r = _upload(client, login("nh_market"), text)
    assert r.status_code == 422
    body = r.json()["error"]
    assert body["code"] == "import_rejected" and "未导入任何主体" in body["message"]
    locs = {(d["loc"][1], d["loc"][2]) for d in body["details"]}
    assert {
        (3, "credit_code"),
        (4, "name"),
        (4, "penalties"),
        (4, "abnormal"),
        (4, "tax_status"),
        (4, "division_code"),
        (5, "credit_code"),
    } <= locs
    assert _count(db) == before


def test_upload_checks(client, db, users, login):
    h = login("nh_market")
    assert _upload(client, h, "a,b\n1,2\n").json()["error"]["message"].startswith("表头不对")
    assert _upload(client, h, HEADER, name="x.xlsx").status_code == 422
    assert _upload(client, h, HEADER).json()["error"]["message"].startswith("文件没有数据行")
    assert _upload(client, h, "\ufeff" + HEADER + "\n").status_code == 422
    assert (
        client.post(
            f"{API}/entities/import",
            headers=h,
            data={"department_code": "410527-market_regulation"},
            files={"file": ("e.csv", b"\xff\xfe\x00", "text/csv")},
        ).status_code
        == 422
    )


def test_other_county_and_anonymous_cannot_write(client, db, users, login):
    text = HEADER + f"{code('410527', 21)},内黄丁公司,吴十,0,0,否,A,\n"
    r = _upload(client, login("pd_market"), text)
    assert r.status_code == 403 and "无权" in r.json()["error"]["message"]
    assert _upload(client, {}, text).status_code == 401
    assert client.get(f"{API}/entities").status_code == 401


def test_single_registration_checks_the_code(client, db, users, login):
    body = {
        "credit_code": code("410527", 31),
        "name": "内黄戊公司",
        "department_code": "410527-market_regulation",
    }
    r = client.post(f"{API}/entities", json=body, headers=login("nh_market"))
    assert r.status_code == 201 and r.json()["credit_class"] == "A" and r.json()["kind"] == "enterprise"
    bad = {**body, "credit_code": body["credit_code"][:-1] + ("0" if body["credit_code"][-1] != "0" else "1")}
    r = client.post(f"{API}/entities", json=bad, headers=login("nh_market"))
    assert r.status_code == 422 and "校验位" in r.json()["error"]["message"]
    # the same code cannot be taken over by another registrar
    r = client.post(
        f"{API}/entities",
        json={**body, "department_code": "140321-market_regulation"},
        headers=login("pd_market"),
    )
    assert r.status_code == 409


def test_inspectors_and_relations(client, db, users, login):
    h = login("nh_market")
    r = client.post(
        f"{API}/inspectors",
        headers=h,
        json={"department_code": "410527-market_regulation", "name": "测试员", "badge_no": "T-0001"},
    )
    assert r.status_code == 201
    ins = r.json()["id"]
    rel = client.post(
        f"{API}/inspectors/{ins}/relations",
        headers=h,
        json={"credit_code": code("410527", 1), "note": "亲属任股东"},
    )
    assert rel.status_code == 201
    listed = client.get(f"{API}/inspectors", headers=h).json()
    assert [i["relations"] for i in listed if i["id"] == ins] == [[code("410527", 1)]]
    assert (
        client.post(
            f"{API}/inspectors/{ins}/relations",
            headers=login("pd_market"),
            json={"credit_code": code("410527", 1)},
        ).status_code
        == 403
    )
    assert client.get(f"{API}/inspectors", headers=login("pd_market")).json() == []
    dup = client.post(
        f"{API}/inspectors",
        headers=h,
        json={"department_code": "410527-market_regulation", "name": "又一个", "badge_no": "T-0001"},
    )
    assert dup.status_code == 409


def test_sync_from_the_exchange_through_the_data_port(client, db, users, login):
    from govgrid.core import ports

    good, broken = code("410527", 41), code("410527", 42)
    broken = broken[:-1] + ("0" if broken[-1] != "0" else "1")
    calls = []

    def provider(session, *, actor, department_id, resource_code, filters, purpose, limit):
        calls.append((department_id, resource_code, purpose))
        rows = [
            {
                "credit_code": good,
                "org_name": "内黄共享企业有限公司",
                "legal_rep": "郑一",
                "township_code": "410527100",
            },
            {"credit_code": broken, "org_name": "校验位错误企业", "legal_rep": "郑二"},
        ]
        return ports.PulledRows(resource_code, rows, ["credit_code", "org_name"], [], grant_id=7)

    saved = list(ports.DATA_PROVIDERS)
    ports.register_data_provider(provider)
    try:
        r = client.post(
            f"{API}/entities/sync",
            headers=login("nh_market"),
            json={"department_code": "410527-market_regulation", "resource_code": "A02-410527-0002"},
        )
        other = client.post(
            f"{API}/entities/sync",
            headers=login("pd_market"),
            json={"department_code": "410527-market_regulation", "resource_code": "A02-410527-0002"},
        )
    finally:
        ports.DATA_PROVIDERS[:] = saved
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["created"] == 1 and body["refused_count"] == 1 and "校验位" in body["refused"][0]["msg"]
    assert calls[0][1] == "A02-410527-0002" and "市场主体名录库同步" in calls[0][2]
    assert other.status_code == 403 and len(calls) == 1  # refused before any data is pulled
    assert db.scalar(select(MarketEntity).where(MarketEntity.credit_code == good)).source == "exchange"
