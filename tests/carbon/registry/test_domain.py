"""Pure domain helpers of the registry: geodesic areas and overlaps, serial labels, per-project totals."""

from __future__ import annotations

import pytest
from shapely.geometry import box

from govgrid.carbon.serials import serial_label
from govgrid.carbon.services.public import totals_per_project
from govgrid.carbon.spatial import OVERLAP_TOLERANCE_HA, boundary_geometry, geodesic_area_ha, overlap_ha


def test_geodesic_area_and_overlaps():
    a = box(112.72, 29.47, 112.735, 29.485)
    ha = geodesic_area_ha(a)
    assert 200 < ha < 260  # 0.015 deg x 0.015 deg at 29.5 N
    assert overlap_ha(a, box(112.735, 29.47, 112.75, 29.485)) == 0.0  # touching neighbours share no area
    assert overlap_ha(a, box(112.80, 29.47, 112.81, 29.48)) == 0.0
    half = overlap_ha(a, box(112.7275, 29.47, 112.75, 29.485))
    assert half == pytest.approx(ha / 2, rel=1e-3)
    sliver = box(112.7349999, 29.47, 112.736, 29.485)  # 1e-7 deg wide inside a: about 0.02 m
    assert overlap_ha(a, sliver) < OVERLAP_TOLERANCE_HA
    assert boundary_geometry('{"type": "Point", "coordinates": [1, 2]}').geom_type == "Point"


def test_serial_label_and_totals_per_project():
    assert (
        serial_label("P430611-001", 2018, 2023, 1, 12414) == "CN-GG-P430611-001-2018-2023-000000001-000012414"
    )
    reg = {
        "issuances": [{"project_code": "A", "quantity": 10}, {"project_code": "B", "quantity": 5}],
        "retirements": [{"project_code": "A", "quantity": 3}, {"project_code": "A", "quantity": 2}],
    }
    assert totals_per_project(reg) == {"A": {"issued": 10, "retired": 5}, "B": {"issued": 5, "retired": 0}}
