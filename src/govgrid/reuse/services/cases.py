"""The case library (典型案例库): cases declared by a division or nominated by an upper level, reviewed,
rated, linked to the pack that implements them and to figures before and after adoption, and promoted to the
provincial and national recommended lists (one transition table: ``enums.CASE_LIFECYCLE``)."""

from __future__ import annotations

import logging
import math
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.core import ports
from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor
from govgrid.core.db import utcnow
from govgrid.core.departments import service as departments
from govgrid.core.divisions.models import Division
from govgrid.core.errors import ForbiddenError, NotFoundError, UnauthorizedError, ValidationFailedError
from govgrid.reuse.enums import (
    CASE_LIFECYCLE,
    CASE_STATES_ZH,
    PUBLISHED_STATES,
    CaseOrigin,
    CaseState,
    InstallState,
)
from govgrid.reuse.models import Case, CaseRating, Installation, Pack
from govgrid.reuse.services import access

log = logging.getLogger(__name__)

MAX_TITLE = 200
MAX_SUMMARY = 4000
MAX_FIGURES = 20


def _figures(value: Any, loc: str, problems: list[dict[str, Any]]) -> dict[str, float]:
    """Named figures (name -> number), checked."""
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > MAX_FIGURES:
        problems.append({"loc": [loc], "msg": f"应为不超过 {MAX_FIGURES} 项的“指标: 数值”"})
        return {}
    out: dict[str, float] = {}
    for name, number in value.items():
        if not str(name).strip() or len(str(name)) > 60:
            problems.append({"loc": [loc, str(name)[:60]], "msg": "指标名称应为 1-60 字 (1-60 characters)"})
        elif isinstance(number, bool) or not isinstance(number, int | float) or not math.isfinite(number):
            problems.append({"loc": [loc, str(name)], "msg": "应为数值 (a finite number)"})
        else:
            out[str(name).strip()] = float(number)
    return out


def submit(
    session: Session,
    *,
    actor: Actor,
    division_code: str,
    title: str,
    summary: str,
    pack_id: str | None = None,
    measures_before: Any = None,
    measures_after: Any = None,
    is_demo: bool = False,
) -> Case:
    """Declare a case of one's own division (自主申报) or nominate one below (上级推荐)."""
    division = access.require_submitter(session, actor=actor, division_code=division_code)
    problems: list[dict[str, Any]] = []
    title, summary = (title or "").strip(), (summary or "").strip()
    if not title or len(title) > MAX_TITLE:
        problems.append({"loc": ["title"], "msg": f"案例名称应为 1-{MAX_TITLE} 字"})
    if not summary or len(summary) > MAX_SUMMARY:
        problems.append({"loc": ["summary"], "msg": f"案例简介应为 1-{MAX_SUMMARY} 字"})
    before = _figures(measures_before, "measures_before", problems)
    after = _figures(measures_after, "measures_after", problems)
    pack_id = (pack_id or "").strip() or None
    if pack_id and session.scalar(select(Pack.id).where(Pack.pack_id == pack_id).limit(1)) is None:
        problems.append({"loc": ["pack_id"], "msg": f"方案包目录中没有 {pack_id} (no such pack)"})
    if problems:
        raise ValidationFailedError("案例信息有误，请修改后重新提交", details=problems)
    upper = access.upper_admin(session, actor=actor, division_code=division_code)
    own = any(a.division_code == division_code for a in access.admin_divisions(access.principal_of(actor)))
    nominated = upper is not None and not own
    try:
        dept = departments.get_by_code(session, f"{division_code}-government")
    except NotFoundError:
        raise ValidationFailedError(f"{division.name} 还没有人民政府办公室部门") from None
    now = utcnow()
    case = Case(
        title=title,
        summary=summary,
        division_code=division_code,
        department_id=dept.id,
        origin=CaseOrigin.nominated if nominated else CaseOrigin.self_declared,
        state=CaseState.submitted,
        submitted_by=access.actor_name(actor),
        nominated_by=upper.department_name if nominated and upper is not None else None,
        pack_id=pack_id,
        measures_before=before,
        measures_after=after,
        is_demo=is_demo,
        created_at=now,
        updated_at=now,
    )
    session.add(case)
    session.flush()
    audit.record(
        session, actor=actor, action="reuse.case_submitted", entity_type="reuse_case", entity_id=case.id,
        division_code=division_code, department_id=dept.id, detail={"origin": str(case.origin)},
    )
    log.info("case submitted", extra={"case_id": case.id, "division_code": division_code})
    return case


