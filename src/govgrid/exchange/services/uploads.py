"""A resource's records: validated uploads (all or nothing), each the next version, the newest one served."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor
from govgrid.core.authz import policy
from govgrid.core.authz.principal import Principal
from govgrid.core.errors import ConflictError, NotFoundError, ValidationFailedError
from govgrid.exchange import ingest
from govgrid.exchange.enums import ItemType, ResourceKind, UploadStatus, require_move
from govgrid.exchange.models import Record, Resource, Upload
from govgrid.exchange.services.access import (
    KIND,
    WRITE_ROLES,
    actor_name,
    find_resource,
    get_resource,
    is_visible,
)

log = logging.getLogger(__name__)
INSERT_BATCH = 5000  # records written per INSERT


def active_upload(session: Session, *, resource: Resource) -> Upload | None:
    """The upload whose records are served."""
    return session.scalar(
        select(Upload)
        .where(Upload.resource_id == resource.id, Upload.status == UploadStatus.active)
        .order_by(Upload.version.desc())
        .limit(1)
    )


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
    res = find_resource(session, code=code)
    if principal is not None:
        if not is_visible(session, actor=principal, resource_id=res.id):
            raise NotFoundError(f"目录资源 {code} 不存在或不可见 (no catalog entry {code} visible to you)")
        policy.require(
            session,
            principal,
            res.provider_department_id,
            WRITE_ROLES,
            what="该资源的数据 (this resource's data)",
        )
    if res.kind != ResourceKind.table:
        raise ConflictError(
            "该资源由提供方接口提供，不在此上传数据 (this resource is served by the provider's API)"
        )
    fmt = (fmt or ("json" if filename.lower().endswith(".json") else "csv")).lower()
    if fmt not in ("csv", "json"):
        raise ValidationFailedError(
            "只接受 CSV 或 JSON 文件 (CSV or JSON only)", details=[{"loc": ["format"], "msg": fmt}]
        )
    specs = [ingest.ItemSpec(i.name, i.label, i.type, i.required) for i in res.items]
    parsed = ingest.parse_json(content, specs) if fmt == "json" else ingest.parse_csv(content, specs)
    if parsed.error_count:
        log.info(
            "exchange upload refused",
            extra={"resource_code": code, "problems": parsed.error_count, "format": fmt},
        )
        raise ValidationFailedError(
            f"上传被拒绝：{parsed.error_count} 处错误，未导入任何数据，原版本继续提供 "
            f"(upload refused: {parsed.error_count} problems; nothing imported, the previous version stays "
            "served)",
            details=parsed.errors,
            code="upload_rejected",
        )
    if not parsed.rows:
        raise ValidationFailedError(
            "文件没有数据行 (no data rows)", details=[{"loc": ["file"], "msg": "empty"}]
        )
    prev = active_upload(session, resource=res)
    last_version = session.scalar(select(func.max(Upload.version)).where(Upload.resource_id == res.id)) or 0
    up = Upload(
        resource_id=res.id,
        version=last_version + 1,
        status=UploadStatus.active,
        filename=filename[:200],
        row_count=len(parsed.rows),
        sha256=hashlib.sha256(content).hexdigest(),
        uploaded_by=actor_name(actor),
    )
    session.add(up)
    session.flush()
    div_item = next((i.name for i in res.items if i.type == ItemType.division), None)
    # 静态脱敏: each record is stored with its masked twin (the gateway's default masks, applied once here).
    rules = ingest.twin_rules((i.name, i.mask, i.personal or i.sensitive) for i in res.items)
    key = ingest.mask_key(rules)
    batch = []
    for row_no, row in parsed.rows:
        batch.append(
            {
                "upload_id": up.id,
                "row_no": row_no,
                "division_code": row.get(div_item) if div_item else None,
                "data": row,
                "masked": ingest.masked_twin(rules, row),
                "mask_key": key,
            }
        )
        if len(batch) >= INSERT_BATCH:
            session.execute(insert(Record), batch)
            batch = []
    if batch:
        session.execute(insert(Record), batch)
    if prev is not None:
        require_move(prev.status, UploadStatus.superseded, "上传版本状态异常 (upload is not active)")
        prev.status = UploadStatus.superseded
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
    log.info(
        "exchange data version published",
        extra={
            "resource_code": code,
            "upload_id": up.id,
            "version": up.version,
            "rows": up.row_count,
            "superseded_upload_id": prev.id if prev is not None else None,
        },
    )
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


def preview_upload(
    session: Session, *, actor: Principal, code: str, content: bytes, filename: str = "", limit: int = 20
) -> dict[str, Any]:
    """Check a file against the data items, storing nothing: its first rows and every row's problems."""
    res = get_resource(session, actor=actor, code=code)
    policy.require(
        session, actor, res.provider_department_id, WRITE_ROLES, what="该资源的数据 (this resource's data)"
    )
    if res.kind != ResourceKind.table:
        raise ConflictError(
            "该资源由提供方接口提供，不在此上传数据 (this resource is served by the provider's API)"
        )
    fmt = "json" if filename.lower().endswith(".json") else "csv"
    specs = [ingest.ItemSpec(i.name, i.label, i.type, i.required) for i in res.items]
    parsed = ingest.parse_json(content, specs) if fmt == "json" else ingest.parse_csv(content, specs)
    audit.record(
        session,
        actor=actor,
        action="exchange.upload_preview",
        entity_type=KIND,
        entity_id=code,
        department_id=res.provider_department_id,
        division_code=res.division_code,
        detail={"rows": len(parsed.rows), "problems": parsed.error_count},
    )
    return {
        "items": [(i.name, i.label) for i in res.items],
        "rows": [(row_no, row) for row_no, row in parsed.rows[:limit]],
        "total": len(parsed.rows),
        "errors": parsed.errors,
        "error_count": parsed.error_count,
    }
