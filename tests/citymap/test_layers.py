"""The map's grid layer (citymap.services.layers.grid_layer, GET /api/v1/citymap/map/grid): valid GeoJSON with
each cell's geometry, names escaped (quotes, backslashes, Chinese as is) and the open and overdue counts."""

import json
from datetime import timedelta

from sqlalchemy import select

from govgrid.citymap.models import Case, GridCell
from govgrid.core.db import utcnow
from tests.citymap.conftest import VILLAGE

API = "/api/v1/citymap"


def _case(db, cell: GridCell, n: int, *, state: str = "filed", overdue: bool = False) -> None:
    now = utcnow()
    db.add(Case(code=f"L{n:08d}", source="inspector", kind="event", class_code="0101", description="暴露垃圾",
                reporter_type="system",
                lon=cell.center_lon, lat=cell.center_lat, cell_code=cell.code, county_code=cell.county_code,
                division_code=cell.division_code, division_path=cell.division_path, state=state,
                reported_at=now,
                deadline_at=now - timedelta(hours=1) if overdue else now + timedelta(days=1)))


def test_grid_layer_is_geojson_with_escaped_names_and_counts(client, db, grid):
    cells = list(db.scalars(
        select(GridCell).where(GridCell.division_code == VILLAGE).order_by(GridCell.code)))
    first, second = cells[0], cells[1]
    first.name = '网格"一"\\号 <b>'
    _case(db, first, 1)
    _case(db, first, 2, overdue=True)
    _case(db, second, 3, state="closed")  # closed: not counted
    db.commit()
    r = client.get(f"{API}/map/grid", params={"county_code": first.county_code})  # public: no login
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    layer = json.loads(r.text)
    features = {f["id"]: f for f in layer["features"]}
    assert layer["type"] == "FeatureCollection" and set(features) >= {c.code for c in cells}
    one = features[first.code]
    assert one["properties"] == {"code": first.code, "name": '网格"一"\\号 <b>', "division_code": VILLAGE,
                                 "area_m2": first.area_m2, "open": 2, "overdue": 1}
    assert one["geometry"] == json.loads(first.geometry)
    assert features[second.code]["properties"]["open"] == 0
    assert '"一"' not in r.text  # the quotes arrive escaped inside the JSON string, not raw
    only_village = client.get(f"{API}/map/grid", params={"county_code": first.county_code,
                                                         "division_code": VILLAGE}).json()
    assert {f["id"] for f in only_village["features"]} == {c.code for c in cells}


def test_grid_layer_refuses_a_bad_county_code(client):
    r = client.get(f"{API}/map/grid", params={"county_code": "14032x"})
    assert r.status_code in (400, 422) and "error" in r.json()
