"""Grid cells and city parts through the API: generation, import (all or nothing), validation, codes."""

import io
import json

import numpy as np
import pyogrio.raw
import shapely
from shapely.geometry import mapping
from sqlalchemy import func, select

from govgrid.citymap.models import GridCell, Part
from tests.citymap.conftest import VILLAGE, village_area

API = "/api/v1/citymap"


def _count(db, model):
    return db.scalar(select(func.count()).select_from(model))


def test_generate_grid_codes_and_validation(client, db, login, urban_admin):
    area = village_area(db, w=400, h=300)
    r = client.post(
        f"{API}/grid/generate",
        json={"division_code": VILLAGE, "cell_m": 100, "within": mapping(area)},
        headers=login("pd_urban_admin"),
    )
    assert r.status_code == 201, r.text
    codes = r.json()["codes"]
    assert 12 <= len(codes) <= 25
    assert all(
        len(c) == 15 and c.startswith(VILLAGE) for c in codes
    )  # county 6 + street 3 + community 3 + serial 3
    assert codes[0].endswith("001")
    v = client.get(
        f"{API}/grid/validate", params={"division_code": VILLAGE}, headers=login("pd_urban_admin")
    ).json()
    assert v["cells"] == len(codes) and not v["overlaps"] and not v["invalid"]
    # measured against the area asked for (within), not the whole village
    assert v["ok"] and v["gap_area_m2"] < 1
    assert 100_000 < v["region_area_m2"] < 130_000  # 400 m x 300 m
    again = client.post(
        f"{API}/grid/generate",
        json={"division_code": VILLAGE, "within": mapping(area)},
        headers=login("pd_urban_admin"),
    )
    assert again.status_code == 409
    # a missing cell is a gap the validation reports
    db.delete(db.get(GridCell, codes[3]))
    db.flush()
    v = client.get(
        f"{API}/grid/validate", params={"division_code": VILLAGE}, headers=login("pd_urban_admin")
    ).json()
    assert not v["ok"] and 1_000 < v["gap_area_m2"] <= 10_001
    assert (
        client.delete(
            f"{API}/grid", params={"division_code": VILLAGE}, headers=login("pd_urban_admin")
        ).json()["deleted"]
        == len(codes) - 1
    )
    r = client.post(
        f"{API}/grid/generate",
        json={"division_code": VILLAGE, "cell_m": 200, "within": mapping(area)},
        headers=login("pd_urban_admin"),
    )
    assert r.status_code == 201 and len(r.json()["codes"]) < len(codes)


def test_generate_needs_login_and_the_urban_management_admin(client, db, login, urban_admin):
    body = {"division_code": VILLAGE, "cell_m": 100, "within": mapping(village_area(db, w=200, h=200))}
    assert client.post(f"{API}/grid/generate", json=body).status_code == 401
    r = client.post(f"{API}/grid/generate", json=body, headers=login("nh_gov"))  # another county's admin
    assert r.status_code == 403
    assert client.post(f"{API}/grid/generate", json=body, headers=login("pd_handler")).status_code == 403
    # the county government's administrator is not the keeper of the grid: the urban management bureau is
    r = client.post(f"{API}/grid/generate", json=body, headers=login("pd_gov"))
    assert r.status_code == 403 and "urban management" in r.json()["error"]["message"]
    assert _count(db, GridCell) == 0
    assert client.post(f"{API}/grid/generate", json=body, headers=login("admin")).status_code == 201


def _cells(db, n=4):
    area = village_area(db, w=200 * n, h=200)
    from govgrid.citymap import spatial

    return spatial.square_grid(area, 200)


def _fc(geoms, **extra):
    return {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "geometry": mapping(g), "properties": {}} for g in geoms],
        **extra,
    }


