"""Finding catalog entries: ranked full-text search with filters, facets, and the listings of the standard
views.

Only entries visible to the caller are ever counted or returned (`access.catalog_clause` inside every query).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, literal, or_, select
from sqlalchemy.orm import Session

from govgrid.core.authz import policy
from govgrid.core.authz.principal import Principal
from govgrid.core.departments.models import Department, Line
from govgrid.core.divisions import service as divisions
from govgrid.core.divisions.models import Division
from govgrid.core.errors import UnauthorizedError
from govgrid.exchange import tokens
from govgrid.exchange.enums import GRADE_ZH, OPEN_TYPE_ZH, SHARING_TYPE_ZH, ResourceKind
from govgrid.exchange.models import Resource, SearchTerm
from govgrid.exchange.services.access import catalog_clause, visible_query

# Sort keys of `search_resources(order=...)`: catalog columns a client may order by.
ORDER_KEYS: dict[str, Any] = {
    "code": Resource.code,
    "name": Resource.name,
    "modified": Resource.updated_at,
    "created": Resource.created_at,
}
# Facets of `search_facets`: name -> SQL value of a catalog entry.
FACET_COLUMNS: dict[str, Any] = {
    "organization": Department.code,
    "groups": Resource.line_code,
    "sharing_type": Resource.sharing_type,
    "grade": Resource.grade,
    "open_type": Resource.open_type,
    "division": Resource.division_code,
    "res_format": case((Resource.kind == ResourceKind.table, "JSON"), else_="API"),
}
FACET_LABELS = {"sharing_type": SHARING_TYPE_ZH, "grade": GRADE_ZH, "open_type": OPEN_TYPE_ZH}


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
        terms = sorted(set(tokens.tokens(q)))[:30]
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
            raise UnauthorizedError("需要登录 (authentication required)")
        stmt = stmt.where(policy.scope(Resource.provider_department_id, actor))
    return stmt, score_col


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
    """Full-text search (jieba tokens, ranked by matched terms then weight) with filters; only visible
    entries.

    `sort` is score, name or modified; `order` (when given) is an explicit [(key, descending)] with keys
    "score" and those of ORDER_KEYS (the CKAN view's `sort`)."""
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
    cols: list[Any]
    if order is not None:
        cols = []
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


def facet_value_names(session: Session, *, facet: str, values: list[str]) -> dict[str, str]:
    """Display names of facet values: departments, lines, divisions by name; closed sets by label."""
    if not values:
        return {}
    if facet == "organization":
        stmt: Any = select(Department.code, Department.name).where(Department.code.in_(values))
    elif facet == "groups":
        stmt = select(Line.code, Line.name_zh).where(Line.code.in_(values))
    elif facet == "division":
        stmt = select(Division.code, Division.name).where(Division.code.in_(values))
    elif facet in FACET_LABELS:
        return {v: FACET_LABELS[facet].get(v, v) for v in values}
    else:
        return {}
    return {str(code): str(name) for code, name in session.execute(stmt).all()}


def visible_codes(session: Session, *, actor: Principal | None, limit: int, offset: int) -> list[str]:
    """Codes of the visible entries, in code order."""
    stmt = select(Resource.code).where(catalog_clause(actor)).order_by(Resource.code)
    return list(session.scalars(stmt.limit(limit).offset(offset)))


def provider_entries(session: Session, *, actor: Principal | None, department_id: int) -> list[Resource]:
    """The visible entries one department provides, in code order."""
    stmt = visible_query(actor).where(Resource.provider_department_id == department_id)
    return list(session.scalars(stmt.order_by(Resource.code)))


def providers(session: Session, *, actor: Principal | None) -> list[tuple[Department, int]]:
    """Departments providing at least one visible entry, with how many, in department code order."""
    counts = dict(
        session.execute(
            select(Resource.provider_department_id, func.count())
            .where(catalog_clause(actor))
            .group_by(Resource.provider_department_id)
        ).all()
    )
    depts = session.scalars(
        select(Department).where(Department.id.in_(list(counts) or [-1])).order_by(Department.code)
    )
    return [(d, int(counts[d.id])) for d in depts]


def lines(session: Session, *, actor: Principal | None) -> list[tuple[Line, int]]:
    """Lines (条) with at least one visible entry, with how many, in catalogue order."""
    counts = dict(
        session.execute(
            select(Resource.line_code, func.count()).where(catalog_clause(actor)).group_by(Resource.line_code)
        ).all()
    )
    found = session.scalars(select(Line).where(Line.code.in_(list(counts) or [""])).order_by(Line.sort))
    return [(ln, int(counts[ln.code])) for ln in found]


def line_names(session: Session) -> dict[str, str]:
    """Line code -> Chinese name, for every line."""
    return dict(session.execute(select(Line.code, Line.name_zh)).all())


def open_entries(session: Session) -> list[Resource]:
    """Every open (无条件开放) entry, in code order: what anonymous callers and the DCAT catalogue see."""
    return list(session.scalars(visible_query(None).order_by(Resource.code)))
