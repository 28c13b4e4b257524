"""Who oversees carbon projects through a territory: division reach, or line reach in the registry's own line
(ecology_environment); line reach in another line covers that line's departments only."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from govgrid.carbon.pages import report_chart
from govgrid.core.departments import service as departments
from govgrid.core.identity.models import RoleAssignment, User

P = "/api/v1/carbon"


def _user(db, username, dept_code, role, reach):
    user = db.scalar(select(User).where(User.username == username))
    if user is None:
        user = User(username=username, display_name=username, password_hash="!")  # an unusable hash
        db.add(user)
        db.flush()
        dept = departments.get_by_code(db, dept_code)
        db.add(RoleAssignment(user_id=user.id, department_id=dept.id, role=role, reach=reach))
        db.flush()
    return user


@pytest.mark.parametrize(
    ("username", "dept", "role", "reach", "sees"),
    [
        # other lines with line reach over the project's territory: nothing
        ("yy_health_admin", "430600-health", "admin", "line", False),
        ("hn_tax_supervisor", "430000-tax", "supervisor", "line", False),
        ("yy_city_verifier", "430600-urban_management", "verifier", "line", False),  # city-map case verifier
        # the registry's line, above the project: its verifiers, administrators and supervisors
        ("yy_eco_supervisor", "430600-ecology_environment", "supervisor", "line", True),
        ("hn_registry", "430000-ecology_environment", "admin", "line", True),
        # the proponent's own line above it (policy.scope) and the county's division-wide overseers
        ("yy_forestry_admin", "430600-forestry", "admin", "line", True),
        ("jsh_gov", "430611-government", "admin", "division", True),
        # the registry's line in another province
        ("hen_eco_admin", "410000-ecology_environment", "admin", "line", False),
    ],
)
def test_territory_oversight_of_projects(client, login, flow, db, username, dept, role, reach, sees):
    p = flow.project()
    _user(db, username, dept, role, reach)
    h = login(username)
    listed = [x["id"] for x in client.get(P + "/projects", headers=h).json()["items"]]
    assert (p["id"] in listed) is sees
    assert client.get(f"{P}/projects/{p['id']}", headers=h).status_code == (200 if sees else 403)
    page = client.get("/carbon/projects", headers=h)
    assert page.status_code == 200 and (p["code"] in page.text) is sees


def test_only_registry_line_verifiers_verify(client, login, flow, db):
    p = flow.project()
    rep = flow.report(p["id"])
    _user(db, "yy_city_verifier", "430600-urban_management", "verifier", "line")
    _user(db, "jsh_city_verifier_div", "430611-urban_management", "verifier", "division")
    for who in ("yy_city_verifier", "jsh_city_verifier_div"):
        r = client.post(f"{P}/reports/{rep['id']}/verify", json={"statement": "ok"}, headers=login(who))
        assert r.status_code == 403, (who, r.text)
        assert "ecology_environment" in r.json()["error"]["message"]
    assert flow.verify(rep["id"])["status"] == "verified"


class _Report:
    id = 1
    vintage_start, vintage_end = 2018, 2023

    def __init__(self, summary):
        self.summary = summary


def test_charts_take_only_epochs_and_numbers_from_a_summary():
    chart = report_chart(
        _Report(
            {
                "stocks_tc": {
                    "2018": 10.5,
                    "2023": 12,
                    "<b>x</b>": 1.0,
                    "2020": "<img>",
                    "2021": float("nan"),
                },
                "credit": {
                    "net_creditable_tco2e": 3.0,
                    "buffer_tco2e": "</script>",
                    "other": 1,
                    "leakage_tco2e": True,
                },
            }
        )
    )
    assert chart == {
        "id": 1,
        "vintage": [2018, 2023],
        "stocks": {"2018": 10.5, "2023": 12.0},
        "credit": {"net_creditable_tco2e": 3.0},
    }
    assert report_chart(_Report({"stocks_tc": ["x"], "credit": "y"}))["stocks"] == {}