def list_cases(session: Session, *, actor: Actor, state: str | None = None) -> list[Case]:
    """Cases the actor may see: the library for everyone signed in, cases in review for their territory."""
    p = access.principal_of(actor)
    if p is None and not access.is_system(actor):
        raise UnauthorizedError("请先登录 (sign in first)")
    stmt = select(Case).join(Division, Division.code == Case.division_code)
    if p is not None:
        stmt = stmt.where(access.visible_cases(p))
    if state:
        if state not in {s.value for s in CaseState}:
            raise ValidationFailedError(f"未知的案例状态 {state} (unknown state)")
        stmt = stmt.where(Case.state == state)
    return list(session.scalars(stmt.order_by(Case.id.desc()).limit(500)))


def get_case(session: Session, *, actor: Actor, case_id: int) -> Case:
    """One case the actor may see (404 otherwise: a case in review is not disclosed to others)."""
    p = access.principal_of(actor)
    if p is None and not access.is_system(actor):
        raise UnauthorizedError("请先登录 (sign in first)")
    stmt = select(Case).join(Division, Division.code == Case.division_code).where(Case.id == case_id)
    if p is not None:
        stmt = stmt.where(access.visible_cases(p))
    case = session.scalar(stmt)
    if case is None:
        raise NotFoundError("没有这个案例 (no such case)")
    return case


def _move(session: Session, *, actor: Actor, case: Case, target: CaseState, note: str | None = None) -> Case:
    """Move a case along the table, audited and logged."""
    before = case.state
    CASE_LIFECYCLE.require_move(
        case.state, target,
        message=f"案例当前为“{CASE_STATES_ZH[CaseState(case.state)]}”，不能改为“{CASE_STATES_ZH[target]}” "
        f"(a case {case.state} cannot become {target})",
    )
    case.state = target
    case.updated_at = utcnow()
    if note is not None:
        case.review_note = note[:2000]
    if target not in (CaseState.submitted,):
        case.reviewed_by = access.actor_name(actor)
    session.flush()
    audit.record(
        session, actor=actor, action="reuse.case_moved", entity_type="reuse_case", entity_id=case.id,
        division_code=case.division_code, department_id=case.department_id,
        detail={"from": before, "to": str(target)},
    )
    log.info("case moved", extra={"case_id": case.id, "from_state": before, "to_state": str(target)})
    return case


def start_review(session: Session, *, actor: Actor, case_id: int) -> Case:
    """An upper level takes a submitted case into review."""
    case = get_case(session, actor=actor, case_id=case_id)
    access.require_reviewer(session, actor=actor, case=case)
    return _move(session, actor=actor, case=case, target=CaseState.under_review)


def decide(session: Session, *, actor: Actor, case_id: int, accept: bool, note: str = "") -> Case:
    """Accept the case into the library or reject it, with the reviewer's note."""
    case = get_case(session, actor=actor, case_id=case_id)
    access.require_reviewer(session, actor=actor, case=case)
    if not accept and not note.strip():
        raise ValidationFailedError(
            "未入选时请写明原因，便于申报地改进 (give the reason when rejecting)",
            details=[{"loc": ["note"], "msg": "required when rejecting"}],
        )
    target = CaseState.accepted if accept else CaseState.rejected
    return _move(session, actor=actor, case=case, target=target, note=note.strip() or None)


def promote(session: Session, *, actor: Actor, case_id: int, level: str) -> Case:
    """Recommend a case for the province (省级推荐) or the nation (国家级推荐)."""
    case = get_case(session, actor=actor, case_id=case_id)
    if level == "provincial":
        access.require_provincial(session, actor=actor, case=case)
        return _move(session, actor=actor, case=case, target=CaseState.recommended_provincial)
    if level == "national":
        access.require_national(actor=actor)
        return _move(session, actor=actor, case=case, target=CaseState.recommended_national)
    raise ValidationFailedError("推荐级别应为 provincial 或 national (level: provincial | national)")


def resubmit(session: Session, *, actor: Actor, case_id: int) -> Case:
    """The division submits a rejected case again after improving it."""
    case = get_case(session, actor=actor, case_id=case_id)
    access.require_division_admin(session, actor=actor, division_code=case.division_code, what="重新申报")
    return _move(session, actor=actor, case=case, target=CaseState.submitted)


