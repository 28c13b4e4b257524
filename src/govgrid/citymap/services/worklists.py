"""Work lists per role (待立案, 待派遣, 我的待处置, 待核查, 待评价结案, 超期督办), the steps a caller may
take on a case now, and the dispatch form's choices (departments grouped and sorted, units by department).

Every list is a query scoped inside the SQL by the same rules as the steps themselves (`access`): the command
centre's lists by its territory in the dispatcher role, the handler's by its department or its unit account,
the supervision centre's by its territory in the verifying or evaluating role.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import ColumnElement, false, func, or_, select
from sqlalchemy.orm import Session

from govgrid.citymap import catalog
from govgrid.citymap.enums import CASE_LOOP, OPEN_VALUES, CaseAction, CaseState
from govgrid.citymap.models import Case, FieldUnit
from govgrid.citymap.services import access, classes
from govgrid.core.authz import policy
from govgrid.core.authz.principal import Principal
from govgrid.core.db import utcnow
from govgrid.core.departments.catalogue import LINES
from govgrid.core.departments.models import Department


class Box(StrEnum):
    """A work list."""

    to_file = "to_file"  # 待立案: reports waiting for the command centre
    to_dispatch = "to_dispatch"  # 待派遣: filed cases (and returned ones) waiting for a department
    mine = "mine"  # 我的待处置: dispatched to my department or my unit, not yet reported back
    to_verify = "to_verify"  # 待核查: reported back, waiting for the supervision centre
    to_close = "to_close"  # 待评价结案: verified and closed, waiting for the supervisor's evaluation
    overdue = "overdue"  # 超期督办: open cases past their deadline


# the roles a list is for (the navigation shows it to them); the state it holds
BOX_ROLES: dict[Box, tuple[str, ...]] = {
    Box.to_file: access.DISPATCH_ROLES,
    Box.to_dispatch: access.DISPATCH_ROLES,
    Box.mine: access.HANDLER_ROLES,
    Box.to_verify: access.VERIFY_ROLES,
    Box.to_close: access.EVALUATE_ROLES,
    Box.overdue: ("supervisor", "dispatcher"),
}
BOX_STATES: dict[Box, tuple[str, ...]] = {
    Box.to_file: (CaseState.collected.value,),
    Box.to_dispatch: (CaseState.filed.value,),
    Box.mine: (CaseState.dispatched.value, CaseState.handling.value),
    Box.to_verify: (CaseState.handled.value,),
    Box.to_close: (CaseState.closed.value,),
    Box.overdue: OPEN_VALUES,
}
# who takes which step (the page shows the step's form to them)
STEP_ROLES: dict[CaseAction, tuple[str, ...]] = {
    CaseAction.file: access.DISPATCH_ROLES,
    CaseAction.reject: access.DISPATCH_ROLES,
    CaseAction.dispatch: access.DISPATCH_ROLES,
    CaseAction.redispatch: access.DISPATCH_ROLES,
    CaseAction.verify_pass: access.VERIFY_ROLES,
    CaseAction.verify_fail: access.VERIFY_ROLES,
    CaseAction.evaluate: access.EVALUATE_ROLES,
}
HANDLER_STEPS = (CaseAction.acknowledge, CaseAction.arrive, CaseAction.feedback, CaseAction.send_back)


def boxes_for(principal: Principal) -> list[Box]:
    """The work lists the principal works on (every list for the platform administrator)."""
    return [b for b in Box if principal.is_superuser or principal.has_role(*BOX_ROLES[b])]


def _box_clause(principal: Principal, box: Box) -> ColumnElement[bool]:
    """The cases of a list the principal may see, inside the SQL."""
    if box is Box.mine:
        parts: list[ColumnElement[bool]] = [policy.scope(Case.department_id, principal, access.HANDLER_ROLES)]
        if principal.kind == "user":
            parts.append(Case.unit_id.in_(select(FieldUnit.id).where(FieldUnit.user_id == principal.id)))
        clause = or_(*parts)
    elif box is Box.overdue:
        clause = access.cases_clause(principal)
    else:
        clause = policy.division_clause(principal, Case.division_path, BOX_ROLES[box])
    if not (principal.is_superuser or principal.has_role(*BOX_ROLES[box])):
        return false()
    where = Case.state.in_(BOX_STATES[box])
    if box is Box.overdue:
        return clause & where & (Case.deadline_at < utcnow())
    return clause & where


def box_counts(session: Session, *, principal: Principal) -> dict[Box, int]:
    """How many cases wait in each of the principal's lists."""
    return {
        b: session.scalar(select(func.count()).select_from(Case).where(_box_clause(principal, b))) or 0
        for b in boxes_for(principal)
    }


