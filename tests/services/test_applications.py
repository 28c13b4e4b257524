"""Applications through the API: the birth bundle end to end across four departments, pre-fill, bad input,
scope, cross-region envelope, 补正, refusal, withdrawal."""

from __future__ import annotations

from sqlalchemy import func, select

from govgrid.core.audit.models import AuditRecord
from govgrid.services.models import Application, Material
from tests.services.conftest import AWAY, FOOD, JPEG, PDF, apply, decide, open_task

BIRTH_ROLES = ["sv_health", "sv_police", "sv_medical", "sv_hrss"]


def test_birth_bundle_end_to_end_across_four_departments(client, login, world):
    citizen = login("sv_citizen")
    r = apply(client, citizen)
    assert r.status_code == 201, r.text
    app = r.json()
    number = app["number"]
    # pre-filled from the population resource, shown masked, with the source
    assert app["form"]["applicant_name"] == "李*"
    assert "*" in app["form"]["applicant_id_number"]
    assert app["prefilled"][0]["resource"] == world["resource"] and app["prefilled"][0]["status"] == "ok"
    assert app["status"] == "in_progress" and app["tasks"][0]["spec"] == "t_birth_certificate"
    # health first, then police and medical in parallel, then the social security card
    for role in BIRTH_ROLES:
        h = login(role)
        task = open_task(client, h, number)
        assert decide(client, h, task["id"]).status_code == 200
    final = client.get(f"/api/v1/services/applications/{number}", headers=citizen).json()
    assert final["status"] == "approved"
    assert {t["spec"] for t in final["tasks"]} == {
        "t_birth_certificate",
        "t_household",
        "t_medical_insurance",
        "t_social_card",
    }
    assert final["certificate_number"]
    v = client.get(f"/api/v1/services/certificates/{final['certificate_number']}/verify").json()
    assert v["valid"] is True and v["document"]["holder"] == "李*"
    texts = [e["text"] for e in final["timeline"]]
    assert any("共享数据预填" in t for t in texts) and any("全部事项办结" in t for t in texts)


def test_a_department_cannot_do_another_lines_task(client, login, world):
    number = apply(client, login("sv_citizen")).json()["number"]
    task = open_task(client, login("sv_health"), number)
    r = decide(client, login("sv_police"), task["id"])
    assert r.status_code == 404  # not in the police work list at all
    assert r.json()["error"]["message"]


def test_bad_input_is_a_clear_4xx_and_nothing_is_written(client, login, world, db):
    h = login("sv_citizen")
    before = db.scalar(select(func.count()).select_from(Application))
    mats = db.scalar(select(func.count()).select_from(Material))
    unknown = apply(client, h, item="YJS-000000-NOPE")
    assert unknown.status_code == 404 and "不存在" in unknown.json()["error"]["message"]
    missing = apply(client, h, files=[])
    assert missing.status_code == 422
    assert any(d["loc"][-1] == "child_photo" for d in missing.json()["error"]["details"])
    wrong = apply(client, h, files=[("child_photo", "photo.jpg", PDF)])
    assert wrong.status_code == 422 and "只接受" in wrong.json()["error"]["message"]
    big = apply(client, h, files=[("child_photo", "p.jpg", JPEG + b"\x00" * (5 * 1024 * 1024))])
    assert big.status_code == 413
    no_field = apply(client, h, form={"child_name": "李小满"})
    assert no_field.status_code == 422 and "新生儿性别" in no_field.json()["error"]["message"]
    member = apply(client, h, item="SX-410527-002")
    assert member.status_code == 422 and "一件事" in member.json()["error"]["message"]
    assert db.scalar(select(func.count()).select_from(Application)) == before
    assert db.scalar(select(func.count()).select_from(Material)) == mats


def test_anonymous_callers_get_401(client, world):
    assert apply(client, {}).status_code == 401
    assert client.get("/api/v1/services/applications").status_code == 401
    assert client.get("/api/v1/services/tasks").status_code == 401
    assert client.post("/api/v1/services/tasks/1/decision", json={"decision": "approve"}).status_code == 401
    assert client.get("/api/v1/services/overdue").status_code == 401
    assert client.get("/api/v1/services/items").status_code == 200  # the catalogue is public


