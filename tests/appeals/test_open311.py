"""Open311 GeoReport v2: the six calls in JSON and XML, api_key, the spec's error format, no personal data."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import xmltodict
from sqlalchemy import select

from govgrid.appeals.models import Ticket
from tests.appeals.conftest import count_tickets, village_point

BASE = "/open311/v2"


def _post(client, world, fmt="json", **fields):
    data = {
        "api_key": world["api_key"],
        "service_code": "road_damage",
        "description": "人民路路面塌陷有大坑",
        "first_name": "建国",
        "last_name": "王",
        "phone": "13912345678",
        "email": "wang@example.cn",
    }
    data.update(fields)
    return client.post(f"{BASE}/requests.{fmt}", data={k: v for k, v in data.items() if v is not None})


def test_services_list_and_definition_json_and_xml(client, world):
    js = client.get(f"{BASE}/services.json")
    assert js.status_code == 200
    codes = {s["service_code"] for s in js.json()}
    assert {"road_damage", "garbage", "wage_arrears", "village_affairs"} <= codes
    assert all(
        set(s) >= {"service_code", "service_name", "metadata", "type", "keywords", "group"} for s in js.json()
    )
    xml = xmltodict.parse(client.get(f"{BASE}/services.xml").content)
    assert len(xml["services"]["service"]) == len(js.json())
    d = client.get(f"{BASE}/services/garbage.json").json()
    assert d["service_code"] == "garbage" and d["attributes"] == []
    assert (
        xmltodict.parse(client.get(f"{BASE}/services/garbage.xml").content)["service_definition"][
            "service_code"
        ]
        == "garbage"
    )
    disc = client.get(f"{BASE}/discovery.json").json()
    assert disc["endpoints"][0]["url"].endswith("/open311/v2/")


def test_errors_use_the_spec_format(client, world):
    r = client.get(f"{BASE}/services/nosuch.json")
    assert r.status_code == 404 and r.json()[0]["code"] == 404 and r.json()[0]["description"]
    r = client.get(f"{BASE}/services/nosuch.xml")
    assert r.status_code == 404 and xmltodict.parse(r.content)["errors"]["error"]["code"] == "404"
    assert client.get(f"{BASE}/services.json", params={"jurisdiction_id": "999999"}).status_code == 400
    assert client.get(f"{BASE}/services.csv").status_code == 404


def test_post_requires_a_valid_key(client, world, db):
    before = count_tickets(db)
    lon, lat = village_point(db)
    r = _post(client, world, api_key=None, lat=str(lat), long=str(lon))
    assert r.status_code == 403 and r.json()[0]["code"] == 403
    r = _post(client, world, fmt="xml", api_key="gg_deadbeef_wrong", lat=str(lat), long=str(lon))
    assert r.status_code == 403 and "errors" in xmltodict.parse(r.content)
    assert count_tickets(db) == before


def test_post_creates_ticket_and_public_gets_hide_personal_data(client, world, db):
    lon, lat = village_point(db, "410527102200")
    r = _post(
        client, world, lat=str(lat), long=str(lon), description="人民路路面塌陷有大坑，联系我13912345678"
    )
    assert r.status_code == 200, r.text
    row = r.json()[0]
    number, token = row["service_request_id"], row["token"]
    t = db.scalar(select(Ticket).where(Ticket.number == number))
    assert t.channel == "open311" and t.category_code == "road_damage" and t.reporter_phone == "13912345678"
    assert t.reporter_name == "王建国" and t.division_code == "410527102200"
    assert client.get(f"{BASE}/tokens/{token}.json").json() == [
        {"service_request_id": number, "token": token}
    ]
    one = client.get(f"{BASE}/requests/{number}.json")
    assert one.status_code == 200
    item = one.json()[0]
    assert item["status"] == "open" and item["service_code"] == "road_damage"
    assert item["requested_datetime"].endswith("+08:00")
    assert item["lat"] == round(lat, 2) and item["long"] == round(lon, 2)
    listing = client.get(f"{BASE}/requests.json").text + client.get(f"{BASE}/requests.xml").text + one.text
    listing += client.get(f"{BASE}/requests/{number}.xml").text
    for secret in ("13912345678", "王建国", "建国", "wang@example.cn"):
        assert secret not in listing
    assert number in client.get(f"{BASE}/requests.json", params={"service_request_id": number}).text
    assert number not in client.get(f"{BASE}/requests.json", params={"status": "closed"}).text
    assert (
        number
        in client.get(f"{BASE}/requests.json", params={"status": "open", "service_code": "road_damage"}).text
    )


@pytest.mark.parametrize(
    "fields,status",
    [
        ({"service_code": "nosuch"}, 400),
        ({"service_code": None}, 400),
        ({"lat": "abc", "long": "114.9"}, 400),
        ({"lat": "-40", "long": "-30"}, 400),
        ({"description": "坑" * 4001, "address_string": "城关镇东关村"}, 400),
        ({}, 400),  # no location at all
    ],
)
def test_post_bad_input_is_400_and_creates_nothing(client, world, db, fields, status):
    before = count_tickets(db)
    r = _post(client, world, **fields)
    assert r.status_code == status, r.text
    assert isinstance(r.json(), list) and r.json()[0]["code"] == status
    assert count_tickets(db) == before


def test_get_requests_bad_filters(client, world):
    assert client.get(f"{BASE}/requests.json", params={"status": "pending"}).status_code == 400
    assert client.get(f"{BASE}/requests.json", params={"start_date": "yesterday"}).status_code == 400
    assert client.get(f"{BASE}/requests.json", params={"start_date": "", "status": ""}).status_code == 200
    assert client.get(f"{BASE}/requests/NOPE.json").status_code == 404


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def live_server(app, appeals_world):
    """The app served by uvicorn in a thread over the committed test database (not the rolled-back
    fixture)."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=5)


