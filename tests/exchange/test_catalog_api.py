"""Catalog: creating entries, visibility by sharing type, roll-up views, jieba search with filters,
versions."""

import pytest

from tests.exchange.conftest import PEOPLE_ITEMS

ENTRY = {
    "class_code": "A01",
    "provider_department_code": "410527-tax",
    "name": "内黄县纳税人基本信息",
    "abstract": "纳税人登记和联系信息",
    "sharing_type": "conditional",
    "sharing_conditions": "仅限法定职责",
    "grade": "important",
    "update_cycle": "monthly",
    "items": [
        {"name": "credit_code", "label": "统一社会信用代码", "type": "string", "required": True},
        {"name": "contact", "label": "联系人", "type": "string", "personal": True, "mask": "name"},
        {"name": "township_code", "label": "乡镇代码", "type": "division"},
    ],
}


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/api/v1/exchange/resources"),
        ("POST", "/api/v1/exchange/resources"),
        ("GET", "/api/v1/exchange/resources/X"),
        ("PATCH", "/api/v1/exchange/resources/X"),
        ("GET", "/api/v1/exchange/resources/X/versions"),
        ("POST", "/api/v1/exchange/resources/X/upload"),
        ("GET", "/api/v1/exchange/resources/X/uploads"),
        ("GET", "/api/v1/exchange/resources/X/records"),
        ("POST", "/api/v1/exchange/resources/X/verify"),
        ("POST", "/api/v1/exchange/requests"),
        ("GET", "/api/v1/exchange/requests"),
        ("GET", "/api/v1/exchange/requests/1"),
        ("POST", "/api/v1/exchange/requests/1/decision"),
        ("POST", "/api/v1/exchange/requests/1/withdraw"),
        ("GET", "/api/v1/exchange/grants"),
        ("POST", "/api/v1/exchange/grants/1/revoke"),
        ("GET", "/api/v1/exchange/metrics/flow"),
    ],
)
def test_anonymous_gets_401(client, method, url):
    r = client.request(method, url, json={})
    assert r.status_code == 401, r.text
    assert r.json()["error"]["code"] == "unauthorized"


def test_provider_creates_entry_with_code_from_class_and_division(client, login):
    r = client.post("/api/v1/exchange/resources", json=ENTRY, headers=login("nh_tax"))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["code"].startswith("A01-410527-")
    assert body["provider_name"] == "内黄县税务局" and body["version"] == 1
    contact = next(i for i in body["items"] if i["name"] == "contact")
    assert contact["personal"] and contact["mask"] == "name"


def test_another_county_cannot_create_an_entry_for_this_department(client, login):
    r = client.post("/api/v1/exchange/resources", json=ENTRY, headers=login("pd_handler"))
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"sharing_type": "conditional", "sharing_conditions": ""}, "sharing_conditions"),
        ({"open_type": "open"}, "open_type"),
        ({"items": ENTRY["items"] + [{"name": "credit_code", "label": "重复", "type": "string"}]}, "items"),
    ],
)
def test_inconsistent_entries_are_refused_with_the_field(client, login, change, loc):
    r = client.post("/api/v1/exchange/resources", json={**ENTRY, **change}, headers=login("nh_tax"))
    assert r.status_code == 422
    assert any(loc in d["loc"] for d in r.json()["error"]["details"]), r.json()


def test_bad_item_type_and_unknown_field_are_422(client, login):
    bad = {**ENTRY, "items": [{"name": "x", "label": "x", "type": "blob"}]}
    assert client.post("/api/v1/exchange/resources", json=bad, headers=login("nh_tax")).status_code == 422
    assert (
        client.post(
            "/api/v1/exchange/resources", json={**ENTRY, "colour": 1}, headers=login("nh_tax")
        ).status_code
        == 422
    )
    r = client.post(
        "/api/v1/exchange/resources",
        json={**ENTRY, "provider_department_code": "999999-tax"},
        headers=login("nh_tax"),
    )
    assert r.status_code == 404


def test_withheld_entries_are_visible_only_to_provider_scope_and_data_bureau(client, login, make_resource):
    res = make_resource(
        sharing_type="none", name="纳税人涉税明细", grade="core", sharing_conditions="税收征管法第八条"
    )
    url = f"/api/v1/exchange/resources/{res.code}"
    assert client.get(url, headers=login("nh_tax")).status_code == 200
    assert client.get(url, headers=login("ay_tax")).status_code == 200  # same line, level above
    assert client.get(url, headers=login("nh_data")).status_code == 200  # data management bureau
    assert client.get(url, headers=login("hn_data")).status_code == 200  # province bureau line
    assert client.get(url, headers=login("nh_handler")).status_code == 404
    assert client.get(url, headers=login("pd_handler")).status_code == 404


