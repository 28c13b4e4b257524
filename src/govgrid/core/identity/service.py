"""Identity rules: users, logins, role assignments, API keys, and loading the caller."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, selectinload

from govgrid.config import get_settings
from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor, SystemActor
from govgrid.core.authz.principal import Assignment, Principal
from govgrid.core.db import utcnow
from govgrid.core.departments import service as departments
from govgrid.core.departments.models import Department
from govgrid.core.divisions.models import Division
from govgrid.core.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    RateLimitedError,
    UnauthorizedError,
    ValidationFailedError,
)
from govgrid.core.identity import passwords, security, throttle
from govgrid.core.identity.enums import Reach, Role
from govgrid.core.identity.models import ApiKey, RoleAssignment, User

log = logging.getLogger(__name__)

API_KEY_DAYS = 365
API_KEY_MAX_DAYS = 730
API_KEY_MAX_GRACE_DAYS = 30



def _assignment(dept: Department, role: str, reach: str) -> Assignment:
    return Assignment(
        department_id=dept.id,
        department_name=dept.name,
        line_code=dept.line_code,
        division_code=dept.division_code,
        division_path=dept.division.path,
        role=role,
        reach=reach,
    )


def principal_for_user(user: User) -> Principal:
    """The caller built from a user and its role assignments."""
    return Principal(
        kind="user",
        id=user.id,
        name=user.username,
        display_name=user.display_name,
        assignments=tuple(_assignment(r.department, r.role, r.reach) for r in user.roles),
        is_superuser=user.is_superuser,
        locale=user.locale,
    )


# Every request with a login loads its caller: built once here (plain column rows, two statements) instead of
# ORM objects with their joined departments, divisions and lines, and a fresh statement, on every request.
_USER_ROW = select(
    User.username, User.display_name, User.is_active, User.is_superuser, User.is_demo, User.locale
).where(User.id == bindparam("user_id"))
_ASSIGNMENT_ROWS = (
    select(RoleAssignment.department_id, Department.name, Department.line_code, Department.division_code,
           Division.path, RoleAssignment.role, RoleAssignment.reach)
    .join(Department, Department.id == RoleAssignment.department_id)
    .join(Division, Division.code == Department.division_code)
    .where(RoleAssignment.user_id == bindparam("user_id"))
    .order_by(RoleAssignment.id)
)


def load_user_principal(session: Session, user_id: int) -> Principal | None:
    """The active user's principal, or None."""
    user = session.execute(_USER_ROW, {"user_id": user_id}).first()
    if user is None or not user.is_active:
        return None
    if user.is_demo and not get_settings().demo_mode:
        return None
    rows = session.execute(_ASSIGNMENT_ROWS, {"user_id": user_id}).all()
    return Principal(
        kind="user",
        id=user_id,
        name=user.username,
        display_name=user.display_name,
        assignments=tuple(Assignment(department_id=r[0], department_name=r[1], line_code=r[2],
                                     division_code=r[3], division_path=r[4], role=r[5], reach=r[6])
                          for r in rows),
        is_superuser=user.is_superuser,
        locale=user.locale,
    )


def load_api_key_principal(session: Session, full_key: str) -> Principal | None:
    """The principal of a valid, unrevoked API key, or None."""
    prefix = security.split_api_key(full_key.strip())
    if prefix is None:
        return None
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if key is None or key.revoked_at is not None:
        return None
    if key.expires_at is not None and key.expires_at <= utcnow():
        return None
    if not security.api_key_matches(full_key.strip(), key.key_hash):
        return None
    return Principal(
        kind="api_key",
        id=key.id,
        name=f"key:{key.name}",
        display_name=key.name,
        assignments=(_assignment(key.department, key.role, key.reach),),
    )


