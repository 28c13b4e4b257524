"""Division lookups are public; the tree and point location answer with real GB/T 2260 data."""

import pytest


def test_division_with_ancestors_is_public(client):
    r = client.get("/api/v1/divisions/430611")
    assert r.status_code == 200
    body = r.json()
    assert body["name"] == "君山区"
    assert [a["code"] for a in body["ancestors"]] == ["000000", "430000", "430600"]
    assert [a["name"] for a in body["ancestors"]][1:] == ["湖南省", "岳阳市"]


@pytest.mark.parametrize(
    ("lon", "lat", "code", "name"),
    [
        (114.80, 35.89, "410527", "内黄县"),
        (112.73, 29.48, "430611", "君山区"),
        (113.83, 37.89, "140321", "平定县"),
    ],
)
def test_locate_answers_the_containing_county(client, lon, lat, code, name):
    r = client.get(f"/api/v1/divisions/locate?lon={lon}&lat={lat}")
    assert r.status_code == 200, r.text
    assert (r.json()["code"], r.json()["name"]) == (code, name)


def test_locate_deepest_reaches_the_demo_village(client):
    r = client.get("/api/v1/divisions/locate?lon=114.80&lat=35.89&level=deepest")
    assert r.status_code == 200
    body = r.json()
    assert body["level"] == "village" and body["code"].startswith("410527")


def test_locate_outside_china_is_404(client):
    r = client.get("/api/v1/divisions/locate?lon=-40&lat=10")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"
