"""Core API routes: auth, divisions, lines, departments, users, API keys, audit. Routes stay thin."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, Response
from sqlalchemy.orm import Session

from govgrid.config import get_settings
from govgrid.core import schemas as s
from govgrid.core.audit import service as audit
from govgrid.core.authz import policy
from govgrid.core.departments import service as departments
from govgrid.core.departments.models import Department
from govgrid.core.deps import (
    CurrentPrincipal,
    PageDep,
    SessionDep,
    bearer_token,
    client_address,
    session_token,
)
from govgrid.core.divisions import service as divisions
from govgrid.core.divisions.models import Division
from govgrid.core.errors import ForbiddenError, NotFoundError
from govgrid.core.identity import service as identity
from govgrid.core.identity import sessions
from govgrid.core.modules import open_work
from govgrid.core.openapi import public

router = APIRouter()

CODE = Annotated[str, Query(min_length=6, max_length=32, pattern=r"^\d+$")]


def division_read(session: Session, div: Division, with_ancestors: bool = True) -> s.DivisionRead:
    """Serialise a division with its ancestors."""
    anc = divisions.ancestors(session, div) if with_ancestors else []
    raw_bbox = [div.min_lon, div.min_lat, div.max_lon, div.max_lat]
    raw_center = [div.center_lon, div.center_lat]
    bbox = [float(v) for v in raw_bbox if v is not None] if None not in raw_bbox else None
    center = [float(v) for v in raw_center if v is not None] if None not in raw_center else None
    return s.DivisionRead(
        code=div.code,
        name=div.name,
        level=div.level,
        parent_code=div.parent_code,
        depth=div.depth,
        bbox=bbox,
        center=center,
        source=div.source,
        ancestors=[s.DivisionRef.model_validate(a) for a in anc],
    )


def department_read(d: Department) -> s.DepartmentRead:
    """Serialise a department with its division name."""
    return s.DepartmentRead(
        id=d.id,
        code=d.code,
        name=d.name,
        line_code=d.line_code,
        division_code=d.division_code,
        division_name=d.division.name,
        parent_id=d.parent_id,
    )


# ---- auth -------------------------------------------------------------------------------------------

# The published OpenAPI description is given in the decorator: the text is wider than a docstring line.
@router.post(
    "/auth/token",
    openapi_extra=public("用户名和口令 (username and password: this is the login)"),
    response_model=s.TokenRead,
    tags=["auth"],
    summary="Log in (OAuth2 password form)",
    description=(
        "Exchange a username and password for a JWT "
        "(wrong passwords earn a growing lockout: 429 + Retry-After)."
    ),
)
def login(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=200)],
) -> s.TokenRead:
    address = client_address(request)
    user = identity.authenticate(session, username=username, password=password, address=address)
    minutes = get_settings().token_minutes
    token = sessions.start(session, user=user, kind="bearer", address=address,
                           user_agent=request.headers.get("user-agent"))
    return s.TokenRead(access_token=token, expires_in=minutes * 60)


@router.post("/auth/logout", status_code=204, tags=["auth"])
def logout(request: Request, session: SessionDep, principal: CurrentPrincipal) -> Response:
    """End the session of the token (or cookie) this request carries: it is refused from now on."""
    token = bearer_token(request) or session_token(request)
    if token:
        sessions.end(session, token=token, actor=principal)
    return Response(status_code=204)


@router.post("/me/password", status_code=204, tags=["auth"])
def change_password(
    request: Request, session: SessionDep, principal: CurrentPrincipal, body: s.PasswordChange
) -> Response:
    """Change my password; every other session of mine ends at once."""
    if principal.kind != "user":
        raise ForbiddenError("API 密钥没有密码 (an API key has no password)")
    identity.change_password(
        session,
        user_id=principal.id,
        current=body.current_password,
        new=body.new_password,
        keep_token=bearer_token(request) or session_token(request),
    )
    return Response(status_code=204)


@router.get("/me", response_model=s.MeRead, tags=["auth"])
def me(principal: CurrentPrincipal) -> s.MeRead:
    """Who am I, and which roles do I hold where."""
    return s.MeRead(
        kind=principal.kind,
        id=principal.id,
        username=principal.name,
        display_name=principal.display_name,
        is_superuser=principal.is_superuser,
        locale=principal.locale,
        assignments=[
            s.AssignmentRead(**{k: getattr(a, k) for k in s.AssignmentRead.model_fields})
            for a in principal.assignments
        ],
    )


# ---- divisions (public) -----------------------------------------------------------------------------

@router.get("/divisions", response_model=s.Page[s.DivisionRef], tags=["divisions"], openapi_extra=public())
def list_divisions(
    session: SessionDep,
    page: PageDep,
    q: Annotated[str | None, Query(max_length=50)] = None,
    level: Annotated[
        str | None, Query(pattern="^(national|province|city|county|township|village|grid)$")
    ] = None,
) -> s.Page[s.DivisionRef]:
    """Search divisions by name or code prefix."""
    items, total = divisions.search(session, q=q, level=level, limit=page.limit, offset=page.offset)
    return s.Page.of([s.DivisionRef.model_validate(d) for d in items], total, page.limit, page.offset)


@router.get("/divisions/locate", response_model=s.DivisionRead, tags=["divisions"], openapi_extra=public())
def locate_division(
    session: SessionDep,
    lon: Annotated[float, Query(ge=-180, le=180)],
    lat: Annotated[float, Query(ge=-90, le=90)],
    level: Annotated[
        str,
        Query(
            pattern="^(deepest|province|city|county|township|village|grid)$",
            description="which level to answer; deepest = smallest containing unit",
        ),
    ] = "county",
) -> s.DivisionRead:
    """The division at `level` (default: county) whose boundary contains the point (WGS 84)."""
    div = divisions.locate(session, lon, lat, level=None if level == "deepest" else level)
    if div is None:
        raise NotFoundError(
            f"坐标 ({lon}, {lat}) 不在任何已知区划内 (the point lies in no known division)"
        )
    return division_read(session, div)


@router.get("/divisions/{code}", response_model=s.DivisionRead, tags=["divisions"], openapi_extra=public())
def get_division(session: SessionDep, code: str) -> s.DivisionRead:
    """One division with its ancestors."""
    return division_read(session, divisions.get(session, code))


@router.get("/divisions/{code}/children", response_model=list[s.DivisionRef], tags=["divisions"],
            openapi_extra=public())
def division_children(session: SessionDep, code: str) -> list[s.DivisionRef]:
    """Direct children of a division."""
    divisions.get(session, code)
    return [s.DivisionRef.model_validate(d) for d in divisions.children(session, code)]


@router.get("/divisions/{code}/descendants", response_model=s.Page[s.DivisionRef], tags=["divisions"],
            openapi_extra=public())
def division_descendants(
    session: SessionDep,
    code: str,
    page: PageDep,
    level: Annotated[str | None, Query(pattern="^(province|city|county|township|village|grid)$")] = None,
) -> s.Page[s.DivisionRef]:
    """Every division below this one, paged."""
    items, total = divisions.descendants(
        session, divisions.get(session, code), level=level, limit=page.limit, offset=page.offset
    )
    return s.Page.of([s.DivisionRef.model_validate(d) for d in items], total, page.limit, page.offset)


@router.get("/divisions/{code}/boundary", tags=["divisions"], summary="Boundary as a GeoJSON Feature",
            openapi_extra=public())
def division_boundary(session: SessionDep, code: str) -> Response:
    """The division's boundary as GeoJSON."""
    div = divisions.get(session, code)
    geom = divisions.boundary_geojson(session, code)
    if geom is None:
        raise NotFoundError(f"{div.name} 没有边界数据 (no boundary recorded)")
    body = {
        "type": "Feature",
        "id": div.code,
        "properties": {"code": div.code, "name": div.name, "level": div.level},
        "geometry": geom,
    }
    return Response(json.dumps(body, ensure_ascii=False), media_type="application/geo+json")


