"""Market pages through the app: public pages in zh-CN (and English on request), login for trader pages,
CSRF on every form, forms that act as the role that posts them and come back with the reason on refusal."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from govgrid.carbon.models import MarketListing, MarketOrder
from tests.conftest import cookie_login, csrf_token

M = "/carbon/market"
ENGLISH = re.compile(r"\b(Listed sale|Open listings|Bidding closes|Settled|Payment|Withdraw)\b")


@pytest.mark.parametrize("path", ["", "/benefits"])
def test_public_pages_in_chinese_and_english(client, path):
    r = client.get(M + path, headers={"Accept": "text/html"})
    assert r.status_code == 200 and "碳汇交易" in r.text
    assert not ENGLISH.search(r.text)
    en = client.get(M + path + "?lang=en", headers={"Accept": "text/html"})
    assert "Carbon market" in en.text


@pytest.mark.parametrize("path", ["/sell", "/mine", "/supervision"])
def test_trader_pages_need_login(client, path):
    r = client.get(M + path, headers={"Accept": "text/html"}, follow_redirects=False)
    assert r.status_code in (302, 303) and "/login" in r.headers["location"]


def test_form_without_csrf_is_refused_and_writes_nothing(client, db, mk):
    cookie_login(client, db, "jsh_forestry")
    count = db.scalar(select(func.count(MarketListing.id)))
    r = client.post(
        M + "/sell",
        data={"holding": f"{mk.project_id}:2018:2023", "mode": "listed", "quantity": "5", "price": "60"},
        follow_redirects=False,
    )
    assert r.status_code == 403
    assert db.scalar(select(func.count(MarketListing.id))) == count


def test_holder_lists_and_buyer_buys_through_forms(client, db, mk):
    cookie_login(client, db, "jsh_forestry")
    page = client.get(M + "/sell", headers={"Accept": "text/html"})
    assert "可挂牌碳汇" in page.text and "挂牌转让" in page.text
    token = csrf_token(client, M + "/sell")
    holding = f"{mk.project_id}:{mk.issuance['vintage_start']}:{mk.issuance['vintage_end']}"
    r = client.post(
        M + "/sell",
        data={"csrf_token": token, "holding": holding, "mode": "listed", "quantity": "5", "price": "60.5"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].endswith("?ok=1")
    listing = db.scalar(select(MarketListing).order_by(MarketListing.id.desc()))
    assert listing.quantity == 5
    # a refused listing comes back with the reason, in Chinese
    r = client.post(
        M + "/sell",
        data={"csrf_token": token, "holding": holding, "mode": "listed", "quantity": "0", "price": "60"},
        follow_redirects=True,
    )
    assert "数量须为" in r.text
    client.cookies.clear()
    cookie_login(client, db, "gx_trader")
    token = csrf_token(client, f"{M}/listings/{listing.id}")
    r = client.post(
        f"{M}/listings/{listing.id}/order",
        data={"csrf_token": token, "quantity": "3", "price": "60.50"},
        follow_redirects=True,
    )
    assert r.status_code == 200 and "待付款" in r.text
    assert db.scalar(select(MarketOrder).where(MarketOrder.listing_id == listing.id)).filled == 3


def test_supervision_page_is_for_supervisors_only(client, db, mk):
    cookie_login(client, db, "gx_trader")
    r = client.get(M + "/supervision", headers={"Accept": "text/html"})
    assert r.status_code == 403
    client.cookies.clear()
    cookie_login(client, db, "hn_registry")
    r = client.get(M + "/supervision", headers={"Accept": "text/html"})
    assert r.status_code == 200 and "异常交易预警" in r.text


def test_untrusted_text_is_escaped(client, db, mk):
    _, _, trade = mk.bought(quantity=2)
    r = client.post(
        f"/api/v1/carbon/market/trades/{trade['id']}/retirements",
        json={
            "quantity": 1,
            "beneficiary": "<script>alert(1)</script>",
            "reason": "<img src=x onerror=alert(1)>",
        },
        headers={"Authorization": mk_login(db, "gx_trader")},
    )
    assert r.status_code == 201
    page = client.get(f"{M}/certificates/{r.json()['number']}", headers={"Accept": "text/html"})
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;" in page.text


def mk_login(db, username):
    from tests.conftest import auth_headers

    return auth_headers(db, username)["Authorization"]


@pytest.mark.parametrize(
    "path",
    [
        "/sell",
        "/listings/1/order",
        "/listings/1/cancel",
        "/listings/1/close",
        "/trades/1/pay",
        "/trades/1/retire",
        "/trades/1/confirm",
        "/flags/1/review",
    ],
)
def test_anonymous_form_posts_go_to_login(client, path):
    token = csrf_token(client)
    r = client.post(
        M + path, data={"csrf_token": token}, headers={"Accept": "text/html"}, follow_redirects=False
    )
    assert r.status_code in (302, 303, 401) and (r.status_code == 401 or "/login" in r.headers["location"])
