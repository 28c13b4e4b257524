"""Catalog entries (政务数据资源目录): create and change entries, keep every version, keep the search index
current."""

from __future__ import annotations

import logging
from typing import Any, cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor
from govgrid.core.authz import policy
from govgrid.core.authz.principal import Principal
from govgrid.core.db import utcnow
from govgrid.core.departments import service as departments
from govgrid.core.errors import ConflictError, ValidationFailedError
from govgrid.exchange import tokens
from govgrid.exchange.enums import Grade, ItemType, MaskRule, OpenType, ResourceKind, SharingType
from govgrid.exchange.models import DataItem, Resource, ResourceVersion, SearchTerm
from govgrid.exchange.schemas import DataItemIn, ResourceCreate, ResourceUpdate
from govgrid.exchange.services.access import KIND, WRITE_ROLES, actor_name, get_resource

log = logging.getLogger(__name__)

# The masking rule of a personal item written without one: by its type, else everything hidden.
DEFAULT_MASK = {ItemType.id_number: MaskRule.id_number, ItemType.phone: MaskRule.phone}
SNAPSHOT_KEYS = (
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


def check_items(
    items: list[DataItemIn], sharing_type: str, open_type: str, grade: str
) -> list[dict[str, Any]]:
    """Problems of data items with the entry's sharing type, open type and grade (empty: consistent)."""
    problems = []
    names = [i.name for i in items]
    for dup in {n for n in names if names.count(n) > 1}:
        problems.append({"loc": ["items", dup], "msg": f"信息项重复 (duplicate data item): {dup}"})
    if len([i for i in items if i.type == ItemType.division]) > 1:
        problems.append(
            {"loc": ["items"], "msg": "最多一个行政区划类型的信息项 (at most one item of type division)"}
        )
    personal = [i for i in items if i.personal or i.sensitive]
    if personal and open_type != OpenType.not_open:
        problems.append(
            {
                "loc": ["open_type"],
                "msg": "含个人信息的资源不能向社会开放 (resources with personal items cannot be open)",
            }
        )
    if any(i.sensitive for i in items) and grade == Grade.general:
        problems.append(
            {
                "loc": ["grade"],
                "msg": "含敏感个人信息的资源至少定为重要级 (sensitive items need grade important or core)",
            }
        )
    if sharing_type == SharingType.none and open_type != OpenType.not_open:
        problems.append(
            {"loc": ["open_type"], "msg": "不予共享的资源不能开放 (a 不予共享 resource cannot be open)"}
        )
    return problems


def _conditions_problem(sharing_type: str, conditions: str | None) -> list[dict[str, Any]]:
    if sharing_type == SharingType.conditional and not (conditions or "").strip():
        return [{"loc": ["sharing_conditions"], "msg": "有条件共享须写明共享条件 (conditions required)"}]
    return []


def _item_rows(items: list[DataItemIn]) -> list[DataItem]:
    out = []
    for pos, i in enumerate(items):
        default = (
            DEFAULT_MASK.get(ItemType(i.type), MaskRule.full)
            if (i.personal or i.sensitive)
            else MaskRule.none
        )
        out.append(
            DataItem(
                position=pos,
                name=i.name,
                label=i.label,
                type=i.type,
                required=i.required,
                personal=i.personal,
                sensitive=i.sensitive,
                mask=i.mask or default,
            )
        )
    return out


def snapshot(res: Resource) -> dict[str, Any]:
    """The entry as it is now, as JSON (what a version keeps)."""
    snap: dict[str, Any] = {k: getattr(res, k) for k in SNAPSHOT_KEYS}
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
    terms = cast("Table", SearchTerm.__table__)
    session.execute(terms.delete().where(terms.c.resource_id == res.id))
    weights = tokens.weighted_terms(
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


def _next_code(session: Session, class_code: str, division_code: str) -> str:
    n = (
        session.scalar(
            select(func.count())
            .select_from(Resource)
            .where(Resource.class_code == class_code, Resource.division_code == division_code)
        )
        or 0
    )
    while True:
        n += 1
        code = f"{class_code}-{division_code}-{n:04d}"
        if session.scalar(select(Resource.id).where(Resource.code == code)) is None:
            return code


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
    problems = check_items(data.items, data.sharing_type, data.open_type, data.grade)
    problems += _conditions_problem(data.sharing_type, data.sharing_conditions)
    if data.kind == ResourceKind.api and not data.api_url:
        problems.append({"loc": ["api_url"], "msg": "接口类资源须登记接口地址 (api resources need api_url)"})
    if problems:
        raise ValidationFailedError("目录信息不完整或不一致 (catalog entry invalid)", details=problems)
    div = dept.division
    if code is None:
        code = _next_code(session, data.class_code, div.code)
    elif session.scalar(select(Resource.id).where(Resource.code == code)) is not None:
        raise ConflictError(f"资源代码 {code} 已存在 (resource code exists)")
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
        ResourceVersion(resource_id=res.id, version=1, snapshot=snapshot(res), changed_by=actor_name(actor))
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
    log.info(
        "exchange resource published",
        extra={
            "resource_code": code,
            "version": 1,
            "department_id": dept.id,
            "sharing_type": res.sharing_type,
        },
    )
    return res


def _current_items(res: Resource) -> list[DataItemIn]:
    keys = ("name", "label", "type", "required", "personal", "sensitive", "mask")
    return [DataItemIn.model_validate({k: getattr(i, k) for k in keys}) for i in res.items]


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
        raise ValidationFailedError("没有要修改的内容 (nothing to change)")
    items = data.items if "items" in changes else None
    changes.pop("items", None)
    for k, v in changes.items():
        setattr(res, k, v)
    problems = check_items(items or _current_items(res), res.sharing_type, res.open_type, res.grade)
    problems += _conditions_problem(res.sharing_type, res.sharing_conditions)
    if problems:
        raise ValidationFailedError("目录信息不完整或不一致 (catalog entry invalid)", details=problems)
    if items is not None:
        res.items.clear()
        session.flush()
        res.items.extend(_item_rows(items))
    res.version += 1
    res.updated_at = utcnow()
    session.flush()
    session.add(
        ResourceVersion(
            resource_id=res.id, version=res.version, snapshot=snapshot(res), changed_by=actor_name(actor)
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
    log.info("exchange resource version published", extra={"resource_code": code, "version": res.version})
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


def data_items(session: Session, *, code: str) -> list[DataItem]:
    """The data items of an entry by code, in order (catalog metadata; none if the code is unknown)."""
    return list(
        session.scalars(
            select(DataItem)
            .join(Resource, Resource.id == DataItem.resource_id)
            .where(Resource.code == code)
            .order_by(DataItem.position)
        )
    )


def require_writer(session: Session, *, actor: Principal, resource: Resource) -> None:
    """403 unless the caller may edit the entry and upload its data (admin/operator of the provider)."""
    policy.require(
        session,
        actor,
        resource.provider_department_id,
        WRITE_ROLES,
        what="该资源的目录和数据 (this resource's entry and data)",
    )
