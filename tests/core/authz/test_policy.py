"""Deny by default: each role sees its department, its line below it, or its division, nothing else."""

from sqlalchemy import select

from govgrid.core.departments.models import Department


def _dept(db, code):
    return db.scalar(select(Department).where(Department.code == code))


def _codes(client, headers, **params):
    r = client.get("/api/v1/departments", headers=headers, params={"limit": 500, **params})
    assert r.status_code == 200, r.text
    return {d["code"] for d in r.json()["items"]}


def test_neihuang_user_cannot_read_a_pingding_department(client, db, login):
    pd_tax = _dept(db, "140321-tax")
    h = login("nh_gov")
    assert client.get(f"/api/v1/departments/{pd_tax.id}", headers=h).status_code == 403
    assert client.get(f"/api/v1/departments/{pd_tax.id}/members", headers=h).status_code == 403
    assert "140321-tax" not in _codes(client, h)


def test_city_line_role_sees_its_counties_same_line_and_no_other(client, db, login):
    codes = _codes(client, login("ay_tax"))
    assert "410500-tax" in codes and "410527-tax" in codes
    assert all(c.endswith("-tax") for c in codes), codes
    assert not any(c.startswith(("140321", "430611")) for c in codes)
    nh_finance = _dept(db, "410527-finance")
    assert client.get(f"/api/v1/departments/{nh_finance.id}", headers=login("ay_tax")).status_code == 403


def test_county_office_sees_every_department_of_its_county_and_below(client, login):
    codes = _codes(client, login("nh_gov"))
    assert {"410527-tax", "410527-finance", "410527-civil_affairs"} <= codes
    assert any(c.startswith("410527100") for c in codes), "township governments belong to the county"
    assert not any(c.startswith(("410500-", "410000-")) for c in codes), "the level above is not the county's"
    assert not any(c.startswith("140321") for c in codes)


def test_department_role_sees_only_its_department(client, login):
    assert _codes(client, login("nh_tax")) == {"410527-tax"}


def test_city_department_is_parent_of_county_department(db):
    assert _dept(db, "410527-tax").parent_id == _dept(db, "410500-tax").id
    assert _dept(db, "410500-tax").parent_id == _dept(db, "410000-tax").id


def test_anonymous_gets_401_on_departments(client):
    r = client.get("/api/v1/departments")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthorized"


def test_matrix_lists_lines_by_divisions(client, login):
    r = client.get("/api/v1/matrix", headers=login("nh_gov"))
    assert r.status_code == 200
    body = r.json()
    assert "410527" in {d["code"] for d in body["divisions"]}
    assert body["cells"]["tax"]["410527"]["name"] == "内黄县税务局"
    assert "140321" not in {d["code"] for d in body["divisions"]}
