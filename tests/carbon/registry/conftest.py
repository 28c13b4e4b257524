"""Registry fixtures: carbon demo users (inserted directly: argon2 is slow by design) and request helpers."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.core.departments import service as departments
from govgrid.core.identity.models import RoleAssignment, User

USERS = [
    ("jsh_forestry", "430611-forestry", "operator", "department"),
    ("jsh_ecology", "430611-ecology_environment", "operator", "department"),
    ("yy_verifier", "430600-ecology_environment", "verifier", "line"),
    ("hn_registry", "430000-ecology_environment", "admin", "line"),
    ("nh_forestry", "410527-forestry", "operator", "department"),
]

# A square of about 1.5 km x 1.5 km on the Junshan lake shore, inside 君山区 (430611).
JUNSHAN = {
    "type": "Polygon",
    "coordinates": [
        [[112.72, 29.47], [112.735, 29.47], [112.735, 29.485], [112.72, 29.485], [112.72, 29.47]]
    ],
}
JUNSHAN_EAST = {
    "type": "Polygon",
    "coordinates": [
        [[112.74, 29.47], [112.755, 29.47], [112.755, 29.485], [112.74, 29.485], [112.74, 29.47]]
    ],
}
HASHES = {"image_bas": "a" * 64, "image_alt": "b" * 64, "soil_samples": "c" * 64}


@pytest.fixture()
def carbon_users(db: Session) -> dict[str, User]:
    """The registry's demo roles, created in the test's transaction."""
    made = {}
    for username, dept_code, role, reach in USERS:
        user = db.scalar(select(User).where(User.username == username))
        if user is None:
            # "!" is an unusable hash: nobody logs in as this user
            user = User(username=username, display_name=username, password_hash="!", is_demo=True)
            db.add(user)
            db.flush()
            dept = departments.get_by_code(db, dept_code)
            db.add(RoleAssignment(user_id=user.id, department_id=dept.id, role=role, reach=reach))
            db.flush()
        made[username] = user
    return made


def project_body(**over):
    """A valid project registration for 君山区林业局."""
    body = {
        "name": "君山湿地测试项目",
        "department_code": "430611-forestry",
        "methodology": "ipcc_inland_wetland",
        "wetland_type": "lake",
        "tidal": False,
        "soil": "mineral",
        "boundary": JUNSHAN,
        "crediting_start": "2018-01-01",
        "crediting_end": "2037-12-31",
    }
    body.update(over)
    return body


def report_body(**over):
    """A monitoring report as the engine's result.json gives it."""
    body = {
        "vintage_start": 2018,
        "vintage_end": 2023,
        "methodology": "ipcc_inland_wetland",
        "net_creditable_tco2e": 1234.7,
        "area_ha": 225.0,
        "input_hashes": HASHES,
        "summary": {"stocks_tc": {"2018": 1000.0, "2023": 1400.0}},
    }
    body.update(over)
    return body


@pytest.fixture()
def flow(client, login, carbon_users):
    """Helpers that drive the registry through the API as the right roles."""

    class Flow:
        def project(self, **over):
            r = client.post(
                "/api/v1/carbon/projects", json=project_body(**over), headers=login("jsh_forestry")
            )
            assert r.status_code == 201, r.text
            return r.json()

        def report(self, project_id, **over):
            r = client.post(
                f"/api/v1/carbon/projects/{project_id}/reports",
                json=report_body(**over),
                headers=login("jsh_forestry"),
            )
            assert r.status_code == 201, r.text
            return r.json()

        def verify(self, report_id):
            r = client.post(
                f"/api/v1/carbon/reports/{report_id}/verify",
                json={"statement": "核查通过"},
                headers=login("yy_verifier"),
            )
            assert r.status_code == 200, r.text
            return r.json()

        def issue(self, report_id, **over):
            return client.post(
                "/api/v1/carbon/issuances",
                json={"report_id": report_id, **over},
                headers=login("hn_registry"),
            )

        def issued(self, **project_over):
            p = self.project(**project_over)
            rep = self.report(p["id"])
            self.verify(rep["id"])
            r = self.issue(rep["id"])
            assert r.status_code == 201, r.text
            return p, rep, r.json()

    return Flow()


def landcover_tif(arr: np.ndarray) -> bytes:
    """A tiny UTM 49N land-cover GeoTIFF over the test polygon (10 m pixels)."""
    from pyproj import Transformer

    x, y = Transformer.from_crs(4326, 32649, always_xy=True).transform(112.7275, 29.4775)
    with rasterio.MemoryFile() as mem:
        with mem.open(
            driver="GTiff",
            width=arr.shape[1],
            height=arr.shape[0],
            count=1,
            dtype="uint8",
            crs="EPSG:32649",
            transform=from_origin(x - 100, y + 100, 10, 10),
        ) as dst:
            dst.write(arr.astype("uint8"), 1)
        return mem.read()