def authenticate(session: Session, *, username: str, password: str, address: str | None = None) -> User:
    """Check a login; every attempt, good or bad, goes to the audit chain, and wrong passwords earn lockouts.

    A refused attempt raises; its audit record and failure count are written after the request's rollback
    (`AppError.audit` / `followups`, see core.deps.record_refusal)."""
    actor = SystemActor("login")
    lock = throttle.active_lock(session, username=username, address=address)
    if lock is not None:
        minutes = max(1, math.ceil(lock.seconds / 60))
        log.warning("login refused: locked", extra={"scope": lock.scope, "seconds": lock.seconds})
        raise RateLimitedError(
            f"登录失败次数过多，{'该账号' if lock.scope == 'user' else '来自此地址的登录'}已临时锁定，"
            f"请 {minutes} 分钟后再试 (too many failed logins: locked for {lock.seconds} s)",
            retry_after=lock.seconds,
            code="login_locked",
            audit={
                "actor": actor,
                "action": "auth.login_refused_locked",
                "entity_type": "user",
                "detail": {"username": username, "scope": lock.scope},
            },
        )
    user = session.scalar(select(User).where(User.username == username))
    ok = security.verify_password(password, user.password_hash if user else None)
    reason = None
    if not ok or user is None:
        reason = "bad_credentials"
    elif not user.is_active:
        reason = "inactive"
    elif user.is_demo and not get_settings().demo_mode:
        reason = "demo_account_outside_demo_mode"
    entry: dict[str, Any] = {
        "actor": actor,
        "action": "auth.login" if reason is None else "auth.login_failed",
        "entity_type": "user",
        "entity_id": user.id if user else None,
        "detail": {"username": username, **({"reason": reason} if reason else {})},
    }
    # `user is None` implies a reason; testing it too lets the type checker narrow `user` below.
    if reason is not None or user is None:
        # The request's transaction rolls back; the refusal and its count are recorded after it.
        def count(s: Session) -> None:
            throttle.record_failure(s, username=username, address=address)

        followups = [count] if reason == "bad_credentials" else []
        log.info("login failed", extra={"reason": reason, "user_id": user.id if user else None})
        if reason == "demo_account_outside_demo_mode":
            raise UnauthorizedError(
                "演示账号只能在演示模式下登录 (demo accounts only work in demo mode)", audit=entry
            )
        raise UnauthorizedError(
            "用户名或密码错误 (wrong username or password)", audit=entry, followups=followups
        )
    throttle.record_success(session, username=username)
    audit.record(session, **entry)
    log.info("login", extra={"user_id": user.id})
    return user


def create_user(
    session: Session,
    *,
    actor: Actor,
    username: str,
    password: str,
    display_name: str | None = None,
    is_superuser: bool = False,
    is_demo: bool = False,
    locale: str = "zh-CN",
    home_department_id: int | None = None,
) -> User:
    """Create a user with an argon2 password hash."""
    problems = []
    if not username or len(username) > 64 or not all(c.isalnum() or c in "._-" for c in username):
        problems.append({
            "loc": ["username"],
            "msg": "用户名只能包含字母、数字和 ._- (letters, digits and ._- only, up to 64)",
        })
    weak = passwords.problems(password, username=username)
    problems.extend({"loc": ["password"], "msg": msg} for msg in weak)
    if problems:
        raise ValidationFailedError("无法创建用户 (cannot create user)", details=problems)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise ConflictError(f"用户名 {username} 已存在 (username already taken)")
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=security.demo_password_hash(password) if is_demo else security.hash_password(password),
        is_superuser=is_superuser,
        is_demo=is_demo,
        locale=locale,
        home_department_id=home_department_id,
    )
    session.add(user)
    session.flush()
    audit.record(session, actor=actor, action="user.create", entity_type="user", entity_id=user.id,
                 detail={"username": username, "is_superuser": is_superuser})
    log.info("user created", extra={"user_id": user.id, "is_superuser": is_superuser})
    return user


def _check_role(role: str, reach: str) -> None:
    problems = []
    if role not in {r.value for r in Role}:
        roles = ", ".join(r.value for r in Role)
        problems.append({"loc": ["role"], "msg": f"未知角色 (unknown role); one of {roles}"})
    if reach not in {r.value for r in Reach}:
        problems.append({"loc": ["reach"], "msg": "reach must be department, line or division"})
    if problems:
        raise ValidationFailedError("角色无效 (invalid role)", details=problems)


def assign_role(session: Session, *, actor: Actor, user: User, department: Department, role: str,
                reach: str = "department") -> RoleAssignment:
    """Give a user a role in a department."""
    _check_role(role, reach)
    existing = session.scalar(select(RoleAssignment).where(
        RoleAssignment.user_id == user.id,
        RoleAssignment.department_id == department.id,
        RoleAssignment.role == role,
    ))
    if existing is not None:
        if existing.reach != reach:
            before = existing.reach
            existing.reach = reach
            session.flush()
            audit.record(
                session,
                actor=actor,
                action="user.change_role_reach",
                entity_type="user",
                entity_id=user.id,
                department_id=department.id,
                division_code=department.division_code,
                detail={"role": role, "reach": reach, "previous_reach": before, "assignment_id": existing.id},
            )
            log.info("role reach changed", extra={"user_id": user.id, "department_id": department.id,
                                                  "role": role, "reach": reach, "previous_reach": before})
        return existing
    ra = RoleAssignment(user_id=user.id, department_id=department.id, role=role, reach=reach)
    session.add(ra)
    session.flush()
    audit.record(session, actor=actor, action="user.assign_role", entity_type="user", entity_id=user.id,
                 department_id=department.id, division_code=department.division_code,
                 detail={"role": role, "reach": reach})
    log.info("role granted", extra={"user_id": user.id, "department_id": department.id, "role": role,
                                    "reach": reach})
    return ra


