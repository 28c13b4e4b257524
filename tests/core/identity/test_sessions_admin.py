"""An administrator sees the open logins of the users it manages and ends one at once; nobody else can."""

from __future__ import annotations

from tests.live import DEMO_PASSWORD


def _bearer(client, username: str) -> dict[str, str]:
    token = client.post("/api/v1/auth/token", data={"username": username, "password": DEMO_PASSWORD}).json()
    return {"Authorization": f"Bearer {token['access_token']}"}


def test_an_admin_lists_and_ends_a_login_of_its_user(client, db, login):
    viewer = _bearer(client, "nh_viewer")
    listed = client.get("/api/v1/sessions", headers=login("nh_gov"))
    assert listed.status_code == 200
    mine = [row for row in listed.json() if row["username"] == "nh_viewer"]
    assert mine and mine[0]["kind"] == "bearer"
    gone = client.delete(f"/api/v1/sessions/{mine[0]['id']}", headers=login("nh_gov"))
    assert gone.status_code == 204
    assert client.get("/api/v1/me", headers=viewer).status_code == 401


def test_another_county_and_anonymous_cannot_see_or_end_it(client, db, login):
    _bearer(client, "nh_viewer")
    rows = client.get("/api/v1/sessions", headers=login("nh_gov")).json()
    target = next(row for row in rows if row["username"] == "nh_viewer")
    assert client.get("/api/v1/sessions").status_code == 401
    assert client.delete(f"/api/v1/sessions/{target['id']}").status_code == 401
    other = client.get("/api/v1/sessions", headers=login("pd_gov")).json()
    assert all(row["username"] != "nh_viewer" for row in other)
    assert client.delete(f"/api/v1/sessions/{target['id']}", headers=login("pd_gov")).status_code == 404
    assert client.get("/api/v1/sessions", headers=login("nh_viewer")).status_code == 403
