"""Exchange pages: they render for a logged-in user, redirect anonymous visitors, and their forms work."""

import json

import pytest

from govgrid.exchange.services import sharing
from tests.exchange.conftest import principal, request_data

PAGES = ["/exchange", "/exchange/requests", "/exchange/grants", "/exchange/matrix"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_redirect_anonymous_visitors_to_login(client, path):
    r = client.get(path, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_catalog_search_page_lists_entries(client, login, people):
    r = client.get("/exchange", params={"q": "人口"}, headers=login("nh_handler"))
    assert r.status_code == 200
    assert people.code in r.text and "有条件共享" in r.text


def test_resource_page_shows_items_and_request_form(client, login, people):
    r = client.get(f"/exchange/resources/{people.code}", headers=login("nh_handler"))
    assert r.status_code == 200
    assert "公民身份号码" in r.text and 'id="request-form"' in r.text
    r = client.get(f"/exchange/resources/{people.code}", headers=login("nh_tax"))
    assert 'id="request-form"' not in r.text  # the provider reads its own data


def test_request_form_and_inbox_decision(client, login, db, people):
    r = client.post(
        f"/exchange/resources/{people.code}/request",
        data={
            "purpose": "低保复核身份核对",
            "legal_basis": "《社会救助暂行办法》",
            "fields": ["name", "village_code"],
        },
        headers=login("nh_handler"),
        follow_redirects=False,
    )
    assert r.status_code == 303
    inbox = client.get("/exchange/requests", headers=login("nh_tax"))
    assert "低保复核身份核对" in inbox.text
    req_id = int(r.headers["location"].rsplit("id=", 1)[1])
    r = client.post(
        f"/exchange/requests/{req_id}/decision",
        data={"action": "approve"},
        headers=login("nh_tax"),
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get("/exchange/grants", headers=login("nh_handler"))
    assert people.name in page.text and "有效" in page.text


def test_matrix_page_renders_heat_map_data(client, login, db, people):
    req = sharing.submit_request(db, actor=principal(db, "nh_handler"), data=request_data(people.code))
    sharing.decide(db, actor=principal(db, "nh_tax"), request_id=req.id, action="approve")
    db.flush()
    r = client.get("/exchange/matrix", params={"division": "410527"}, headers=login("nh_gov"))
    assert r.status_code == 200 and "Plotly.newPlot" in r.text
    line = r.text[r.text.index("var heat = ") + len("var heat = ") :].split("\n", 1)[0]
    heat = json.loads(line.rstrip(";"))  # serialised with |tojson: safe inside <script>
    assert "城市管理" in heat["x"] and heat["z"] == [[1]]
    assert (
        client.get("/exchange/matrix", params={"division": "410527"}, headers=login("pd_handler")).status_code
        == 403
    )


def test_page_errors_are_html_4xx(client, login):
    r = client.get("/exchange/resources/NOPE-1", headers={**login("nh_handler"), "Accept": "text/html"})
    assert r.status_code == 404 and "<html" in r.text