@router.post("/divisions", response_model=s.DivisionRead, status_code=201, tags=["divisions"])
def create_division(
    session: SessionDep, principal: CurrentPrincipal, body: s.DivisionCreate
) -> s.DivisionRead:
    """Create a township, village or grid cell (admin whose reach covers the parent)."""
    parent = divisions.get(session, body.parent_code)
    covering = [
        a for a in principal.assignments_with("admin")
        if a.reach in ("division", "line") and parent.path.startswith(a.division_path)
    ]
    if not principal.is_superuser and not covering:
        raise ForbiddenError(
            "只有上级区划的管理员可以新建下级区划 (only an admin whose division covers the parent)"
        )
    div = divisions.create_subdivision(
        session,
        parent_code=parent.code,
        code=body.code,
        name=body.name,
        level=body.level,
        boundary=body.boundary,
    )
    audit.record(
        session,
        actor=principal,
        action="division.create",
        entity_type="division",
        entity_id=div.code,
        division_code=div.code,
        detail={"name": div.name, "level": div.level},
    )
    return division_read(session, div)


# ---- lines and departments --------------------------------------------------------------------------

@router.get("/lines", response_model=list[s.LineRead], tags=["departments"], openapi_extra=public())
def list_lines(session: SessionDep) -> list[s.LineRead]:
    """The catalogue of lines (条)."""
    return [s.LineRead.model_validate(ln) for ln in departments.lines(session)]


