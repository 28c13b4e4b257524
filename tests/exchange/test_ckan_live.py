"""The real `ckanapi` client (library and CLI) against a live server on a demo database, and the audit chain after."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from ckanapi import NotAuthorized, NotFound, RemoteCKAN

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """(base URL, API key, env) of a uvicorn server on a demo-loaded SQLite file."""
    tmp = tmp_path_factory.mktemp("ckan-live")
    db_path, key_path = tmp / "live.db", tmp / "key.txt"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVGRID_")}
    env.update(
        GOVGRID_DATABASE_URL=f"sqlite:///{db_path}",
        GOVGRID_DEMO_MODE="true",
        GOVGRID_SECRET_KEY="live-test-" + "x" * 40,
        # The tree under test first (an editable install elsewhere must not shadow it), then the repo for `tests`.
        PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
    )
    subprocess.run(
        [sys.executable, "-m", "tests.exchange.live_server", str(db_path), str(key_path)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "govgrid.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise RuntimeError(server.stderr.read().decode() if server.stderr else "server did not start")
        yield base, key_path.read_text().strip(), env
    finally:
        server.terminate()
        server.wait(timeout=20)


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
    r = subprocess.run(
        ["ckanapi", "dump", "datasets", "--all", "-q", "-p", "1", "-O", str(out), "-r", f"{base}/ckan"],
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
