"""The case loop in pages (pages/work.py, services/worklists.py): work lists with counts, a form for every
step, re-dispatch and return so no case is stuck, bad input answered on the page with nothing written."""

import json
import re
from datetime import timedelta

from sqlalchemy import func, select

from govgrid.citymap.enums import CASE_LOOP, FINAL_STATES, CaseAction, CaseState
from govgrid.citymap.models import Case, CaseStep
from govgrid.citymap.pages.work import PAGE_ACTIONS
from govgrid.core.departments.models import Department
from tests.conftest import cookie_login, csrf_token

API = "/api/v1/citymap"
HTML = {"Accept": "text/html"}
PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 64


def _report(client, login, grid, i=0, class_code="0101"):
    r = client.post(
        f"{API}/reports",
        json={
            "class_code": class_code,
            "lon": grid[i].center_lon,
            "lat": grid[i].center_lat,
            "description": "垃圾",
        },
        headers=login("pd_inspector"),
    )
    assert r.status_code == 201, r.text
    return r.json()["case_id"]


def _step(client, login, user, case_id, action, **data):
    return client.post(
        f"/citymap/cases/{case_id}/{action}",
        data=data,
        headers={**login(user), **HTML},
        follow_redirects=False,
    )


def _forms(html: str) -> set[str]:
    """The step actions a case page offers (its form posts and the verify form's second button)."""
    return set(re.findall(r'(?:action|formaction)="/citymap/cases/\d+/(\w+)"', html))


def _steps(db, case_id):
    return db.scalar(select(func.count()).select_from(CaseStep).where(CaseStep.case_id == case_id))


def test_every_state_but_the_final_ones_has_a_page_action_that_leads_on():
    for state in CaseState:
        leading = [a for a in PAGE_ACTIONS if state in CASE_LOOP[a].sources]
        if state in FINAL_STATES:
            assert not leading, state
        else:
            assert leading, f"{state} would be stuck"
    # the page offers every step of the loop but the report, which has its own page
    assert set(PAGE_ACTIONS) == set(CaseAction) - {CaseAction.collect}


def test_each_open_state_shows_its_forms_to_the_role_that_acts(client, db, login, grid, users, unit):
    case_id = _report(client, login, grid)
    expected = {
        "collected": ("pd_dispatcher", {"file", "reject"}),
        "filed": ("pd_dispatcher", {"dispatch"}),
        "dispatched": ("pd_handler", {"acknowledge", "send_back"}),
        "handling": ("pd_handler", {"arrive", "feedback", "send_back"}),
        "handled": ("pd_supervisor", {"verify_pass", "verify_fail"}),
        "closed": ("pd_supervisor", {"evaluate"}),
    }
    walk = [
        ("pd_dispatcher", "file", {}),
        ("pd_dispatcher", "dispatch", {"department_code": "140321-urban_management"}),
        ("pd_handler", "acknowledge", {}),
        ("pd_handler", "feedback", {"result": "已清运"}),
        ("pd_supervisor", "verify_pass", {}),
        ("pd_supervisor", "evaluate", {"score": "5"}),
    ]
    for user, action, data in walk:
        state = db.get(Case, case_id).state
        who, forms = expected[state]
        page = client.get(f"/citymap/cases/{case_id}", headers={**login(who), **HTML})
        assert page.status_code == 200 and forms <= _forms(page.text), (state, _forms(page.text))
        # the inspector who reported sees the case and its timeline, but no step of the command centre
        assert not {"file", "dispatch"} & _forms(
            client.get(f"/citymap/cases/{case_id}", headers=login("pd_inspector")).text
        )
        r = _step(client, login, user, case_id, action, **data)
        assert r.status_code == 303, r.text
        db.expire_all()
    assert db.get(Case, case_id).state == "evaluated"
    page = client.get(f"/citymap/cases/{case_id}", headers=login("pd_supervisor"))
    assert not _forms(page.text) and "此案卷已办结" in page.text
    for action in ("信息收集", "立案", "派遣", "签收任务", "处理反馈", "核查通过·结案", "综合评价"):
        assert action in page.text