@router.get("/departments", response_model=s.Page[s.DepartmentRead], tags=["departments"])
def list_departments(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PageDep,
    line_code: Annotated[str | None, Query(max_length=32)] = None,
    division_code: Annotated[str | None, Query(max_length=32)] = None,
) -> s.Page[s.DepartmentRead]:
    """Departments in my scope."""
    items, total = departments.list_visible(
        session,
        principal=principal,
        line_code=line_code,
        division_code=division_code,
        limit=page.limit,
        offset=page.offset,
    )
    return s.Page.of([department_read(d) for d in items], total, page.limit, page.offset)


@router.get("/departments/{department_id}", response_model=s.DepartmentRead, tags=["departments"])
def get_department(session: SessionDep, principal: CurrentPrincipal, department_id: int) -> s.DepartmentRead:
    """One department in my scope."""
    dept = departments.get(session, department_id)
    policy.require(session, principal, dept.id)
    return department_read(dept)


@router.get("/departments/{department_id}/members", response_model=list[s.UserRead], tags=["departments"])
def department_members(
    session: SessionDep, principal: CurrentPrincipal, department_id: int
) -> list[s.UserRead]:
    """Staff holding roles in a department (admins and supervisors in scope only)."""
    dept = departments.get(session, department_id)
    policy.require(session, principal, dept.id, roles=("admin", "supervisor"))
    users = identity.department_members(session, dept.id)
    audit.record(
        session,
        actor=principal,
        action="department.read_members",
        entity_type="department",
        entity_id=dept.id,
        department_id=dept.id,
        division_code=dept.division_code,
    )
    return [s.UserRead.model_validate(u) for u in users]


@router.post("/departments", response_model=s.DepartmentRead, status_code=201, tags=["departments"])
def create_department(
    session: SessionDep, principal: CurrentPrincipal, body: s.DepartmentCreate
) -> s.DepartmentRead:
    """Create a department in a division my admin role covers."""
    div = divisions.get(session, body.division_code)
    covers = principal.is_superuser or any(
        a.reach == "division" and div.path.startswith(a.division_path)
        for a in principal.assignments_with("admin")
    )
    if not covers:
        raise ForbiddenError("只有该区划的管理员可以新建部门 (only an admin of the division)")
    dept = departments.create(session, line_code=body.line_code, division_code=div.code, name=body.name)
    audit.record(
        session,
        actor=principal,
        action="department.create",
        entity_type="department",
        entity_id=dept.id,
        department_id=dept.id,
        division_code=dept.division_code,
        detail={"name": dept.name},
    )
    return department_read(dept)