def box_cases(
    session: Session, *, principal: Principal, box: Box, limit: int = 50, offset: int = 0
) -> tuple[list[Case], int]:
    """One list's cases, the most urgent first (earliest deadline, then oldest report)."""
    clause = _box_clause(principal, box)
    total = session.scalar(select(func.count()).select_from(Case).where(clause)) or 0
    order = (Case.deadline_at.is_(None), Case.deadline_at, Case.reported_at, Case.id)
    items = list(session.scalars(select(Case).where(clause).order_by(*order).limit(limit).offset(offset)))
    return items, total


def actions_for(session: Session, *, principal: Principal, case: Case) -> list[CaseAction]:
    """The steps the principal may take on the case now (the case page shows a form for each)."""
    state = CaseState(case.state)
    out: list[CaseAction] = []
    handler = None
    for action, move in CASE_LOOP.items():
        if state not in move.sources:
            continue
        if action in HANDLER_STEPS:
            if handler is None:
                handler = access.may_handle(session, principal, case)
            if handler:
                out.append(action)
        elif action in STEP_ROLES and access.in_territory(
            session, principal, case.division_code, STEP_ROLES[action]
        ):
            out.append(action)
    return out


@dataclass
class Choice:
    """One option of a dropdown."""

    value: str
    label: str


def department_choices(session: Session, *, case: Case) -> list[tuple[str, list[Choice]]]:
    """Departments a case may go to, grouped (suggested, county, towns, villages): the class's own line and
    urban management first, then the county bureaus in the catalogue's order, then the townships, then the
    villages of the case's township."""
    county = case.county_code
    depts = list(
        session.scalars(
            select(Department).where(
                or_(Department.division_code == county, Department.division_code.like(county + "%"))
            )
        )
    )
    klass = classes.for_county(session, county_code=case.county_code, kind=case.kind, code=case.class_code)
    line_rank = {code: i for i, (code, _zh, _en) in enumerate(LINES)}
    suggested = [klass.line, "urban_management"]
    town = case.division_code[:9]
    groups: dict[str, list[Department]] = {"suggested": [], "county": [], "towns": [], "villages": []}
    for d in depts:
        if d.division_code == county and d.line_code in suggested:
            groups["suggested"].append(d)
        elif d.division_code == county:
            groups["county"].append(d)
        elif len(d.division_code) == 9:
            groups["towns"].append(d)
        elif len(d.division_code) == 12 and d.division_code.startswith(town):
            groups["villages"].append(d)
    groups["suggested"].sort(key=lambda d: suggested.index(d.line_code))
    groups["county"].sort(key=lambda d: (line_rank.get(d.line_code, 999), d.code))
    groups["towns"].sort(key=lambda d: d.division_code)
    groups["villages"].sort(key=lambda d: d.division_code)
    return [(name, [Choice(d.code, d.name) for d in items]) for name, items in groups.items() if items]


def unit_choices(session: Session, *, case: Case) -> list[tuple[str, list[tuple[FieldUnit, bool]]]]:
    """The county's field units grouped by department (by name), each by code, with whether it has the skill
    the case needs."""
    skill = catalog.class_or_other(case.kind, case.class_code).skill
    rows = session.execute(
        select(FieldUnit, Department.name)
        .join(Department, Department.id == FieldUnit.department_id)
        .where(FieldUnit.county_code == case.county_code)
        .order_by(Department.name, FieldUnit.code)
    ).all()
    out: dict[str, list[tuple[FieldUnit, bool]]] = {}
    for unit, dept_name in rows:
        out.setdefault(dept_name, []).append((unit, skill in (unit.skills or [])))
    return list(out.items())


def find_by_code(session: Session, *, principal: Principal, code: str) -> Case | None:
    """A case in the caller's scope by its 19-digit code."""
    return session.scalar(select(Case).where(Case.code == code.strip(), access.cases_clause(principal)))


def is_visible(session: Session, *, principal: Principal, case_id: int) -> bool:
    """True if the case is (still) in the caller's scope: a returned case leaves the handler's hands."""
    return (
        session.scalar(select(Case.id).where(Case.id == case_id, access.cases_clause(principal))) is not None
    )


def department_name(session: Session, department_id: int | None) -> str | None:
    """A department's name for display."""
    if department_id is None:
        return None
    return session.scalar(select(Department.name).where(Department.id == department_id))


def unit_name(session: Session, unit_id: int | None) -> str | None:
    """A field unit's name for display."""
    if unit_id is None:
        return None
    return session.scalar(select(FieldUnit.name).where(FieldUnit.id == unit_id))
