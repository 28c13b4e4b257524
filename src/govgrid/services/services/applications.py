"""Applications (申请/办件): submit with pre-fill and materials, the case envelope across divisions, lists,
the detail with its timeline, supplements (补正) and withdrawal."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.core.audit import service as audit
from govgrid.core.authz.principal import Principal
from govgrid.core.db import utcnow
from govgrid.core.departments.models import Department
from govgrid.core.divisions.models import Division
from govgrid.core.errors import ConflictError, NotFoundError, ValidationFailedError
from govgrid.core.privacy import valid_id_number
from govgrid.services import engine
from govgrid.services.enums import MODE_ZH, AppStatus, EventKind, HandlingMode
from govgrid.services.models import Application, Certificate, Material, TaskRecord, TimelineEvent
from govgrid.services.services import items, materials, prefill, processes, workflow
from govgrid.services.services.access import (
    KIND,
    application_clause,
    require_applicant,
    require_login,
    visible_application,
)
from govgrid.services.services.materials import UploadIn, check_files

log = logging.getLogger(__name__)
COUNTER_LINE = "administrative_approval"  # 政务服务中心 / 行政审批局: the counter that accepts applications


@dataclass
class SubmitIn:
    """What an applicant sends: the item, the form, the handling mode and where it is accepted."""

    item_code: str
    form: dict[str, str] = field(default_factory=dict)
    mode: str = HandlingMode.online
    accepted_division_code: str | None = None
    files: list[UploadIn] = field(default_factory=list)


def _division(session: Session, code: str) -> Division:
    div = session.get(Division, code)
    if div is None:
        raise ValidationFailedError(
            f"受理地 {code} 不存在 (no division {code})",
            details=[{"loc": ["accepted_division_code"], "msg": "unknown division"}],
        )
    return div


def _counter(session: Session, division_code: str) -> Department:
    dept = session.scalar(
        select(Department)
        .where(Department.line_code == COUNTER_LINE, Department.division_code == division_code)
        .limit(1)
    )
    if dept is None:
        raise ValidationFailedError(
            "受理地没有政务服务窗口，不能异地代收 (no service counter there)",
            details=[{"loc": ["accepted_division_code"], "msg": "no counter"}],
        )
    return dept


def _check_form(item_fields: list[dict[str, Any]], form: dict[str, Any]) -> dict[str, str]:
    known = {f["name"] for f in item_fields}
    details = [
        {"loc": ["form", k], "msg": "本事项没有该字段 (unknown field)"} for k in form if k not in known
    ]
    clean = {k: str(v).strip()[:500] for k, v in form.items() if k in known}
    for f in item_fields:
        if f.get("required") and not clean.get(f["name"]):
            details.append({"loc": ["form", f["name"]], "msg": f"请填写“{f['label']}” (required)"})
    idn = clean.get("applicant_id_number")
    if idn and not valid_id_number(idn):
        details.append(
            {"loc": ["form", "applicant_id_number"], "msg": "公民身份号码校验不通过 (invalid ID number)"}
        )
    if details:
        labels = "；".join(str(d["msg"]).split(" (")[0] for d in details)
        raise ValidationFailedError(f"表单有误：{labels} (form problems)", details=details)
    return clean


def new_number(session: Session) -> str:
    """A fresh application number 办件编号, e.g. YW20261203-482913."""
    while True:
        number = f"YW{utcnow():%Y%m%d}-{secrets.randbelow(10**6):06d}"
        if session.scalar(select(Application.id).where(Application.number == number)) is None:
            return number


def preview(session: Session, *, actor: Principal | None, item_code: str) -> prefill.Prefill:
    """What the apply page pre-fills for the caller from their verified identity (pulls audited)."""
    who = require_login(actor)
    item = items.get_item(session, code=item_code)
    prof = prefill.profile(session, actor=who)
    if prof is None:
        return prefill.Prefill()
    return prefill.collect(
        session, actor=who, item=item, id_number=prof.id_number, purpose=f"一网通办预填 {item.code}"
    )


def submit(session: Session, *, actor: Principal | None, data: SubmitIn) -> Application:
    """Check everything first (item, mode, form, materials), then create the application and its process."""
    who = require_login(actor)
    item = items.get_item(session, code=data.item_code)
    if not item.process_id:
        raise ValidationFailedError(
            f"“{item.name}”请通过所属的“一件事”办理 (apply through the bundle)",
            details=[{"loc": ["item_code"], "msg": "apply through the bundle"}],
        )
    try:
        mode = HandlingMode(data.mode)
    except ValueError:
        raise ValidationFailedError(
            "办理方式无效 (invalid mode)", details=[{"loc": ["mode"], "msg": ", ".join(HandlingMode)}]
        ) from None
    accepted = _division(session, data.accepted_division_code or item.division_code)
    decided = _division(session, item.division_code)
    counter = None
    if accepted.code != decided.code:
        if mode not in (HandlingMode.remote_collect, HandlingMode.joint):
            mode = HandlingMode.remote_collect
        counter = _counter(session, accepted.code)
    elif mode == HandlingMode.remote_collect:
        mode = HandlingMode.local
    number = new_number(session)
    prof = prefill.profile(session, actor=who)
    id_number = prof.id_number if prof else str(data.form.get("applicant_id_number", "")).strip()
    pre = prefill.Prefill()
    if id_number and valid_id_number(id_number):
        pre = prefill.collect(
            session, actor=who, item=item, id_number=id_number, purpose=f"一网通办预填 办件 {number}"
        )
    known = {f["name"] for f in item.form_fields or []}
    filled = {k: v for k, v in pre.values.items() if k in known}
    form = _check_form(item.form_fields or [], {**filled, **{k: v for k, v in data.form.items() if v}})
    checked = check_files(item, data.files)
    proc = processes.latest(session, process_id=item.process_id)
    now = utcnow()
    try:
        wf = engine.start(proc.xml, proc.process_id, workflow.process_data(form, number))
    except engine.BpmnRunError as exc:
        raise ConflictError(f"流程无法启动：{exc} (the process cannot start)") from None
    app = Application(
        number=number,
        item_id=item.id,
        applicant_user_id=who.id,
        applicant_name=form.get("applicant_name", ""),
        mode=mode,
        accepted_division_code=accepted.code,
        accepted_division_path=accepted.path,
        counter_department_id=counter.id if counter else None,
        decided_division_code=decided.code,
        decided_division_path=decided.path,
        department_id=item.department_id,
        status=AppStatus.in_progress,
        form=form,
        prefilled=pre.sources,
        visits=0 if mode != HandlingMode.local else item.visits,
        online=mode != HandlingMode.local,
        process_definition_id=proc.id,
        workflow_state="",
        submitted_at=now,
        is_demo=False,
    )
    workflow.start_clock(app, item.promised_days, now)
    workflow.persist(app, wf)
    session.add(app)
    session.flush()
    for f in checked:
        session.add(materials.stored(f, application_id=app.id, uploaded_at=now))
    where = f"（{accepted.name}代收，{decided.name}办理）" if counter else ""
    workflow.note(
        session,
        app,
        kind=EventKind.submitted,
        actor=who,
        division_code=accepted.code,
        text=f"提交申请：{item.name}，{MODE_ZH[mode]}{where}",
    )
    filled_count = sum(len(s["fields"]) for s in pre.sources)
    if filled_count:
        workflow.note(
            session,
            app,
            kind=EventKind.prefilled,
            actor=who,
            text=f"共享数据预填 {filled_count} 项（来源：{'、'.join(s['label'] for s in pre.sources)}）",
        )
    workflow.sync_tasks(session, app, wf, actor=who)
    workflow.finish_if_done(session, app, wf, actor=who)
    audit.record(
        session,
        actor=who,
        action="services.application.submitted",
        entity_type=KIND,
        entity_id=number,
        department_id=item.department_id,
        division_code=decided.code,
        detail={
            "item": item.code,
            "mode": mode,
            "accepted_in": accepted.code,
            "materials": [f.code for f in checked],
            "prefilled": filled_count,
        },
    )
    log.info("application submitted", extra={"application": number, "item": item.code, "mode": str(mode)})
    session.flush()
    return app


def list_mine(session: Session, *, actor: Principal | None) -> list[Application]:
    """The caller's own applications, newest first."""
    who = require_login(actor)
    return list(
        session.scalars(
            select(Application)
            .where(Application.applicant_user_id == who.id)
            .order_by(Application.submitted_at.desc(), Application.id.desc())
        )
    )