def get_user(session: Session, user_id: int) -> User:
    """One user by id, or NotFoundError."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"用户 {user_id} 不存在 (no such user)")
    return user


def create_api_key(
    session: Session,
    *,
    actor: Actor,
    name: str,
    department_id: int,
    role: str = "operator",
    reach: str = "department",
    created_by: int | None = None,
    valid_days: int = API_KEY_DAYS,
) -> tuple[ApiKey, str]:
    """Issue an API key for a department; the clear key is returned once and never stored."""
    _check_role(role, reach)
    if not 1 <= valid_days <= API_KEY_MAX_DAYS:
        raise ValidationFailedError(f"API 密钥有效期须在 1 到 {API_KEY_MAX_DAYS} 天之间",
                                    details=[{"loc": ["valid_days"], "msg": f"1-{API_KEY_MAX_DAYS}"}])
    dept = departments.get(session, department_id)
    full, prefix, digest = security.new_api_key()
    key = ApiKey(
        name=name,
        prefix=prefix,
        key_hash=digest,
        department_id=dept.id,
        role=role,
        reach=reach,
        created_by=created_by,
        expires_at=utcnow() + timedelta(days=valid_days),
    )
    session.add(key)
    session.flush()
    audit.record(session, actor=actor, action="api_key.create", entity_type="api_key", entity_id=key.id,
                 department_id=dept.id, division_code=dept.division_code,
                 detail={"name": name, "role": role, "valid_days": valid_days})
    return key, full


def rotate_api_key(
    session: Session, *, actor: Actor, key: ApiKey, grace_days: int = 7, valid_days: int = API_KEY_DAYS,
    created_by: int | None = None,
) -> tuple[ApiKey, str]:
    """A new key with the old one's scope; the old key keeps working for `grace_days` (0: stops now)."""
    if key.revoked_at is not None or key.replaced_by_id is not None:
        raise ConflictError(f"API 密钥 {key.prefix} 已吊销或已轮换，不能再次轮换；请轮换它的新密钥")
    if not 0 <= grace_days <= API_KEY_MAX_GRACE_DAYS:
        raise ValidationFailedError(f"旧密钥的过渡期须在 0 到 {API_KEY_MAX_GRACE_DAYS} 天之间",
                                    details=[{"loc": ["grace_days"], "msg": f"0-{API_KEY_MAX_GRACE_DAYS}"}])
    new, full = create_api_key(session, actor=actor, name=key.name, department_id=key.department_id,
                               role=key.role, reach=key.reach, created_by=created_by, valid_days=valid_days)
    ends = utcnow() + timedelta(days=grace_days)
    key.expires_at = ends if key.expires_at is None else min(key.expires_at, ends)
    key.replaced_by_id = new.id
    session.flush()
    audit.record(session, actor=actor, action="api_key.rotate", entity_type="api_key", entity_id=key.id,
                 department_id=key.department_id, detail={"replaced_by": new.id, "grace_days": grace_days})
    log.info("api key rotated", extra={"key_id": key.id, "new_key_id": new.id})
    return new, full


def revoke_api_key(session: Session, *, actor: Actor, key: ApiKey) -> ApiKey:
    """Revoke an API key (idempotent)."""
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.flush()
        audit.record(session, actor=actor, action="api_key.revoke", entity_type="api_key", entity_id=key.id,
                     department_id=key.department_id)
    return key