def test_georeport_client_reads_services_and_requests(live_server, appeals_world):
    import requests
    from georeport import GeoReport

    api = GeoReport(f"{live_server}/open311/v2", jurisdiction="410527")
    services = api.get_service_list()
    assert any(s["service_code"] == "garbage" for s in services)
    assert api.get_service_definition("garbage")["service_code"] == "garbage"
    # POST with the demo key (the georeport client only reads), then read it back through the client
    resp = requests.post(
        f"{live_server}/open311/v2/requests.json",
        timeout=10,
        data={
            "api_key": appeals_world["api_key"],
            "service_code": "garbage",
            "address_string": "内黄县城关镇东关村",
            "description": "东关村垃圾没人清运",
            "first_name": "秀英",
            "last_name": "李",
            "phone": "13700001111",
        },
    )
    assert resp.status_code == 200, resp.text
    number = resp.json()[0]["service_request_id"]
    found = api.get_service_requests(service_request_id=number)
    assert found[0]["service_request_id"] == number and found[0]["address"].endswith("东关村")
    xml_api = GeoReport(f"{live_server}/open311/v2", jurisdiction="410527", output_format="xml")
    assert any(s["service_code"] == "garbage" for s in xml_api.get_service_list())
    text = str(api.get_service_requests()) + str(found)
    assert "13700001111" not in text and "李秀英" not in text and "秀英" not in text


def test_post_outside_the_keys_jurisdiction_is_refused(client, world, db):
    before = count_tickets(db)
    lon, lat = village_point(db, "410527100200")
    r = _post(client, world, jurisdiction_id="140321", lat=str(lat), long=str(lon))
    assert r.status_code == 403
    # a point in another county under the key's own jurisdiction
    from govgrid.core.divisions.models import Division

    pd = db.get(Division, "140321")
    r = _post(client, world, lat=str(pd.center_lat), long=str(pd.center_lon))
    assert r.status_code == 400 and "jurisdiction" in r.json()[0]["description"]
    assert count_tickets(db) == before
