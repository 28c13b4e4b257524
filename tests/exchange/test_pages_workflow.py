"""The sharing workflow in pages: approve with fields in clear, the granted-data viewer (masked, audited),
withdraw, revoke, resource registration and editing, upload preview with row errors."""

from __future__ import annotations

from sqlalchemy import func, select

from govgrid.core.audit.models import AuditRecord
from govgrid.exchange.models import Grant, Record, Resource, SharingRequest
from govgrid.exchange.services import sharing
from tests.exchange.conftest import LI, OUYANG, ZHANG, principal, request_data, to_csv

HTML = {"Accept": "text/html"}


def _request(db, people, **kw):
    req = sharing.submit_request(db, actor=principal(db, "nh_handler"), data=request_data(people.code, **kw))
    db.flush()
    return req


def test_approval_form_offers_personal_items_and_grants_two_in_clear(client, login, db, people):
    req = _request(db, people)
    page = client.get(f"/exchange/requests/{req.id}", headers=login("nh_tax"))
    assert page.status_code == 200
    for name in ("id_number", "name", "phone", "address"):  # the personal items of the request
        assert f'id="clear-{name}"' in page.text
    assert 'id="clear-age"' not in page.text and "保留到乡镇" in page.text
    r = client.post(
        f"/exchange/requests/{req.id}/decision",
        data={"action": "approve", "clear_fields": ["name", "address"], "days": "30"},
        headers=login("nh_tax"),
        follow_redirects=False,
    )
    assert r.status_code == 303 and "notice=approved" in r.headers["location"]
    grant = db.scalar(select(Grant).where(Grant.request_id == req.id))
    assert sorted(grant.clear_fields) == ["address", "name"]
    notice = client.get(r.headers["location"], headers=login("nh_tax"))
    assert f"申请 #{req.id} 已批准" in notice.text


def test_clearing_an_item_that_is_not_personal_is_refused_with_the_form(client, login, db, people):
    req = _request(db, people)
    r = client.post(
        f"/exchange/requests/{req.id}/decision",
        data={"action": "approve", "clear_fields": ["age"]},
        headers=login("nh_tax"),
    )
    assert r.status_code == 422 and 'id="errors"' in r.text and "明文字段" in r.text
    assert db.scalar(select(func.count()).select_from(Grant).where(Grant.request_id == req.id)) == 0


def test_granted_data_viewer_masks_and_audits(client, login, db, people):
    req = _request(db, people)
    sharing.decide(
        db, actor=principal(db, "nh_tax"), request_id=req.id, action="approve", clear_fields=["name"]
    )
    db.flush()
    before = db.scalar(select(func.count()).select_from(AuditRecord))
    r = client.get(f"/exchange/resources/{people.code}/data", headers=login("nh_handler"))
    assert r.status_code == 200
    assert ZHANG["name"] in r.text  # granted in clear
    assert ZHANG["phone"] not in r.text and "138****5678" in r.text  # masked
    assert ZHANG["id_number"] not in r.text and "内黄县城关镇****" in r.text
    assert OUYANG["name"] in r.text and LI["name"] in r.text
    after = db.scalar(select(func.count()).select_from(AuditRecord))
    assert after == before + 1
    rec = db.scalar(select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(1))
    assert rec.action == "exchange.gateway.records" and rec.detail["rows"] == 3