def test_work_lists_count_per_role_and_stay_in_the_territory(client, db, login, grid, users):
    r = client.get("/citymap/work", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    case_id = _report(client, login, grid)
    page = client.get("/citymap/work", headers=login("pd_dispatcher"))
    assert page.status_code == 200 and "待立案" in page.text and "待派遣" in page.text
    assert f'/citymap/cases/{case_id}"' in page.text  # the dispatcher lands on 待立案
    count = re.search(r'id="tab-to_file"[^>]*>[^<]*<span[^>]*data-count="(\d+)"', page.text)
    assert count and int(count.group(1)) >= 1
    # a handler has no 待立案 list; Neihuang's dispatcher sees none of Pingding's reports
    assert 'id="tab-to_file"' not in client.get("/citymap/work", headers=login("pd_handler")).text
    other = client.get("/citymap/work?box=to_file", headers=login("nh_dispatcher")).text
    assert f'/citymap/cases/{case_id}"' not in other
    assert (
        client.get(f"/citymap/cases/{case_id}", headers={**login("nh_dispatcher"), **HTML}).status_code == 404
    )
    r = _step(client, login, "nh_dispatcher", case_id, "file")
    assert r.status_code in (403, 404) and db.get(Case, case_id).state == "collected"
    # filed and past its deadline: on the supervisor's 超期督办 list, not on Neihuang's
    assert _step(client, login, "pd_dispatcher", case_id, "file").status_code == 303
    case = db.get(Case, case_id)
    case.deadline_at = case.filed_at - timedelta(hours=1)
    db.flush()
    overdue = client.get("/citymap/work?box=overdue", headers=login("pd_supervisor")).text
    assert f'/citymap/cases/{case_id}"' in overdue and "超期" in overdue
    assert f'/citymap/cases/{case_id}"' not in client.get(
        "/citymap/work?box=overdue", headers=login("nh_supervisor")
    ).text


def test_a_case_sent_to_the_wrong_bureau_is_redispatched_or_returned(client, db, login, grid, users, unit):
    case_id = _report(client, login, grid, class_code="0302")  # 施工扬尘: the class's line is housing 住建局
    assert _step(client, login, "pd_dispatcher", case_id, "file").status_code == 303
    page = client.get(f"/citymap/cases/{case_id}", headers=login("pd_dispatcher")).text
    # the department dropdown: the class's own bureau first, grouped, then the county bureaus in order
    groups = re.findall(r'<optgroup label="([^"]+)">', page)
    assert groups[:2] == ["推荐（本类问题主管部门）", "县直部门"]
    first = re.search(r'id="dispatch-dept"[^>]*>\s*<optgroup[^>]*>\s*<option value="([^"]+)"', page)
    assert first and first.group(1) == "140321-housing"
    assert (
        _step(
            client, login, "pd_dispatcher", case_id, "dispatch", department_code="140321-housing"
        ).status_code
        == 303
    )
    # the urban-management handler cannot act on it; the dispatcher re-dispatches it (a reason is required)
    assert not _forms(client.get(f"/citymap/cases/{case_id}", headers=login("pd_handler")).text)
    before = _steps(db, case_id)
    r = _step(
        client, login, "pd_dispatcher", case_id, "redispatch", department_code="140321-urban_management"
    )
    assert r.status_code == 422 and "请填写改派原因" in r.text and _steps(db, case_id) == before
    r = _step(
        client,
        login,
        "pd_dispatcher",
        case_id,
        "redispatch",
        department_code="140321-urban_management",
        reason="扬尘由城管执法",
    )
    assert r.status_code == 303
    db.expire_all()
    urban = db.scalar(select(Department.id).where(Department.code == "140321-urban_management"))
    assert db.get(Case, case_id).department_id == urban and db.get(Case, case_id).state == "dispatched"
    mine = client.get("/citymap/work?box=mine", headers=login("pd_handler")).text
    assert f'/citymap/cases/{case_id}"' in mine
    # the handler returns it to the command centre: it waits in 待派遣 again, out of the handler's hands
    assert _step(client, login, "pd_handler", case_id, "acknowledge").status_code == 303
    r = _step(client, login, "pd_handler", case_id, "send_back", reason="")
    assert r.status_code == 422 and _steps(db, case_id) == before + 2
    r = _step(client, login, "pd_handler", case_id, "send_back", reason="不属于本部门职责")
    assert r.status_code == 303 and r.headers["location"].startswith("/citymap/work")
    db.expire_all()
    case = db.get(Case, case_id)
    assert case.state == "filed" and case.department_id is None
    assert (
        f'/citymap/cases/{case_id}"'
        in client.get("/citymap/work?box=to_dispatch", headers=login("pd_dispatcher")).text
    )
    timeline = client.get(f"/citymap/cases/{case_id}", headers=login("pd_dispatcher")).text
    assert "改派" in timeline and "回退指挥中心" in timeline and "不属于本部门职责" in timeline


def test_proposals_assign_in_one_click_and_feedback_carries_the_after_photo(
    client, db, login, grid, users, unit
):
    case_id = _report(client, login, grid)
    _step(client, login, "pd_dispatcher", case_id, "file")
    page = client.get(f"/citymap/cases/{case_id}", headers=login("pd_dispatcher")).text
    assert f'id="assign-{unit.id}"' in page and "一键派遣" in page and "basemap.js" in page
    assert _step(client, login, "pd_dispatcher", case_id, "dispatch", unit_id=str(unit.id)).status_code == 303
    db.expire_all()
    assert db.get(Case, case_id).unit_id == unit.id
    # the unit's own account signs for it and reports back with a photo
    _step(client, login, "pd_unit01", case_id, "acknowledge")
    before = _steps(db, case_id)
    r = client.post(
        f"/citymap/cases/{case_id}/feedback",
        data={"result": ""},
        files={"photo": ("after.png", PNG, "image/png")},
        headers=login("pd_unit01"),
        follow_redirects=False,
    )
    assert r.status_code == 422 and "请填写处理结果" in r.text and "(describe" not in r.text
    assert _steps(db, case_id) == before
    r = client.post(
        f"/citymap/cases/{case_id}/feedback",
        data={"result": "已清运"},
        files={"photo": ("after.gif", b"GIF89a", "image/gif")},
        headers=login("pd_unit01"),
        follow_redirects=False,
    )
    assert r.status_code == 422 and _steps(db, case_id) == before
    r = client.post(
        f"/citymap/cases/{case_id}/feedback",
        data={"result": "已清运"},
        files={"photo": ("after.png", PNG, "image/png")},
        headers=login("pd_unit01"),
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(f"/citymap/cases/{case_id}", headers=login("pd_supervisor")).text
    photo = re.search(r'id="photo-after"[^>]*src="(/api/v1/citymap/photos/\d+)"', page)
    assert photo and client.get(photo.group(1), headers=login("pd_supervisor")).content == PNG
    assert client.get(photo.group(1), headers=login("nh_dispatcher")).status_code == 404
    # 返工: the supervisor sends it back; the case counts one rework and is the unit's again
    assert _step(client, login, "pd_supervisor", case_id, "verify_fail", note="仍有垃圾").status_code == 303
    db.expire_all()
    assert db.get(Case, case_id).state == "handling" and db.get(Case, case_id).rework_count == 1


def test_bad_steps_are_refused_on_the_page(client, db, login, grid, users):
    case_id = _report(client, login, grid)
    before = _steps(db, case_id)
    r = _step(client, login, "pd_dispatcher", case_id, "explode")
    assert r.status_code == 404
    r = _step(client, login, "pd_dispatcher", case_id, "evaluate", score="5")
    assert r.status_code == 403 and "综合评价需要" in r.text and 'id="form-file"' in r.text  # the page again
    r = _step(client, login, "pd_supervisor", case_id, "evaluate", score="9")
    assert r.status_code == 409 and "当前状态为" in r.text  # not closed yet
    r = _step(client, login, "pd_handler", case_id, "file")
    assert r.status_code == 403
    r = _step(client, login, "pd_dispatcher", case_id, "reject", reason="")
    assert r.status_code == 422 and "请填写原因" in r.text
    assert _steps(db, case_id) == before and db.get(Case, case_id).state == "collected"
    # a browser's form post needs the CSRF token
    cookie_login(client, db, "pd_dispatcher")
    r = client.post(f"/citymap/cases/{case_id}/file", data={}, headers=HTML, follow_redirects=False)
    assert r.status_code == 403 and _steps(db, case_id) == before
    token = csrf_token(client, f"/citymap/cases/{case_id}")
    r = client.post(
        f"/citymap/cases/{case_id}/file", data={"csrf_token": token}, headers=HTML, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == f"/citymap/cases/{case_id}?done=file"
    assert "已立案" in client.get(r.headers["location"], headers=HTML).text


def test_tracking_finds_a_case_by_its_code(client, db, login, grid, users):
    case_id = _report(client, login, grid)
    code = db.get(Case, case_id).code
    r = client.get(f"/citymap/track?code={code}", headers=login("pd_dispatcher"), follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/citymap/cases/{case_id}"
    r = client.get(f"/citymap/track?code={code}", headers={**login("nh_dispatcher"), **HTML})
    assert r.status_code == 404 and "未找到案卷" in r.text
    assert client.get("/citymap/track", follow_redirects=False).status_code == 303
    report = client.get("/citymap/report", headers=login("pd_inspector")).text
    assert "/citymap/track?code=" in report and "basemap.js" in report


def test_the_basemap_is_offline_by_default_and_takes_a_configured_tile_source(monkeypatch, client, login):
    from govgrid.config import get_settings
    from govgrid.core import pages as core_pages
    from govgrid.core import websec

    r = client.get("/citymap", headers=login("pd_dispatcher"))
    assert '"url": ""' in r.text and "/static/govgrid/basemap.js" in r.text
    assert "img-src 'self' data: blob:;" in r.headers["content-security-policy"]
    tianditu = (
        "https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=vec"
        "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=KEY"
    )
    configured = get_settings().model_copy(update={"map_tiles": tianditu, "map_tiles_attribution": "天地图"})
    monkeypatch.setattr(core_pages, "get_settings", lambda: configured)  # the basemap settings of every page
    monkeypatch.setattr(websec, "get_settings", lambda: configured)
    r = client.get("/citymap", headers=login("pd_dispatcher"))
    assert "tianditu.gov.cn/vec_w/wmts" in r.text and json.dumps("天地图")[1:-1] in r.text
    assert "img-src 'self' data: blob: https://*.tianditu.gov.cn;" in r.headers["content-security-policy"]


def test_a_browser_reports_back_with_a_photo_through_the_form(client, db, login, grid, users, unit):
    case_id = _report(client, login, grid)
    _step(client, login, "pd_dispatcher", case_id, "file")
    _step(client, login, "pd_dispatcher", case_id, "dispatch", department_code="140321-urban_management")
    _step(client, login, "pd_handler", case_id, "acknowledge")
    cookie_login(client, db, "pd_handler")
    token = csrf_token(client, f"/citymap/cases/{case_id}")
    r = client.post(
        f"/citymap/cases/{case_id}/feedback",
        data={"csrf_token": token, "result": "已清运"},
        files={"photo": ("after.png", PNG, "image/png")},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    db.expire_all()
    assert db.get(Case, case_id).state == "handled"
