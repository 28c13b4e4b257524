"""core.geofiles: the vector reader's GDAL keeps only the upload drivers (a driver allow-list)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyogrio
import pyogrio.raw
import pytest
import shapely

from govgrid.core import geofiles
from govgrid.core.errors import ValidationFailedError


def _gpkg(tmp_path: Path) -> bytes:
    path = tmp_path / "parcels.gpkg"
    square = shapely.box(113.0, 30.0, 113.01, 30.01)
    pyogrio.raw.write(str(path), geometry=np.array([square.wkb], dtype=object),
                      field_data=[np.array(["东洞庭湖"], dtype=object)], fields=["name"],
                      geometry_type="Polygon", crs="EPSG:4326", driver="GPKG")
    return path.read_bytes()


def test_after_an_upload_only_gpkg_and_shapefile_drivers_remain(tmp_path):
    data = geofiles.read_vector("parcels.gpkg", _gpkg(tmp_path))
    assert [f["properties"]["name"] for f in data.features] == ["东洞庭湖"]
    assert set(pyogrio.list_drivers()) == {"GPKG", "ESRI Shapefile"}


def test_a_csv_connection_file_cannot_be_opened_by_any_driver(tmp_path):
    geofiles.restrict_vector_drivers()
    source = tmp_path / "rows.csv"
    source.write_text("WKT,name\nPOINT (1 2),x\n", encoding="utf-8")
    with pytest.raises(pyogrio.errors.DataSourceError):
        pyogrio.read_info(str(source))


def test_a_renamed_geojson_is_refused_before_gdal(tmp_path):
    with pytest.raises(ValidationFailedError):
        geofiles.read_vector("parcels.gpkg", b'{"type": "FeatureCollection", "features": []}')


def test_a_sqlite_file_that_is_no_geopackage_is_a_422_naming_the_upload(tmp_path):
    # passes the magic-byte check (an SQLite header); the GeoPackage driver, named at the open, refuses it
    import sqlite3

    plain = tmp_path / "plain.db"
    with sqlite3.connect(plain) as conn:
        conn.execute("CREATE TABLE t (x)")
    with pytest.raises(ValidationFailedError) as refused:
        geofiles.read_vector("parcels.gpkg", plain.read_bytes())
    assert "parcels.gpkg" in str(refused.value.details or refused.value) and str(tmp_path) not in str(
        refused.value.details
    )
