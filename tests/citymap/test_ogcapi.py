"""OGC API - Features at /ogcapi/, read by OWSLib's real `Features` client (HTTP routed to the TestClient)."""

import pytest
from owslib.ogcapi.features import Features

from tests.citymap.conftest import offset

API = "/api/v1/citymap"
BASE = "http://testserver/ogcapi/"


class _Response:
    """What OWSLib reads from a `requests` response, backed by an httpx response."""

    def __init__(self, r):
        self._r = r
        self.status_code = r.status_code
        self.headers = r.headers
        self.content = r.content
        self.text = r.text
        self.url = str(r.url)

    def __bool__(self):
        return self.status_code < 400

    def json(self):
        return self._r.json()

    def raise_for_status(self):
        if self.status_code >= 400:
            raise RuntimeError(self.text)


@pytest.fixture()
def owslib_via(client, monkeypatch):
    """Route OWSLib's HTTP GETs through the TestClient (same rolled-back transaction as the test)."""
    import owslib.ogcapi as ogcapi_mod

    def http_get(url, params=None, headers=None, auth=None, **_kw):
        return _Response(client.get(url, params=params, headers=dict(headers or {})))

    monkeypatch.setattr(ogcapi_mod, "http_get", http_get)
    monkeypatch.setattr(ogcapi_mod, "REQUEST_HEADERS", {"User-Agent": "OWSLib test"})
    return client


@pytest.fixture()
def cases(client, login, grid, users):
    ids = []
    for i, cell in enumerate(grid[:4]):
        cc = "0101" if i % 2 == 0 else "0405"
        r = client.post(
            f"{API}/reports",
            json={
                "class_code": cc,
                "lon": cell.center_lon,
                "lat": cell.center_lat,
                "description": "张三 13800000000 反映",
            },
            headers=login("pd_inspector"),
        )
        ids.append(r.json()["case_id"])
    return ids


def test_owslib_lists_collections_and_reads_items(owslib_via, login, grid, cases):
    w = Features(BASE)
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in w.conformance()["conformsTo"]
    ids = [c["id"] for c in w.collections()["collections"]]
    assert set(ids) == {"grid-cells", "cases"}  # anonymous: only what it can read
    signed_in = Features(BASE, headers=login("pd_dispatcher"))
    assert {c["id"] for c in signed_in.collections()["collections"]} == {
        "grid-cells",
        "cases",
        "parts",
        "units",
        "cameras",
    }
    assert w.collection("cases")["extent"]["spatial"]["bbox"][0][0] > 113
    c = grid[0]
    minx, miny = offset(c.center_lon, c.center_lat, -20, -20)
    maxx, maxy = offset(c.center_lon, c.center_lat, 20, 20)
    got = w.collection_items("cases", bbox=[minx, miny, maxx, maxy], limit=10)
    assert got["numberReturned"] == 1 and got["features"][0]["id"] == cases[0]
    props = got["features"][0]["properties"]
    assert "description" not in props and "reporter_name" not in props  # public fields only
    filtered = w.collection_items("cases", class_code="0405", limit=10)
    assert filtered["numberMatched"] == 2 and all(
        f["properties"]["class_code"] == "0405" for f in filtered["features"]
    )
    one = w.collection_item("cases", str(cases[1]))
    assert one["id"] == cases[1] and one["geometry"]["type"] == "Point"
    cells = w.collection_items("grid-cells", limit=5, offset=5)
    assert cells["numberReturned"] == 5 and cells["numberMatched"] == len(grid)
    assert any(link["rel"] == "next" for link in cells["links"]) and any(
        link["rel"] == "prev" for link in cells["links"]
    )
    cell = w.collection_item("grid-cells", grid[0].code)
    assert cell["geometry"]["type"] in ("Polygon", "MultiPolygon")
    q = w.collection_queryables("cases")
    assert q["properties"]["class_code"]["type"] == "string"
    assert w.api()["openapi"].startswith("3.0")


def test_datetime_filter(client, cases):
    r = client.get(
        "/ogcapi/collections/cases/items", params={"datetime": "2000-01-01T00:00:00Z/2000-12-31T00:00:00Z"}
    )
    assert r.status_code == 200 and r.json()["numberMatched"] == 0
    r = client.get("/ogcapi/collections/cases/items", params={"datetime": "2000-01-01T00:00:00Z/.."})
    assert r.json()["numberMatched"] == 4
    assert client.get("/ogcapi/collections/cases/items", params={"datetime": "yesterday"}).status_code == 400


def test_protected_collections_need_auth_and_are_scoped(client, login, unit, camera, owslib_via):
    r = client.get("/ogcapi/collections/units/items")
    assert r.status_code == 401 and r.json()["code"] == "Unauthorized"
    assert client.get("/ogcapi/collections/parts/items").status_code == 401
    assert client.get("/ogcapi/collections/cameras/items/T-CAM-1").status_code == 401
    mine = client.get("/ogcapi/collections/units/items", headers=login("pd_dispatcher")).json()
    assert [f["id"] for f in mine["features"]] == ["T-ENF-01"]
    theirs = client.get("/ogcapi/collections/units/items", headers=login("nh_dispatcher")).json()
    assert theirs["numberMatched"] == 0
    assert (
        client.get("/ogcapi/collections/units/items/T-ENF-01", headers=login("nh_dispatcher")).status_code
        == 404
    )
    w = Features(BASE, headers=login("pd_dispatcher"))
    assert (
        w.collection_items("cameras", limit=5)["features"][0]["properties"]["stream_url"]
        == "rtsp://cam.test/1"
    )


def test_bad_requests_use_the_ogc_error_format(client, grid):
    for params in (
        {"bbox": "1,2,3"},
        {"bbox": "a,b,c,d"},
        {"limit": "0"},
        {"limit": "x"},
        {"colour": "red"},
        {"area_m2": "big"},
        {"f": "html"},
    ):
        r = client.get("/ogcapi/collections/grid-cells/items", params=params)
        assert r.status_code == 400, params
        assert set(r.json()) == {"code", "description"}
    assert client.get("/ogcapi/collections/nope").status_code == 404
    assert client.get("/ogcapi/collections/cases/items/abc").status_code == 404
    assert client.get("/ogcapi/collections/grid-cells/items", params={"limit": 100000}).json()[
        "numberReturned"
    ] == len(grid)
