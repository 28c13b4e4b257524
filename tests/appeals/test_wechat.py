"""The WeChat Official Account callback, driven by messages built with wechatpy (plaintext and safe mode)."""

from __future__ import annotations

import secrets
import time

import pytest
import xmltodict
from sqlalchemy import select
from wechatpy.crypto import WeChatCrypto

from govgrid.appeals.models import Ticket
from tests.appeals.conftest import (
    count_tickets,
    now_ts,
    village_point,
    wechat_signature,
)

URL = "/channels/wechat/neihuang"


def text_xml(content: str, msg_id: int, sender: str = "oUserA") -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_demo]]></ToUserName><FromUserName><![CDATA[{sender}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )


def fresh_nonce() -> str:
    """Each delivery carries its own nonce (a reused one is refused as a replay)."""
    return secrets.token_hex(8)


def post_plain(client, world, xml: str, *, token: str | None = None):
    ts, nonce = now_ts(), fresh_nonce()
    sig = wechat_signature(token or world["token"], ts, nonce)
    return client.post(
        URL,
        params={"signature": sig, "timestamp": ts, "nonce": nonce, "openid": "oUserA"},
        content=xml.encode(),
        headers={"Content-Type": "text/xml"},
    )


def post_safe(client, world, xml: str):
    crypto = WeChatCrypto(world["token"], world["aes_key"], world["app_id"])
    ts, nonce = now_ts(), fresh_nonce()
    envelope = crypto.encrypt_message(xml, nonce, ts)  # what the WeChat platform sends in safe mode
    msg_sig = xmltodict.parse(envelope)["xml"]["MsgSignature"]
    resp = client.post(
        URL,
        params={
            "signature": wechat_signature(world["token"], ts, nonce),
            "timestamp": ts,
            "nonce": nonce,
            "encrypt_type": "aes",
            "msg_signature": msg_sig,
        },
        content=envelope.encode(),
        headers={"Content-Type": "text/xml"},
    )
    return resp, crypto


def reply_content(body: str) -> str:
    return xmltodict.parse(body)["xml"]["Content"]


def test_get_verification_echoes_and_rejects_bad_signature(client, world):
    ts, nonce = now_ts(), "abc"
    ok = client.get(
        URL,
        params={
            "signature": wechat_signature(world["token"], ts, nonce),
            "timestamp": ts,
            "nonce": nonce,
            "echostr": "hello123",
        },
    )
    assert ok.status_code == 200 and ok.text == "hello123"
    bad = client.get(URL, params={"signature": "0" * 40, "timestamp": ts, "nonce": nonce, "echostr": "x"})
    assert bad.status_code == 403
    assert client.get("/channels/wechat/nosuch", params={"echostr": "x"}).status_code == 404


def test_plaintext_text_message_creates_ticket_and_reply_names_it(client, world, db):
    started = time.perf_counter()
    resp = post_plain(client, world, text_xml("城关镇东关村路口垃圾堆放好几天没人清运，气味很大", 910001))
    assert time.perf_counter() - started < 5
    assert resp.status_code == 200
    reply = xmltodict.parse(resp.text)["xml"]
    assert reply["ToUserName"] == "oUserA" and reply["MsgType"] == "text"
    t = db.scalar(select(Ticket).where(Ticket.channel_ref == "neihuang:910001"))
    assert t is not None and t.number in reply["Content"] and t.tracking_code in reply["Content"]
    assert t.category_code == "garbage" and t.division_code.startswith("410527100")
    assert t.reporter_openid == "oUserA"


def test_safe_mode_message_is_decrypted_and_reply_encrypted(client, world, db):
    resp, crypto = post_safe(client, world, text_xml("张龙乡有企业夜里偷排污水，河里发臭", 910002))
    assert resp.status_code == 200
    assert "<Encrypt>" in resp.text  # the reply is encrypted too
    envelope = xmltodict.parse(resp.text)["xml"]
    plain = crypto.decrypt_message(
        resp.text, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"]
    )
    t = db.scalar(select(Ticket).where(Ticket.channel_ref == "neihuang:910002"))
    assert t is not None and t.number in reply_content(plain)
    assert t.category_code == "pollution"


def test_bad_signature_gets_403_and_creates_nothing(client, world, db):
    before = count_tickets(db)
    resp = post_plain(client, world, text_xml("路灯不亮", 910003), token="wrongtoken")
    assert resp.status_code == 403
    crypto = WeChatCrypto(world["token"], world["aes_key"], world["app_id"])
    envelope = crypto.encrypt_message(text_xml("路灯不亮", 910004), "n1", now_ts())
    bad = client.post(
        URL,
        params={"timestamp": now_ts(), "nonce": "n1", "encrypt_type": "aes", "msg_signature": "f" * 40},
        content=envelope.encode(),
    )
    assert bad.status_code == 403
    assert count_tickets(db) == before


def test_same_msgid_three_times_makes_one_ticket(client, world, db):
    xml = text_xml("井店镇人民路路面破损严重，有好几个大坑", 910005)
    replies = [post_plain(client, world, xml) for _ in range(3)]
    assert all(r.status_code == 200 for r in replies)
    rows = db.scalars(select(Ticket).where(Ticket.channel_ref == "neihuang:910005")).all()
    assert len(rows) == 1
    assert all(rows[0].number in reply_content(r.text) for r in replies)
    # the same MsgId in safe mode is still the same message
    resp, _crypto = post_safe(client, world, xml)
    assert resp.status_code == 200
    assert len(db.scalars(select(Ticket).where(Ticket.channel_ref == "neihuang:910005")).all()) == 1


@pytest.mark.parametrize("body", ["<xml><MsgType>text</MsgType", "not xml at all", "<xml></xml>", ""])
def test_malformed_xml_is_400_and_creates_nothing(client, world, db, body):
    before = count_tickets(db)
    resp = post_plain(client, world, body)
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "bad_request"
    assert count_tickets(db) == before


def test_oversized_text_is_refused_with_a_clear_reply(client, world, db):
    before = count_tickets(db)
    resp = post_plain(client, world, text_xml("噪音" * 2100, 910006))
    assert resp.status_code == 200
    assert "未能受理" in reply_content(resp.text) and "4000" in reply_content(resp.text)
    assert count_tickets(db) == before


def test_image_voice_and_location_messages(client, world, db):
    img = (
        f"<xml><ToUserName>gh</ToUserName><FromUserName>oUserB</FromUserName><CreateTime>{int(time.time())}</CreateTime>"
        "<MsgType>image</MsgType><PicUrl>https://mmbiz.example/pic1.jpg</PicUrl><MediaId>m1</MediaId>"
        "<MsgId>910007</MsgId></xml>"
    )
    assert post_plain(client, world, img).status_code == 200
    t_img = db.scalar(select(Ticket).where(Ticket.channel_ref == "neihuang:910007"))
    assert t_img.media_url == "https://mmbiz.example/pic1.jpg" and t_img.lon is None
    voice = (
        f"<xml><ToUserName>gh</ToUserName><FromUserName>oUserC</FromUserName><CreateTime>{int(time.time())}</CreateTime>"
        "<MsgType>voice</MsgType><MediaId>v1</MediaId><Format>amr</Format>"
        "<Recognition>小区物业不作为电梯坏了没人修</Recognition><MsgId>910008</MsgId></xml>"
    )
    assert post_plain(client, world, voice).status_code == 200
    t_voice = db.scalar(select(Ticket).where(Ticket.channel_ref == "neihuang:910008"))
    assert t_voice.category_code == "housing"
    # a location right after the photo completes the photo's ticket instead of making a new one
    lon, lat = village_point(db, "410527101201")
    loc = (
        f"<xml><ToUserName>gh</ToUserName><FromUserName>oUserB</FromUserName><CreateTime>{int(time.time())}</CreateTime>"
        f"<MsgType>location</MsgType><Location_X>{lat}</Location_X><Location_Y>{lon}</Location_Y><Scale>15</Scale>"
        "<Label><![CDATA[东庄镇某处]]></Label><MsgId>910009</MsgId></xml>"
    )
    before = count_tickets(db)
    resp = post_plain(client, world, loc)
    assert t_img.number in reply_content(resp.text)
    db.refresh(t_img)
    assert count_tickets(db) == before and t_img.division_code == "410527101201" and t_img.lon == lon
    # a point outside every division: a clear reply, nothing made
    far = (
        loc.replace("oUserB", "oUserZ")
        .replace(str(lat), "-60.0")
        .replace(str(lon), "-30.0")
        .replace("910009", "910010")
    )
    resp = post_plain(client, world, far)
    assert "未能受理" in reply_content(resp.text)
    assert count_tickets(db) == before


def test_subscribe_event_gets_a_welcome_and_no_ticket(client, world, db):
    before = count_tickets(db)
    ev = (
        f"<xml><ToUserName>gh</ToUserName><FromUserName>oNew</FromUserName><CreateTime>{int(time.time())}</CreateTime>"
        "<MsgType>event</MsgType><Event>subscribe</Event></xml>"
    )
    resp = post_plain(client, world, ev)
    assert resp.status_code == 200 and "欢迎" in reply_content(resp.text)
    assert count_tickets(db) == before


def test_channel_secrets_are_sealed_at_rest(db):
    from sqlalchemy import text

    row = db.execute(text("SELECT token, encoding_aes_key FROM appeals_wechat_channels")).first()
    assert row is not None
    assert all(v.startswith("sealed:v1:") for v in row), "token and AES key must not be stored in clear"


def test_a_forged_request_does_not_use_up_the_nonce(client, world, db):
    """Only a request whose signature holds is remembered: a forger cannot block the real message's nonce."""
    ts, nonce = now_ts(), fresh_nonce()
    xml = text_xml("城关镇路灯不亮", 910011)
    forged = client.post(
        URL, params={"signature": "0" * 40, "timestamp": ts, "nonce": nonce}, content=xml.encode()
    )
    assert forged.status_code == 403
    real = client.post(
        URL,
        params={"signature": wechat_signature(world["token"], ts, nonce), "timestamp": ts, "nonce": nonce},
        content=xml.encode(),
    )
    assert real.status_code == 200 and "工单号" in reply_content(real.text)
    missing = client.post(URL, params={"signature": "0" * 40, "nonce": fresh_nonce()}, content=xml.encode())
    assert missing.status_code == 403  # no timestamp at all


HOSTILE = {
    # an external entity naming a server file: its content must never come back or be stored
    "xxe_file": ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY leak SYSTEM "file:///etc/passwd">]>'
                 "<xml><ToUserName>gh_demo</ToUserName><FromUserName>oUserA</FromUserName>"
                 "<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&leak;</Content>"
                 "<MsgId>990001</MsgId></xml>"),
    # entity expansion (billion laughs): refused without expanding
    "expansion": ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "' + "x" * 64 + '">'
                  + "".join(f'<!ENTITY {chr(98 + i)} "' + f"&{chr(97 + i)};" * 16 + '">' for i in range(8))
                  + "]><xml><ToUserName>gh_demo</ToUserName><FromUserName>oUserA</FromUserName>"
                  "<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&i;</Content>"
                  "<MsgId>990002</MsgId></xml>"),
    # an internal entity, harmless in itself: a message with a DOCTYPE is still not a WeChat message
    "internal": ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY who "居民">]>'
                 "<xml><ToUserName>gh_demo</ToUserName><FromUserName>oUserA</FromUserName>"
                 "<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&who;反映路灯不亮</Content>"
                 "<MsgId>990003</MsgId></xml>"),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_xml_is_refused_without_reading_files_or_expanding(client, world, db, kind):
    before = count_tickets(db)
    started = time.monotonic()
    r = post_plain(client, world, HOSTILE[kind])
    assert time.monotonic() - started < 5, "the parser must not expand entities"
    assert r.status_code == 400, r.text
    assert "root:" not in r.text and "xxxxxxxx" not in r.text
    assert count_tickets(db) == before
