"""The real `ckanapi` client (library and CLI) against a live server on a demo database, and the audit chain
after."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from ckanapi import NotAuthorized, NotFound, RemoteCKAN, SearchQueryError, ValidationError

from tests.exchange.live_server import ROOT, start

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """(base URL, API key, env) of a uvicorn server on a demo-loaded SQLite file."""
    server = start(tmp_path_factory.mktemp("ckan-live"))
    try:
        yield server.url, server.api_key, server.env
    finally:
        server.stop()


def test_ckanapi_lists_searches_and_shows_the_demo_catalog(live):
    base, _, _ = live
    ckan = RemoteCKAN(f"{base}/ckan")
    status = ckan.action.status_show()
    assert status["ckan_version"].startswith("2.")
    names = ckan.action.package_list()
    assert len(names) >= 12  # open entries only for anonymous clients
    found = ckan.action.package_search(q="湿地", rows=5)
    assert found["count"] >= 3 and all("湿地" in p["title"] or "湿地" in p["notes"] for p in found["results"])
    pkg = ckan.action.package_show(id=names[0])
    assert pkg["name"] == names[0] and pkg["organization"]["name"]
    assert {e["key"] for e in pkg["extras"]} >= {"资源代码", "共享类型", "更新周期", "信息项"}
    orgs = ckan.action.organization_list()
    assert pkg["organization"]["name"] in orgs
    assert "forestry" in ckan.action.group_list()
    res = ckan.action.resource_show(id=pkg["resources"][0]["id"])
    assert res["package_id"] == pkg["id"]
    with pytest.raises(NotFound):
        ckan.action.package_show(id="a01-410527-0001")  # conditional: not visible anonymously


def test_ckanapi_with_api_key_reads_masked_rows_through_the_grant(live):
    base, key, _ = live
    ckan = RemoteCKAN(f"{base}/ckan", apikey=key)
    pkg = ckan.action.package_show(id="a01-410527-0001")
    assert {e["key"]: e["value"] for e in pkg["extras"]}["共享类型"] == "有条件共享"
    page = ckan.action.datastore_search(resource_id="A01-410527-0001-records", limit=5)
    assert page["total"] > 0 and len(page["records"]) == 5
    for rec in page["records"]:
        assert rec["id_number"][3:14] == "*" * 11
        assert rec["phone"][3:7] == "****"
        assert rec["name"][1:].strip("*") == "" or rec["name"][2:].strip("*") == ""
        assert rec["village_code"].startswith("410527100")  # the grant's row filter: one township
    with pytest.raises(NotAuthorized):
        ckan.action.datastore_search(resource_id="A01-140321-0001-records")


def test_ckanapi_dump_datasets_all_completes_and_audit_verifies(live, tmp_path):
    base, _, env = live
    out = tmp_path / "dump.jsonl"
    # ckanapi's own command line, run by this interpreter (its console script may live outside a virtualenv)
    ckanapi = [sys.executable, "-c", "import sys; from ckanapi.cli.main import main; sys.exit(main())"]
    r = subprocess.run(
        [*ckanapi, "dump", "datasets", "--all", "-q", "-p", "1", "-O", str(out), "-r", f"{base}/ckan"],
        capture_output=True,
        timeout=180,
        env=env,
    )
    assert r.returncode == 0, r.stderr.decode()
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    names = RemoteCKAN(f"{base}/ckan").action.package_list()
    assert sorted(p["name"] for p in rows) == sorted(names)
    v = subprocess.run(
        [sys.executable, "-m", "govgrid.cli", "audit", "verify"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert v.returncode == 0, v.stderr.decode()
    assert "intact" in v.stdout.decode()


def test_ckanapi_package_search_sort_and_facets(live):
    base, _, _ = live
    ckan = RemoteCKAN(f"{base}/ckan")
    names = [p["name"] for p in ckan.action.package_search(sort="name asc", rows=100)["results"]]
    assert names == sorted(names) and len(names) >= 12
    assert [p["name"] for p in ckan.action.package_search(sort="name desc", rows=100)["results"]] == names[
        ::-1
    ]
    titles = [p["title"] for p in ckan.action.package_search(sort="title_string asc", rows=100)["results"]]
    assert sorted(titles) == sorted(p["title"] for p in ckan.action.package_search(rows=100)["results"])
    stamps = [
        p["metadata_modified"] for p in ckan.action.package_search(sort="metadata_modified desc")["results"]
    ]
    assert stamps == sorted(stamps, reverse=True)
    with pytest.raises(SearchQueryError):
        ckan.action.package_search(sort="colour asc")
    found = ckan.action.package_search(
        q="湿地", rows=0, **{"facet.field": json.dumps(["organization", "groups", "tags", "res_format"])}
    )
    orgs = found["facets"]["organization"]
    assert sum(orgs.values()) == found["count"] >= 3 and "430611-forestry" in orgs
    assert found["facets"]["groups"]["forestry"] >= 3
    assert found["facets"]["res_format"] == {"JSON": found["count"]}
    items = {i["name"]: i for i in found["search_facets"]["organization"]["items"]}
    assert items["430611-forestry"]["display_name"] == "君山区林业局"
    limited = ckan.action.package_search(q="湿地", **{"facet.field": '["organization"]', "facet.limit": 1})
    assert len(limited["facets"]["organization"]) == 1


def test_ckanapi_datastore_sort_and_q_and_masked_fields(live):
    base, key, _ = live
    ckan = RemoteCKAN(f"{base}/ckan", apikey=key)
    rid = "A01-410527-0001-records"
    page = ckan.action.datastore_search(resource_id=rid, sort="village_code desc, gender asc", limit=100)
    villages = [r["village_code"] for r in page["records"]]
    assert villages == sorted(villages, reverse=True) and page["sort"] == "village_code desc, gender asc"
    women = ckan.action.datastore_search(resource_id=rid, q={"gender": "女"}, limit=100)
    assert women["total"] > 0 and {r["gender"] for r in women["records"]} == {"女"}
    text = ckan.action.datastore_search(resource_id=rid, q=villages[0], limit=100)
    assert text["total"] >= 1 and all(r["village_code"] == villages[0] for r in text["records"])
    for kwargs in (
        {"sort": "colour asc"},
        {"sort": "phone asc"},
        {"q": {"name": "王"}},
        {"filters": {"phone": "1"}},
    ):
        with pytest.raises(ValidationError):
            ckan.action.datastore_search(resource_id=rid, **kwargs)