def list_visible(
    session: Session, *, actor: Principal | None, status: str | None = None, limit: int = 200
) -> list[Application]:
    """Applications in the caller's scope (department, counter, territory, own), newest first."""
    who = require_login(actor)
    stmt = select(Application).where(application_clause(who))
    if status:
        stmt = stmt.where(Application.status == status)
    return list(
        session.scalars(stmt.order_by(Application.submitted_at.desc(), Application.id.desc()).limit(limit))
    )


def detail(session: Session, *, actor: Principal | None, number: str) -> dict[str, Any]:
    """One application with its timeline, tasks, materials (metadata), certificate; the read is audited."""
    who = require_login(actor)
    app = visible_application(session, actor=who, number=number)
    timeline = list(
        session.scalars(
            select(TimelineEvent)
            .where(TimelineEvent.application_id == app.id)
            .order_by(TimelineEvent.at, TimelineEvent.id)
        )
    )
    tasks = list(
        session.scalars(select(TaskRecord).where(TaskRecord.application_id == app.id).order_by(TaskRecord.id))
    )
    mats = list(
        session.execute(
            select(
                Material.id,
                Material.code,
                Material.filename,
                Material.content_type,
                Material.size,
                Material.uploaded_at,
            )
            .where(Material.application_id == app.id)
            .order_by(Material.id)
        )
    )
    cert = session.scalar(select(Certificate).where(Certificate.application_id == app.id))
    audit.record(
        session,
        actor=who,
        action="services.application.read",
        entity_type=KIND,
        entity_id=app.number,
        department_id=app.department_id,
        division_code=app.decided_division_code,
    )
    return {
        "app": app,
        "timeline": timeline,
        "tasks": tasks,
        "materials": mats,
        "certificate": cert,
        "form": {k: prefill.masked(k, v) for k, v in (app.form or {}).items()},
    }