@router.get("/matrix", response_model=s.MatrixRead, tags=["departments"])
def get_matrix(session: SessionDep, principal: CurrentPrincipal) -> s.MatrixRead:
    """My 条×块 matrix: lines x divisions, each cell the department."""
    lines, divs, cells = departments.matrix(session, principal=principal)
    work = open_work(session, [d.id for row in cells.values() for d in row.values()])
    return s.MatrixRead(
        lines=[s.LineRead.model_validate(ln) for ln in lines],
        divisions=[s.DivisionRef.model_validate(d) for d in divs],
        cells={
            lc: {
                dc: s.MatrixCell(
                    department_id=d.id, name=d.name, open_work={c.en: n for c, n in work.get(d.id, [])}
                )
                for dc, d in row.items()
            }
            for lc, row in cells.items()
        },
    )


# ---- users and API keys -----------------------------------------------------------------------------

@router.post("/users", response_model=s.UserRead, status_code=201, tags=["users"])
def create_user(session: SessionDep, principal: CurrentPrincipal, body: s.UserCreate) -> s.UserRead:
    """Create a user (any admin; roles are granted separately within the admin's scope)."""
    policy.require_role(principal, "admin")
    home = body.department_id
    if home is None and not principal.is_superuser:
        home = principal.assignments_with("admin")[0].department_id
    if home is not None:
        policy.require(session, principal, departments.get(session, home).id, roles=("admin",))
    user = identity.create_user(
        session,
        actor=principal,
        username=body.username,
        password=body.password,
        display_name=body.display_name,
        home_department_id=home,
    )
    return s.UserRead.model_validate(user)


# The published OpenAPI description is given in the decorator: the text is wider than a docstring line.
@router.post(
    "/users/{user_id}/roles",
    status_code=201,
    tags=["users"],
    description=(
        "Give a user a role: only in departments my admin role covers, "
        "never wider than my own reach, audited."
    ),
)
def assign_role(
    session: SessionDep, principal: CurrentPrincipal, user_id: int, body: s.RoleAssign
) -> dict[str, Any]:
    dept = departments.get(session, body.department_id)
    policy.require(session, principal, dept.id, roles=("admin",))
    user = identity.get_user(session, user_id)
    ra = identity.grant_role(
        session, actor=principal, user=user, department=dept, role=body.role, reach=body.reach
    )
    return {"id": ra.id, "user_id": user.id, "department_id": dept.id, "role": ra.role, "reach": ra.reach}


@router.delete("/users/{user_id}/roles/{assignment_id}", status_code=204, tags=["users"])
def revoke_role(
    session: SessionDep, principal: CurrentPrincipal, user_id: int, assignment_id: int
) -> Response:
    """Take a role away (same territory rules as granting); audited."""
    policy.require_role(principal, "admin")
    user = identity.get_user(session, user_id)
    identity.revoke_role(session, actor=principal, user=user, assignment_id=assignment_id)
    return Response(status_code=204)


@router.post("/users/{user_id}/disable", response_model=s.UserRead, tags=["users"])
def disable_user(session: SessionDep, principal: CurrentPrincipal, user_id: int) -> s.UserRead:
    """Disable an account in my territory: its sessions end at once."""
    policy.require_role(principal, "admin")
    user = identity.get_user(session, user_id)
    return s.UserRead.model_validate(identity.set_active(session, actor=principal, user=user, active=False))


@router.post("/users/{user_id}/enable", response_model=s.UserRead, tags=["users"])
def enable_user(session: SessionDep, principal: CurrentPrincipal, user_id: int) -> s.UserRead:
    """Enable a disabled account in my territory."""
    policy.require_role(principal, "admin")
    user = identity.get_user(session, user_id)
    return s.UserRead.model_validate(identity.set_active(session, actor=principal, user=user, active=True))


@router.get("/api-keys", response_model=list[s.ApiKeyRead], tags=["users"])
def list_api_keys(session: SessionDep, principal: CurrentPrincipal) -> list[s.ApiKeyRead]:
    """API keys of departments where I am admin."""
    return [s.ApiKeyRead.model_validate(k) for k in identity.api_keys_in_scope(session, principal)]


