"""A consumer over its grant's rate limit at the real gateway: the refusal is audited (no personal data) and,
after the institutions sync, is a security incident (超频调用) with its handling."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.core.audit.models import AuditRecord
from govgrid.exchange.models import Grant
from govgrid.exchange.services import ratelimit
from govgrid.institutions import jobs
from govgrid.institutions.models import Incident
from tests.exchange.conftest import OUYANG, ZHANG, new_resource


def test_a_rate_limited_consumer_becomes_an_incident_with_its_handling(
    client, db: Session, login, users, providers
):
    ratelimit.RATE_LIMITER.reset()
    res = new_resource(db, provider="410527-tax", rows=[ZHANG, OUYANG])
    consumer = login("nh_handler")
    req = client.post("/api/v1/exchange/requests", headers=consumer, json={
        "resource_code": res.code, "purpose": "低保对象家庭成员身份核对",
        "legal_basis": "《社会救助暂行办法》第十一条",
    }).json()
    r = client.post(f"/api/v1/exchange/requests/{req['id']}/decision", headers=login("nh_tax"),
                    json={"action": "approve", "rate_limit_per_minute": 2})
    assert r.status_code == 200, r.text
    records = f"/api/v1/exchange/resources/{res.code}/records"
    assert [client.get(records, headers=consumer).status_code for _ in range(3)] == [200, 200, 429]
    ratelimit.RATE_LIMITER.reset()

    refused = db.scalars(select(AuditRecord).where(AuditRecord.action == ratelimit.REFUSED)).all()
    assert len(refused) == 1
    rec = refused[0]
    assert rec.detail["reason"] == "rate_limited" and rec.detail["limit_per_minute"] == 2
    assert ZHANG["id_number"] not in str(rec.detail) and ZHANG["name"] not in str(rec.detail)

    _added, _raised, filed = jobs.govern_once()  # the hourly governance pass
    assert filed >= 1
    inc = db.scalar(select(Incident).where(Incident.resource_code == res.code))
    assert inc is not None and inc.source == "rate_limit" and inc.reason == "rate_limited"
    assert inc.state == "reported" and inc.count == 1 and rec.seq in inc.audit_seqs
    grant = db.scalar(select(Grant).where(Grant.request_id == req["id"]))
    assert grant is not None and inc.actor == f"department:{grant.consumer_department_id}"  # the caller
    assert jobs.govern_once()[2] == 0  # filed once

    # the county sees it with its reason and moves it along its handling; another county does not see it
    nh, pd = login("in_nh"), login("in_pd")
    listed = client.get("/api/v1/institutions/divisions/410527/incidents", headers=nh).json()
    assert [i["reason"] for i in listed if i["id"] == inc.id] == ["rate_limited"]
    assert client.get("/api/v1/institutions/divisions/410527/incidents", headers=pd).status_code == 403
    r = client.post(f"/api/v1/institutions/incidents/{inc.id}/move", headers=nh,
                    json={"state": "investigating", "note": "核实调用方批量拉取原因，已提醒按需调用"})
    assert r.status_code == 200 and r.json()["state"] == "investigating"
    page = client.get("/institutions/security?division=410527", headers={**nh, "Accept": "text/html"})
    assert "超频调用（触发限流）" in page.text and "处置中" in page.text
