"""Loading the caller on every request (core.identity.service.load_user_principal): the same principal the
user's ORM rows give, every assignment in grant order, refused for inactive or out-of-mode demo users, and
never stale (a role granted or a user disabled counts from the next request)."""

from sqlalchemy import select

from govgrid.config import get_settings, set_settings
from govgrid.core.audit.service import SystemActor
from govgrid.core.departments.models import Department
from govgrid.core.identity import service as identity
from govgrid.core.identity.models import User

ACTOR = SystemActor("tests")
PASSWORD = "principal-load-test-Pass-91"  # a test user's password


def _dept(db, code):
    return db.scalar(select(Department).where(Department.code == code))


def _user(db, username="pl_two_roles"):
    user = identity.create_user(db, actor=ACTOR, username=username, password=PASSWORD,
                                display_name="两个角色")
    identity.assign_role(db, actor=ACTOR, user=user, department=_dept(db, "410527-tax"), role="handler")
    identity.assign_role(db, actor=ACTOR, user=user, department=_dept(db, "410527-hotline_12345"),
                         role="dispatcher", reach="division")
    db.flush()
    return user


def test_the_principal_matches_the_users_rows_in_grant_order(db):
    user = _user(db)
    loaded = identity.load_user_principal(db, user.id)
    assert loaded == identity.principal_for_user(user)
    assert [(a.role, a.reach) for a in loaded.assignments] == [("handler", "department"),
                                                                 ("dispatcher", "division")]
    tax = _dept(db, "410527-tax")
    first = loaded.assignments[0]
    assert (first.department_id, first.department_name, first.line_code, first.division_code) == (
        tax.id, tax.name, tax.line_code, tax.division_code)
    assert first.division_path == tax.division.path and loaded.primary == first
    assert loaded.display_name == "两个角色" and loaded.locale == "zh-CN" and not loaded.is_superuser


def test_unknown_inactive_and_out_of_mode_demo_users_get_no_principal(db):
    assert identity.load_user_principal(db, 987_654_321) is None
    user = _user(db, "pl_disabled")
    user.is_active = False
    db.flush()
    assert identity.load_user_principal(db, user.id) is None
    demo = db.scalar(select(User).where(User.username == "nh_gov"))
    assert identity.load_user_principal(db, demo.id) is not None
    saved = get_settings()
    set_settings(saved.model_copy(update={"demo_mode": False}))
    try:
        assert identity.load_user_principal(db, demo.id) is None
    finally:
        set_settings(saved)


def test_a_role_granted_or_an_account_disabled_counts_from_the_next_request(client, db, login):
    user = identity.create_user(db, actor=ACTOR, username="pl_next_request", password=PASSWORD)
    db.commit()
    headers = login("pl_next_request")
    assert client.get("/api/v1/me", headers=headers).json()["assignments"] == []
    identity.assign_role(db, actor=ACTOR, user=user, department=_dept(db, "410527-tax"), role="viewer")
    db.commit()
    roles = client.get("/api/v1/me", headers=headers).json()["assignments"]
    assert [(r["role"], r["department_id"]) for r in roles] == [("viewer", _dept(db, "410527-tax").id)]
    user.is_active = False
    db.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 401