def rate(session: Session, *, actor: Actor, case_id: int, score: int, comment: str = "") -> Case:
    """Score a case in the library (1-5; one score per person, a second replaces the first)."""
    case = get_case(session, actor=actor, case_id=case_id)
    if case.state not in {s.value for s in PUBLISHED_STATES}:
        raise ValidationFailedError("案例入库后才能评分 (only cases in the library can be rated)")
    p = access.principal_of(actor)
    if p is None or not p.assignments:
        raise ForbiddenError("只有在岗人员可以评分 (only staff with a role may rate)")
    mine = p.assignments[0]
    if any(a.division_code[:6] == case.division_code[:6] for a in p.assignments):
        raise ForbiddenError("不能为本地的案例评分 (you cannot rate a case of your own division)")
    if isinstance(score, bool) or not 1 <= int(score) <= 5:
        raise ValidationFailedError("评分应为 1-5 (score: 1-5)", details=[{"loc": ["score"], "msg": "1-5"}])
    rater = f"{p.kind}:{p.id}"
    row = session.scalar(select(CaseRating).where(CaseRating.case_id == case.id, CaseRating.rater == rater))
    if row is None:
        row = CaseRating(case_id=case.id, rater=rater, division_code=mine.division_code,
                         department_id=mine.department_id, score=int(score), comment=comment.strip()[:500])
        session.add(row)
        case.rating_count += 1
        case.rating_sum += int(score)
    else:
        case.rating_sum += int(score) - row.score
        row.score = int(score)
        row.comment = comment.strip()[:500]
    session.flush()
    audit.record(
        session, actor=actor, action="reuse.case_rated", entity_type="reuse_case", entity_id=case.id,
        division_code=case.division_code, department_id=case.department_id, detail={"score": int(score)},
    )
    log.info("case rated", extra={"case_id": case.id})
    return case


def current_measures(
    session: Session, *, actor: Actor, case_id: int, days: int = 90
) -> list[tuple[str, str, float]]:
    """The case division's figures over the last `days` from the modules (``core.ports.measures``):
    (zh-CN title, unit, value) for each figure a module could compute; empty when no module offers any."""
    case = get_case(session, actor=actor, case_id=case_id)
    end = utcnow()
    values = ports.measures(session, case.division_code, end - timedelta(days=days), end)
    catalog = ports.measure_catalog()
    return [
        (catalog[key].title_zh, catalog[key].unit, float(value))
        for key, value in values.items()
        if value is not None and key in catalog
    ]


def adoption_effects(
    session: Session, *, actor: Actor, case_id: int, days: int = 90
) -> list[dict[str, Any]]:
    """For each installation of the case's pack that the actor may see (its own territory's; the 10 latest),
    the adopter's figures from the modules (``core.ports.measures``) over two windows of the same length
    either side of the install: the time since the install, at most `days` (a count over 5 days after is not
    set against 90 days before). [{division, installed_at, days, rows: [(zh-CN title, unit, before, after)]}].
    Recomputed from the modules' data each time, so nothing is typed in."""
    case = get_case(session, actor=actor, case_id=case_id)
    if not case.pack_id:
        return []
    stmt = (
        select(Installation, Division.name)
        .join(Division, Division.code == Installation.division_code)
        .where(Installation.pack_id == case.pack_id, Installation.state == InstallState.installed)
    )
    if not access.is_system(actor):
        stmt = stmt.where(access.visible_installations(access.principal_of(actor)))
    catalog = ports.measure_catalog()
    now = utcnow()
    out = []
    latest = session.execute(stmt.order_by(Installation.installed_at.desc()).limit(10)).all()
    for inst, name in reversed(latest):
        t0 = inst.installed_at
        span = min(now - t0, timedelta(days=days))
        before = ports.measures(session, inst.division_code, t0 - span, t0)
        after = ports.measures(session, inst.division_code, t0, t0 + span)
        rows = [
            (catalog[key].title_zh, catalog[key].unit, before.get(key), after.get(key))
            for key in catalog
            if before.get(key) is not None or after.get(key) is not None
        ]
        out.append({"division": name, "division_code": inst.division_code, "installed_at": t0,
                    "days": max(1, round(span / timedelta(days=1))), "rows": rows})
    return out
