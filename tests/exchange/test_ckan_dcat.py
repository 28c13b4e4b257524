"""CKAN Action API subset and DCAT-AP views, in process: visibility, error format, datastore through the
gateway."""

import json

import pytest
from rdflib import Graph
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF

from govgrid.core.audit.service import SystemActor
from govgrid.core.departments import service as departments
from govgrid.core.identity import service as identity
from govgrid.exchange.schemas import DataItemIn
from govgrid.exchange.services import sharing, uploads
from tests.exchange.conftest import ZHANG, principal, request_data

ACTION = "/ckan/api/3/action/"


@pytest.fixture()
def catalog(make_resource, db):
    """One open entry with data, one conditional entry with personal data."""
    open_res = make_resource(
        provider="410527-forestry",
        sharing_type="unconditional",
        open_type="open",
        name="内黄县湿地资源图斑",
        class_code="A03",
        update_cycle="yearly",
        grade="general",
        items=[
            DataItemIn(name="patch_id", label="图斑编号", type="string"),
            DataItemIn(name="area_ha", label="面积", type="number"),
        ],
    )
    uploads.upload_records(
        db, actor=SystemActor("t"), code=open_res.code, content=b"patch_id,area_ha\nSD1,12.5\n"
    )
    people = make_resource(rows=[ZHANG])
    return open_res, people


def _key(db, dept_code, role="handler"):
    dept = departments.get_by_code(db, dept_code)
    _, full = identity.create_api_key(
        db, actor=SystemActor("t"), name="ckan-test", department_id=dept.id, role=role
    )
    return full


def test_anonymous_sees_only_open_entries(client, catalog):
    open_res, people = catalog
    r = client.get(ACTION + "package_list")
    assert r.status_code == 200 and r.json()["success"] is True
    names = r.json()["result"]
    assert open_res.code.lower() in names and people.code.lower() not in names
    r = client.post(ACTION + "package_show", json={"id": people.code.lower()})
    assert r.status_code == 404
    assert r.json()["success"] is False and r.json()["error"]["__type"] == "Not Found Error"


def test_api_key_sees_what_its_department_sees(client, db, catalog):
    _, people = catalog
    key = _key(db, "410527-urban_management")
    r = client.get(
        ACTION + "package_show", params={"id": people.code.lower()}, headers={"Authorization": key}
    )
    assert r.status_code == 200
    pkg = r.json()["result"]
    extras = {e["key"]: e["value"] for e in pkg["extras"]}
    assert extras["共享类型"] == "有条件共享" and extras["资源代码"] == people.code
    assert extras["提供方"] == "内黄县税务局" and extras["数据分级"] == "重要"
    items = json.loads(extras["信息项"])
    assert {
        "name": "id_number",
        "label": "公民身份号码",
        "type": "id_number",
        "personal": True,
        "sensitive": True,
    } in items
    assert pkg["organization"]["name"] == "410527-tax" and pkg["groups"][0]["name"] == "tax"
    r = client.get(ACTION + "package_show", params={"id": "x"}, headers={"Authorization": key[:-4] + "zzzz"})
    assert r.status_code in (401, 403) and r.json()["error"]["__type"] == "Authorization Error"


def test_package_search_q_fq_rows_start_sort(client, catalog, make_resource):
    open_res, _ = catalog
    make_resource(
        provider="140321-forestry",
        sharing_type="unconditional",
        open_type="open",
        name="平定县湿地名录",
        class_code="A03",
        grade="general",
        items=[DataItemIn(name="patch_id", label="图斑编号", type="string")],
    )
    r = client.get(ACTION + "package_search", params={"q": "湿地", "rows": 1, "start": 0})
    body = r.json()["result"]
    assert body["count"] >= 2 and len(body["results"]) == 1
    r = client.post(ACTION + "package_search", json={"q": "湿地", "fq": "organization:410527-forestry"})
    assert [p["name"] for p in r.json()["result"]["results"]] == [open_res.code.lower()]
    r = client.post(ACTION + "package_search", json={"q": "湿地", "fq": "groups:forestry +division:140321"})
    assert [p["title"] for p in r.json()["result"]["results"]] == ["平定县湿地名录"]
    r = client.post(ACTION + "package_search", json={"fq": "colour:red"})
    assert r.status_code == 409 and r.json()["error"]["__type"] == "Search Query Error"
    r = client.post(ACTION + "package_search", json={"rows": "many"})
    assert r.status_code == 409 and r.json()["error"]["__type"] == "Validation Error"