def test_data_viewer_refuses_without_a_grant_and_for_anonymous(client, login, db, people):
    assert (
        client.get(f"/exchange/resources/{people.code}/data", headers=login("nh_handler")).status_code == 403
    )
    # another county's user does not see the entry's rows either
    r = client.get(f"/exchange/resources/{people.code}/data", headers={**login("pd_handler"), **HTML})
    assert r.status_code in (403, 404) and ZHANG["name"] not in r.text
    r = client.get(f"/exchange/resources/{people.code}/data", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_withdraw_a_pending_request_from_my_requests(client, login, db, people):
    req = _request(db, people)
    page = client.get("/exchange/requests", headers=login("nh_handler"))
    assert f'action="/exchange/requests/{req.id}/withdraw"' in page.text
    assert client.post(f"/exchange/requests/{req.id}/withdraw", headers=login("nh_tax")).status_code in (
        403,
        404,
    )
    r = client.post(
        f"/exchange/requests/{req.id}/withdraw", headers=login("nh_handler"), follow_redirects=False
    )
    assert r.status_code == 303
    db.refresh(req)
    assert req.status == "withdrawn"
    again = client.post(f"/exchange/requests/{req.id}/withdraw", headers=login("nh_handler"))
    assert again.status_code == 409


def test_revoke_from_the_grants_page(client, login, db, people):
    req = _request(db, people)
    sharing.decide(db, actor=principal(db, "nh_tax"), request_id=req.id, action="approve")
    db.flush()
    grant = db.scalar(select(Grant).where(Grant.request_id == req.id))
    held = client.get("/exchange/grants", headers=login("nh_handler"))
    assert f"/exchange/resources/{people.code}/data" in held.text and "有效" in held.text
    r = client.post(
        f"/exchange/grants/{grant.id}/revoke",
        data={"reason": "用途已完成"},
        headers=login("nh_tax"),
        follow_redirects=False,
    )
    assert r.status_code == 303
    db.refresh(grant)
    assert grant.revoked_at is not None
    assert (
        client.get(f"/exchange/resources/{people.code}/data", headers=login("nh_handler")).status_code == 403
    )


def test_register_and_edit_a_resource_in_pages(client, login, db):
    items = "\n".join(
        [
            "id_number,公民身份号码,id_number,是,是,id_number",
            "name,姓名,string,是,否,name",
            "age,年龄,integer,否,否,none",
        ]
    )
    form = {
        "class_code": "T09",
        "provider_department_code": "410527-tax",
        "name": "纳税人登记信息",
        "abstract": "页面登记测试",
        "sharing_type": "conditional",
        "sharing_conditions": "仅用于法定职责",
        "open_type": "not_open",
        "update_cycle": "monthly",
        "grade": "important",
        "items": items,
    }
    r = client.post("/exchange/register", data=form, headers=login("nh_tax"), follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    res = db.scalar(select(Resource).where(Resource.name == "纳税人登记信息"))
    assert [i.name for i in res.items] == ["id_number", "name", "age"] and res.items[0].sensitive
    edit = client.get(f"/exchange/resources/{res.code}/edit", headers=login("nh_tax"))
    assert edit.status_code == 200 and "name,姓名,string,是,否,name" in edit.text
    r = client.post(
        f"/exchange/resources/{res.code}/edit",
        data={**form, "name": "纳税人登记信息（修订）"},
        headers=login("nh_tax"),
        follow_redirects=False,
    )
    assert r.status_code == 303 and "notice=saved" in r.headers["location"]
    db.refresh(res)
    assert res.name == "纳税人登记信息（修订）" and res.version == 2
    # a consumer may not edit it
    assert client.get(f"/exchange/resources/{res.code}/edit", headers=login("nh_handler")).status_code == 403


def test_register_form_reports_bad_item_lines_and_saves_nothing(client, login, db):
    count = db.scalar(select(func.count()).select_from(Resource))
    r = client.post(
        "/exchange/register",
        data={
            "class_code": "T09",
            "provider_department_code": "410527-tax",
            "name": "坏目录",
            "items": "x y,名",
        },
        headers=login("nh_tax"),
    )
    assert r.status_code == 422 and "信息项第 1 行有误" in r.text
    assert db.scalar(select(func.count()).select_from(Resource)) == count


def test_upload_preview_shows_rows_and_row_errors_without_importing(client, login, db, make_resource):
    res = make_resource()
    good = to_csv([ZHANG, OUYANG])
    r = client.post(
        f"/exchange/resources/{res.code}/upload",
        files={"file": ("p.csv", good, "text/csv")},
        data={"action": "preview"},
        headers=login("nh_tax"),
    )
    assert r.status_code == 200 and "共 2 行可导入" in r.text and ZHANG["name"] in r.text
    assert db.scalar(select(func.count()).select_from(Record)) == 0
    bad = to_csv([ZHANG, {**OUYANG, "id_number": "123", "age": "老"}])
    r = client.post(
        f"/exchange/resources/{res.code}/upload",
        files={"file": ("p.csv", bad, "text/csv")},
        data={"action": "import"},
        headers=login("nh_tax"),
    )
    assert r.status_code == 422 and 'id="row-errors"' in r.text and "未导入" in r.text
    assert db.scalar(select(func.count()).select_from(Record)) == 0
    r = client.post(
        f"/exchange/resources/{res.code}/upload",
        files={"file": ("p.csv", good, "text/csv")},
        data={"action": "import"},
        headers=login("nh_tax"),
        follow_redirects=False,
    )
    assert r.status_code == 303 and "notice=imported" in r.headers["location"]
    assert db.scalar(select(func.count()).select_from(Record)) == 2
    # a consumer department cannot upload
    r = client.post(
        f"/exchange/resources/{res.code}/upload",
        files={"file": ("p.csv", good, "text/csv")},
        data={"action": "preview"},
        headers=login("nh_handler"),
    )
    assert r.status_code == 403


def test_new_pages_redirect_anonymous_visitors(client, db, people):
    req_count = db.scalar(select(func.count()).select_from(SharingRequest))
    for path in ("/exchange/register", f"/exchange/resources/{people.code}/edit", "/exchange/requests/1"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login"), path
    assert db.scalar(select(func.count()).select_from(SharingRequest)) == req_count