@router.post("/api-keys", response_model=s.ApiKeyCreated, status_code=201, tags=["users"])
def create_api_key(session: SessionDep, principal: CurrentPrincipal, body: s.ApiKeyCreate) -> s.ApiKeyCreated:
    """Issue an API key for a department I administer; the key is shown once."""
    dept = departments.get(session, body.department_id)
    policy.require(session, principal, dept.id, roles=("admin",))
    key, full = identity.create_api_key(
        session,
        actor=principal,
        name=body.name,
        department_id=dept.id,
        role=body.role,
        created_by=principal.id if principal.kind == "user" else None,
        valid_days=body.valid_days,
    )
    return s.ApiKeyCreated(key=full, **s.ApiKeyRead.model_validate(key).model_dump())


@router.post("/api-keys/{key_id}/rotate", response_model=s.ApiKeyCreated, status_code=201, tags=["users"])
def rotate_api_key(
    session: SessionDep, principal: CurrentPrincipal, key_id: int, body: s.ApiKeyRotate
) -> s.ApiKeyCreated:
    """Replace an API key of a department I administer: the new key is shown once, the old one keeps working
    for the grace period."""
    key = identity.get_api_key(session, key_id)
    policy.require(session, principal, key.department_id, roles=("admin",))
    new, full = identity.rotate_api_key(session, actor=principal, key=key, grace_days=body.grace_days,
                                        valid_days=body.valid_days,
                                        created_by=principal.id if principal.kind == "user" else None)
    return s.ApiKeyCreated(key=full, **s.ApiKeyRead.model_validate(new).model_dump())


@router.get("/sessions", response_model=list[s.SessionRead], tags=["users"])
def list_sessions(session: SessionDep, principal: CurrentPrincipal) -> list[s.SessionRead]:
    """Open logins of the users I administer (newest first)."""
    return [s.SessionRead(id=row.id, user_id=user.id, username=user.username, kind=row.kind,
                          created_at=row.created_at, expires_at=row.expires_at)
            for row, user in identity.sessions_in_scope(session, principal)]


@router.delete("/sessions/{session_id}", status_code=204, tags=["users"])
def revoke_session(session: SessionDep, principal: CurrentPrincipal, session_id: int) -> None:
    """End one login of a user I administer, at once."""
    identity.end_session_by_id(session, actor=principal, session_id=session_id)


@router.delete("/api-keys/{key_id}", response_model=s.ApiKeyRead, tags=["users"])
def revoke_api_key(session: SessionDep, principal: CurrentPrincipal, key_id: int) -> s.ApiKeyRead:
    """Revoke an API key of a department I administer."""
    key = identity.get_api_key(session, key_id)
    policy.require(session, principal, key.department_id, roles=("admin",))
    return s.ApiKeyRead.model_validate(identity.revoke_api_key(session, actor=principal, key=key))


# ---- audit ------------------------------------------------------------------------------------------

@router.get("/audit", response_model=s.Page[s.AuditRead], tags=["audit"])
def list_audit(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PageDep,
    action: Annotated[str | None, Query(max_length=64)] = None,
    entity_type: Annotated[str | None, Query(max_length=64)] = None,
) -> s.Page[s.AuditRead]:
    """Audit records of departments and divisions my admin or supervisor roles cover."""
    policy.require_role(principal, "admin", "supervisor")
    items, total = audit.list_in_scope(
        session, principal, action=action, entity_type=entity_type, limit=page.limit, offset=page.offset
    )
    return s.Page.of([s.AuditRead.model_validate(r) for r in items], total, page.limit, page.offset)


@router.get("/audit/verify", response_model=s.AuditVerifyRead, tags=["audit"])
def verify_audit(session: SessionDep, principal: CurrentPrincipal) -> s.AuditVerifyRead:
    """Check the whole audit chain (platform administrators)."""
    if not principal.is_superuser:
        raise ForbiddenError("只有平台管理员可以校验审计链 (platform administrators only)")
    r = audit.verify(session)
    return s.AuditVerifyRead(ok=r.ok, checked=r.checked, broken_seq=r.broken_seq, reason=r.reason)
