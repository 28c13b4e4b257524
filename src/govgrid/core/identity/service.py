"""Identity rules: users, logins, role assignments, API keys, and loading the caller."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from govgrid.config import get_settings
from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor, SystemActor
from govgrid.core.authz.principal import Assignment, Principal
from govgrid.core.db import utcnow
from govgrid.core.departments import service as departments
from govgrid.core.departments.models import Department
from govgrid.core.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from govgrid.core.identity import security
from govgrid.core.identity.enums import Reach, Role
from govgrid.core.identity.models import ApiKey, RoleAssignment, User

MIN_PASSWORD = 8


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


def load_user_principal(session: Session, user_id: int) -> Principal | None:
    """The active user's principal, or None."""
    user = session.scalar(select(User).where(User.id == user_id).options(selectinload(User.roles)))
    if user is None or not user.is_active:
        return None
    if user.is_demo and not get_settings().demo_mode:
        return None
    return principal_for_user(user)


def load_api_key_principal(session: Session, full_key: str) -> Principal | None:
    """The principal of a valid, unrevoked API key, or None."""
    prefix = security.split_api_key(full_key.strip())
    if prefix is None:
        return None
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if key is None or key.revoked_at is not None or not security.api_key_matches(full_key.strip(), key.key_hash):
        return None
    return Principal(
        kind="api_key",
        id=key.id,
        name=f"key:{key.name}",
        display_name=key.name,
        assignments=(_assignment(key.department, key.role, key.reach),),
    )


def authenticate(session: Session, *, username: str, password: str) -> User:
    """Check a login; every attempt, good or bad, goes to the audit chain."""
    user = session.scalar(select(User).where(User.username == username))
    ok = security.verify_password(password, user.password_hash if user else None)
    reason = None
    if not ok or user is None:
        reason = "bad_credentials"
    elif not user.is_active:
        reason = "inactive"
    elif user.is_demo and not get_settings().demo_mode:
        reason = "demo_account_outside_demo_mode"
    actor = SystemActor("login")
    entry: dict[str, Any] = dict(actor=actor, action="auth.login" if reason is None else "auth.login_failed", entity_type="user",
                 entity_id=user.id if user else None,
                 detail={"username": username, **({"reason": reason} if reason else {})})
    if reason is not None:
        # The request's transaction rolls back; the refusal is recorded after it (see core.deps.get_session).
        if reason == "demo_account_outside_demo_mode":
            raise Unauthorized("演示账号只能在演示模式下登录 (demo accounts only work in demo mode)", audit=entry)
        raise Unauthorized("用户名或密码错误 (wrong username or password)", audit=entry)
    audit.record(session, **entry)
    assert user is not None
    return user


def create_user(session: Session, *, actor: Actor, username: str, password: str, display_name: str | None = None,
                is_superuser: bool = False, is_demo: bool = False, locale: str = "zh-CN") -> User:
    """Create a user with an argon2 password hash."""
    problems = []
    if not username or len(username) > 64 or not all(c.isalnum() or c in "._-" for c in username):
        problems.append({"loc": ["username"], "msg": "用户名只能包含字母、数字和 ._- (letters, digits and ._- only, up to 64)"})
    if len(password) < MIN_PASSWORD:
        problems.append({"loc": ["password"], "msg": f"密码至少 {MIN_PASSWORD} 位 (at least {MIN_PASSWORD} characters)"})
    if problems:
        raise ValidationFailed("无法创建用户 (cannot create user)", details=problems)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"用户名 {username} 已存在 (username already taken)")
    user = User(username=username, display_name=display_name or username, password_hash=security.hash_password(password),
                is_superuser=is_superuser, is_demo=is_demo, locale=locale)
    session.add(user)
    session.flush()
    audit.record(session, actor=actor, action="user.create", entity_type="user", entity_id=user.id,
                 detail={"username": username, "is_superuser": is_superuser})
    return user


def _check_role(role: str, reach: str) -> None:
    problems = []
    if role not in {r.value for r in Role}:
        problems.append({"loc": ["role"], "msg": f"未知角色 (unknown role); one of {', '.join(r.value for r in Role)}"})
    if reach not in {r.value for r in Reach}:
        problems.append({"loc": ["reach"], "msg": "reach must be department, line or division"})
    if problems:
        raise ValidationFailed("角色无效 (invalid role)", details=problems)


def assign_role(session: Session, *, actor: Actor, user: User, department: Department, role: str,
                reach: str = "department") -> RoleAssignment:
    """Give a user a role in a department."""
    _check_role(role, reach)
    existing = session.scalar(select(RoleAssignment).where(
        RoleAssignment.user_id == user.id, RoleAssignment.department_id == department.id, RoleAssignment.role == role))
    if existing is not None:
        existing.reach = reach
        session.flush()
        return existing
    ra = RoleAssignment(user_id=user.id, department_id=department.id, role=role, reach=reach)
    session.add(ra)
    session.flush()
    audit.record(session, actor=actor, action="user.assign_role", entity_type="user", entity_id=user.id,
                 department_id=department.id, division_code=department.division_code,
                 detail={"role": role, "reach": reach})
    return ra


def get_user(session: Session, user_id: int) -> User:
    """One user by id, or NotFound."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"用户 {user_id} 不存在 (no such user)")
    return user


def create_api_key(session: Session, *, actor: Actor, name: str, department_id: int, role: str = "operator",
                   reach: str = "department", created_by: int | None = None) -> tuple[ApiKey, str]:
    """Issue an API key for a department; the clear key is returned once and never stored."""
    _check_role(role, reach)
    dept = departments.get(session, department_id)
    full, prefix, digest = security.new_api_key()
    key = ApiKey(name=name, prefix=prefix, key_hash=digest, department_id=dept.id, role=role, reach=reach, created_by=created_by)
    session.add(key)
    session.flush()
    audit.record(session, actor=actor, action="api_key.create", entity_type="api_key", entity_id=key.id,
                 department_id=dept.id, division_code=dept.division_code, detail={"name": name, "role": role})
    return key, full


def revoke_api_key(session: Session, *, actor: Actor, key: ApiKey) -> ApiKey:
    """Revoke an API key (idempotent)."""
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.flush()
        audit.record(session, actor=actor, action="api_key.revoke", entity_type="api_key", entity_id=key.id,
                     department_id=key.department_id)
    return key


def ensure_user_with_role(session: Session, *, actor: Actor, username: str, password: str, display_name: str,
                          department_code: str, role: str, reach: str = "department", is_demo: bool = False) -> User:
    """A user holding a role in a department, created if missing (demo and seed loaders)."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        user = create_user(session, actor=actor, username=username, password=password, display_name=display_name,
                           is_demo=is_demo)
    assign_role(session, actor=actor, user=user, department=departments.get_by_code(session, department_code),
                role=role, reach=reach)
    return user


def department_members(session: Session, department_id: int) -> list[User]:
    """Users holding any role in a department."""
    return list(session.scalars(select(User).join(RoleAssignment).where(RoleAssignment.department_id == department_id)
                                .distinct().order_by(User.username)))


def api_keys_in_scope(session: Session, principal: Principal) -> list[ApiKey]:
    """API keys of the departments the principal administers."""
    from govgrid.core.authz import policy

    return list(session.scalars(select(ApiKey).where(policy.scope(ApiKey.department_id, principal, roles=("admin",)))
                                .order_by(ApiKey.id)))


def get_api_key(session: Session, key_id: int) -> ApiKey:
    """One API key by id, or NotFound."""
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"API 密钥 {key_id} 不存在 (no such key)")
    return key
