"""The exchange's rules: catalog, uploads, sharing requests and grants, the gateway, flow metrics.

This is the service API other modules call when they need another department's data:

    from govgrid.exchange import service as exchange
    page = exchange.read_records(session, actor=principal, code="A01-410527-0001", filters={"village": "..."})
    ok = exchange.verify(session, actor=principal, code=..., values={"id_number": ..., "name": ...})
    grant = exchange.active_grant(session, principal, resource)   # or core policy.find_grant(..., "exchange.resource", code)

Every call checks the caller's grant (or the provider's own scope), applies the field scope and row filter, masks
personal items unless the grant allows clear values, and writes one audit record.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, false, func, insert, literal, or_, select, true
from sqlalchemy.orm import Session, aliased

from govgrid.config import get_settings
from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor
from govgrid.core.authz import policy
from govgrid.core.authz.principal import Principal
from govgrid.core.db import utcnow
from govgrid.core.departments import service as departments
from govgrid.core.departments.models import Department
from govgrid.core.divisions import service as divisions
from govgrid.core.divisions.models import Division
from govgrid.core.divisions.service import in_subtree
from govgrid.core.errors import Conflict, Forbidden, NotFound, RateLimited, Unauthorized, ValidationFailed
from govgrid.core.events import publish
from govgrid.core.privacy import mask_records
from govgrid.core.workdays import default_calendar
from govgrid.exchange import ingest
from govgrid.exchange import search as fts
from govgrid.exchange.models import (
    DataItem,
    GatewayCall,
    Grant,
    Record,
    Resource,
    ResourceVersion,
    SearchTerm,
    SharingRequest,
    Upload,
)
from govgrid.exchange.schemas import DataItemIn, RequestCreate, ResourceCreate, ResourceUpdate

SHARING_TYPES = {"unconditional": "无条件共享", "conditional": "有条件共享", "none": "不予共享"}
OPEN_TYPES = {"open": "无条件开放", "conditional_open": "有条件开放", "not_open": "不予开放"}
GRADES = {"general": "一般", "important": "重要", "core": "核心"}
UPDATE_CYCLES = {
    "realtime": "实时",
    "daily": "每日",
    "weekly": "每周",
    "monthly": "每月",
    "quarterly": "每季度",
    "yearly": "每年",
    "irregular": "不定期",
}
REQUEST_STATUSES = {
    "pending_check": "待审核",
    "pending_approval": "待批复",
    "granted": "已授权",
    "refused": "已拒绝",
    "withdrawn": "已撤回",
}
PENDING = ("pending_check", "pending_approval")
WRITE_ROLES = ("admin", "operator")
APPROVE_ROLES = ("admin", "operator", "approver")
REQUEST_ROLES = (
    "admin",
    "operator",
    "approver",
    "handler",
    "dispatcher",
    "inspector",
    "verifier",
    "supervisor",
)
DEFAULT_MASK = {"id_number": "id_number", "phone": "phone"}
KIND = "exchange.resource"


@dataclass
class Deadlines:
    """Working-day periods for requests (one county's rule: check in 2 days, answer in 5 more).

    Unset values come from GOVGRID_EXCHANGE_CHECK_WORKING_DAYS / GOVGRID_EXCHANGE_ANSWER_WORKING_DAYS."""

    check_days: int | None = None
    answer_days: int | None = None

    def periods(self) -> tuple[int, int]:
        """(check days, answer days) in force."""
        settings = get_settings()
        check = settings.exchange_check_working_days if self.check_days is None else self.check_days
        answer = settings.exchange_answer_working_days if self.answer_days is None else self.answer_days
        return check, answer


DEADLINES = Deadlines()


def configure_deadlines(*, check_days: int | None = None, answer_days: int | None = None) -> Deadlines:
    """Change the working-day periods for new requests (process-wide)."""
    if check_days is not None:
        DEADLINES.check_days = check_days
    if answer_days is not None:
        DEADLINES.answer_days = answer_days
    return DEADLINES


# ---------------------------------------------------------------- visibility


def _bureau_assignments(principal: Principal) -> list[Any]:
    return [a for a in principal.assignments if a.line_code == "data_management"]


def oversight_clause(principal: Principal | None, path_column: Any) -> Any:
    """Predicate over a division path column: the territory the caller oversees for data sharing.

    A division-reach role oversees its division and below (core's `policy.division_clause`), and so does the data
    management bureau (数据管理局, any of its roles), which supervises sharing in its territory. Department- and
    line-reach roles oversee no territory: they see requests and flows of their own departments only."""
    if principal is None:
        return false()
    parts = [policy.division_clause(principal, path_column)]
    parts += [in_subtree(path_column, a.division_path) for a in _bureau_assignments(principal)]
    return or_(*parts)


def catalog_clause(principal: Principal | None) -> Any:
    """Predicate over Resource: the catalog entries whose metadata the caller may see.

    Anonymous: open (无条件开放) entries only. Government users: every 无条件/有条件 entry (you must see an entry to
    request it); 不予共享 entries only in the provider's scope and for the data management bureau line below it.
    """
    if principal is None:
        return Resource.open_type == "open"
    if principal.is_superuser:
        return true()
    parts = [Resource.sharing_type != "none", policy.scope(Resource.provider_department_id, principal)]
    parts += [Resource.division_path.like(a.division_path + "%") for a in _bureau_assignments(principal)]
    if not principal.assignments:
        return Resource.open_type == "open"
    return or_(*parts)


def _resource_query(principal: Principal | None) -> Any:
    return select(Resource).where(catalog_clause(principal))


def get_resource(session: Session, *, actor: Principal | None, code: str) -> Resource:
    """One visible catalog entry by code (invisible entries are 404, as if absent)."""
    res = session.scalar(_resource_query(actor).where(Resource.code == code))
    if res is None:
        raise NotFound(f"目录资源 {code} 不存在或不可见 (no catalog entry {code} visible to you)")
    return res


def _get_any(session: Session, code: str) -> Resource:
    res = session.scalar(select(Resource).where(Resource.code == code))
    if res is None:
        raise NotFound(f"目录资源 {code} 不存在 (no catalog entry {code})")
    return res


def in_provider_scope(
    session: Session, principal: Principal | None, resource: Any, roles: Iterable[str] | None = None
) -> bool:
    """True if the caller's own scope covers the provider department (no grant needed)."""
    if (
        principal is not None
        and not principal.is_superuser
        and all(a.reach == "department" for a in principal.assignments)
    ):
        # Department-only reach is decided without a query (the common case on the gateway's hot path).
        wanted = set(roles) if roles else None
        return any(
            a.department_id == resource.provider_department_id and (wanted is None or a.role in wanted)
            for a in principal.assignments
        )
    return policy.can_act(session, principal, resource.provider_department_id, roles)


# ---------------------------------------------------------------- catalog


def _check_items(
    items: list[DataItemIn], sharing_type: str, open_type: str, grade: str
) -> list[dict[str, Any]]:
    problems = []
    names = [i.name for i in items]
    for dup in {n for n in names if names.count(n) > 1}:
        problems.append({"loc": ["items", dup], "msg": f"信息项重复 (duplicate data item): {dup}"})
    if len([i for i in items if i.type == "division"]) > 1:
        problems.append(
            {"loc": ["items"], "msg": "最多一个行政区划类型的信息项 (at most one item of type division)"}
        )
    personal = [i for i in items if i.personal or i.sensitive]
    if personal and open_type != "not_open":
        problems.append(
            {
                "loc": ["open_type"],
                "msg": "含个人信息的资源不能向社会开放 (resources with personal items cannot be open)",
            }
        )
    if any(i.sensitive for i in items) and grade == "general":
        problems.append(
            {
                "loc": ["grade"],
                "msg": "含敏感个人信息的资源至少定为重要级 (sensitive items need grade important or core)",
            }
        )
    if sharing_type == "none" and open_type != "not_open":
        problems.append(
            {"loc": ["open_type"], "msg": "不予共享的资源不能开放 (a 不予共享 resource cannot be open)"}
        )
    return problems


def _item_rows(items: list[DataItemIn]) -> list[DataItem]:
    out = []
    for pos, i in enumerate(items):
        mask = i.mask or (DEFAULT_MASK.get(i.type, "full") if (i.personal or i.sensitive) else "none")
        out.append(
            DataItem(
                position=pos,
                name=i.name,
                label=i.label,
                type=i.type,
                required=i.required,
                personal=i.personal,
                sensitive=i.sensitive,
                mask=mask,
            )
        )
    return out


def _snapshot(res: Resource) -> dict[str, Any]:
    keys = (
        "code",
        "class_code",
        "name",
        "abstract",
        "format",
        "kind",
        "api_url",
        "sharing_type",
        "sharing_conditions",
        "sharing_method",
        "open_type",
        "update_cycle",
        "related_codes",
        "grade",
        "version",
    )
    snap: dict[str, Any] = {k: getattr(res, k) for k in keys}
    snap["publish_date"] = res.publish_date.isoformat() if res.publish_date else None
    snap["items"] = [
        {
            "name": i.name,
            "label": i.label,
            "type": i.type,
            "required": i.required,
            "personal": i.personal,
            "sensitive": i.sensitive,
            "mask": i.mask,
        }
        for i in res.items
    ]
    return snap


def _reindex(session: Session, res: Resource, provider_name: str) -> None:
    session.execute(SearchTerm.__table__.delete().where(SearchTerm.resource_id == res.id))
    weights = fts.weighted_terms(
        [
            (res.name, 5),
            (res.abstract, 1),
            (provider_name, 2),
            (res.sharing_conditions, 1),
            (" ".join(i.label for i in res.items), 2),
        ]
    )
    weights[res.code.lower()] = weights.get(res.code.lower(), 0) + 5
    if weights:
        session.execute(
            insert(SearchTerm), [{"resource_id": res.id, "term": t, "weight": w} for t, w in weights.items()]
        )


def _actor_name(actor: Actor) -> str:
    return actor.audit_identity[2] or actor.audit_identity[0]


def create_resource(
    session: Session,
    *,
    actor: Actor,
    data: ResourceCreate,
    principal: Principal | None = None,
    code: str | None = None,
) -> Resource:
    """Add a catalog entry for a provider department (caller needs admin/operator there)."""
    dept = departments.get_by_code(session, data.provider_department_code)
    if principal is not None:
        policy.require(
            session, principal, dept.id, WRITE_ROLES, what="该部门的目录 (this department's catalog)"
        )
    problems = _check_items(data.items, data.sharing_type, data.open_type, data.grade)
    if data.sharing_type == "conditional" and not data.sharing_conditions.strip():
        problems.append(
            {"loc": ["sharing_conditions"], "msg": "有条件共享须写明共享条件 (conditions required)"}
        )
    if data.kind == "api" and not data.api_url:
        problems.append({"loc": ["api_url"], "msg": "接口类资源须登记接口地址 (api resources need api_url)"})
    if problems:
        raise ValidationFailed("目录信息不完整或不一致 (catalog entry invalid)", details=problems)
    div = dept.division
    if code is None:
        n = (
            session.scalar(
                select(func.count())
                .select_from(Resource)
                .where(Resource.class_code == data.class_code, Resource.division_code == div.code)
            )
            or 0
        )
        while True:
            n += 1
            code = f"{data.class_code}-{div.code}-{n:04d}"
            if session.scalar(select(Resource.id).where(Resource.code == code)) is None:
                break
    elif session.scalar(select(Resource.id).where(Resource.code == code)) is not None:
        raise Conflict(f"资源代码 {code} 已存在 (resource code exists)")
    fields = data.model_dump(exclude={"items", "provider_department_code"})
    res = Resource(
        code=code,
        provider_department_id=dept.id,
        line_code=dept.line_code,
        division_code=div.code,
        division_path=div.path,
        **fields,
    )
    res.items = _item_rows(data.items)
    session.add(res)
    session.flush()
    session.add(
        ResourceVersion(resource_id=res.id, version=1, snapshot=_snapshot(res), changed_by=_actor_name(actor))
    )
    _reindex(session, res, dept.name)
    audit.record(
        session,
        actor=actor,
        action="exchange.resource.create",
        entity_type=KIND,
        entity_id=code,
        department_id=dept.id,
        division_code=div.code,
        detail={"name": res.name, "sharing": res.sharing_type},
    )
    session.flush()
    return res


def update_resource(session: Session, *, actor: Principal, code: str, data: ResourceUpdate) -> Resource:
    """Change an entry; the change is kept as a new version."""
    res = get_resource(session, actor=actor, code=code)
    policy.require(
        session,
        actor,
        res.provider_department_id,
        WRITE_ROLES,
        what="该部门的目录 (this department's catalog)",
    )
    changes = data.model_dump(exclude_unset=True)
    if not changes:
        raise ValidationFailed("没有要修改的内容 (nothing to change)")
    items = data.items if "items" in changes else None
    changes.pop("items", None)
    for k, v in changes.items():
        setattr(res, k, v)
    current_items = items or [
        DataItemIn(
            name=i.name,
            label=i.label,
            type=i.type,
            required=i.required,  # type: ignore[arg-type]
            personal=i.personal,
            sensitive=i.sensitive,
            mask=i.mask,
        )  # type: ignore[arg-type]
        for i in res.items
    ]
    problems = _check_items(current_items, res.sharing_type, res.open_type, res.grade)
    if res.sharing_type == "conditional" and not (res.sharing_conditions or "").strip():
        problems.append(
            {"loc": ["sharing_conditions"], "msg": "有条件共享须写明共享条件 (conditions required)"}
        )
    if problems:
        raise ValidationFailed("目录信息不完整或不一致 (catalog entry invalid)", details=problems)
    if items is not None:
        res.items.clear()
        session.flush()
        res.items.extend(_item_rows(items))
    res.version += 1
    res.updated_at = utcnow()
    session.flush()
    session.add(
        ResourceVersion(
            resource_id=res.id, version=res.version, snapshot=_snapshot(res), changed_by=_actor_name(actor)
        )
    )
    _reindex(session, res, departments.get(session, res.provider_department_id).name)
    audit.record(
        session,
        actor=actor,
        action="exchange.resource.update",
        entity_type=KIND,
        entity_id=code,
        department_id=res.provider_department_id,
        division_code=res.division_code,
        detail={"version": res.version, "changed": sorted([*changes, *(["items"] if items else [])])},
    )
    return res


def versions(session: Session, *, actor: Principal | None, code: str) -> list[ResourceVersion]:
    """Every version of an entry, newest first."""
    res = get_resource(session, actor=actor, code=code)
    return list(
        session.scalars(
            select(ResourceVersion)
            .where(ResourceVersion.resource_id == res.id)
            .order_by(ResourceVersion.version.desc())
        )
    )


def _search_stmt(
    session: Session,
    *,
    actor: Principal | None,
    q: str | None,
    line: str | None,
    division: str | None,
    sharing_type: str | None,
    grade: str | None,
    open_type: str | None,
    provider_department_id: int | None,
    mine: bool,
) -> tuple[Any, Any]:
    """(SELECT of the visible entries matching the query and filters, the score column or None)."""
    stmt = select(Resource).where(catalog_clause(actor))
    score_col: Any = None
    if q and q.strip():
        terms = sorted(set(fts.tokens(q)))[:30]
        scores = (
            select(
                SearchTerm.resource_id.label("rid"),
                func.count(SearchTerm.term.distinct()).label("hits"),
                func.sum(SearchTerm.weight).label("weight"),
            )
            .where(SearchTerm.term.in_(terms or [""]))
            .group_by(SearchTerm.resource_id)
            .subquery()
        )
        stmt = stmt.outerjoin(scores, scores.c.rid == Resource.id)
        phrase = q.strip()[:100]
        name_hit = Resource.name.contains(phrase, autoescape=True)
        stmt = stmt.where(or_(scores.c.rid.is_not(None), name_hit, Resource.code == phrase))
        score_col = (
            func.coalesce(scores.c.hits, 0) * 100
            + func.coalesce(scores.c.weight, 0)
            + case((name_hit, 50), else_=0)
        )
        stmt = stmt.add_columns(score_col.label("score"))
    if line:
        stmt = stmt.where(Resource.line_code == line)
    if division:
        div = divisions.get(session, division)
        stmt = stmt.where(Resource.division_path.like(div.path + "%"))
    if sharing_type:
        stmt = stmt.where(Resource.sharing_type == sharing_type)
    if grade:
        stmt = stmt.where(Resource.grade == grade)
    if open_type:
        stmt = stmt.where(Resource.open_type == open_type)
    if provider_department_id is not None:
        stmt = stmt.where(Resource.provider_department_id == provider_department_id)
    if mine:
        if actor is None:
            raise Unauthorized("需要登录 (authentication required)")
        stmt = stmt.where(policy.scope(Resource.provider_department_id, actor))
    return stmt, score_col


# Sort keys of `search_resources(order=...)`: catalog columns a client may order by.
ORDER_KEYS = {
    "code": Resource.code,
    "name": Resource.name,
    "modified": Resource.updated_at,
    "created": Resource.created_at,
}


def search_resources(
    session: Session,
    *,
    actor: Principal | None,
    q: str | None = None,
    line: str | None = None,
    division: str | None = None,
    sharing_type: str | None = None,
    grade: str | None = None,
    open_type: str | None = None,
    provider_department_id: int | None = None,
    mine: bool = False,
    sort: str = "score",
    order: list[tuple[str, bool]] | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[tuple[Resource, float]], int]:
    """Full-text search (jieba tokens, ranked by matched terms then weight) with filters; only visible entries.

    `sort` is score, name or modified; `order` (when given) is an explicit [(key, descending)] with keys "score"
    and those of ORDER_KEYS (the CKAN view's `sort`)."""
    stmt, score_col = _search_stmt(
        session,
        actor=actor,
        q=q,
        line=line,
        division=division,
        sharing_type=sharing_type,
        grade=grade,
        open_type=open_type,
        provider_department_id=provider_department_id,
        mine=mine,
    )
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    if order is not None:
        cols: list[Any] = []
        for key, desc in order:
            if key == "score":
                if score_col is not None:  # without a query every entry scores the same
                    cols.append(score_col.asc() if not desc else score_col.desc())
                continue
            col = ORDER_KEYS[key]
            cols.append(col.desc() if desc else col.asc())
        cols.append(Resource.code)
    elif sort == "name":
        cols = [Resource.name.asc(), Resource.code]
    elif sort == "modified":
        cols = [Resource.updated_at.desc(), Resource.code]
    elif score_col is not None:
        cols = [score_col.desc(), _nearness(actor).desc(), Resource.code]
    else:
        cols = [_nearness(actor).desc(), Resource.division_path, Resource.code]
    rows = session.execute(stmt.order_by(*cols).limit(limit).offset(offset)).all()
    if score_col is not None:
        return [(r[0], float(r[1] or 0)) for r in rows], total
    return [(r[0], 0.0) for r in rows], total


# Facets of `search_facets`: name -> SQL value of a catalog entry.
FACET_COLUMNS: dict[str, Any] = {
    "organization": Department.code,
    "groups": Resource.line_code,
    "sharing_type": Resource.sharing_type,
    "grade": Resource.grade,
    "open_type": Resource.open_type,
    "division": Resource.division_code,
    "res_format": case((Resource.kind == "table", "JSON"), else_="API"),
}


def search_facets(
    session: Session, *, actor: Principal | None, facets: list[str], **query: Any
) -> dict[str, dict[str, int]]:
    """Counts per value of each facet over every visible entry matching the query (the same arguments as
    `search_resources`, without sort and paging); facet names are keys of FACET_COLUMNS."""
    stmt, _ = _search_stmt(session, actor=actor, **query)
    ids = stmt.with_only_columns(Resource.id).subquery()
    out: dict[str, dict[str, int]] = {}
    for name in facets:
        col = FACET_COLUMNS[name]
        counted = (
            select(col, func.count())
            .select_from(Resource)
            .join(Department, Department.id == Resource.provider_department_id)
            .where(Resource.id.in_(select(ids.c.id)))
            .group_by(col)
        )
        out[name] = {str(v): int(n) for v, n in session.execute(counted).all() if v not in (None, "")}
    return out


def _nearness(actor: Principal | None) -> Any:
    """Ties go to entries of the caller's own territory (its division and below, or the levels above it)."""
    a = actor.primary if actor is not None else None
    if a is None:
        return literal(0)
    return case(
        (Resource.division_path.like(a.division_path + "%"), 2),
        (literal(a.division_path).like(Resource.division_path + "%"), 1),
        else_=0,
    )


def active_upload(session: Session, resource: Resource) -> Upload | None:
    """The upload whose records are served."""
    return session.scalar(
        select(Upload)
        .where(Upload.resource_id == resource.id, Upload.status == "active")
        .order_by(Upload.version.desc())
        .limit(1)
    )


# ---------------------------------------------------------------- uploads


def upload_records(
    session: Session,
    *,
    actor: Principal | Actor,
    code: str,
    content: bytes,
    filename: str = "",
    fmt: str | None = None,
    principal: Principal | None = None,
) -> Upload:
    """Validate a CSV/JSON file against the data items and store it as the next version, all or nothing."""
    res = _get_any(session, code)
    if principal is not None:
        if session.scalar(_resource_query(principal).where(Resource.id == res.id)) is None:
            raise NotFound(f"目录资源 {code} 不存在或不可见 (no catalog entry {code} visible to you)")
        policy.require(
            session,
            principal,
            res.provider_department_id,
            WRITE_ROLES,
            what="该资源的数据 (this resource's data)",
        )
    if res.kind != "table":
        raise Conflict(
            "该资源由提供方接口提供，不在此上传数据 (this resource is served by the provider's API)"
        )
    fmt = (fmt or ("json" if filename.lower().endswith(".json") else "csv")).lower()
    if fmt not in ("csv", "json"):
        raise ValidationFailed(
            "只接受 CSV 或 JSON 文件 (CSV or JSON only)", details=[{"loc": ["format"], "msg": fmt}]
        )
    specs = [ingest.ItemSpec(i.name, i.label, i.type, i.required) for i in res.items]
    parsed = ingest.parse_json(content, specs) if fmt == "json" else ingest.parse_csv(content, specs)
    if parsed.error_count:
        raise ValidationFailed(
            f"上传被拒绝：{parsed.error_count} 处错误，未导入任何数据，原版本继续提供 "
            f"(upload refused: {parsed.error_count} problems; nothing imported, the previous version stays served)",
            details=parsed.errors,
            code="upload_rejected",
        )
    if not parsed.rows:
        raise ValidationFailed("文件没有数据行 (no data rows)", details=[{"loc": ["file"], "msg": "empty"}])
    prev = active_upload(session, res)
    last_version = session.scalar(select(func.max(Upload.version)).where(Upload.resource_id == res.id)) or 0
    up = Upload(
        resource_id=res.id,
        version=last_version + 1,
        status="active",
        filename=filename[:200],
        row_count=len(parsed.rows),
        sha256=hashlib.sha256(content).hexdigest(),
        uploaded_by=_actor_name(actor),
    )
    session.add(up)
    session.flush()
    div_item = next((i.name for i in res.items if i.type == "division"), None)
    batch = []
    for row_no, row in parsed.rows:
        batch.append(
            {
                "upload_id": up.id,
                "row_no": row_no,
                "division_code": row.get(div_item) if div_item else None,
                "data": row,
            }
        )
        if len(batch) >= 5000:
            session.execute(insert(Record), batch)
            batch = []
    if batch:
        session.execute(insert(Record), batch)
    if prev is not None:
        prev.status = "superseded"
    audit.record(
        session,
        actor=actor,
        action="exchange.upload",
        entity_type=KIND,
        entity_id=code,
        department_id=res.provider_department_id,
        division_code=res.division_code,
        detail={"version": up.version, "rows": up.row_count, "sha256": up.sha256},
    )
    session.flush()
    return up


def uploads(session: Session, *, actor: Principal, code: str) -> list[Upload]:
    """Upload history (provider scope only)."""
    res = get_resource(session, actor=actor, code=code)
    policy.require(
        session, actor, res.provider_department_id, None, what="该资源的上传记录 (this resource's uploads)"
    )
    return list(
        session.scalars(select(Upload).where(Upload.resource_id == res.id).order_by(Upload.version.desc()))
    )


# ---------------------------------------------------------------- requests and grants


def _find_bureau(session: Session, division_code: str) -> Department:
    div = divisions.get(session, division_code)
    for node in [div, *reversed(divisions.ancestors(session, div))]:
        dept = session.scalar(
            select(Department).where(
                Department.line_code == "data_management", Department.division_code == node.code
            )
        )
        if dept is not None:
            return dept
    raise ValidationFailed(
        "找不到数据管理部门来审核不予共享的申请 (no data management bureau above the provider)"
    )


def _consumer_department(session: Session, principal: Principal, code: str | None) -> Department:
    if code:
        dept = departments.get_by_code(session, code)
    else:
        candidates = [a for a in principal.assignments if a.role in REQUEST_ROLES]
        if not candidates:
            raise Forbidden(
                "需要在申请部门拥有经办角色 (you need a working role in the requesting department)"
            )
        dept = departments.get(session, candidates[0].department_id)
    if not principal.is_superuser and dept.id not in {
        a.department_id for a in principal.assignments if a.role in REQUEST_ROLES
    }:
        raise Forbidden("只能以本部门名义申请数据 (you can only request for a department you work in)")
    return dept


def _compliance(
    session: Session, res: Resource, data: RequestCreate
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    items = {i.name: i for i in res.items}
    problems = []
    unknown = [f for f in data.fields if f not in items]
    if unknown:
        problems.append(
            {"loc": ["fields"], "msg": f"资源没有这些信息项 (unknown data items): {', '.join(unknown)}"}
        )
    wanted = [items[f] for f in (data.fields or list(items)) if f in items]
    if len(data.purpose.strip()) < 4:
        problems.append(
            {"loc": ["purpose"], "msg": "请写明具体用途 (state the purpose in at least 4 characters)"}
        )
    sensitive = [i.name for i in wanted if i.sensitive]
    if sensitive and not data.legal_basis.strip():
        problems.append(
            {
                "loc": ["legal_basis"],
                "msg": "申请敏感个人信息须写明法律依据 (sensitive items need a legal "
                f"basis, PIPL art. 28/34): {', '.join(sensitive)}",
            }
        )
    if res.sharing_type == "none" and not data.legal_basis.strip():
        problems.append(
            {
                "loc": ["legal_basis"],
                "msg": "不予共享的资源须引用法律、法规或国家政策依据 (a 不予共享 "
                "resource can only be requested citing a legal basis)",
            }
        )
    if data.row_filter_division:
        if not any(i.type == "division" for i in res.items):
            problems.append(
                {
                    "loc": ["row_filter_division"],
                    "msg": "该资源没有行政区划信息项，不能按区划限定行 (resource has no division item)",
                }
            )
        elif session.get(Division, data.row_filter_division) is None:
            problems.append(
                {"loc": ["row_filter_division"], "msg": "未知的行政区划代码 (unknown division code)"}
            )
    if res.kind == "api" and data.mode == "records" and res.sharing_method == "verify":
        problems.append(
            {"loc": ["mode"], "msg": "该资源只提供核验 (this resource only answers verify calls)"}
        )
    report = {
        "checked_at": utcnow().isoformat(),
        "personal_items": [i.name for i in wanted if i.personal],
        "sensitive_items": sensitive,
        "minimal_fields": bool(data.fields),
        "passed": not problems,
    }
    return report, problems


def submit_request(session: Session, *, actor: Principal, data: RequestCreate) -> SharingRequest:
    """File a sharing request; 无条件 ones are granted at once after the compliance check."""
    res = _get_any(session, data.resource_code)
    visible = session.scalar(_resource_query(actor).where(Resource.id == res.id)) is not None
    if not visible and not data.legal_basis.strip():
        # 不予共享 entries are not in the requester's catalog; a request must cite the law that reaches them.
        raise ValidationFailed(
            "不予共享的资源须引用法律依据才能申请 (a 不予共享 resource needs a cited legal basis)",
            details=[{"loc": ["legal_basis"], "msg": "required for 不予共享 resources"}],
        )
    consumer = _consumer_department(session, actor, data.consumer_department_code)
    if consumer.id == res.provider_department_id:
        raise Conflict("这是本部门自己的数据，无需申请 (this is your own department's data)")
    report, problems = _compliance(session, res, data)
    if problems:
        raise ValidationFailed("申请未通过合规检查 (request failed the compliance check)", details=problems)
    now = utcnow()
    cal = default_calendar()
    if res.sharing_type == "none":
        handler = _find_bureau(session, res.division_code)
        route = "bureau"
    else:
        handler = departments.get(session, res.provider_department_id)
        route = "auto" if res.sharing_type == "unconditional" else "provider"
    req = SharingRequest(
        resource_id=res.id,
        consumer_department_id=consumer.id,
        provider_department_id=res.provider_department_id,
        handler_department_id=handler.id,
        handler_division_path=handler.division.path,
        requested_by=_actor_name(actor),
        purpose=data.purpose.strip(),
        legal_basis=data.legal_basis.strip(),
        fields=list(data.fields),
        row_filter_division=data.row_filter_division,
        mode=data.mode,
        days=data.days,
        route=route,
        status="pending_check",
        compliance=report,
        submitted_at=now,
        check_due_at=cal.add_working_days(now, DEADLINES.periods()[0]),
        answer_due_at=cal.add_working_days(now, sum(DEADLINES.periods())),
    )
    session.add(req)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="exchange.request.submit",
        entity_type="exchange.request",
        entity_id=req.id,
        department_id=consumer.id,
        division_code=consumer.division_code,
        purpose=req.purpose,
        detail={"resource": res.code, "route": route, "fields": req.fields},
    )
    if route == "auto":
        req.checked_at = now
        _grant(session, actor=actor, req=req, now=now)
    publish(
        session,
        "exchange.request_submitted",
        request_id=req.id,
        resource_code=res.code,
        route=route,
        status=req.status,
    )
    session.flush()
    return req


def _grant(
    session: Session,
    *,
    actor: Actor,
    req: SharingRequest,
    now: datetime,
    clear_fields: list[str] | None = None,
    days: int | None = None,
    rate_limit: int | None = None,
    reason: str = "",
) -> Grant:
    req.status = "granted"
    req.decided_at = now
    req.decided_by = _actor_name(actor)
    req.reason = reason
    grant = Grant(
        request_id=req.id,
        resource_id=req.resource_id,
        consumer_department_id=req.consumer_department_id,
        mode=req.mode,
        fields=list(req.fields) or None,
        clear_fields=list(clear_fields or []),
        row_filter_division=req.row_filter_division,
        purpose=req.purpose,
        granted_at=now,
        expires_at=now + timedelta(days=days or req.days),
        rate_limit_per_minute=rate_limit or 600,
    )
    session.add(grant)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="exchange.grant.create",
        entity_type="exchange.grant",
        entity_id=grant.id,
        department_id=req.provider_department_id,
        purpose=req.purpose,
        detail={
            "request": req.id,
            "resource": req.resource.code,
            "consumer": req.consumer_department_id,
            "fields": grant.fields,
            "clear_fields": grant.clear_fields,
            "row_filter": grant.row_filter_division,
            "expires_at": grant.expires_at.isoformat(),
        },
    )
    return grant


def get_request(session: Session, *, actor: Principal, request_id: int) -> SharingRequest:
    """A request visible to its consumer, its provider, its handler or their overseers."""
    req = session.scalar(
        select(SharingRequest).where(SharingRequest.id == request_id, _request_clause(actor))
    )
    if req is None:
        raise NotFound(f"申请 {request_id} 不存在或不可见 (no request {request_id} visible to you)")
    return req


def _request_clause(principal: Principal) -> Any:
    """Requests the caller may read: its departments' (as consumer, provider or handler, through `policy.scope`)
    and those handled in a territory it oversees (`oversight_clause`); never others' requests by mere vicinity."""
    return or_(
        policy.scope(SharingRequest.consumer_department_id, principal),
        policy.scope(SharingRequest.provider_department_id, principal),
        policy.scope(SharingRequest.handler_department_id, principal),
        oversight_clause(principal, SharingRequest.handler_division_path),
    )


def decide(
    session: Session,
    *,
    actor: Principal,
    request_id: int,
    action: str,
    reason: str = "",
    clear_fields: list[str] | None = None,
    days: int | None = None,
    rate_limit_per_minute: int | None = None,
) -> SharingRequest:
    """The handler accepts a request for review, approves it (creating the grant) or refuses it with reasons."""
    req = get_request(session, actor=actor, request_id=request_id)
    policy.require(
        session, actor, req.handler_department_id, APPROVE_ROLES, what="该申请的审批 (approving this request)"
    )
    if req.status not in PENDING:
        raise Conflict(
            f"申请已处于「{REQUEST_STATUSES.get(req.status, req.status)}」状态，不能再{action} "
            f"(request is already {req.status})"
        )
    now = utcnow()
    if action == "accept":
        if req.status != "pending_check":
            raise Conflict("申请已通过审核 (request already checked)")
        req.status = "pending_approval"
        req.checked_at = now
    elif action == "refuse":
        if len(reason.strip()) < 2:
            raise ValidationFailed(
                "拒绝必须说明理由 (a refusal must state its reasons)",
                details=[{"loc": ["reason"], "msg": "required"}],
            )
        req.status = "refused"
        req.decided_at = now
        req.decided_by = _actor_name(actor)
        req.reason = reason.strip()
        req.checked_at = req.checked_at or now
    elif action == "approve":
        items = {i.name: i for i in req.resource.items}
        allowed = set(req.fields or items)
        bad = [
            f
            for f in (clear_fields or [])
            if f not in allowed or not (items.get(f) and (items[f].personal or items[f].sensitive))
        ]
        if bad:
            raise ValidationFailed(
                "明文字段必须是所申请的个人信息项 (clear fields must be requested personal items)",
                details=[{"loc": ["clear_fields"], "msg": ", ".join(bad)}],
            )
        req.checked_at = req.checked_at or now
        _grant(
            session,
            actor=actor,
            req=req,
            now=now,
            clear_fields=clear_fields,
            days=days,
            rate_limit=rate_limit_per_minute,
            reason=reason.strip(),
        )
    else:
        raise ValidationFailed(f"未知操作 (unknown action): {action}")
    audit.record(
        session,
        actor=actor,
        action=f"exchange.request.{action}",
        entity_type="exchange.request",
        entity_id=req.id,
        department_id=req.handler_department_id,
        detail={"reason": req.reason},
    )
    publish(session, "exchange.request_decided", request_id=req.id, status=req.status)
    session.flush()
    return req


def withdraw(session: Session, *, actor: Principal, request_id: int) -> SharingRequest:
    """The requesting department withdraws a pending request."""
    req = get_request(session, actor=actor, request_id=request_id)
    policy.require(session, actor, req.consumer_department_id, REQUEST_ROLES, what="该申请 (this request)")
    if req.status not in PENDING:
        raise Conflict(
            f"只能撤回待处理的申请 (only pending requests can be withdrawn; this one is {req.status})"
        )
    req.status = "withdrawn"
    req.decided_at = utcnow()
    req.decided_by = _actor_name(actor)
    audit.record(
        session,
        actor=actor,
        action="exchange.request.withdraw",
        entity_type="exchange.request",
        entity_id=req.id,
        department_id=req.consumer_department_id,
    )
    return req


def is_overdue(req: SharingRequest, now: datetime | None = None) -> bool:
    """Past its working-day deadline: still unchecked after the check period, or unanswered after the answer period."""
    now = now or utcnow()
    if req.status == "pending_check":
        return now > req.check_due_at
    if req.status == "pending_approval":
        return now > req.answer_due_at
    if req.decided_at is not None and req.route != "auto":
        return req.decided_at > req.answer_due_at
    return False


def _overdue_clause(now: datetime) -> Any:
    return or_(
        and_(SharingRequest.status == "pending_check", SharingRequest.check_due_at < now),
        and_(SharingRequest.status == "pending_approval", SharingRequest.answer_due_at < now),
    )


def list_requests(
    session: Session,
    *,
    actor: Principal,
    box: str = "mine",
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[SharingRequest], int]:
    """mine: my departments' requests; inbox: waiting for my answer; overdue: stuck approvals in my territory (the
    level above sees its levels below); all: everything I may see."""
    stmt = select(SharingRequest)
    if box == "mine":
        stmt = stmt.where(policy.scope(SharingRequest.consumer_department_id, actor))
    elif box == "inbox":
        stmt = stmt.where(
            policy.scope(SharingRequest.handler_department_id, actor, APPROVE_ROLES),
            SharingRequest.status.in_(PENDING),
        )
    elif box == "overdue":
        stmt = stmt.where(
            _overdue_clause(utcnow()),
            or_(
                oversight_clause(actor, SharingRequest.handler_division_path),
                policy.scope(SharingRequest.handler_department_id, actor),
            ),
        )
    elif box == "all":
        stmt = stmt.where(_request_clause(actor))
    else:
        raise ValidationFailed("box 只能是 mine/inbox/overdue/all (box must be mine, inbox, overdue or all)")
    if status:
        stmt = stmt.where(SharingRequest.status == status)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    order = (
        [SharingRequest.answer_due_at.asc()]
        if box in ("inbox", "overdue")
        else [SharingRequest.submitted_at.desc()]
    )
    items = list(session.scalars(stmt.order_by(*order, SharingRequest.id).limit(limit).offset(offset)))
    return items, total


def grant_for_request(session: Session, request_id: int) -> Grant | None:
    """The grant a request produced, if any."""
    return session.scalar(select(Grant).where(Grant.request_id == request_id).limit(1))


def grant_status(grant: Grant, now: datetime | None = None) -> str:
    """active, expired or revoked."""
    if grant.revoked_at is not None:
        return "revoked"
    return "expired" if grant.expires_at <= (now or utcnow()) else "active"


def list_grants(
    session: Session, *, actor: Principal, side: str = "consumer", limit: int = 50, offset: int = 0
) -> tuple[list[Grant], int]:
    """Grants my departments hold (consumer) or gave (provider)."""
    if side == "consumer":
        stmt = select(Grant).where(policy.scope(Grant.consumer_department_id, actor))
    elif side == "provider":
        stmt = (
            select(Grant)
            .join(Resource, Resource.id == Grant.resource_id)
            .where(policy.scope(Resource.provider_department_id, actor))
        )
    else:
        raise ValidationFailed("side 只能是 consumer/provider (side must be consumer or provider)")
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    return list(
        session.scalars(stmt.order_by(Grant.granted_at.desc(), Grant.id).limit(limit).offset(offset))
    ), total


def revoke_grant(session: Session, *, actor: Principal, grant_id: int, reason: str) -> Grant:
    """The provider (or the data management bureau that granted it) revokes a grant at once."""
    grant = session.get(Grant, grant_id)
    if grant is None:
        raise NotFound(f"授权 {grant_id} 不存在 (no grant {grant_id})")
    req = session.get(SharingRequest, grant.request_id) if grant.request_id else None
    allowed = policy.can_act(session, actor, grant.resource.provider_department_id, APPROVE_ROLES) or (
        req is not None and policy.can_act(session, actor, req.handler_department_id, APPROVE_ROLES)
    )
    if not allowed:
        if policy.can_act(session, actor, grant.consumer_department_id):
            raise Forbidden("只有提供方或审批部门可以撤销授权 (only the provider or the approver can revoke)")
        raise NotFound(f"授权 {grant_id} 不存在 (no grant {grant_id})")
    if grant.revoked_at is not None:
        raise Conflict("授权已撤销 (grant already revoked)")
    grant.revoked_at = utcnow()
    grant.revoked_by = _actor_name(actor)
    grant.revoke_reason = reason.strip()
    audit.record(
        session,
        actor=actor,
        action="exchange.grant.revoke",
        entity_type="exchange.grant",
        entity_id=grant.id,
        department_id=grant.resource.provider_department_id,
        detail={"reason": grant.revoke_reason},
    )
    session.flush()
    return grant


def _grant_where(principal: Principal, resource_id: int, mode: str) -> list[Any]:
    """Predicates of an active grant of a resource to one of the caller's own departments."""
    where = [
        Grant.resource_id == resource_id,
        Grant.consumer_department_id.in_(list(principal.department_ids)),
        Grant.revoked_at.is_(None),
        Grant.expires_at > utcnow(),
    ]
    if mode == "records":
        where.append(Grant.mode == "records")
    return where


def active_grant(
    session: Session, principal: Principal | None, resource: Resource, mode: str = "records"
) -> Grant | None:
    """The newest unexpired, unrevoked grant of the resource to one of the caller's departments (deny by default)."""
    if principal is None or not principal.assignments:
        return None
    stmt = select(Grant).where(*_grant_where(principal, resource.id, mode))
    return session.scalar(stmt.order_by(Grant.granted_at.desc(), Grant.id.desc()).limit(1))


def _grant_checker(
    session: Session, principal: Principal, kind: str, resource_id: str, action: str
) -> Grant | None:
    res = session.scalar(select(Resource).where(Resource.code == resource_id))
    if res is None:
        return None
    return active_grant(session, principal, res, "verify" if action == "verify" else "records")


policy.register_grant_checker(KIND, _grant_checker)


# ---------------------------------------------------------------- gateway


class _RateLimiter:
    """Fixed one-minute windows per grant, in process (one server process serves the gateway)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[int, tuple[int, int]] = {}

    def hit(self, grant_id: int, limit: int) -> None:
        now = time.time()
        window = int(now // 60)
        with self._lock:
            start, count = self._windows.get(grant_id, (window, 0))
            if start != window:
                start, count = window, 0
            if count >= limit:
                retry = max(1, int((window + 1) * 60 - now) + 1)
                # core answers 429 with Retry-After (CKAN in its own error format, same header)
                raise RateLimited(
                    f"调用过于频繁：本授权每分钟最多 {limit} 次，请 {retry} 秒后重试 "
                    f"(rate limit of {limit} calls per minute for this grant; retry in {retry}s)",
                    retry_after=retry,
                )
            self._windows[grant_id] = (start, count + 1)

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()


RATE_LIMITER = _RateLimiter()


@dataclass
class Target:
    """What the gateway needs of a resource, read in one Core query (no ORM objects on the hot path)."""

    id: int
    code: str
    kind: str
    api_url: str | None
    provider_department_id: int
    division_code: str
    items: dict[str, tuple[str, str, bool]]  # name -> (type, mask rule, personal or sensitive), in item order
    upload_id: int | None
    upload_version: int | None


@dataclass
class GrantView:
    """The columns of an active grant the gateway uses."""

    id: int
    consumer_department_id: int
    fields: list[str] | None
    clear_fields: list[str]
    row_filter_division: str | None
    rate_limit_per_minute: int
    purpose: str
    mode: str


@dataclass
class Access:
    """How a caller reaches a resource's records: through its own scope or through a grant."""

    resource: Target
    grant: GrantView | None
    fields: list[str]
    masks: dict[str, str]  # item name -> rule, for the fields that are masked for this caller
    row_filter: str | None


def _statement(key: str, build: Any) -> Any:
    """A gateway statement built once per process (parameters bound per call; saves building it on every call)."""
    stmt = _STATEMENTS.get(key)
    if stmt is None:
        stmt = _STATEMENTS[key] = build()
    return stmt


_STATEMENTS: dict[str, Any] = {}


def _target_stmt() -> Any:
    return (
        select(
            Resource.id,
            Resource.code,
            Resource.kind,
            Resource.api_url,
            Resource.provider_department_id,
            Resource.division_code,
            DataItem.name,
            DataItem.type,
            DataItem.mask,
            DataItem.personal,
            DataItem.sensitive,
            Upload.id,
            Upload.version,
        )
        .join(DataItem, DataItem.resource_id == Resource.id)
        .outerjoin(Upload, and_(Upload.resource_id == Resource.id, Upload.status == "active"))
        .where(Resource.code == bindparam("code"))
        .order_by(DataItem.position, Upload.version.desc())
    )


def _grant_view_stmt(mode: str) -> Any:
    where = [
        Grant.resource_id == bindparam("resource_id"),
        Grant.consumer_department_id.in_(bindparam("departments", expanding=True)),
        Grant.revoked_at.is_(None),
        Grant.expires_at > bindparam("now"),
    ]
    order: list[Any] = [Grant.granted_at.desc(), Grant.id.desc()]
    if mode == "records":
        where.append(Grant.mode == "records")
    else:
        # A verify call prefers a verify grant: only that one lets masked items be checked.
        order.insert(0, case((Grant.mode == "verify", 0), else_=1))
    return (
        select(
            Grant.id,
            Grant.consumer_department_id,
            Grant.fields,
            Grant.clear_fields,
            Grant.row_filter_division,
            Grant.rate_limit_per_minute,
            Grant.purpose,
            Grant.mode,
        )
        .where(*where)
        .order_by(*order)
        .limit(1)
    )


def _target(session: Session, code: str) -> Target:
    rows = session.execute(_statement("target", _target_stmt), {"code": code}).all()
    if not rows:
        raise NotFound(f"目录资源 {code} 不存在 (no catalog entry {code})")
    first = rows[0]
    items: dict[str, tuple[str, str, bool]] = {}
    for r in rows:
        items.setdefault(r[6], (r[7], r[8], bool(r[9] or r[10])))
    return Target(first[0], first[1], first[2], first[3], first[4], first[5], items, first[11], first[12])


def _access(session: Session, actor: Principal | None, code: str, mode: str) -> Access:
    if actor is None:
        raise Unauthorized("需要登录 (authentication required)")
    res = _target(session, code)
    own = in_provider_scope(session, actor, res)
    grant = None
    if not own and actor.assignments:
        # Same predicates as _grant_where (an active grant to one of the caller's own departments).
        row = session.execute(
            _statement(f"grant.{mode}", lambda: _grant_view_stmt(mode)),
            {"resource_id": res.id, "departments": list(actor.department_ids), "now": utcnow()},
        ).first()
        grant = GrantView(*row) if row is not None else None
    if not own and grant is None:
        # Only a refusal needs to know whether the entry is visible at all (404) or visible but not granted (403).
        visible = session.scalar(select(Resource.id).where(Resource.id == res.id, catalog_clause(actor)))
        denied = dict(
            actor=actor,
            action="exchange.gateway.denied",
            entity_type="exchange.resource",
            entity_id=code,
            detail={"mode": mode, "reason": "no_grant" if visible else "not_visible"},
        )
        if visible is None:
            raise NotFound(
                f"目录资源 {code} 不存在或不可见 (no catalog entry {code} visible to you)", audit=denied
            )
        raise Forbidden(
            f"没有资源 {code} 的有效授权，请先提交共享申请 (no active grant for {code}; file a sharing "
            "request first)",
            audit=denied,
        )
    if res.kind != "table":
        raise Conflict(f"该资源由提供方接口提供: {res.api_url} (served by the provider's registered API)")
    items = res.items
    fields = list(items) if own or not grant or not grant.fields else [f for f in grant.fields if f in items]
    clear = set(grant.clear_fields or []) if grant else set(items)
    masks = {f: items[f][1] for f in fields if items[f][1] != "none" and items[f][2] and f not in clear}
    if grant is not None:
        RATE_LIMITER.hit(grant.id, grant.rate_limit_per_minute)
    return Access(res, grant, fields, masks, grant.row_filter_division if grant else None)


def _records_stmt(upload_id: int, row_filter: str | None, conditions: list[Any], after: int | None) -> Any:
    stmt = select(Record.id, Record.data).where(Record.upload_id == upload_id, *conditions)
    if row_filter:
        stmt = stmt.where(Record.division_code.like(row_filter + "%"))
    if after is not None:
        stmt = stmt.where(Record.id > after)
    return stmt


def _item_value(item_type: str, name: str) -> Any:
    """A record's value of one item as SQL, typed like the item (numbers compare and sort as numbers)."""
    col = Record.data[name]
    if item_type == "integer":
        return col.as_integer()
    if item_type == "number":
        return col.as_float()
    if item_type == "boolean":
        return col.as_boolean()
    return col.as_string()


def _equals(name: str, item_type: str, raw: Any, loc: str) -> Any:
    """SQL: the item equals a value given as text, converted as an upload would be (422 if it cannot be)."""
    value, problem = ingest.convert(ingest.ItemSpec(name, name, item_type, False), raw)
    if problem:
        raise ValidationFailed(
            f"{name} 的值无效 (invalid value for {name}): {problem}",
            details=[{"loc": [loc, name], "msg": problem}],
        )
    col = _item_value(item_type, name)
    return col.is_(None) if value is None else col == value


def _refuse_masked(acc: Access, used: dict[str, list[str]]) -> None:
    """Masked items may not be filtered, sorted or searched on: each answer would confirm a guess of the value
    (10,000 `?phone=186****0145`-style guesses recover a phone number)."""
    details = [
        {"loc": [where, f], "msg": "脱敏字段不能用于筛选、排序或检索 (masked item)"}
        for where, names in used.items()
        for f in names
        if f in acc.masks
    ]
    if details:
        names = ", ".join(sorted({d["loc"][1] for d in details}))
        raise ValidationFailed(
            f"脱敏字段不能用于筛选、排序或检索：{names} (masked fields cannot be filtered, sorted or searched: "
            f"{names})",
            details=details,
        )


def _check_granted(acc: Access, where: str, names: Iterable[str]) -> None:
    bad = [k for k in names if k not in acc.fields]
    if bad:
        unknown = ", ".join(bad)
        raise ValidationFailed(
            f"只能使用授权范围内的信息项：{unknown} (only granted data items can be used: {unknown})",
            details=[
                {
                    "loc": [where, k],
                    "msg": "not a granted data item"
                    if k in acc.resource.items
                    else f'field "{k}" not in table',
                }
                for k in bad
            ],
        )


def _search_terms(q: str) -> list[str]:
    terms = [t for t in q.split() if t][:10]
    if any(len(t) > 100 for t in terms):
        raise ValidationFailed(
            "检索词过长 (search term too long)", details=[{"loc": ["q"], "msg": "max 100"}]
        )
    return terms


def response_hash(records: list[dict[str, Any]]) -> str:
    """SHA-256 of the canonical JSON of the rows served (what the audit record names)."""
    return hashlib.sha256(
        json.dumps(records, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode()
    ).hexdigest()


def read_records(
    session: Session,
    *,
    actor: Principal | None,
    code: str,
    filters: dict[str, str] | None = None,
    limit: int = 100,
    offset: int = 0,
    after: int | None = None,
    count: bool = False,
    purpose: str = "",
    kind: str = "records",
    fields: list[str] | None = None,
    sort: list[tuple[str, bool]] | None = None,
    q: str | dict[str, str] | None = None,
) -> dict[str, Any]:
    """Serve a page of records through the grant: field scope, row filter, masking, one audit record.

    `filters` are equality on items, `sort` is [(item, descending)], `q` a text matched in any served unmasked item
    (every word somewhere) or {item: text}. Masked items can be neither filtered, sorted nor searched (422)."""
    acc = _access(session, actor, code, "records")
    assert actor is not None
    filters = dict(filters or {})
    sort = list(sort or [])
    q_fields = dict(q) if isinstance(q, dict) else {}
    _check_granted(acc, "filters", filters)
    _check_granted(acc, "sort", [f for f, _ in sort])
    _check_granted(acc, "q", q_fields)
    _refuse_masked(acc, {"filters": list(filters), "sort": [f for f, _ in sort], "q": list(q_fields)})
    if sort and after is not None:
        raise ValidationFailed(
            "after（按 id 续页）不能与 sort 同用，请用 offset (after pages by id; with sort use offset)",
            details=[{"loc": ["after"], "msg": "not with sort"}],
        )
    out_fields = acc.fields
    if fields:
        unknown = [f for f in fields if f not in acc.fields]
        if unknown:
            raise ValidationFailed(
                "请求的字段不在授权范围内 (fields outside the grant)",
                details=[{"loc": ["fields", f], "msg": "not granted"} for f in unknown],
            )
        out_fields = [f for f in acc.fields if f in fields]
    items = acc.resource.items
    conditions = [_equals(k, items[k][0], v, "filters") for k, v in filters.items()]
    for k, text in q_fields.items():
        for term in _search_terms(str(text)):
            conditions.append(func.lower(_item_value("string", k)).contains(term.lower(), autoescape=True))
    if isinstance(q, str) and q.strip():
        searchable = [f for f in acc.fields if f not in acc.masks]
        for term in _search_terms(q):
            hits = [
                func.lower(_item_value("string", f)).contains(term.lower(), autoescape=True)
                for f in searchable
            ]
            conditions.append(or_(*hits) if hits else false())
    order: list[Any] = []
    for f, desc in sort:
        value = _item_value(items[f][0], f)
        order.append(value.desc().nulls_first() if desc else value.asc().nulls_last())
    upload_id, version = acc.resource.upload_id, acc.resource.upload_version
    records: list[dict[str, Any]] = []
    has_more = False
    next_after = None
    total = None
    if upload_id is not None:
        stmt = _records_stmt(upload_id, acc.row_filter, conditions, after)
        if count:
            total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        page = stmt.order_by(*order, Record.id).limit(limit + 1)
        if after is None and offset:
            page = page.offset(offset)
        rows = session.execute(page).all()
        has_more = len(rows) > limit
        rows = rows[:limit]
        wanted = set(out_fields)
        # Each row's dict is freshly decoded from JSON: when it holds exactly the served fields, mask it in place.
        records = [
            data if data.keys() == wanted else {f: data.get(f) for f in out_fields} for _rid, data in rows
        ]
        mask_records(records, {f: rule for f, rule in acc.masks.items() if f in wanted})
        next_after = rows[-1][0] if rows and has_more else None
    # The records are serialised once: the hash in the audit record is of these exact bytes of the response body.
    records_json = json.dumps(records, ensure_ascii=False, separators=(",", ":"), default=str)
    digest = hashlib.sha256(records_json.encode()).hexdigest()
    _log_call(
        session,
        actor=actor,
        acc=acc,
        kind=kind,
        rows=len(records),
        digest=digest,
        purpose=purpose,
        detail={
            "filters": sorted(filters),
            "offset": offset,
            "after": after,
            "version": version,
            **({"sort": [f"{f} {'desc' if d else 'asc'}" for f, d in sort]} if sort else {}),
            **({"q": sorted(q_fields) if q_fields else "*"} if q else {}),
        },
    )
    return {
        "resource_code": acc.resource.code,
        "version": version,
        "fields": out_fields,
        "masked_fields": [f for f in out_fields if f in acc.masks],
        "records": records,
        "limit": limit,
        "offset": offset,
        "has_more": has_more,
        "next_after": next_after,
        "total": total,
        "grant_id": acc.grant.id if acc.grant else None,
        "response_sha256": digest,
        "records_json": records_json,
    }


def page_body(page: dict[str, Any]) -> bytes:
    """The JSON response body of a records page, reusing the serialised records whose hash was audited."""
    head = {k: v for k, v in page.items() if k not in ("records", "records_json")}
    head_json = json.dumps(head, ensure_ascii=False, separators=(",", ":"), default=str)
    return (head_json[:-1] + ',"records":' + page["records_json"] + "}").encode()


def _log_call(
    session: Session,
    *,
    actor: Principal,
    acc: Access,
    kind: str,
    rows: int,
    digest: str,
    purpose: str,
    detail: dict[str, Any],
) -> None:
    consumer = (
        acc.grant.consumer_department_id
        if acc.grant
        else (actor.primary.department_id if actor.primary else None)
    )
    rec = audit.record(
        session,
        actor=actor,
        action=f"exchange.gateway.{kind}",
        entity_type=KIND,
        entity_id=acc.resource.code,
        department_id=acc.resource.provider_department_id,
        division_code=acc.resource.division_code,
        purpose=(acc.grant.purpose if acc.grant else "") + (f" / {purpose}" if purpose else ""),
        detail={
            "grant": acc.grant.id if acc.grant else None,
            "consumer_department": consumer,
            "rows": rows,
            "response_sha256": digest,
            "masked": sorted(acc.masks),
            **detail,
        },
    )
    session.execute(
        insert(GatewayCall.__table__),
        [
            {
                "at": utcnow(),
                "resource_id": acc.resource.id,
                "grant_id": acc.grant.id if acc.grant else None,
                "consumer_department_id": consumer,
                "kind": kind,
                "rows": rows,
                "response_sha256": digest,
                "audit_seq": rec.seq,
            }
        ],
    )


def verify(
    session: Session, *, actor: Principal | None, code: str, values: dict[str, str], purpose: str = ""
) -> dict[str, Any]:
    """Answer only consistent / not consistent for the given values (e.g. ID number + name); audited, no data out."""
    acc = _access(session, actor, code, "verify")
    assert actor is not None
    bad = [k for k in values if k not in acc.fields]
    if bad:
        raise ValidationFailed(
            "核验字段须在授权范围内 (verify fields must be granted data items)",
            details=[{"loc": ["values", k], "msg": "not a granted data item"} for k in bad],
        )
    if acc.grant is not None and acc.grant.mode != "verify":
        # Checking masked values is what a verify grant was approved for; a records grant shows them masked and
        # must not confirm guesses of them either.
        _refuse_masked(acc, {"values": list(values)})
    consistent = False
    if acc.resource.upload_id is not None:
        items = acc.resource.items
        conditions: list[Any] | None = None
        if values and all(str(v).strip() for v in values.values()):
            try:
                conditions = [_equals(k, items[k][0], v, "values") for k, v in values.items()]
            except ValidationFailed:
                pass  # a value that cannot be of its item's type matches nothing: "不一致"
        if conditions is not None:
            stmt = _records_stmt(acc.resource.upload_id, acc.row_filter, conditions, None).limit(1)
            consistent = session.execute(stmt).first() is not None
    answer = {"consistent": consistent}
    digest = response_hash([answer])
    # The checked values are personal data: the audit keeps only their hash.
    query_hash = hashlib.sha256(json.dumps(values, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    _log_call(
        session,
        actor=actor,
        acc=acc,
        kind="verify",
        rows=0,
        digest=digest,
        purpose=purpose,
        detail={"fields": sorted(values), "query_sha256": query_hash, "consistent": consistent},
    )
    return {
        "resource_code": acc.resource.code,
        "consistent": consistent,
        "result": "一致" if consistent else "不一致",
        "grant_id": acc.grant.id if acc.grant else None,
    }


# ---------------------------------------------------------------- flow metrics (条×块)


def relation(provider_path: str, consumer_path: str) -> str:
    """Level of a flow: same division, up (a lower level provides to a higher), down, or across regions."""
    if provider_path == consumer_path:
        return "same"
    if provider_path.startswith(consumer_path):
        return "up"
    if consumer_path.startswith(provider_path):
        return "down"
    return "across"


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


def flow_matrix(
    session: Session,
    *,
    actor: Principal,
    division_code: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> dict[str, Any]:
    """Requests, grants, refusals, overdue, median approval time, calls and rows, by provider line x consumer line and
    by level, for flows touching a division's territory in a period.

    Whoever oversees the division (a division-reach role, the data management bureau) sees every flow touching it
    (scope "territory"); a department- or line-reach role working in the division sees only the flows of its own
    departments (scope "departments"); anyone else gets 403."""
    if division_code is None:
        if actor.primary is None:
            raise ValidationFailed("请指定行政区划 (give a division code)")
        division_code = actor.primary.division_code
    div = divisions.get(session, division_code)
    oversees = actor.is_superuser or (
        session.scalar(
            select(Division.code).where(Division.code == div.code, oversight_clause(actor, Division.path))
        )
        is not None
    )
    # Without oversight, a role may look at a division it works in (its department lies there) or, for a line
    # role, one its line covers; it then sees its own departments' flows only.
    works_there = any(
        a.division_path.startswith(div.path) or (a.reach == "line" and div.path.startswith(a.division_path))
        for a in actor.assignments
    )
    if not oversees and not works_there:
        raise Forbidden("无权查看该区划的流转统计 (this division is outside your territory)")
    now = utcnow()
    end = end or now
    start = start or (end - timedelta(days=365))
    if start >= end:
        raise ValidationFailed("开始时间须早于结束时间 (start must be before end)")
    pd, cd = aliased(Department), aliased(Department)
    pv, cv = aliased(Division), aliased(Division)
    prefix = div.path + "%"
    # Without oversight of the territory only the caller's own departments' flows count (scoped in SQL).
    own_requests: Any = true()
    own_calls: Any = true()
    if not oversees:
        own_requests = or_(
            policy.scope(SharingRequest.consumer_department_id, actor),
            policy.scope(SharingRequest.provider_department_id, actor),
        )
        own_calls = or_(
            policy.scope(GatewayCall.consumer_department_id, actor),
            policy.scope(Resource.provider_department_id, actor),
        )
    reqs = session.execute(
        select(SharingRequest, pd.line_code, pv.path, cd.line_code, cv.path)
        .join(pd, pd.id == SharingRequest.provider_department_id)
        .join(pv, pv.code == pd.division_code)
        .join(cd, cd.id == SharingRequest.consumer_department_id)
        .join(cv, cv.code == cd.division_code)
        .where(
            SharingRequest.submitted_at >= start,
            SharingRequest.submitted_at < end,
            or_(pv.path.like(prefix), cv.path.like(prefix)),
            own_requests,
        )
    ).all()
    cells: dict[tuple[str, str], dict[str, Any]] = {}
    levels: dict[str, dict[str, Any]] = {}
    totals: dict[str, Any] = _blank("*", "*")
    stuck = []
    for req, pline, ppath, cline, cpath in reqs:
        rel = relation(ppath, cpath)
        targets = [
            cells.setdefault((pline, cline), _blank(pline, cline)),
            levels.setdefault(rel, {**_blank("", ""), "relation": rel}),
            totals,
        ]
        late = is_overdue(req, now)
        hours = (
            (req.decided_at - req.submitted_at).total_seconds() / 3600
            if req.decided_at is not None and req.status in ("granted", "refused")
            else None
        )
        for t in targets:
            t["requested"] += 1
            t["granted"] += req.status == "granted"
            t["refused"] += req.status == "refused"
            t["pending"] += req.status in PENDING
            t["overdue"] += late
            if hours is not None:
                t["_hours"].append(hours)
        if late and req.status in PENDING:
            stuck.append(req)
    calls = session.execute(
        select(
            Resource.line_code,
            Resource.division_path,
            cd.line_code,
            cv.path,
            func.count(GatewayCall.id),
            func.coalesce(func.sum(GatewayCall.rows), 0),
        )
        .join(Resource, Resource.id == GatewayCall.resource_id)
        .join(cd, cd.id == GatewayCall.consumer_department_id)
        .join(cv, cv.code == cd.division_code)
        .where(
            GatewayCall.at >= start,
            GatewayCall.at < end,
            or_(Resource.division_path.like(prefix), cv.path.like(prefix)),
            own_calls,
        )
        .group_by(Resource.line_code, Resource.division_path, cd.line_code, cv.path)
    ).all()
    for pline, ppath, cline, cpath, n, rows in calls:
        rel = relation(ppath, cpath)
        for t in (
            cells.setdefault((pline, cline), _blank(pline, cline)),
            levels.setdefault(rel, {**_blank("", ""), "relation": rel}),
            totals,
        ):
            t["calls"] += int(n)
            t["rows"] += int(rows)
    for t in [*cells.values(), *levels.values(), totals]:
        t["median_approval_hours"] = _median(t.pop("_hours"))
    level_rows = []
    for rel in ("same", "up", "down", "across"):
        data = levels.get(rel, {**_blank("", ""), "relation": rel, "median_approval_hours": None})
        data.pop("_hours", None)
        level_rows.append(
            {k: v for k, v in data.items() if k not in ("provider_line", "consumer_line", "pending")}
        )
    stuck.sort(key=lambda r: r.answer_due_at)
    return {
        "division_code": div.code,
        "scope": "territory" if oversees else "departments",
        "start": start,
        "end": end,
        "totals": totals,
        "cells": sorted(cells.values(), key=lambda c: (c["provider_line"], c["consumer_line"])),
        "levels": level_rows,
        "stuck": stuck,
    }


def _blank(pline: str, cline: str) -> dict[str, Any]:
    return {
        "provider_line": pline,
        "consumer_line": cline,
        "requested": 0,
        "granted": 0,
        "refused": 0,
        "pending": 0,
        "overdue": 0,
        "calls": 0,
        "rows": 0,
        "_hours": [],
    }


def open_work(session: Session, department_ids: list[int]) -> dict[int, int]:
    """Sharing requests waiting for a department's check or answer."""
    rows = session.execute(
        select(SharingRequest.handler_department_id, func.count())
        .where(SharingRequest.handler_department_id.in_(department_ids), SharingRequest.status.in_(PENDING))
        .group_by(SharingRequest.handler_department_id)
    ).all()
    return dict(rows)
