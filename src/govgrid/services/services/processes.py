"""BPMN 2.0 process definitions: upload (validated, every problem with its element id), versions, lookup."""

from __future__ import annotations

import logging

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor
from govgrid.core.authz.principal import Principal
from govgrid.core.errors import NotFoundError, PayloadTooLargeError, ValidationFailedError
from govgrid.services import engine
from govgrid.services.models import ProcessDefinition
from govgrid.services.services.access import require_uploader

log = logging.getLogger(__name__)


def store(session: Session, *, actor: Actor, data: bytes) -> list[ProcessDefinition]:
    """Validate a BPMN file and store one new version per process it defines (422 listing every problem)."""
    checked = engine.check_bpmn(data)
    if checked.problems:
        raise ValidationFailedError(
            f"BPMN 文件有 {len(checked.problems)} 处问题，未保存 "
            "(the BPMN file has problems; nothing stored)",
            details=[
                {"loc": ["file", p.element_id or "definitions"], "msg": p.message} for p in checked.problems
            ],
        )
    lanes = {name: {"line": b.line, "role": b.role, "label": b.label} for name, b in checked.lanes.items()}
    rows = []
    for pid in checked.process_ids:
        version = (
            session.scalar(
                select(func.max(ProcessDefinition.version)).where(ProcessDefinition.process_id == pid)
            )
            or 0
        ) + 1
        row = ProcessDefinition(
            process_id=pid,
            version=version,
            name=checked.process_names.get(pid, pid)[:200],
            xml=data,
            sha256=checked.sha256,
            lanes=lanes,
            uploaded_by=actor.audit_identity[2] or "system",
        )
        session.add(row)
        rows.append(row)
    session.flush()
    for row in rows:
        audit.record(
            session,
            actor=actor,
            action="services.process.uploaded",
            entity_type="services.process",
            entity_id=row.process_id,
            detail={"version": row.version, "sha256": row.sha256},
        )
        log.info("bpmn process stored", extra={"process_id": row.process_id, "version": row.version})
    return rows


def upload(session: Session, *, actor: Principal | None, data: bytes) -> list[ProcessDefinition]:
    """An administrator's upload of a BPMN 2.0 file (401/403 others, 413 too large, 422 problems)."""
    who = require_uploader(actor)
    if len(data) > engine.MAX_BPMN_BYTES:
        raise PayloadTooLargeError(f"BPMN 文件不能超过 {engine.MAX_BPMN_BYTES // 1000} KB (file too large)")
    if not data.strip():
        raise ValidationFailedError(
            "请选择 BPMN 文件 (the file is empty)", details=[{"loc": ["file"], "msg": "empty"}]
        )
    return store(session, actor=who, data=data)


def latest(session: Session, *, process_id: str) -> ProcessDefinition:
    """The newest version of a process (404 if none was uploaded)."""
    row = session.scalar(
        select(ProcessDefinition)
        .where(ProcessDefinition.process_id == process_id)
        .order_by(ProcessDefinition.version.desc())
        .limit(1)
    )
    if row is None:
        raise NotFoundError(f"流程 {process_id} 未上传 (no process {process_id})")
    return row


def list_processes(session: Session, *, actor: Principal | None) -> list[ProcessDefinition]:
    """Every stored process version (administrators only)."""
    require_uploader(actor)
    return list(
        session.scalars(
            select(ProcessDefinition).order_by(ProcessDefinition.process_id, ProcessDefinition.version.desc())
        )
    )