def ensure_user_with_role(
    session: Session,
    *,
    actor: Actor,
    username: str,
    password: str,
    display_name: str,
    department_code: str,
    role: str,
    reach: str = "department",
    is_demo: bool = False,
) -> User:
    """A user holding a role in a department, created if missing (demo and seed loaders)."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        user = create_user(
            session,
            actor=actor,
            username=username,
            password=password,
            display_name=display_name,
            is_demo=is_demo,
        )
    assign_role(session, actor=actor, user=user, department=departments.get_by_code(session, department_code),
                role=role, reach=reach)
    return user


def department_members(session: Session, department_id: int) -> list[User]:
    """Users holding any role in a department."""
    stmt = select(User).join(RoleAssignment).where(RoleAssignment.department_id == department_id)
    return list(session.scalars(stmt.distinct().order_by(User.username)))


def api_keys_in_scope(session: Session, principal: Principal) -> list[ApiKey]:
    """API keys of the departments the principal administers."""
    from govgrid.core.authz import policy

    stmt = select(ApiKey).where(policy.scope(ApiKey.department_id, principal, roles=("admin",)))
    return list(session.scalars(stmt.order_by(ApiKey.id)))


def get_api_key(session: Session, key_id: int) -> ApiKey:
    """One API key by id, or NotFoundError."""
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFoundError(f"API 密钥 {key_id} 不存在 (no such key)")
    return key


# ---- granting roles: nobody grants more than they hold, nor outside their territory ------------------------

# Roles that only a named kind of administrator may grant in some lines:
# (role, line) -> check(principal, dept).
GrantRule = Callable[[Principal, Department], bool]
_grant_rules: dict[tuple[str, str], GrantRule] = {}


def register_grant_rule(role: str, rule: GrantRule, *, lines: tuple[str, ...] | None = None) -> None:
    """Declare who may grant a role, in departments of the given lines or (None) in every line: the carbon
    registry declares that only its administrator grants `verifier`, anywhere."""
    for line in lines or ("*",):
        _grant_rules[(role, line)] = rule


def _covers(a: Assignment, department: Department, reach: str) -> bool:
    """True if admin assignment `a` covers everything an assignment (department, reach) would see."""
    inside = department.division.path.startswith(a.division_path)
    if a.reach == "division":
        return inside
    if a.reach == "line":
        return inside and department.line_code == a.line_code and reach in ("department", "line")
    return a.department_id == department.id and reach == "department"


def may_grant(principal: Principal, department: Department, role: str, reach: str) -> str | None:
    """Why the principal may not grant (role, reach) in the department, or None if it may."""
    if principal.is_superuser:
        return None
    rule = _grant_rules.get((role, department.line_code)) or _grant_rules.get((role, "*"))
    if rule is not None and not rule(principal, department):
        return (
            f"角色 {role} 只能由其指定的管理机构授予 "
            f"(the {role} role is granted only by its registry administrator)"
        )
    admins = [a for a in principal.assignments if a.role == "admin"]
    if not any(_covers(a, department, reach) for a in admins):
        if any(_covers(a, department, "department") for a in admins):
            return (
                f"您的管理范围不能授予 {reach} 覆盖面 "
                "(you cannot grant a wider reach than your own admin reach)"
            )
        return "只能在本人管理的部门和区划内授予角色 (you can grant roles only within your own territory)"
    return None


def user_in_territory(session: Session, principal: Principal, user: User) -> bool:
    """True if every department the user belongs to (its home and its roles) lies in the principal's
    admin scope."""
    if principal.is_superuser:
        return True
    from govgrid.core.authz import policy

    depts = {r.department_id for r in user.roles}
    if user.home_department_id is not None:
        depts.add(user.home_department_id)
    if not depts:
        return False  # an account nobody administers is the platform administrator's to place
    visible = set(session.scalars(policy.visible_department_ids(principal, ("admin",))
                                  .where(Department.id.in_(depts))))
    return visible == depts


def grant_role(session: Session, *, actor: Principal, user: User, department: Department, role: str,
               reach: str = "department") -> RoleAssignment:
    """An administrator gives a user a role: within its own territory, never wider than its own, audited."""
    _check_role(role, reach)
    why = may_grant(actor, department, role, reach)
    if why is None and not user_in_territory(session, actor, user):
        why = "该用户不属于您管理的部门 (this user belongs to departments outside your territory)"
    if why is not None:
        log.warning("role grant refused", extra={"user_id": user.id, "department_id": department.id,
                                                 "role": role, "reach": reach})
        raise ForbiddenError(why, audit={
            "actor": actor,
            "action": "user.assign_role_refused",
            "entity_type": "user",
            "entity_id": user.id,
            "department_id": department.id,
            "division_code": department.division_code,
            "detail": {"role": role, "reach": reach, "reason": why},
        })
    return assign_role(session, actor=actor, user=user, department=department, role=role, reach=reach)


def revoke_role(session: Session, *, actor: Principal, user: User, assignment_id: int) -> None:
    """An administrator takes a role away (same territory rules as granting); audited."""
    ra = session.get(RoleAssignment, assignment_id)
    if ra is None or ra.user_id != user.id:
        raise NotFoundError(
            f"用户 {user.id} 没有编号为 {assignment_id} 的角色 (no such role assignment)"
        )
    why = may_grant(actor, ra.department, ra.role, ra.reach)
    if why is not None:
        raise ForbiddenError(why)
    dept = ra.department
    session.delete(ra)
    session.flush()
    audit.record(session, actor=actor, action="user.revoke_role", entity_type="user", entity_id=user.id,
                 department_id=dept.id, division_code=dept.division_code,
                 detail={"role": ra.role, "reach": ra.reach, "assignment_id": assignment_id})
    log.info("role revoked", extra={"user_id": user.id, "department_id": dept.id, "role": ra.role})


def change_password(
    session: Session, *, user_id: int, current: str, new: str, keep_token: str | None
) -> None:
    """The user changes its own password; every other session of theirs ends."""
    from govgrid.core.identity import sessions

    user = get_user(session, user_id)
    if not security.verify_password(current, user.password_hash):
        raise ValidationFailedError(
            "当前密码不正确 (the current password is wrong)",
            details=[{"loc": ["current_password"], "msg": "wrong password"}],
        )
    weak = passwords.problems(new, username=user.username)
    if weak:
        raise ValidationFailedError(
            "新密码不符合密码要求：" + "；".join(weak),
            details=[{"loc": ["new_password"], "msg": msg} for msg in weak],
        )
    user.password_hash = security.hash_password(new)
    session.flush()
    actor = principal_for_user(user)
    audit.record(session, actor=actor, action="user.change_password", entity_type="user", entity_id=user.id)
    log.info("password changed", extra={"user_id": user.id})
    sessions.end_all(session, user_id=user.id, actor=actor, reason="password", keep_token=keep_token)


def set_active(session: Session, *, actor: Principal, user: User, active: bool) -> User:
    """An administrator disables (or re-enables) an account; disabling ends its sessions at once."""
    from govgrid.core.identity import sessions

    if not user_in_territory(session, actor, user):
        raise ForbiddenError(
            "该用户不属于您管理的部门 (this user belongs to departments outside your territory)"
        )
    if user.is_superuser and not actor.is_superuser:
        raise ForbiddenError(
            "只有平台管理员可以停用平台管理员 (only a platform administrator can disable one)"
        )
    if user.is_active != active:
        user.is_active = active
        session.flush()
        action = "user.enable" if active else "user.disable"
        audit.record(session, actor=actor, action=action, entity_type="user", entity_id=user.id)
        log.info("user enabled" if active else "user disabled", extra={"user_id": user.id})
    if not active:
        sessions.end_all(session, user_id=user.id, actor=actor, reason="disabled")
    return user


def sessions_in_scope(session: Session, principal: Principal) -> list[tuple[Any, User]]:
    """Open sessions of the users an administrator manages (every department of theirs in its admin scope)."""
    from govgrid.core.authz import policy
    from govgrid.core.identity.models import UserSession

    policy.require_role(principal, "admin")
    now = utcnow()
    rows = session.execute(
        select(UserSession, User).join(User, User.id == UserSession.user_id)
        .where(UserSession.ended_at.is_(None), UserSession.expires_at > now)
        .options(selectinload(User.roles))
        .order_by(UserSession.created_at.desc())
    ).all()
    mine: dict[int, bool] = {}
    found = []
    for row, user in rows:
        if user.id not in mine:
            mine[user.id] = user_in_territory(session, principal, user)
        if mine[user.id]:
            found.append((row, user))
    return found


def end_session_by_id(session: Session, *, actor: Principal, session_id: int) -> None:
    """An administrator ends one open session of a user it manages (a lost phone, a shared computer)."""
    from govgrid.core.authz import policy
    from govgrid.core.identity.models import UserSession

    policy.require_role(actor, "admin")
    row = session.get(UserSession, session_id)
    user = get_user(session, row.user_id) if row is not None else None
    if row is None or user is None or not user_in_territory(session, actor, user):
        raise NotFoundError(f"没有编号为 {session_id} 的登录会话，或该用户不归您管理")
    if row.ended_at is None:
        row.ended_at = utcnow()
        row.ended_reason = "admin"
        session.flush()
        audit.record(session, actor=actor, action="auth.session_revoked", entity_type="user",
                     entity_id=user.id, detail={"session": session_id})
        log.info("session revoked", extra={"user_id": user.id, "session_id": session_id})
