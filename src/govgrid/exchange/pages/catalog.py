"""Exchange pages to read: the catalog and its search, one entry with its request form, the flow matrix."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import Response

from govgrid.core.departments import service as departments
from govgrid.core.deps import SessionDep
from govgrid.core.pages import PagePrincipal, render
from govgrid.exchange.pages.common import labels, notice, router
from govgrid.exchange.services import access, grants, metrics, search, uploads


@router.get("")
def catalog_page(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    q: Annotated[str | None, Query(max_length=200)] = None,
    line: Annotated[str | None, Query(max_length=32)] = None,
    division: Annotated[str | None, Query(max_length=12)] = None,
    sharing_type: Annotated[str | None, Query(pattern="^(unconditional|conditional|none)?$")] = None,
    grade: Annotated[str | None, Query(pattern="^(general|important|core)?$")] = None,
    mine: bool = False,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """Browse and search the catalog."""
    rows, total = search.search_resources(
        session,
        actor=principal,
        q=q,
        line=line or None,
        division=division or None,
        sharing_type=sharing_type or None,
        grade=grade or None,
        mine=mine,
        limit=50,
        offset=offset,
    )
    return render(
        request,
        "exchange_catalog.html",
        {
            "rows": rows,
            "total": total,
            "q": q or "",
            "line": line or "",
            "division": division or "",
            "sharing_type": sharing_type or "",
            "grade": grade or "",
            "mine": mine,
            "offset": offset,
            "lines": departments.lines(session),
            "labels": labels(),
        },
    )


@router.get("/resources/{code}")
def resource_page(request: Request, session: SessionDep, principal: PagePrincipal, code: str) -> Response:
    """One entry: catalog fields, data items, current data version, request form."""
    res = access.get_resource(session, actor=principal, code=code)
    own = access.in_provider_scope(session, actor=principal, resource=res)
    grant = None if own else grants.active_grant(session, actor=principal, resource=res)
    return render(
        request,
        "exchange_resource.html",
        {
            "res": res,
            "upload": uploads.active_upload(session, resource=res),
            "own": own,
            "can_write": own
            and access.in_provider_scope(session, actor=principal, resource=res, roles=access.WRITE_ROLES),
            "grant": grant,
            "labels": labels(),
            "notice": notice(request),
        },
    )


@router.get("/matrix")
def matrix_page(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    division: Annotated[str | None, Query(max_length=12)] = None,
) -> Response:
    """The 条×块 flow matrix as a heat map, levels, and where approvals are stuck."""
    data = metrics.flow_matrix(session, actor=principal, division_code=division or None)
    names = {ln.code: ln.name_zh for ln in departments.lines(session)}
    plines = sorted({c["provider_line"] for c in data["cells"]})
    clines = sorted({c["consumer_line"] for c in data["cells"]})
    z: list[list[int | None]] = [[None] * len(clines) for _ in plines]
    text = [[""] * len(clines) for _ in plines]
    for c in data["cells"]:
        i, j = plines.index(c["provider_line"]), clines.index(c["consumer_line"])
        z[i][j] = c["requested"]
        text[i][j] = (
            f"申请 {c['requested']} · 授权 {c['granted']} · 拒绝 {c['refused']} · 逾期 {c['overdue']}"
            f"<br>调用 {c['calls']} · 行数 {c['rows']}"
        )
    heat = {
        "z": z,
        "x": [names.get(c, c) for c in clines],
        "y": [names.get(p, p) for p in plines],
        "text": text,
    }
    return render(
        request,
        "exchange_matrix.html",
        {
            "data": data,
            "heat": heat,
            "names": names,
            "labels": labels(),
            "division": data["division_code"],
            "handlers": {
                r.handler_department_id: departments.get(session, r.handler_department_id).name
                for r in data["stuck"]
            },
        },
    )
