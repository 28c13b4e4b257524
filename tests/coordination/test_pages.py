"""The pages without a browser: anonymous visitors are sent to log in, forms need the CSRF token, a bad form
answers with a message and writes nothing, another county's part is not shown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govgrid.coordination.models import SoftwareSystem, Task
from govgrid.coordination.services import tasks
from govgrid.core.audit.service import SystemActor
from tests.conftest import cookie_login, csrf_token

PAGES = ["/coordination/overview", "/coordination/tasks", "/coordination/assets", "/coordination/pools"]


def test_anonymous_visitors_are_sent_to_log_in(client):
    for path in PAGES:
        r = client.get(path, headers={"Accept": "text/html"}, follow_redirects=False)
        assert r.status_code in (302, 303, 401), path


def test_every_page_renders_in_chinese_for_a_city_admin(client, db: Session, users, providers):
    cookie_login(client, db, "ay_gov_t")
    for path in PAGES:
        r = client.get(path, headers={"Accept": "text/html"})
        assert r.status_code == 200, (path, r.text[:500])
        assert 'lang="zh' in r.text or "统筹" in r.text or "任务" in r.text
    r = client.get("/coordination/overview?division=410500", headers={"Accept": "text/html"})
    assert "安阳市" in r.text and 'data-division="410527"' in r.text


def test_a_form_without_the_csrf_token_is_refused(client, db: Session, users):
    cookie_login(client, db, "ay_gov_t")
    r = client.post(
        "/coordination/tasks", data={"division_code": "410500", "title": "无令牌", "deadline": "2099-01-01"}
    )
    assert r.status_code == 403
    assert db.scalar(select(func.count(Task.id)).where(Task.title == "无令牌")) == 0


def test_a_bad_task_form_shows_what_to_fix_and_writes_nothing(client, db: Session, users, providers):
    cookie_login(client, db, "ay_gov_t")
    token = csrf_token(client, "/coordination/tasks")
    r = client.post(
        "/coordination/tasks",
        headers={"X-CSRF-Token": token},
        data={"division_code": "410500", "title": "日期错误", "deadline": "明天", "csrf_token": token},
    )
    assert r.status_code == 422 and "YYYY-MM-DD" in r.text
    assert db.scalar(select(func.count(Task.id)).where(Task.title == "日期错误")) == 0


def test_the_county_board_hides_other_counties(client, db: Session, users, providers):
    now = datetime.now(UTC)
    tasks.create_task(
        db,
        actor=SystemActor("test"),
        division_code="410500",
        title="页面测试任务",
        assignees=["410527", "410526"],
        deadline=now + timedelta(days=3),
    )
    cookie_login(client, db, "nh_gov")
    r = client.get("/coordination/tasks", headers={"Accept": "text/html"})
    assert "页面测试任务" in r.text and 'data-division="410527"' in r.text
    assert 'data-division="410526"' not in r.text
    assert "蓝色提醒" in r.text  # three days left, not done


def test_a_planned_system_form_is_flagged(client, db: Session, users):
    cookie_login(client, db, "hn_gov_t")
    token = csrf_token(client, "/coordination/assets")
    r = client.post(
        "/coordination/systems",
        headers={"X-CSRF-Token": token},
        follow_redirects=False,
        data={
            "department_code": "410000-government",
            "kind": "service_portal",
            "name": "河南政务服务网",
            "state": "operating",
            "offered_below": "1",
            "csrf_token": token,
        },
    )
    assert r.status_code == 303
    cookie_login(client, db, "nh_gov")
    token = csrf_token(client, "/coordination/assets")
    r = client.post(
        "/coordination/systems",
        headers={"X-CSRF-Token": token},
        data={
            "department_code": "410527-government",
            "kind": "service_portal",
            "name": "内黄县网上办事大厅",
            "state": "planned",
            "csrf_token": token,
        },
    )
    assert r.status_code == 200 and "河南政务服务网" in r.text
    assert db.scalar(
        select(SoftwareSystem.duplicate_of_id).where(SoftwareSystem.name == "内黄县网上办事大厅")
    )