def supplement(
    session: Session,
    *,
    actor: Principal | None,
    number: str,
    files: list[UploadIn],
    form: dict[str, str] | None = None,
) -> Application:
    """The applicant answers a 补正 request with materials or corrected fields: the clock runs again."""
    who = require_login(actor)
    app = visible_application(session, actor=who, number=number)
    require_applicant(who, app)
    if app.status != AppStatus.supplement:
        raise ConflictError("该办件当前不需要补正 (no supplement was requested)")
    checked = check_files(app.item, files, require_all=False)
    if not checked and not form:
        raise ValidationFailedError(
            "请上传补正材料或修改表单 (upload a material or correct the form)",
            details=[{"loc": ["materials"], "msg": "nothing supplied"}],
        )
    if form:
        app.form = {**app.form, **_check_form(app.item.form_fields or [], {**app.form, **form})}
    now = utcnow()
    for f in checked:
        session.add(materials.stored(f, application_id=app.id, uploaded_at=now))
    workflow.move(app, AppStatus.in_progress)
    workflow.resume_clock(app, now)
    workflow.note(
        session,
        app,
        kind=EventKind.supplemented,
        actor=who,
        text=f"申请人已补正（{len(checked)} 份材料），计时恢复",
    )
    audit.record(
        session,
        actor=who,
        action="services.application.supplemented",
        entity_type=KIND,
        entity_id=app.number,
        department_id=app.department_id,
        division_code=app.decided_division_code,
        detail={"materials": [f.code for f in checked]},
    )
    log.info("application supplemented", extra={"application": app.number})
    session.flush()
    return app


def withdraw(session: Session, *, actor: Principal | None, number: str) -> Application:
    """The applicant withdraws an open application: its process is cancelled, its tasks closed."""
    who = require_login(actor)
    app = visible_application(session, actor=who, number=number)
    require_applicant(who, app)
    workflow.move(app, AppStatus.withdrawn)
    wf = workflow.load(app)
    engine.cancel(wf)
    workflow.persist(app, wf)
    app.finished_at = utcnow()
    workflow.close_open_tasks(session, app, by=workflow.actor_name(who))
    workflow.note(session, app, kind=EventKind.withdrawn, actor=who, text="申请人撤回申请")
    audit.record(
        session,
        actor=who,
        action="services.application.withdrawn",
        entity_type=KIND,
        entity_id=app.number,
        department_id=app.department_id,
        division_code=app.decided_division_code,
    )
    log.info("application withdrawn", extra={"application": app.number})
    session.flush()
    return app


def material_content(session: Session, *, actor: Principal | None, number: str, material_id: int) -> Material:
    """One uploaded material of an application the caller may see (the download is audited)."""
    who = require_login(actor)
    app = visible_application(session, actor=who, number=number)
    mat = session.scalar(
        select(Material).where(Material.id == material_id, Material.application_id == app.id)
    )
    if mat is None:
        raise NotFoundError("材料不存在 (no such material)")
    audit.record(
        session,
        actor=who,
        action="services.material.read",
        entity_type=KIND,
        entity_id=app.number,
        department_id=app.department_id,
        detail={"material": mat.code},
    )
    return mat