def test_another_division_and_another_citizen_do_not_see_the_case(client, login, world):
    number = apply(client, login("sv_citizen")).json()["number"]
    for outsider in ("pd_gov", "sv_other", "jsh_gov"):
        r = client.get(f"/api/v1/services/applications/{number}", headers=login(outsider))
        assert r.status_code == 404, outsider
    assert number not in {
        a["number"] for a in client.get("/api/v1/services/applications", headers=login("pd_gov")).json()
    }


def test_cross_region_both_divisions_see_the_same_timeline_and_pulls_are_audited(client, login, world, db):
    r = apply(client, login("sv_citizen"), mode="remote_collect", accepted_division_code=AWAY)
    assert r.status_code == 201, r.text
    number = r.json()["number"]
    assert r.json()["mode"] == "remote_collect" and r.json()["accepted_division_code"] == AWAY
    home = client.get(f"/api/v1/services/applications/{number}", headers=login("nh_supervisor")).json()
    away = client.get(f"/api/v1/services/applications/{number}", headers=login("sv_counter")).json()
    assert home["timeline"] == away["timeline"] and "君山区" in home["timeline"][0]["text"]
    pulls = db.scalars(
        select(AuditRecord).where(
            AuditRecord.action == "exchange.gateway.records", AuditRecord.entity_id == world["resource"]
        )
    ).all()
    assert any(number in (p.purpose or "") for p in pulls)


def test_supplement_pauses_the_clock_and_resumes_it(client, login, world, db):
    citizen = login("sv_citizen")
    number = apply(client, citizen).json()["number"]
    health = login("sv_health")
    task = open_task(client, health, number)
    assert decide(client, health, task["id"], "supplement").status_code == 422  # a reason is required
    r = decide(client, health, task["id"], "supplement", "出生医学证明照片不清晰")
    assert r.status_code == 200 and r.json()["status"] == "supplement"
    assert decide(client, health, task["id"]).status_code == 409  # waits for the applicant
    app = db.scalar(select(Application).where(Application.number == number))
    assert app.paused_at is not None and app.remaining_days is not None
    r = client.post(
        f"/api/v1/services/applications/{number}/supplement",
        headers=citizen,
        data={"material_codes": ["child_photo"]},
        files=[("files", ("new.jpg", JPEG))],
    )
    assert r.status_code == 200 and r.json()["status"] == "in_progress"
    assert decide(client, health, task["id"]).status_code == 200


def test_refusal_ends_the_application_and_closes_tasks(client, login, world):
    number = apply(client, login("sv_citizen")).json()["number"]
    health = login("sv_health")
    task = open_task(client, health, number)
    r = decide(client, health, task["id"], "reject", "非本院出生，请向出生医院申请")
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert decide(client, health, task["id"]).status_code in (404, 409)


def test_withdraw_only_by_the_applicant(client, login, world):
    number = apply(client, login("sv_citizen")).json()["number"]
    assert (
        client.post(
            f"/api/v1/services/applications/{number}/withdraw", headers=login("sv_health")
        ).status_code
        == 403
    )
    r = client.post(f"/api/v1/services/applications/{number}/withdraw", headers=login("sv_citizen"))
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"


def test_restaurant_bundle_exclusive_gateway_adds_a_site_check_for_large_premises(client, login, world):
    form = {"shop_name": "满堂红", "shop_address": "城关镇繁荣街8号", "area_m2": "200", "scope": "热食类"}
    files = [("lease", "l.pdf", PDF), ("food_safety_rules", "r.pdf", PDF)]
    number = apply(client, login("sv_citizen"), item=FOOD, form=form, files=files).json()["number"]
    assert (
        decide(
            client, login("sv_approval"), open_task(client, login("sv_approval"), number)["id"]
        ).status_code
        == 200
    )
    market = login("sv_market")
    first = open_task(client, market, number)
    assert first["spec"] == "t_site_check"
    decide(client, market, first["id"])
    decide(client, market, open_task(client, market, number)["id"])
    r = decide(client, login("sv_tax"), open_task(client, login("sv_tax"), number)["id"])
    assert r.json()["status"] == "approved"
