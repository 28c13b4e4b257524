"""Market supervision pages (zh-CN first): entity directory with classes, plans with commit → draw → results,
the public draw page (commitment → seed → targets), public results (一公开) and shared cases."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from govgrid.core.deps import LocaleDep, SessionDep
from govgrid.core.errors import AppError, ValidationFailedError
from govgrid.core.pages import PagePrincipal, register_messages, render
from govgrid.core.privacy import mask_name
from govgrid.market.enums import CaseKind, CaseStatus, CreditClass, Outcome
from govgrid.market.messages import MESSAGES
from govgrid.market.services import cases, draws, inspections, registry

router = APIRouter(prefix="/market", include_in_schema=False)
ID = Annotated[int, Path(ge=1, le=2_147_483_647)]
register_messages(MESSAGES)


def _fail(request: Request, exc: AppError, back: str) -> HTMLResponse:
    """A page saying what went wrong and how to go back (the error's status)."""
    return render(
        request,
        "market/error.html",
        {"message": exc.message, "details": exc.details, "back": back},
        status_code=exc.status,
    )


@router.get("")
def market_home() -> RedirectResponse:
    """The module's entry: the entity directory."""
    return RedirectResponse("/market/entities", status_code=303)


@router.get("/entities")
def entities_page(
    request: Request, session: SessionDep, principal: PagePrincipal, cls: str = "", q: str = "", page: int = 1
) -> HTMLResponse:
    """Entities in scope with their credit-risk class and its reasons."""
    wanted = cls if cls in {c.value for c in CreditClass} else None
    page = max(1, min(page, 10_000))
    rows, total, counts = registry.list_entities(
        session, principal=principal, credit_class=wanted, q=q[:50] or None, limit=50, offset=(page - 1) * 50
    )
    mine = principal.department_ids
    shown = [
        (e, e.legal_rep if e.department_id in mine or not e.legal_rep else mask_name(e.legal_rep))
        for e in rows
    ]
    return render(
        request,
        "market/entities.html",
        {"rows": shown, "total": total, "counts": counts, "cls": wanted or "", "q": q[:50], "page": page},
    )


@router.get("/plans")
def plans_page(request: Request, session: SessionDep, principal: PagePrincipal) -> HTMLResponse:
    """Plans in scope and the form for a new one."""
    rows, _ = draws.list_plans(session, principal=principal)
    lead = next((a for a in principal.assignments if a.line_code == "market_regulation"), None)
    return render(request, "market/plans.html", {"plans": rows, "lead": lead})


def _items(text: str, lead_code: str, default_item: str) -> list[tuple[str, str]]:
    """Joint items from the form: one 'department-code item' per line; the lead's item first."""
    out = [(lead_code, default_item.strip() or "登记事项检查")]
    for n, line in enumerate(text.splitlines(), start=1):
        parts = line.strip().split(maxsplit=1)
        if not parts:
            continue
        if len(parts) != 2:
            raise ValidationFailedError(
                f"第 {n} 行应为 部门代码 事项 (line {n}: department code and item)",
                details=[{"loc": ["form", "joint", n], "msg": line[:80]}],
            )
        out.append((parts[0], parts[1][:200]))
    return out


def _int(value: str, name: str, lo: int, hi: int) -> int:
    """A whole number from a form field, or a 422 naming the field."""
    try:
        number = int(value)
    except ValueError:
        raise ValidationFailedError(
            f"{name} 应为整数 ({name}: a whole number)", details=[{"loc": ["form", name], "msg": value[:20]}]
        ) from None
    if not lo <= number <= hi:
        raise ValidationFailedError(
            f"{name} 应在 {lo}-{hi} 之间 ({name}: {lo}-{hi})",
            details=[{"loc": ["form", name], "msg": value[:20]}],
        )
    return number


@router.post("/plans")
def plan_create(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    name: Annotated[str, Form(max_length=200)] = "",
    year: Annotated[str, Form()] = "",
    department_code: Annotated[str, Form(max_length=64)] = "",
    item: Annotated[str, Form(max_length=200)] = "",
    joint: Annotated[str, Form(max_length=4000)] = "",
    sample_size: Annotated[str, Form()] = "",
    weights: Annotated[str, Form(max_length=40)] = "1/2/4/8",
    per_group: Annotated[str, Form()] = "2",
    beacon_source: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    """Create a draft plan from the form."""
    try:
        if not name.strip():
            raise ValidationFailedError(
                "请填写计划名称 (a plan needs a name)", details=[{"loc": ["form", "name"], "msg": "empty"}]
            )
        parts = weights.split("/")
        if len(parts) != 4:
            raise ValidationFailedError(
                "权重应写成 A/B/C/D 四个整数，如 1/2/4/8 (weights as A/B/C/D)",
                details=[{"loc": ["form", "weights"], "msg": weights}],
            )
        w = {c: _int(v, "weights", 0, 1000) for c, v in zip("ABCD", parts, strict=True)}
        with session.begin_nested():
            plan = draws.create_plan(
                session,
                actor=principal,
                name=name,
                year=_int(year, "year", 2000, 2100),
                department_code=department_code.strip(),
                items=_items(joint, department_code.strip(), item),
                sample_size=_int(sample_size, "sample_size", 1, 1_000_000),
                weights=w,
                per_group=_int(per_group, "per_group", 1, 5),
                beacon_source=beacon_source,
            )
    except AppError as exc:
        return _fail(request, exc, "/market/plans")
    return RedirectResponse(f"/market/plans/{plan.id}", status_code=303)


@router.get("/plans/{plan_id}")
def plan_page(
    plan_id: ID, request: Request, session: SessionDep, principal: PagePrincipal, locale: LocaleDep
) -> HTMLResponse:
    """One plan: commit, draw, the visits with their results and the forms to record them."""
    plan = draws.get_plan(session, principal=principal, plan_id=plan_id)
    draw = draws.draw_of(session, plan.id)
    visits = inspections.plan_inspections(session, principal=principal, plan_id=plan.id)
    outcomes = [(o.value, inspections.outcome_label(o, locale)) for o in Outcome]
    return render(
        request,
        "market/plan.html",
        {
            "plan": plan,
            "draw": draw,
            "visits": visits,
            "outcomes": outcomes,
            "label": inspections.outcome_label,
            "kinds": [k.value for k in CaseKind],
        },
    )


@router.post("/plans/{plan_id}/commit")
def plan_commit(plan_id: ID, request: Request, session: SessionDep, principal: PagePrincipal) -> Response:
    """Commit the plan's draw."""
    try:
        with session.begin_nested():
            draws.get_plan(session, principal=principal, plan_id=plan_id)
            draws.commit_draw(session, actor=principal, plan_id=plan_id)
    except AppError as exc:
        return _fail(request, exc, f"/market/plans/{plan_id}")
    return RedirectResponse(f"/market/plans/{plan_id}", status_code=303)


@router.post("/plans/{plan_id}/draw")
def plan_draw(
    plan_id: ID,
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    beacon: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    """Draw and publish; then show the public draw page."""
    try:
        with session.begin_nested():
            draws.get_plan(session, principal=principal, plan_id=plan_id)
            draw = draws.publish_draw(session, actor=principal, plan_id=plan_id, beacon=beacon)
    except AppError as exc:
        return _fail(request, exc, f"/market/plans/{plan_id}")
    return RedirectResponse(f"/market/draws/{draw.id}", status_code=303)


@router.post("/inspections/{inspection_id}/result")
def record_result(
    inspection_id: ID,
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    outcome: Annotated[str, Form()] = "",
    summary: Annotated[str, Form(max_length=2000)] = "",
    city_case: Annotated[str, Form()] = "",
) -> Response:
    """Record and publish a visit's result."""
    back = "/market/plans"
    try:
        with session.begin_nested():
            ins = inspections.get_inspection(session, principal=principal, inspection_id=inspection_id)
            back = f"/market/plans/{ins.plan_id}"
            if outcome not in {o.value for o in Outcome}:
                raise ValidationFailedError(
                    "请选择检查结果 (choose a result)",
                    details=[{"loc": ["form", "outcome"], "msg": outcome[:40]}],
                )
            inspections.record_result(
                session,
                actor=principal,
                inspection_id=inspection_id,
                outcome=Outcome(outcome),
                summary=summary,
                city_case=city_case == "on",
            )
    except AppError as exc:
        return _fail(request, exc, back)
    return RedirectResponse(f"{back}#visit-{inspection_id}", status_code=303)


@router.get("/draws")
def draws_page(request: Request, session: SessionDep) -> HTMLResponse:
    """Every draw: commitments first, seeds and results once published (public)."""
    return render(request, "market/draws.html", {"draws": draws.public_draws(session)})


@router.get("/draws/{draw_id}")
def draw_page(draw_id: ID, request: Request, session: SessionDep) -> HTMLResponse:
    """One draw: commitment → seed → targets with their inspector ids (public)."""
    doc = draws.public_draw(session, draw_id=draw_id)
    rows = list(zip(doc["targets"], doc["inspectors"], strict=True))
    return render(request, "market/draw.html", {"d": doc, "rows": rows})


@router.get("/results")
def results_page(request: Request, session: SessionDep, locale: LocaleDep) -> HTMLResponse:
    """Recorded results without personal data (public, 一公开)."""
    return render(
        request, "market/results.html", {"results": inspections.public_results(session, locale=locale)}
    )


@router.get("/cases")
def cases_page(request: Request, session: SessionDep, principal: PagePrincipal) -> HTMLResponse:
    """Shared cases sent or received in scope."""
    rows, _ = cases.list_cases(session, principal=principal)
    return render(request, "market/cases.html", {"cases": rows, "mine": principal.department_ids})


@router.post("/cases")
def case_create(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    inspection_id: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "",
    to_department_code: Annotated[str, Form(max_length=64)] = "",
    title: Annotated[str, Form(max_length=200)] = "",
    days: Annotated[str, Form()] = "10",
) -> Response:
    """Escalate or forward a visit's finding."""
    back = "/market/cases"
    try:
        with session.begin_nested():
            ins = inspections.get_inspection(
                session,
                principal=principal,
                inspection_id=_int(inspection_id, "inspection_id", 1, 2_147_483_647),
            )
            back = f"/market/plans/{ins.plan_id}"
            if kind not in {k.value for k in CaseKind} or not title.strip():
                raise ValidationFailedError(
                    "请选择类型并填写事由 (choose a kind and give a subject)",
                    details=[{"loc": ["form", "kind"], "msg": kind[:20]}],
                )
            cases.open_case(
                session,
                actor=principal,
                kind=CaseKind(kind),
                credit_code=ins.credit_code,
                from_department_code=ins.plan.department.code,
                to_department_code=to_department_code.strip(),
                title=title,
                days=_int(days, "days", 1, 60),
                inspection_id=ins.id,
            )
    except AppError as exc:
        return _fail(request, exc, back)
    return RedirectResponse("/market/cases", status_code=303)


@router.post("/cases/{case_id}/{action}")
def case_answer(
    case_id: ID,
    action: str,
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    reply: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    """Accept or close a received case."""
    targets = {"accept": CaseStatus.accepted, "close": CaseStatus.closed}
    try:
        if action not in targets:
            raise ValidationFailedError(
                "未知操作 (unknown action)", details=[{"loc": ["path"], "msg": action[:20]}]
            )
        with session.begin_nested():
            cases.answer_case(session, actor=principal, case_id=case_id, target=targets[action], reply=reply)
    except AppError as exc:
        return _fail(request, exc, "/market/cases")
    return RedirectResponse("/market/cases", status_code=303)