def test_import_geojson_and_reject_bad_geometry_all_or_nothing(client, db, login, urban_admin):
    geoms = _cells(db)
    bowtie = shapely.Polygon(
        [
            (geoms[0].bounds[0], geoms[0].bounds[1]),
            (geoms[0].bounds[2], geoms[0].bounds[3]),
            (geoms[0].bounds[2], geoms[0].bounds[1]),
            (geoms[0].bounds[0], geoms[0].bounds[3]),
        ]
    )
    bad = _fc(geoms[1:])
    bad["features"].append({"type": "Feature", "geometry": mapping(bowtie), "properties": {}})
    r = client.post(
        f"{API}/grid/import", params={"division_code": VILLAGE}, json=bad, headers=login("pd_urban_admin")
    )
    assert r.status_code == 422
    err = r.json()["error"]
    assert any("Self-intersection" in d["msg"] or "几何无效" in d["msg"] for d in err["details"])
    assert _count(db, GridCell) == 0  # nothing written
    far = shapely.box(113.0, 37.0, 113.001, 37.001)
    r = client.post(
        f"{API}/grid/import",
        params={"division_code": VILLAGE},
        json=_fc([*geoms, far]),
        headers=login("pd_urban_admin"),
    )
    assert r.status_code == 422 and any("outside" in d["msg"] for d in r.json()["error"]["details"])
    r = client.post(
        f"{API}/grid/import",
        params={"division_code": VILLAGE},
        json=_fc(geoms, crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3857"}}),
        headers=login("pd_urban_admin"),
    )
    assert r.status_code == 422 and "EPSG" in r.json()["error"]["message"]
    overlapping = [geoms[0], geoms[0].buffer(0.0002)]
    r = client.post(
        f"{API}/grid/import",
        params={"division_code": VILLAGE},
        json=_fc(overlapping),
        headers=login("pd_urban_admin"),
    )
    assert r.status_code == 422 and any("重叠" in d["msg"] for d in r.json()["error"]["details"])
    assert _count(db, GridCell) == 0
    ok = client.post(
        f"{API}/grid/import",
        params={"division_code": VILLAGE},
        json=_fc(geoms),
        headers=login("pd_urban_admin"),
    )
    assert ok.status_code == 201, ok.text
    assert len(ok.json()["codes"]) == len(geoms) and all(len(c) == 15 for c in ok.json()["codes"])
    dup = client.post(
        f"{API}/grid/import",
        params={"division_code": VILLAGE},
        json=_fc(geoms),
        headers=login("pd_urban_admin"),
    )
    assert dup.status_code == 422 and "已有网格" in json.dumps(dup.json(), ensure_ascii=False)


def test_import_malformed_bodies_are_4xx(client, login, urban_admin):
    h = login("pd_urban_admin")
    r = client.post(
        f"{API}/grid/import",
        params={"division_code": VILLAGE},
        content=b"{not json",
        headers={**h, "Content-Type": "application/json"},
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
    r = client.post(
        f"{API}/grid/import", params={"division_code": VILLAGE}, json={"type": "Feature"}, headers=h
    )
    assert r.status_code == 422
    r = client.post(f"{API}/grid/import", params={"division_code": "999999999"}, json=_fc([]), headers=h)
    assert r.status_code in (404, 422)


def test_upload_geopackage_via_pyogrio(client, db, login, tmp_path, urban_admin):
    geoms = _cells(db, n=3)
    path = tmp_path / "cells.gpkg"
    pyogrio.raw.write(
        str(path),
        geometry=np.array([g.wkb for g in geoms], dtype=object),
        field_data=[np.array([chr(65 + i) for i in range(len(geoms))], dtype=object)],
        fields=["name"],
        geometry_type="Polygon",
        crs="EPSG:4326",
        driver="GPKG",
    )
    r = client.post(
        f"{API}/grid/upload",
        params={"division_code": VILLAGE},
        headers=login("pd_urban_admin"),
        files={"file": ("cells.gpkg", path.read_bytes(), "application/geopackage+sqlite3")},
    )
    assert r.status_code == 201, r.text
    assert db.scalar(select(GridCell.name).where(GridCell.code == r.json()["codes"][0])) == "A"


def test_upload_projected_shapefile_is_refused(client, db, login, tmp_path, urban_admin):
    from govgrid.citymap import spatial

    geoms = _cells(db, n=2)
    proj = spatial.Projector.around(geoms[0])
    metric = [proj.to_metres(g) for g in geoms]
    shp = tmp_path / "cells.shp"
    pyogrio.raw.write(
        str(shp),
        geometry=np.array([g.wkb for g in metric], dtype=object),
        field_data=[],
        fields=[],
        geometry_type="Polygon",
        crs=proj.crs.to_wkt(),
        driver="ESRI Shapefile",
    )
    buf = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(buf, "w") as z:
        for f in tmp_path.glob("cells.*"):
            z.write(f, f.name)
    r = client.post(
        f"{API}/grid/upload",
        params={"division_code": VILLAGE},
        headers=login("pd_urban_admin"),
        files={"file": ("cells.zip", buf.getvalue(), "application/zip")},
    )
    assert r.status_code == 422
    assert "WGS 84" in r.json()["error"]["message"]
    r = client.post(
        f"{API}/grid/upload",
        params={"division_code": VILLAGE},
        headers=login("pd_urban_admin"),
        files={"file": ("cells.txt", b"hello", "text/plain")},
    )
    assert r.status_code == 422
    assert _count(db, GridCell) == 0


def test_parts_import_codes_and_all_or_nothing(client, db, login, grid, urban_admin):
    c = grid[0]
    good = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [c.center_lon, c.center_lat]},
            "properties": {"class_code": cc, "name": "测试"},
        }
        for cc in ("0102", "0102", "0115")
    ]
    bad = [
        *good,
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [c.center_lon, c.center_lat]},
            "properties": {"class_code": "9999"},
        },
    ]
    h = login("pd_urban_admin")
    r = client.post(
        f"{API}/parts/import",
        params={"county_code": "140321"},
        json={"type": "FeatureCollection", "features": bad},
        headers=h,
    )
    assert r.status_code == 422 and r.json()["error"]["details"][0]["loc"] == [
        "features",
        3,
        "properties",
        "class_code",
    ]
    assert _count(db, Part) == 0
    outside = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [114.8, 35.9]},
            "properties": {"class_code": "0102"},
        }
    ]
    r = client.post(
        f"{API}/parts/import",
        params={"county_code": "140321"},
        json={"type": "FeatureCollection", "features": outside},
        headers=h,
    )
    assert r.status_code == 422
    r = client.post(
        f"{API}/parts/import",
        params={"county_code": "140321"},
        json={"type": "FeatureCollection", "features": good},
        headers=h,
    )
    assert r.status_code == 201, r.text
    codes = r.json()["codes"]
    assert (
        codes[:2] == ["1403210102000001", "1403210102000002"] and codes[2] == "1403210115000001"
    )  # county+major+minor+serial
    assert db.scalar(select(Part.cell_code).where(Part.code == codes[0])) == c.code
    assert (
        client.post(
            f"{API}/parts/import",
            params={"county_code": "140321"},
            json={"type": "FeatureCollection", "features": good},
        ).status_code
        == 401
    )
    assert (
        client.post(
            f"{API}/parts/import",
            params={"county_code": "140321"},
            json={"type": "FeatureCollection", "features": good},
            headers=login("nh_gov"),
        ).status_code
        == 403
    )


def test_grid_layer_is_public_geojson(client, grid):
    r = client.get(f"{API}/map/grid", params={"county_code": "140321"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    fc = r.json()
    assert len(fc["features"]) == len(grid)
    assert fc["features"][0]["properties"]["open"] == 0