def test_conditional_entry_metadata_is_visible_to_every_government_user(client, login, people):
    r = client.get(f"/api/v1/exchange/resources/{people.code}", headers=login("pd_handler"))
    assert r.status_code == 200
    assert r.json()["records_count"] == 3 and r.json()["sharing_type"] == "conditional"


def test_search_ranks_by_matched_terms_and_filters(client, login, make_resource):
    make_resource(
        name="内黄县湿地资源调查图斑",
        abstract="湿地类型和面积",
        provider="410527-forestry",
        sharing_type="unconditional",
        class_code="A03",
    )
    make_resource(
        name="内黄县林地资源",
        abstract="林地和湿地保护地图斑",
        provider="410527-forestry",
        sharing_type="unconditional",
        class_code="A03",
    )
    make_resource(
        name="平定县湿地名录", provider="140321-forestry", sharing_type="conditional", class_code="A03"
    )
    h = login("nh_handler")
    r = client.get("/api/v1/exchange/resources", params={"q": "湿地资源"}, headers=h)
    assert r.status_code == 200
    names = [i["name"] for i in r.json()["items"]]
    assert names[0] == "内黄县湿地资源调查图斑"
    assert set(names) >= {"内黄县林地资源", "平定县湿地名录"}
    r = client.get("/api/v1/exchange/resources", params={"q": "湿地", "division": "140321"}, headers=h)
    assert [i["name"] for i in r.json()["items"]] == ["平定县湿地名录"]
    r = client.get(
        "/api/v1/exchange/resources",
        params={"q": "湿地", "sharing_type": "unconditional", "line": "forestry"},
        headers=h,
    )
    assert {i["name"] for i in r.json()["items"]} == {"内黄县湿地资源调查图斑", "内黄县林地资源"}
    r = client.get("/api/v1/exchange/resources", params={"q": "湿地", "grade": "core"}, headers=h)
    assert r.json()["total"] == 0


def test_my_catalog_rolls_up_the_line_below(client, login, people, make_resource):
    make_resource(provider="140321-tax", name="平定县纳税人信息")
    mine = client.get("/api/v1/exchange/resources", params={"mine": True}, headers=login("ay_tax")).json()
    codes = {i["code"] for i in mine["items"]}
    assert people.code in codes  # 安阳市税务局 sees 内黄县税务局's entries
    assert all(i["division_code"] != "140321" for i in mine["items"])
    nh = client.get("/api/v1/exchange/resources", params={"mine": True}, headers=login("nh_handler")).json()
    assert people.code not in {i["code"] for i in nh["items"]}


def test_update_makes_a_new_version_and_keeps_the_old(client, login, people):
    url = f"/api/v1/exchange/resources/{people.code}"
    r = client.patch(url, json={"abstract": "更新后的摘要", "update_cycle": "daily"}, headers=login("nh_tax"))
    assert r.status_code == 200 and r.json()["version"] == 2
    versions = client.get(url + "/versions", headers=login("nh_tax")).json()
    assert [v["version"] for v in versions] == [2, 1]
    assert versions[1]["snapshot"]["abstract"] == "测试用的人口基础信息"
    assert client.patch(url, json={"abstract": "x"}, headers=login("pd_handler")).status_code == 403


def test_sensitive_items_need_a_higher_grade(client, login):
    items = [i.model_dump() for i in PEOPLE_ITEMS]
    r = client.post(
        "/api/v1/exchange/resources",
        json={**ENTRY, "items": items, "grade": "general"},
        headers=login("nh_tax"),
    )
    assert r.status_code == 422
    assert any("grade" in d["loc"] for d in r.json()["error"]["details"])


def test_equal_scores_put_my_own_territory_first(client, login, make_resource):
    make_resource(provider="140321-forestry", name="平定县湿地名录", class_code="A03")
    make_resource(provider="410527-forestry", name="内黄县湿地名录", class_code="A03")
    r = client.get("/api/v1/exchange/resources", params={"q": "湿地名录"}, headers=login("pd_handler"))
    assert [i["name"] for i in r.json()["items"]][:2] == ["平定县湿地名录", "内黄县湿地名录"]
    r = client.get("/api/v1/exchange/resources", params={"q": "湿地名录"}, headers=login("nh_handler"))
    assert [i["name"] for i in r.json()["items"]][:2] == ["内黄县湿地名录", "平定县湿地名录"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{not json", 422),
        (b'{"resource_code": 5, "purpose": []}', 422),
        (b"[]", 422),
    ],
)
def test_malformed_request_bodies_are_4xx_in_shape(client, login, body, status):
    r = client.post(
        "/api/v1/exchange/requests",
        content=body,
        headers={**login("nh_handler"), "Content-Type": "application/json"},
    )
    assert r.status_code == status
    assert r.json()["error"]["code"] == "validation_error"


def test_oversized_search_query_is_422(client, login):
    r = client.get("/api/v1/exchange/resources", params={"q": "湿" * 300}, headers=login("nh_handler"))
    assert r.status_code == 422
