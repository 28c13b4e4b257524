"""Security findings on the appeals module (issues 11 and 12): one test per finding, each with the finding's
payload."""

from __future__ import annotations

import inspect
import json
import re
import secrets
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import xmltodict
from fastapi.routing import APIRoute
from sqlalchemy import select
from wechatpy.crypto import WeChatCrypto

from govgrid.appeals.models import Ticket
from govgrid.config import get_settings, set_settings
from govgrid.core.deps import get_session
from govgrid.demo import DEMO_PASSWORD
from tests.appeals.conftest import (
    count_tickets,
    ensure_world,
    now_ts,
    village_point,
    wechat_signature,
)

API = "/api/v1/appeals"
O311 = "/open311/v2"
WECHAT = "/channels/wechat/neihuang"
HTML = {"Accept": "text/html"}
HOSTILE = "</script><script>alert(1)</script><img src=x onerror=alert(2)>"


@pytest.fixture(scope="session")
def appeals_world(database_url: str) -> dict[str, str]:
    """The committed appeals world of tests/appeals (channel, Open311 key, default jurisdiction, users)."""
    return ensure_world()


@pytest.fixture()
def world(appeals_world, db):
    """The committed world, inside the test's rolled-back transaction."""
    return appeals_world


@pytest.fixture(autouse=True)
def _no_city_map_subscriber(monkeypatch):
    """The city map's subscriber opens its own transaction, which cannot nest in the rolled-back test
    connection."""
    from govgrid.appeals.services import classifier, routing
    from govgrid.core import ports

    monkeypatch.setattr(ports, "report_city_event", lambda session, report: None)
    classifier.forget_model()
    routing.clear_caches()
    yield
    classifier.forget_model()
    routing.clear_caches()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def served_app(app, appeals_world):
    """The app served by uvicorn in a thread over the committed test database."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=_free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{server.config.port}"
    server.should_exit = True
    thread.join(timeout=10)


def _uses_session(dependant) -> bool:
    return any(d.call is get_session or _uses_session(d) for d in dependant.dependencies)


# ---------------------------------------------------------------------------------------- issue 11 #1


def test_open311_post_never_blocks_the_server(served_app, monkeypatch):
    """Ten Open311 POSTs with an invalid api_key whose database work is slow: /healthz still answers at once.

    The database work is made slow (the key lookup waits) instead of holding SQLite's lock, so the test is the
    same on SQLite and PostgreSQL: an `async def` handler would wait on the event loop and freeze every
    request."""
    from govgrid.appeals import api, callbacks, open311, pages

    offenders = [
        f"{sorted(r.methods)} {r.path}"
        for module in (api, callbacks, open311, pages)
        for r in module.router.routes
        if isinstance(r, APIRoute) and inspect.iscoroutinefunction(r.endpoint) and _uses_session(r.dependant)
    ]
    assert offenders == []

    from govgrid.core.identity import service as identity

    release, entered = threading.Event(), threading.Event()

    def slow_lookup(session, key):
        entered.set()
        release.wait(10)

    monkeypatch.setattr(identity, "load_api_key_principal", slow_lookup)
    payload = {
        "api_key": "gg_deadbeef_invalid",
        "service_code": "garbage",
        "lat": "35.89",
        "long": "114.80",
        "description": "堆放垃圾",
        "jurisdiction_id": "410527",
    }
    health, elapsed = None, None
    with ThreadPoolExecutor(10) as pool:
        posts = [
            pool.submit(httpx.post, served_app + O311 + "/requests.json", data=payload, timeout=30)
            for _ in range(10)
        ]
        try:
            assert entered.wait(10), "no POST reached the key lookup"
            started = time.perf_counter()
            try:
                health = httpx.get(served_app + "/healthz", timeout=3)
            except httpx.TimeoutException:
                health = None
            elapsed = time.perf_counter() - started
        finally:
            release.set()
        answers = [p.result() for p in posts]
    assert health is not None and health.status_code == 200, "the server froze while Open311 POSTs waited"
    assert elapsed < 2
    assert all(a.status_code == 403 and a.json()[0]["code"] == 403 for a in answers)


# ---------------------------------------------------------------------------------------- issue 11 #2


def test_intake_is_idempotent_with_an_idempotency_key(client, world, db, login):
    lon, lat = village_point(db, "410527102200")
    before = count_tickets(db)
    body = {"description": "井店镇人民路路面塌陷有大坑", "lon": lon, "lat": lat}
    key = {"Idempotency-Key": "retry-" + secrets.token_hex(6)}
    first = client.post(f"{API}/tickets", json=body, headers=key)
    again = client.post(f"{API}/tickets", json=body, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert count_tickets(db) == before + 1
    other = client.post(f"{API}/tickets", json={**body, "description": "别的诉求"}, headers=key)
    assert other.status_code == 422 and other.json()["error"]["details"][0]["loc"] == [
        "header",
        "Idempotency-Key",
    ]
    # the hotline (per call-taker) and Open311 (per API key)
    hot = {"description": "楚旺镇停水两天了", "division_code": "410527"}
    h1 = client.post(f"{API}/hotline", json=hot, headers={**key, **login("nh_operator")})
    h2 = client.post(f"{API}/hotline", json=hot, headers={**key, **login("nh_operator")})
    assert h1.status_code == h2.status_code == 201 and h1.json()["number"] == h2.json()["number"]
    assert h2.headers.get("Idempotent-Replayed") == "true"
    form = {
        "api_key": world["api_key"],
        "service_code": "garbage",
        "lat": str(lat),
        "long": str(lon),
        "description": "东关村垃圾没人清运",
    }
    o1 = client.post(f"{O311}/requests.json", data=form, headers=key)
    o2 = client.post(f"{O311}/requests.xml", data=form, headers=key)
    assert o1.status_code == o2.status_code == 200 and o2.headers.get("Idempotent-Replayed") == "true"
    row1, row2 = o1.json()[0], xmltodict.parse(o2.content)["service_requests"]["request"]
    assert row1["service_request_id"] == row2["service_request_id"] and row1["token"] == row2["token"]
    assert client.get(f"{O311}/tokens/{row1['token']}.json").json() == [
        {"service_request_id": row1["service_request_id"], "token": row1["token"]}
    ]
    assert (
        client.post(
            f"{O311}/requests.json", data={**form, "description": "另一件事"}, headers=key
        ).status_code
        == 400
    )
    assert count_tickets(db) == before + 3


# ---------------------------------------------------------------------------------------- issue 11 #4


@pytest.fixture(scope="module")
def appeals_site(tmp_path_factory):
    """`govgrid serve` over its own demo database (tests.live), for the browser."""
    from tests import live

    server = live.start(tmp_path_factory.mktemp("appeals-live"))
    yield server
    server.stop()


def _live_village_point(db_path: Path, code: str = "410527100200") -> tuple[float, float]:
    from shapely.geometry import shape

    with sqlite3.connect(db_path) as conn:
        boundary = conn.execute("SELECT boundary FROM divisions WHERE code = ?", (code,)).fetchone()[0]
    p = shape(json.loads(boundary)).representative_point()
    return round(p.x, 6), round(p.y, 6)


@pytest.mark.browser
def test_hostile_ticket_text_never_executes_in_any_page(appeals_site, chromium):
    """A ticket whose text is markup, filed through the resident form and the hotline form in a real browser,
    shows as text on the tracking, desk and ticket pages (and the ticket can be dispatched there); village
    names that are markup show as text in the statistics map's tooltips: no dialog opens, no element is made
    from a name."""
    from playwright.sync_api import expect

    lon, lat = _live_village_point(appeals_site.db_path)
    with sqlite3.connect(appeals_site.db_path) as conn:  # every 内黄县 village gets a hostile name
        conn.execute(
            "UPDATE divisions SET name = ? WHERE level = 'village' AND code LIKE '410527%'",
            ("东关村<img src=x onerror=alert(3)>",),
        )
    page = chromium.new_page(viewport={"width": 1300, "height": 900})
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    base = appeals_site.url
    # the resident's form (CSRF token from the page)
    page.goto(base + "/appeals/report")
    page.fill("#description", HOSTILE)
    page.fill("#lon", str(lon))
    page.fill("#lat", str(lat))
    page.fill("#reporter_name", "张三")
    page.click("#report-form button.btn-primary[type=submit]")
    code = page.locator("#tracking-code").inner_text().strip()
    assert len(code) == 10
    page.goto(f"{base}/appeals/track?code={code}")
    assert "<script>alert(1)</script>" in page.locator(".card-body h2").inner_text()
    # staff: log in through the form as the dispatcher, file a hotline call, work the desk and the ticket
    page.goto(base + "/login")
    page.fill("#username", "nh_dispatcher")
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    page.goto(base + "/appeals/hotline")
    page.fill("textarea[name=description]", HOSTILE)
    page.fill("input[name=reporter_name]", "李四")
    page.click("form[action='/appeals/hotline'] button")
    page.wait_for_selector("#created")
    page.goto(base + "/appeals/desk?view=inbox")
    assert "<script>alert(1)</script>" in page.locator("#tickets").inner_text()
    page.locator("#tickets a").first.click()
    page.wait_for_selector("#dispatch-form")
    assert "<script>alert(1)</script>" in page.locator("h1").inner_text()
    page.click("#dispatch-form button")
    expect(page.locator("#state")).to_contain_text("待签收")
    page.goto(base + "/appeals/stats?division=410527")
    page.locator("#map path.leaflet-interactive").first.hover()
    expect(page.locator(".leaflet-tooltip")).to_contain_text("onerror=alert(3)")
    assert page.locator(".leaflet-tooltip img").count() == 0
    page.goto(base + "/appeals/stats/monthly?division=410527")
    page.wait_for_load_state("load")
    page.close()
    assert dialogs == []


# ---------------------------------------------------------------------------------------- issue 12 #7


def test_rates_config_needs_the_platform_administrator(client, world, db, login):
    body = {
        "response_basis": "contacted",
        "resolution_basis": "closed",
        "basic_weight": 0.0,
        "weights": {"response": 100, "resolution": 0, "satisfaction": 0},
    }
    before = client.get(f"{API}/config/rates").json()
    for user in ("jsh_data", "nh_gov"):  # a 君山区 department admin; a county admin with reach division
        r = client.put(f"{API}/config/rates", json=body, headers=login(user))
        assert r.status_code == 403, (user, r.text)
    assert client.get(f"{API}/config/rates").json() == before
    r = client.put(f"{API}/config/rates", json=body, headers=login("admin"))
    assert r.status_code == 200 and client.get(f"{API}/config/rates").json()["weights"]["response"] == 100


# ---------------------------------------------------------------------------------------- issue 12 #8


def _text_xml(content: str, msg_id: int) -> str:
    return (
        "<xml><ToUserName><![CDATA[gh_demo]]></ToUserName><FromUserName><![CDATA[oReplay]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )


def _plain(client, world, xml: str, ts: str, nonce: str):
    sig = wechat_signature(world["token"], ts, nonce)
    return client.post(
        WECHAT, params={"signature": sig, "timestamp": ts, "nonce": nonce}, content=xml.encode()
    )


def _safe(client, world, xml: str, ts: str, nonce: str):
    crypto = WeChatCrypto(world["token"], world["aes_key"], world["app_id"])
    envelope = crypto.encrypt_message(xml, nonce, ts)
    params = {
        "signature": wechat_signature(world["token"], ts, nonce),
        "timestamp": ts,
        "nonce": nonce,
        "encrypt_type": "aes",
        "msg_signature": xmltodict.parse(envelope)["xml"]["MsgSignature"],
    }
    return lambda: client.post(WECHAT, params=params, content=envelope.encode())


def test_wechat_callbacks_cannot_be_replayed(client, world, db):
    before = count_tickets(db)
    # a year-2001 timestamp with its (captured) valid signature
    old = _plain(client, world, _text_xml("城关镇路灯不亮", 920001), "978307200", "oldnonce1")
    assert old.status_code == 403
    # a nonce used once: the same nonce again (another body: plaintext signatures do not cover it) is refused
    nonce, ts = secrets.token_hex(8), now_ts()
    assert _plain(client, world, _text_xml("城关镇路灯不亮", 920002), ts, nonce).status_code == 200
    replayed = _plain(client, world, _text_xml("伪造的另一条诉求", 920003), ts, nonce)
    assert replayed.status_code == 403 and replayed.json()["error"]["code"] == "wechat_replay"
    send = _safe(client, world, _text_xml("张龙乡河里发臭", 920004), now_ts(), secrets.token_hex(8))
    assert send().status_code == 200 and send().status_code == 403  # the captured safe-mode request, replayed
    refs = db.scalars(select(Ticket.channel_ref).where(Ticket.channel_ref.like("neihuang:92000%"))).all()
    assert sorted(refs) == ["neihuang:920002", "neihuang:920004"] and count_tickets(db) == before + 2
    # outside demo mode only safe mode is accepted
    saved = get_settings()
    set_settings(saved.model_copy(update={"demo_mode": False}))
    try:
        plain = _plain(client, world, _text_xml("后河镇停水", 920005), now_ts(), secrets.token_hex(8))
        assert plain.status_code == 403 and plain.json()["error"]["code"] == "wechat_safe_mode_required"
        assert (
            _safe(
                client, world, _text_xml("后河镇停水", 920006), now_ts(), secrets.token_hex(8)
            )().status_code
            == 200
        )
    finally:
        set_settings(saved)
    assert count_tickets(db) == before + 3


# ---------------------------------------------------------------------------------------- issue 12 #10


def test_hotline_files_only_into_the_call_takers_territory(client, world, db, login):
    before = count_tickets(db)
    r = client.post(
        f"{API}/hotline",
        json={"description": "楚旺镇停水两天了", "division_code": "410527"},
        headers=login("jsh_tax"),
    )
    assert r.status_code == 403
    lon, lat = village_point(db, "410527102200")
    r = client.post(
        f"{API}/hotline",
        json={"description": "井店镇停水两天了", "lon": lon, "lat": lat},
        headers=login("jsh_tax"),
    )
    assert r.status_code == 403
    r = client.post(
        f"{API}/hotline",
        json={"description": "许市镇停水两天了", "division_code": "430611"},
        headers=login("nh_dispatcher"),
    )
    assert r.status_code == 403
    page = client.post(
        "/appeals/hotline", data={"description": "楚旺镇停水两天了"}, headers={**HTML, **login("jsh_tax")}
    )
    assert page.status_code == 403 and 'id="created"' not in page.text
    assert count_tickets(db) == before
    ok = client.post(
        f"{API}/hotline",
        json={"description": "楚旺镇停水两天了", "division_code": "410527"},
        headers=login("nh_dispatcher"),
    )
    assert ok.status_code == 201


# ---------------------------------------------------------------------------------------- issue 12 #11

LONG_ID_TITLE = ("小区门口道路积水严重无法通行" * 4)[:54] + "身份证 410527199001011234 请回电"
FORMATS = [
    # (what the resident wrote, fragments no view may show)
    ("我的电话138.0013.8000请回电", ["138.0013.8000", "0013.8", "13800138000"]),
    ("我的电话138 0013 8000请回电", ["138 0013 8000", "0013 8", "13800138000"]),
    ("我的电话一三八零零一三八零零零请回电", ["一三八零零一三八零零零", "零零一三", "13800138000"]),
    ("座机0372-5551234请回电", ["0372-5551234", "55512"]),
    ("身份证号410527199001011234办不了低保", ["410527199001011234", "19900101"]),
    (LONG_ID_TITLE, ["410527199001011234", "19900101"]),
]


@pytest.mark.parametrize(
    "text,secrets_", FORMATS, ids=["dots", "spaces", "chinese", "landline", "id", "long_title"]
)
def test_personal_numbers_are_masked_in_every_view(client, world, db, login, text, secrets_):
    lon, lat = village_point(db, "410527101201")
    made = client.post(
        f"{API}/tickets", json={"description": text, "lon": lon, "lat": lat, "reporter_name": "李四"}
    )
    assert made.status_code == 201, made.text
    number, code = made.json()["number"], made.json()["tracking_code"]
    ticket_id = db.scalar(select(Ticket.id).where(Ticket.number == number))
    public = client.get(f"{API}/track/{code}").json()
    staff = client.get(f"{API}/tickets/{ticket_id}", headers=login("nh_dispatcher")).json()
    assert staff["reporter"] is None  # a dispatcher does not see the reporter
    listing = client.get(f"{API}/tickets", params={"q": number}, headers=login("nh_dispatcher")).json()[
        "items"
    ]
    views = {
        "public title": public["title"],
        "public description": public["description"],
        "tracking page": client.get("/appeals/track", params={"code": code}, headers=HTML).text,
        "open311": client.get(f"{O311}/requests/{number}.json").text,
        "staff title": staff["title"],
        "staff description": staff["description"],
        "staff list": listing[0]["title"],
        "staff page": client.get(
            f"/appeals/tickets/{ticket_id}", headers={**HTML, **login("nh_dispatcher")}
        ).text,
    }
    for where, shown in views.items():
        for secret in secrets_:
            assert secret not in shown, f"{secret!r} readable in the {where}"
    # titles are scrubbed before they are shortened: no remnant of a cut number
    for where in ("public title", "staff title", "staff list"):
        # what is left once the masked numbers (138****8000, 0372-*****34, 410***...1234) are taken out
        unmasked = re.sub(r"[\d-]*\*+[\d-]*", "", views[where])
        assert not re.search(r"\d{2}", unmasked), views[where]
    assert len(public["title"]) <= 60


# ---------------------------------------------------------------------------------------- issue 12 #13


def test_links_use_the_configured_site_address(client, world, db):
    assert client.get(f"{O311}/discovery.json", headers={"Host": "evil.example"}).status_code == 400
    saved = get_settings()
    set_settings(saved.model_copy(update={"public_base_url": "https://gov.example.cn"}))
    try:
        disc = client.get(f"{O311}/discovery.json").json()
        assert disc["key_service"] == "https://gov.example.cn/open311/v2/"
        assert disc["endpoints"][0]["url"] == "https://gov.example.cn/open311/v2/"
        reply = _plain(client, world, _text_xml("梁庄镇垃圾没人清运", 920101), now_ts(), secrets.token_hex(8))
        assert reply.status_code == 200
        assert "https://gov.example.cn/appeals/track" in xmltodict.parse(reply.text)["xml"]["Content"]
    finally:
        set_settings(saved)
