"""Department rules: the line catalogue, creating departments with their parent up the line."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.core.departments.catalogue import LINES
from govgrid.core.departments.models import Department, Line
from govgrid.core.divisions import service as divisions
from govgrid.core.errors import ConflictError, NotFoundError, ValidationFailedError

if TYPE_CHECKING:
    from govgrid.core.authz.principal import Principal
    from govgrid.core.divisions.models import Division


def ensure_lines(session: Session) -> int:
    """Insert the line catalogue where missing; returns how many were added."""
    have = set(session.scalars(select(Line.code)))
    added = 0
    for i, (code, zh, en) in enumerate(LINES):
        if code not in have:
            session.add(Line(code=code, name_zh=zh, name_en=en, sort=i))
            added += 1
    session.flush()
    return added


def get(session: Session, department_id: int) -> Department:
    """One department by id, or NotFoundError."""
    dept = session.get(Department, department_id)
    if dept is None:
        raise NotFoundError(f"部门 {department_id} 不存在 (no department with id {department_id})")
    return dept


def get_by_code(session: Session, code: str) -> Department:
    """One department by its code, or NotFoundError."""
    dept = session.scalar(select(Department).where(Department.code == code))
    if dept is None:
        raise NotFoundError(f"部门 {code} 不存在 (no department with code {code})")
    return dept


def default_name(division_name: str, line: Line) -> str:
    """A conventional department name, e.g. 内黄县税务局."""
    suffix = {
        "government": "人民政府办公室",
        "discipline_inspection": "纪委监委",
        "data_management": "数据管理局",
        "hotline_12345": "12345热线中心",
        "petition": "信访局",
    }.get(line.code, line.name_zh + "局")
    return division_name + suffix


def find_parent(session: Session, *, line_code: str, division_code: str) -> Department | None:
    """The nearest department of the same line in an ancestor division."""
    div = divisions.get(session, division_code)
    for anc in reversed(divisions.ancestors(session, div)):
        dept = session.scalar(
            select(Department)
            .where(Department.line_code == line_code, Department.division_code == anc.code)
            .limit(1)
        )
        if dept is not None:
            return dept
    return None


def create(
    session: Session, *, line_code: str, division_code: str, name: str | None = None, code: str | None = None
) -> Department:
    """Create a department; its parent is the nearest same-line department up the tree."""
    line = session.get(Line, line_code)
    if line is None:
        raise ValidationFailedError(
            f"未知条线 {line_code} (unknown line)", details=[{"loc": ["line_code"], "msg": "unknown line"}]
        )
    div = divisions.get(session, division_code)
    code = code or f"{division_code}-{line_code}"
    if session.scalar(select(Department.id).where(Department.code == code)) is not None:
        raise ConflictError(f"部门代码 {code} 已存在 (department code already exists)")
    parent = find_parent(session, line_code=line_code, division_code=division_code)
    dept = Department(code=code, name=name or default_name(div.name, line), line_code=line_code,
                      division_code=division_code, parent_id=parent.id if parent else None)
    session.add(dept)
    session.flush()
    # Re-parent existing same-line departments below this division that skipped a level.
    below = session.scalars(
        select(Department).join(Department.division).where(
            Department.line_code == line_code,
            Department.id != dept.id,
        ).where(divisions.in_subtree(divisions.Division.path, div.path))
    )
    for other in below:
        if other.parent_id == (parent.id if parent else None):
            other.parent_id = dept.id
    session.flush()
    return dept


def ensure(session: Session, *, line_code: str, division_code: str, name: str | None = None) -> Department:
    """The department of a line in a division, created if missing."""
    code = f"{division_code}-{line_code}"
    dept = session.scalar(select(Department).where(Department.code == code))
    if dept is not None:
        return dept
    return create(session, line_code=line_code, division_code=division_code, name=name)


def lines(session: Session) -> list[Line]:
    """All lines in catalogue order."""
    return list(session.scalars(select(Line).order_by(Line.sort)))


def list_visible(
    session: Session,
    *,
    principal: Principal,
    line_code: str | None = None,
    division_code: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Department], int]:
    """Departments in the principal's scope, optionally filtered, paged."""
    from sqlalchemy import func

    from govgrid.core.authz import policy
    from govgrid.core.divisions.models import Division

    stmt = select(Department).join(Division, Department.division_code == Division.code).where(
        policy.department_clause(principal))
    if line_code:
        stmt = stmt.where(Department.line_code == line_code)
    if division_code:
        stmt = stmt.where(Department.division_code == division_code)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    stmt = stmt.order_by(Division.path, Department.line_code)
    items = list(session.scalars(stmt.limit(limit).offset(offset)))
    return items, total


def matrix(
    session: Session, *, principal: Principal, max_divisions: int = 40
) -> tuple[list[Line], list[Division], dict[str, dict[str, Department]]]:
    """The 条×块 matrix of the principal's visible departments: lines x divisions -> department.

    Columns are the principal's own divisions and one level below them (a county and its townships; a city
    and its counties), so the matrix stays readable; deeper units are reached from the department pages."""
    from govgrid.core.authz import policy
    from govgrid.core.divisions.models import Division

    if principal.is_superuser:
        max_depth = 3  # the nation down to counties
    else:
        own = [a.division_path.count("/") - 2 for a in principal.assignments]
        max_depth = (min(own) if own else 0) + 1
    rows = session.execute(
        select(Department, Division).join(Division, Department.division_code == Division.code)
        .where(policy.department_clause(principal), Division.depth <= max_depth).order_by(Division.path)
    ).all()
    cells: dict[str, dict[str, Department]] = {}
    divs: dict[str, Division] = {}
    for dept, div in rows:
        if div.code not in divs and len(divs) >= max_divisions:
            continue
        divs.setdefault(div.code, div)
        cells.setdefault(dept.line_code, {}).setdefault(div.code, dept)
    used_lines = [ln for ln in lines(session) if ln.code in cells]
    return used_lines, list(divs.values()), cells
