"""Sharing requests, grants and the gateway: the order data flows in, and every read in the audit chain."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from govgrid.core.audit import service as audit
from govgrid.core.audit.models import AuditRecord
from govgrid.core.authz import policy
from govgrid.core.errors import ValidationFailedError
from govgrid.exchange.models import SharingRequest
from govgrid.exchange.services import gateway, grants
from tests.exchange.conftest import OUYANG, ZHANG, principal


def _request(client, headers, code, **kw):
    body = {
        "resource_code": code,
        "purpose": "低保对象家庭成员身份核对",
        "legal_basis": "《社会救助暂行办法》第十一条",
        **kw,
    }
    return client.post("/api/v1/exchange/requests", json=body, headers=headers)


def _records(client, headers, code, **params):
    return client.get(f"/api/v1/exchange/resources/{code}/records", params=params, headers=headers)


def test_full_flow_request_approve_read_masked_revoke(client, login, db, people):
    consumer, provider = login("nh_handler"), login("nh_tax")
    # Without a grant: 403, for this county's other department and for another county alike.
    assert _records(client, consumer, people.code).status_code == 403
    assert _records(client, login("pd_handler"), people.code).status_code == 403
    # the refusals themselves are in the audit chain
    denied = db.scalars(
        select(AuditRecord).where(
            AuditRecord.action == "exchange.gateway.denied", AuditRecord.entity_id == people.code
        )
    ).all()
    assert [d.actor_name for d in denied][-2:] == ["nh_handler", "pd_handler"]
    r = _request(
        client, consumer, people.code, fields=["id_number", "name", "phone", "address", "village_code"]
    )
    assert r.status_code == 201, r.text
    req = r.json()
    assert req["status"] == "pending_check" and req["route"] == "provider"
    assert req["check_due_at"] < req["answer_due_at"]
    # Waits for the provider: still 403, and it is in the provider's inbox with deadlines.
    assert _records(client, consumer, people.code).status_code == 403
    inbox = client.get("/api/v1/exchange/requests", params={"box": "inbox"}, headers=provider).json()
    assert [i["id"] for i in inbox["items"]] == [req["id"]]
    # The consumer cannot approve its own request.
    r = client.post(
        f"/api/v1/exchange/requests/{req['id']}/decision", json={"action": "approve"}, headers=consumer
    )
    assert r.status_code == 403
    r = client.post(
        f"/api/v1/exchange/requests/{req['id']}/decision", json={"action": "accept"}, headers=provider
    )
    assert r.json()["status"] == "pending_approval"
    r = client.post(
        f"/api/v1/exchange/requests/{req['id']}/decision", json={"action": "approve"}, headers=provider
    )
    assert r.status_code == 200 and r.json()["status"] == "granted"
    grant_id = r.json()["grant_id"]
    # Masked rows, only the granted fields.
    r = _records(client, consumer, people.code)
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["grant_id"] == grant_id
    assert page["fields"] == ["id_number", "name", "phone", "address", "village_code"]
    zhang = next(x for x in page["records"] if x["name"].startswith("张"))
    assert zhang["phone"] == "138****5678"
    assert zhang["name"] == "张**"
    assert zhang["id_number"] == ZHANG["id_number"][:3] + "*" * 11 + ZHANG["id_number"][-4:]
    assert "19800101" not in zhang["id_number"]
    assert zhang["address"] == "内黄县城关镇****"
    assert "age" not in zhang
    ouyang = next(x for x in page["records"] if x["name"].startswith("欧阳"))
    assert ouyang["name"] == "欧阳*"
    # Every read is in the audit chain, with grant, row count and response hash.
    rec = db.scalar(
        select(AuditRecord)
        .where(AuditRecord.action == "exchange.gateway.records")
        .order_by(AuditRecord.seq.desc())
        .limit(1)
    )
    assert rec.detail["grant"] == grant_id and rec.detail["rows"] == 3
    assert rec.detail["response_sha256"] == page["response_sha256"]
    assert rec.actor_name == "nh_handler" and "低保" in rec.purpose
    # Core's policy hook finds the grant for other modules.
    assert policy.find_grant(db, principal(db, "nh_handler"), "exchange.resource", people.code).id == grant_id
    # Revocation: 403 again at once.
    r = client.post(
        f"/api/v1/exchange/grants/{grant_id}/revoke", json={"reason": "工作结束"}, headers=consumer
    )
    assert r.status_code == 403
    r = client.post(
        f"/api/v1/exchange/grants/{grant_id}/revoke", json={"reason": "工作结束"}, headers=provider
    )
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    assert _records(client, consumer, people.code).status_code == 403
    assert policy.find_grant(db, principal(db, "nh_handler"), "exchange.resource", people.code) is None
    assert audit.verify(db).ok


def test_provider_scope_reads_clear_values_and_line_above_too(client, login, people):
    r = _records(client, login("nh_tax"), people.code)
    assert r.status_code == 200 and r.json()["grant_id"] is None
    assert ZHANG["id_number"] in {x["id_number"] for x in r.json()["records"]}
    assert _records(client, login("ay_tax"), people.code).status_code == 200


def test_clear_fields_row_filter_and_equality_filters(client, login, db, people):
    consumer, provider = login("nh_handler"), login("nh_tax")
    req = _request(client, consumer, people.code, row_filter_division="410527").json()
    r = client.post(
        f"/api/v1/exchange/requests/{req['id']}/decision",
        json={"action": "approve", "clear_fields": ["phone"]},
        headers=provider,
    )
    assert r.status_code == 200, r.text
    page = _records(client, consumer, people.code, count=True).json()
    assert page["total"] == 2  # 平定县's resident is outside the row filter
    assert {x["phone"] for x in page["records"]} == {ZHANG["phone"], OUYANG["phone"]}
    assert page["masked_fields"] == ["id_number", "name", "address"]
    one = _records(client, consumer, people.code, village_code="410527101200").json()
    assert [x["phone"] for x in one["records"]] == [OUYANG["phone"]]
    assert _records(client, consumer, people.code, colour="red").status_code == 422


def test_clear_fields_must_be_requested_personal_items(client, login, people):
    req = _request(client, login("nh_handler"), people.code, fields=["name", "village_code"]).json()
    r = client.post(
        f"/api/v1/exchange/requests/{req['id']}/decision",
        json={"action": "approve", "clear_fields": ["phone"]},
        headers=login("nh_tax"),
    )
    assert r.status_code == 422


def test_paging_with_limit_and_keyset(client, login, people):
    h = login("nh_tax")
    first = _records(client, h, people.code, limit=2).json()
    assert len(first["records"]) == 2 and first["has_more"] and first["next_after"]
    rest = _records(client, h, people.code, limit=2, after=first["next_after"]).json()
    assert len(rest["records"]) == 1 and not rest["has_more"]
    assert _records(client, h, people.code, limit=1, offset=2).json()["records"] == rest["records"]


def test_unconditional_request_is_granted_after_the_compliance_check(client, login, make_resource):
    res = make_resource(
        sharing_type="unconditional", rows=[ZHANG], name="公开名录", items=None, grade="important"
    )
    h = login("nh_handler")
    r = _request(client, h, res.code, fields=["name", "village_code"])
    assert r.status_code == 201
    assert r.json()["status"] == "granted" and r.json()["route"] == "auto"
    assert r.json()["compliance"]["passed"] is True
    assert _records(client, h, res.code).json()["records"] == [
        {"name": "张**", "village_code": "410527100200"}
    ]


def test_compliance_check_failures_write_nothing(client, login, db, people):
    h = login("nh_handler")
    before = db.scalar(select(SharingRequest.id).order_by(SharingRequest.id.desc()).limit(1))
    r = _request(client, h, people.code, fields=["id_number", "colour"], legal_basis="")
    assert r.status_code == 422
    locs = {d["loc"][0] for d in r.json()["error"]["details"]}
    assert locs == {"fields", "legal_basis"}  # unknown item; sensitive id_number without a legal basis
    assert db.scalar(select(SharingRequest.id).order_by(SharingRequest.id.desc()).limit(1)) == before
    assert _request(client, h, people.code, purpose="看看").status_code == 422
    assert _request(client, h, people.code, row_filter_division="999999").status_code == 422
    assert _request(client, h, "NOPE-0001").status_code == 404
    assert _request(client, login("nh_tax"), people.code).status_code == 409  # own data
    assert _request(client, login("nh_viewer"), people.code).status_code == 403  # viewers cannot request
    r = _request(client, h, people.code, consumer_department_code="140321-urban_management")
    assert r.status_code == 403  # not for a department you do not work in


def test_withheld_resource_needs_legal_basis_and_goes_to_data_bureau(client, login, make_resource):
    res = make_resource(
        sharing_type="none",
        name="纳税人涉税明细",
        grade="core",
        sharing_conditions="《税收征收管理法》第八条",
    )
    h = login("nh_handler")
    r = _request(client, h, res.code, legal_basis="", fields=["name", "village_code"])
    assert r.status_code == 422
    assert any(d["loc"] == ["legal_basis"] for d in r.json()["error"]["details"])
    r = _request(
        client, h, res.code, legal_basis="《社会救助暂行办法》第五十九条", fields=["name", "village_code"]
    )
    assert r.status_code == 201
    req = r.json()
    assert req["route"] == "bureau"
    bureau = client.get("/api/v1/exchange/requests", params={"box": "inbox"}, headers=login("nh_data")).json()
    assert req["id"] in [i["id"] for i in bureau["items"]]
    provider_inbox = client.get(
        "/api/v1/exchange/requests", params={"box": "inbox"}, headers=login("nh_tax")
    ).json()
    assert req["id"] not in [i["id"] for i in provider_inbox["items"]]
    # The bureau decides; a refusal must carry reasons.
    url = f"/api/v1/exchange/requests/{req['id']}/decision"
    assert client.post(url, json={"action": "refuse"}, headers=login("nh_data")).status_code == 422
    r = client.post(
        url, json={"action": "refuse", "reason": "依据不足以覆盖涉税信息"}, headers=login("nh_data")
    )
    assert r.json()["status"] == "refused" and r.json()["reason"] == "依据不足以覆盖涉税信息"
    assert client.post(url, json={"action": "approve"}, headers=login("nh_data")).status_code == 409


def test_withdraw_only_while_pending(client, login, people):
    h = login("nh_handler")
    req = _request(client, h, people.code).json()
    assert (
        client.post(
            f"/api/v1/exchange/requests/{req['id']}/withdraw", headers=login("pd_handler")
        ).status_code
        == 404
    )
    r = client.post(f"/api/v1/exchange/requests/{req['id']}/withdraw", headers=h)
    assert r.json()["status"] == "withdrawn"
    assert client.post(f"/api/v1/exchange/requests/{req['id']}/withdraw", headers=h).status_code == 409


def test_requests_of_others_are_invisible(client, login, people):
    req = _request(client, login("nh_handler"), people.code).json()
    assert (
        client.get(f"/api/v1/exchange/requests/{req['id']}", headers=login("pd_handler")).status_code == 404
    )
    assert client.get(f"/api/v1/exchange/requests/{req['id']}", headers=login("nh_tax")).status_code == 200


def test_overdue_approval_is_visible_to_the_level_above(client, login, db, people):
    req = _request(client, login("nh_handler"), people.code).json()
    row = db.get(SharingRequest, req["id"])
    row.submitted_at -= timedelta(days=20)
    row.check_due_at -= timedelta(days=20)
    row.answer_due_at -= timedelta(days=20)
    db.flush()
    above = client.get("/api/v1/exchange/requests", params={"box": "overdue"}, headers=login("ay_tax")).json()
    item = next(i for i in above["items"] if i["id"] == req["id"])
    assert item["overdue"] is True and item["status"] == "pending_check"
    other = client.get(
        "/api/v1/exchange/requests", params={"box": "overdue"}, headers=login("pd_handler")
    ).json()
    assert req["id"] not in [i["id"] for i in other["items"]]
    assert client.get(f"/api/v1/exchange/requests/{req['id']}", headers=login("ay_tax")).status_code == 200


def test_verify_only_answers_consistent_without_data(client, login, db, people):
    h = login("nh_handler")
    req = _request(client, h, people.code, mode="verify", fields=["id_number", "name"]).json()
    req = client.post(
        f"/api/v1/exchange/requests/{req['id']}/decision", json={"action": "approve"}, headers=login("nh_tax")
    ).json()
    url = f"/api/v1/exchange/resources/{people.code}/verify"
    r = client.post(url, json={"values": {"id_number": ZHANG["id_number"], "name": "张三丰"}}, headers=h)
    assert r.status_code == 200
    assert r.json() == {
        "resource_code": people.code,
        "consistent": True,
        "result": "一致",
        "grant_id": req["grant_id"],
    }
    r = client.post(url, json={"values": {"id_number": ZHANG["id_number"], "name": "张三"}}, headers=h)
    assert r.json()["consistent"] is False and r.json()["result"] == "不一致"
    # A verify grant does not open the records, nor fields outside it.
    assert _records(client, h, people.code).status_code == 403
    assert client.post(url, json={"values": {"phone": "13812345678"}}, headers=h).status_code == 422
    assert (
        client.post(url, json={"values": {"name": "张三丰"}}, headers=login("pd_handler")).status_code == 403
    )
    rec = db.scalar(
        select(AuditRecord)
        .where(AuditRecord.action == "exchange.gateway.verify")
        .order_by(AuditRecord.seq.desc())
        .limit(1)
    )
    assert ZHANG["id_number"] not in str(rec.detail) and rec.detail["consistent"] is False
    assert audit.verify(db).ok


def test_rate_limit_per_grant_is_429_with_retry_after(client, login, people):
    h = login("nh_handler")
    req = _request(client, h, people.code).json()
    client.post(
        f"/api/v1/exchange/requests/{req['id']}/decision",
        json={"action": "approve", "rate_limit_per_minute": 2},
        headers=login("nh_tax"),
    )
    assert _records(client, h, people.code).status_code == 200
    assert _records(client, h, people.code).status_code == 200
    r = _records(client, h, people.code)
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) >= 1
    assert r.json()["error"]["code"] == "rate_limited"


def test_expired_grant_is_403(client, login, db, people):
    h = login("nh_handler")
    req = _request(client, h, people.code).json()
    r = client.post(
        f"/api/v1/exchange/requests/{req['id']}/decision", json={"action": "approve"}, headers=login("nh_tax")
    ).json()
    grant = grants.grant_for_request(db, request_id=req["id"])
    grant.expires_at = grant.granted_at - timedelta(seconds=1)
    db.flush()
    assert _records(client, h, people.code).status_code == 403
    held = client.get("/api/v1/exchange/grants", headers=h).json()
    assert next(g for g in held if g["id"] == r["grant_id"])["status"] == "expired"


def test_provider_and_consumer_grant_lists(client, login, people):
    req = _request(client, login("nh_handler"), people.code).json()
    client.post(
        f"/api/v1/exchange/requests/{req['id']}/decision", json={"action": "approve"}, headers=login("nh_tax")
    )
    given = client.get("/api/v1/exchange/grants", params={"side": "provider"}, headers=login("nh_tax")).json()
    held = client.get("/api/v1/exchange/grants", headers=login("nh_handler")).json()
    assert req["id"] in [g["request_id"] for g in given] and req["id"] in [g["request_id"] for g in held]
    assert (
        client.get("/api/v1/exchange/grants", params={"side": "provider"}, headers=login("pd_handler")).json()
        == []
    )


def test_data_bureau_oversees_requests_in_its_territory_other_departments_do_not(client, login, db, people):
    req = _request(client, login("nh_handler"), people.code).json()
    # 内黄县数据局 supervises sharing in its county: it sees the request between two other departments
    assert client.get(f"/api/v1/exchange/requests/{req['id']}", headers=login("nh_data")).status_code == 200
    seen = client.get("/api/v1/exchange/requests", params={"box": "all"}, headers=login("nh_data")).json()
    assert req["id"] in [i["id"] for i in seen["items"]]
    # a department of the same county that is neither party does not, nor another county's bureau
    for user in ("nh_viewer", "pd_data"):
        assert client.get(f"/api/v1/exchange/requests/{req['id']}", headers=login(user)).status_code == 404
    flow = client.get(
        "/api/v1/exchange/metrics/flow", params={"division": "410527"}, headers=login("nh_data")
    )
    assert flow.json()["scope"] == "territory" and flow.json()["totals"]["requested"] == 1


def test_filters_compare_typed_values_and_sort_needs_offset_paging(client, login, db, people):
    h = login("nh_tax")  # the provider: clear values, every item
    assert _records(client, h, people.code, age="46", count=True).json()["total"] == 1
    assert _records(client, h, people.code, age="forty").status_code == 422
    assert _records(client, h, people.code, phone=ZHANG["phone"], count=True).json()["total"] == 1  # own data
    page = gateway.read_records(db, actor=principal(db, "nh_tax"), code=people.code, sort=[("age", True)])
    assert [r["age"] for r in page["records"]] == [51, 46, 34]
    page = gateway.read_records(db, actor=principal(db, "nh_tax"), code=people.code, q="内黄 城关")
    assert [r["name"] for r in page["records"]] == ["张三丰"]
    with pytest.raises(ValidationFailedError) as err:
        gateway.read_records(
            db, actor=principal(db, "nh_tax"), code=people.code, sort=[("age", False)], after=1
        )
    assert err.value.details[0]["loc"] == ["after"]
