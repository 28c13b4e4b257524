"""Sharing requests filed for solution packs (方案包的共享申请): the exchange's side of
``core.ports.request_sharing``. A pack installed in a division names the resources its departments will need;
each is filed here as an ordinary sharing request of the adopter's department (compliance check, routing,
the approver's queue), checked first without writing, and withdrawn on uninstall while still pending."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from govgrid.core.audit import service as audit
from govgrid.core.authz.principal import Assignment, Principal
from govgrid.core.db import utcnow
from govgrid.core.departments import service as departments
from govgrid.core.departments.models import Department
from govgrid.core.errors import ConflictError, NotFoundError
from govgrid.core.ports import SharingNeed
from govgrid.core.privacy import scrub_text
from govgrid.exchange.enums import (
    PENDING,
    AccessMode,
    RequestStatus,
    ResourceKind,
    SharingMethod,
    SharingType,
)
from govgrid.exchange.models import (
    GatewayCall,
    Grant,
    Resource,
    ResourceVersion,
    SearchTerm,
    SharingRequest,
    Upload,
)
from govgrid.exchange.schemas import RequestCreate, ResourceCreate
from govgrid.exchange.services import catalog, sharing
from govgrid.exchange.services.access import catalog_clause

log = logging.getLogger(__name__)


def acting_for(actor: Any, dept: Department) -> Principal:
    """The installer acting as an operator of the consumer department (the audit keeps its name)."""
    acting = Assignment(
        department_id=dept.id,
        department_name=dept.name,
        line_code=dept.line_code,
        division_code=dept.division_code,
        division_path=dept.division.path,
        role="operator",
        reach="department",
    )
    if isinstance(actor, Principal):
        return replace(actor, assignments=(acting,), is_superuser=False)
    _kind, _id, name = actor.audit_identity
    return Principal(
        kind="system", id=0, name=name or "system", display_name=name or "system", assignments=(acting,)
    )


class _System:
    """A stand-in actor for checks that write nothing."""

    audit_identity = ("system", None, "pack-check")


def problem(session: Session, *, consumer_department_code: str, need: SharingNeed) -> str | None:
    """Why the need cannot be filed for the department (zh-CN), or None; writes nothing."""
    try:
        dept = departments.get_by_code(session, consumer_department_code)
    except NotFoundError:
        return (
            f"本地没有申请部门 {consumer_department_code}，请先开通该部门或在方案包中改用已有条线 "
            "(the consumer department does not exist here)"
        )
    res = session.scalar(
        select(Resource).where(
            Resource.code == need.resource_code, catalog_clause(acting_for(_System(), dept))
        )
    )
    if res is None:
        return (
            f"共享资源 {need.resource_code} 在本地区可申请的目录中不存在（或不予共享），无法为 "
            f"{dept.name} 申请；请与首创地确认资源，或先由提供部门在目录中登记 "
            "(the resource is not in the catalog this division can reach)"
        )
    if res.provider_department_id == dept.id:
        return None  # its own data: nothing to request
    if res.sharing_type == SharingType.none:
        return f"共享资源 {need.resource_code} 为不予共享，方案包不能代为申请 (a 不予共享 resource)"
    unknown = sorted(set(need.fields) - {i.name for i in res.items})
    if unknown:
        return f"共享资源 {need.resource_code} 没有这些信息项：{'、'.join(unknown)} (unknown data items)"
    sensitive = [i.label for i in res.items if i.sensitive and (not need.fields or i.name in need.fields)]
    if sensitive:
        return (
            f"共享资源 {need.resource_code} 的{'、'.join(sensitive)}是敏感个人信息，"
            f"须由{dept.name}写明法律依据后自行申请，方案包不能代为申请 "
            "(sensitive items need the department's own legal basis)"
        )
    return None


def file_request(session: Session, *, actor: Any, consumer_department_code: str, need: SharingNeed) -> int:
    """File the need as a sharing request of the consumer department; its id (0: none filed, because it is
    the department's own data or the department already holds a live grant or a pending request for it)."""
    dept = departments.get_by_code(session, consumer_department_code)
    res = session.execute(
        select(Resource.id, Resource.provider_department_id, Resource.kind, Resource.sharing_method).where(
            Resource.code == need.resource_code
        )
    ).first()
    if res is not None and res.provider_department_id == dept.id:
        return 0  # the department's own data: nothing to request
    if res is not None:
        held = session.scalar(select(Grant.id).where(
            Grant.resource_id == res.id, Grant.consumer_department_id == dept.id, Grant.revoked_at.is_(None),
            Grant.expires_at > utcnow()).limit(1))
        asked = session.scalar(select(SharingRequest.id).where(
            SharingRequest.resource_id == res.id, SharingRequest.consumer_department_id == dept.id,
            SharingRequest.status.in_(PENDING)).limit(1))
        if held is not None or asked is not None:
            return 0  # a second install files no second request (nor, for open data, a second grant)
    method = (res.kind, res.sharing_method) if res is not None else None
    verify_only = method == (ResourceKind.api, SharingMethod.verify)
    req = sharing.submit_request(
        session,
        actor=acting_for(actor, dept),
        data=RequestCreate(
            resource_code=need.resource_code,
            consumer_department_code=dept.code,
            purpose=need.purpose[:2000],
            fields=list(need.fields),
            # a provider API that only answers verify calls (e.g. ID-card checks) is asked for verification
            mode=AccessMode.verify.value if verify_only else AccessMode.records.value,
        ),
    )
    log.info("pack sharing request filed", extra={"request_id": req.id, "consumer_department_id": dept.id})
    return req.id


def withdraw_request(session: Session, *, actor: Any, request_id: int) -> bool:
    """Withdraw a pack's request if it is still pending (a decided one stays as decided)."""
    req = session.get(SharingRequest, request_id)
    if req is None or req.status not in PENDING:
        return False
    dept = departments.get(session, req.consumer_department_id)
    sharing.withdraw(session, actor=acting_for(actor, dept), request_id=request_id)
    return True


# --- The catalog section of a pack (数据目录): the origin county's own catalog entries, metadata only.

ENTRY_KEYS = (
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
    "grade",
)
ITEM_KEYS = ("name", "label", "type", "required", "personal", "sensitive", "mask")
SHARING_ZH = {"unconditional": "无条件共享", "conditional": "有条件共享", "none": "不予共享"}


def entry_key(code: str, division_code: str) -> str | None:
    """The pack's key of an entry (its code without the division: ``A01-0001``), None if not of the county."""
    class_code, _sep, rest = code.partition(f"-{division_code}-")
    return f"{class_code}-{rest}" if _sep and class_code and rest else None


def entry_code(key: str, division_code: str) -> str:
    """The resource code an entry key gets in a division (``A01-0001`` -> ``A01-140321-0001``)."""
    class_code, _sep, rest = key.partition("-")
    return f"{class_code}-{division_code}-{rest}"


def export_catalog(session: Session, *, division_code: str) -> dict[str, Any]:
    """The county's own catalog entries (provider line, items, sharing type, update cycle) and the shared
    resources outside the county its departments were granted (the pack's sharing needs)."""
    entries: dict[str, Any] = {}
    rows = session.scalars(
        select(Resource).where(Resource.division_code == division_code).order_by(Resource.code)
    )
    for res in rows:
        key = entry_key(res.code, division_code)
        if key is None:
            continue
        entry = {k: getattr(res, k) for k in ENTRY_KEYS}
        entry["line"] = res.line_code
        entry["items"] = [{k: getattr(i, k) for k in ITEM_KEYS} for i in res.items]
        entries[key] = entry
    needs: dict[tuple[str, str], dict[str, Any]] = {}
    asked = session.execute(
        select(SharingRequest, Department.line_code)
        .join(Department, Department.id == SharingRequest.consumer_department_id)
        .join(Resource, Resource.id == SharingRequest.resource_id)
        .where(
            Department.division_code == division_code,
            Resource.division_code != division_code,
            # approved needs only: a pending request may still be refused, and the pack is read platform-wide
            SharingRequest.status == RequestStatus.granted,
        )
        .order_by(SharingRequest.id)
    ).all()
    for req, line in asked:
        needs.setdefault(
            (req.resource.code, line),
            {
                "resource_code": req.resource.code,
                # the purpose is free text of one department, read by every adopter: personal data scrubbed
                "purpose": scrub_text(req.purpose[:500]) or "",
                "fields": list(req.fields or []),
                "consumer_line": line,
            },
        )
    return {"entries": entries, "sharing_needs": list(needs.values())}


def catalog_changes(
    session: Session, *, division_code: str, content: dict[str, Any], mapping: dict[str, Any]
) -> tuple[list[tuple[str, str, dict[str, Any], str]], list[dict[str, Any]]]:
    """(code, key, entry, label) of each entry to add in the division after the mapping, and the problems."""
    entries = content.get("entries")
    if not isinstance(entries, dict):
        return [], [{"loc": ["exchange", "entries"], "msg": "方案包的数据目录无法读取"}]
    lines = mapping.get("lines") or {}
    out: list[tuple[str, str, dict[str, Any], str]] = []
    problems: list[dict[str, Any]] = []
    for key, entry in sorted(entries.items()):
        if not isinstance(entry, dict) or "-" not in key:
            problems.append({"loc": ["exchange", "entries", key], "msg": "目录条目格式不对"})
            continue
        code = entry_code(key, division_code)
        if session.scalar(select(Resource.id).where(Resource.code == code)) is not None:
            continue  # the adopter already has this entry: its own metadata stays
        line = lines.get(entry.get("line"), entry.get("line"))
        try:
            dept = departments.get_by_code(session, f"{division_code}-{line}")
        except NotFoundError:
            problems.append(
                {
                    "loc": ["mapping", "lines", str(entry.get("line"))],
                    "msg": f"本地没有提供部门 {division_code}-{line}，"
                    "请在参数映射 lines 中改为本地已有的部门",
                }
            )
            continue
        payload = {k: v for k, v in entry.items() if k in ENTRY_KEYS}
        payload["items"] = entry.get("items")
        payload["provider_department_code"] = dept.code
        try:
            data = ResourceCreate.model_validate(payload)
        except ValidationError as exc:
            problems.append(
                {
                    "loc": ["exchange", "entries", key],
                    "msg": f"目录条目不完整：{exc.errors()[0]['msg']}"[:200],
                }
            )
            continue
        bad = catalog.check_items(data.items, data.sharing_type, data.open_type, data.grade)
        if bad:
            problems.append({"loc": ["exchange", "entries", key], "msg": str(bad[0]["msg"])[:200]})
            continue
        label = (
            f"新增目录 {code}「{data.name}」：{dept.name}提供，{SHARING_ZH.get(data.sharing_type, '')}，"
            f"{len(data.items)} 个信息项"
        )
        out.append((code, key, data.model_dump(mode="json"), label))
    return out, problems


def add_entries(session: Session, *, actor: Any, entries: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """Create planned catalog entries (code, ResourceCreate payload); returns their codes for the undo."""
    made = []
    for code, payload in entries:
        catalog.create_resource(session, actor=actor, data=ResourceCreate.model_validate(payload), code=code)
        made.append(code)
    return made


def remove_entries(session: Session, *, actor: Any, codes: list[str]) -> None:
    """Remove entries a pack added (refused once records, requests or grants use one: 409)."""
    for code in codes:
        res = session.scalar(select(Resource).where(Resource.code == code))
        if res is None:
            continue
        used = [
            select(m.id).where(m.resource_id == res.id).limit(1)
            for m in (Upload, SharingRequest, Grant, GatewayCall)  # a call log row names the entry too
        ]
        for stmt in used:
            if session.scalar(stmt) is not None:
                raise ConflictError(
                    f"目录 {code} 安装后已有数据、共享申请、授权或调用记录，不能随方案包卸载；"
                    "请先处理后再卸载 "
                    "(the entry is in use: records, requests, grants or calls)"
                )
        session.execute(delete(ResourceVersion).where(ResourceVersion.resource_id == res.id))
        session.execute(delete(SearchTerm).where(SearchTerm.resource_id == res.id))
        provider, division = res.provider_department_id, res.division_code
        session.delete(res)  # its data items go with it (cascade)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="exchange.resource.pack_removed",
            entity_type="exchange.resource",
            entity_id=code,
            department_id=provider,
            division_code=division,
        )
        log.info("exchange resource removed with its pack", extra={"resource_code": code})
    session.flush()