def test_organizations_groups_resources_status(client, catalog):
    open_res, _ = catalog
    assert "410527-forestry" in client.get(ACTION + "organization_list").json()["result"]
    org = client.get(ACTION + "organization_show", params={"id": "410527-forestry"}).json()["result"]
    assert org["title"] == "内黄县林业局" and open_res.code.lower() in [p["name"] for p in org["packages"]]
    assert client.get(ACTION + "organization_show", params={"id": "nope"}).status_code == 404
    groups = client.get(ACTION + "group_list", params={"all_fields": "true"}).json()["result"]
    assert any(g["name"] == "forestry" and g["title"] == "林业" for g in groups)
    res = client.get(ACTION + "resource_show", params={"id": f"{open_res.code}-records"}).json()["result"]
    assert res["datastore_active"] and res["url"].endswith(f"/resources/{open_res.code}/records")
    status = client.get("/ckan/api/action/status_show").json()["result"]
    assert status["ckan_version"].startswith("2.")
    r = client.get(ACTION + "package_create")
    assert r.status_code == 404 and r.json()["success"] is False
    r = client.post(
        ACTION + "package_show", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 409 and r.json()["error"]["__type"] == "Validation Error"


def test_datastore_search_goes_through_grant_masking_and_audit(client, db, catalog):
    _, people = catalog
    key = _key(db, "410527-urban_management")
    params = {"resource_id": f"{people.code}-records"}
    r = client.post(ACTION + "datastore_search", json=params)
    assert r.status_code == 403 and r.json()["error"]["__type"] == "Authorization Error"
    r = client.post(ACTION + "datastore_search", json=params, headers={"Authorization": key})
    assert r.status_code == 403
    req = sharing.submit_request(db, actor=principal(db, "nh_handler"), data=request_data(people.code))
    sharing.decide(db, actor=principal(db, "nh_tax"), request_id=req.id, action="approve")
    db.flush()
    r = client.post(
        ACTION + "datastore_search",
        json={**params, "filters": {"village_code": "410527100200"}},
        headers={"Authorization": key},
    )
    assert r.status_code == 200, r.text
    body = r.json()["result"]
    assert body["total"] == 1
    assert body["records"][0]["phone"] == "138****5678" and body["records"][0]["name"] == "张**"
    assert {"id": "age", "type": "int", "info": {"label": "年龄"}} in body["fields"]


def test_open_data_is_readable_anonymously_in_ckan_only_as_metadata(client, catalog):
    open_res, _ = catalog
    r = client.post(ACTION + "datastore_search", json={"resource_id": f"{open_res.code}-records"})
    assert r.status_code == 403  # records always need a grant or the provider's scope


def test_dcat_turtle_and_jsonld_are_valid_with_mandatory_properties(client, catalog):
    open_res, people = catalog
    for url, fmt in (("/catalog.ttl", "turtle"), ("/catalog.jsonld", "json-ld")):
        r = client.get(url)
        assert r.status_code == 200
        g = Graph().parse(data=r.text, format=fmt)
        cats = list(g.subjects(RDF.type, DCAT.Catalog))
        assert len(cats) == 1
        cat = cats[0]
        for p in (DCTERMS.title, DCTERMS.description, DCTERMS.publisher, DCAT.dataset):
            assert g.value(cat, p) is not None, p
        assert g.value(g.value(cat, DCTERMS.publisher), FOAF.name) is not None
        datasets = set(g.objects(cat, DCAT.dataset))
        ids = {str(g.value(d, DCTERMS.identifier)) for d in datasets}
        assert open_res.code in ids and people.code not in ids
        for d in datasets:
            assert g.value(d, DCTERMS.title) is not None and g.value(d, DCTERMS.description) is not None
            dist = g.value(d, DCAT.distribution)
            assert g.value(dist, DCAT.accessURL) is not None
            assert g.value(g.value(d, DCTERMS.publisher), FOAF.name) is not None
        ds = next(d for d in datasets if str(g.value(d, DCTERMS.identifier)) == open_res.code)
        assert str(g.value(ds, DCTERMS.accrualPeriodicity)).endswith("/frequency/ANNUAL")
        assert str(g.value(ds, DCTERMS.accessRights)).endswith("/access-right/PUBLIC")


def test_package_search_facets_and_sort_keys(client, catalog):
    _open_res, _ = catalog
    r = client.post(
        ACTION + "package_search",
        json={
            "facet.field": json.dumps(
                ["organization", "groups", "tags", "res_format", "license_id", "grade"]
            ),
            "sort": "title asc, name desc",
        },
    )
    body = r.json()["result"]
    assert body["sort"] == "title asc, name desc"
    assert body["facets"] == {
        "organization": {"410527-forestry": 1},
        "groups": {"forestry": 1},
        "tags": {"无条件共享": 1, "一般": 1},
        "res_format": {"JSON": 1},
        "license_id": {},
        "grade": {"general": 1},
    }
    assert body["search_facets"]["groups"] == {
        "title": "groups",
        "items": [{"name": "forestry", "display_name": "林业", "count": 1}],
    }
    assert body["search_facets"]["grade"]["items"][0]["display_name"] == "一般"
    # no facet.field: CKAN answers empty facets
    assert client.post(ACTION + "package_search", json={}).json()["result"]["facets"] == {}
    r = client.post(ACTION + "package_search", json={"facet.field": '["colour"]'})
    assert r.status_code == 409 and r.json()["error"]["__type"] == "Search Query Error"
    r = client.post(ACTION + "package_search", json={"facet.field": "organization"})
    assert r.status_code == 409 and r.json()["error"]["__type"] == "Validation Error"
    r = client.post(ACTION + "package_search", json={"sort": "name sideways"})
    assert r.status_code == 409 and r.json()["error"]["__type"] == "Search Query Error"


def test_datastore_search_sort_q_and_typed_filters(client, db, catalog):
    _, people = catalog  # one resident: ZHANG
    req = sharing.submit_request(db, actor=principal(db, "nh_handler"), data=request_data(people.code))
    sharing.decide(db, actor=principal(db, "nh_tax"), request_id=req.id, action="approve")
    uploads.upload_records(
        db,
        actor=SystemActor("t"),
        code=people.code,
        content=b"id_number,name,village_code,age\n"
        + f"{ZHANG['id_number']},张三丰,410527100200,9\n{ZHANG['id_number']},李四,410527101200,10\n".encode(),
    )
    db.flush()
    key = _key(db, "410527-urban_management")
    rid = f"{people.code}-records"

    def search(**kw):
        return client.post(
            ACTION + "datastore_search", json={"resource_id": rid, **kw}, headers={"Authorization": key}
        )

    # integers sort as numbers (10 after 9), not as text
    assert [r["age"] for r in search(sort="age asc").json()["result"]["records"]] == [9, 10]
    assert [r["age"] for r in search(sort='"age" desc').json()["result"]["records"]] == [10, 9]
    assert search(filters={"age": 10}).json()["result"]["total"] == 1
    assert search(filters={"age": "ten"}).status_code == 409
    r = search(sort="colour asc")
    assert r.status_code == 409 and r.json()["error"]["sort"] == ['field "colour" not in table']
    assert search(q="410527101").json()["result"]["total"] == 1
    assert search(q=json.dumps({"village_code": "4105271002"})).json()["result"]["total"] == 1
    r = search(q={"name": "李"})
    assert r.status_code == 409 and "name" in r.json()["error"]["message"]


def test_ckan_rate_limit_answers_in_ckan_format_with_retry_after(client, db, catalog):
    _, people = catalog
    req = sharing.submit_request(db, actor=principal(db, "nh_handler"), data=request_data(people.code))
    sharing.decide(
        db, actor=principal(db, "nh_tax"), request_id=req.id, action="approve", rate_limit_per_minute=1
    )
    db.flush()
    key = _key(db, "410527-urban_management")
    body = {"resource_id": f"{people.code}-records"}
    assert (
        client.post(ACTION + "datastore_search", json=body, headers={"Authorization": key}).status_code == 200
    )
    r = client.post(ACTION + "datastore_search", json=body, headers={"Authorization": key})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert r.json()["success"] is False and r.json()["error"]["__type"] == "Rate Limit Error"
