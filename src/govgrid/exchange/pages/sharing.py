"""Exchange pages of the sharing workflow: request, the approval inbox and the approval form (fields served in
clear or masked), withdraw, grants and revocation, and the "my granted data" viewer that reads through the
gateway (granted fields only, masked, audited)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from govgrid.core.deps import SessionDep
from govgrid.core.errors import ValidationFailedError
from govgrid.core.pages import PagePrincipal, render
from govgrid.core.workdays import SHANGHAI
from govgrid.exchange.pages.common import labels, notice, notice_url, router
from govgrid.exchange.schemas import RequestCreate
from govgrid.exchange.services import access, deadlines, gateway, grants, sharing

DATA_PAGE = 50
DECISION_NOTICES = {"accept": "accepted", "approve": "approved", "refuse": "refused_msg"}


@router.post("/resources/{code}/request")
def request_submit(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    code: str,
    purpose: Annotated[str, Form(max_length=2000)],
    legal_basis: Annotated[str, Form(max_length=2000)] = "",
    fields: Annotated[list[str] | None, Form()] = None,
    row_filter_division: Annotated[str, Form(max_length=12)] = "",
    mode: Annotated[str, Form(pattern="^(records|verify)$")] = "records",
    days: Annotated[int, Form(ge=1, le=1095)] = 365,
) -> Response:
    """The request form posts here."""
    try:
        data = RequestCreate.model_validate(
            {
                "resource_code": code,
                "purpose": purpose,
                "legal_basis": legal_basis,
                "fields": fields or [],
                "row_filter_division": row_filter_division or None,
                "mode": mode,
                "days": days,
            }
        )
    except ValueError as exc:
        raise ValidationFailedError(f"申请内容无效 (invalid request): {exc}") from None
    req = sharing.submit_request(session, actor=principal, data=data)
    return RedirectResponse(notice_url("/exchange/requests", "submitted", id=req.id), status_code=303)


@router.get("/requests")
def requests_page(request: Request, session: SessionDep, principal: PagePrincipal) -> Response:
    """Approval inbox with deadlines, my requests (withdraw while pending), overdue approvals below me."""
    inbox, _ = sharing.list_requests(session, actor=principal, box="inbox", limit=100)
    mine, _ = sharing.list_requests(session, actor=principal, box="mine", limit=100)
    overdue, _ = sharing.list_requests(session, actor=principal, box="overdue", limit=100)
    return render(
        request,
        "exchange_requests.html",
        {
            "inbox": inbox,
            "mine": mine,
            "overdue": overdue,
            "labels": labels(),
            "is_overdue": deadlines.is_overdue,
            "notice": notice(request),
            "tz": SHANGHAI,
        },
    )


def _decision_page(
    request: Request, session: SessionDep, principal: PagePrincipal, request_id: int, errors: list[str]
) -> Response:
    req = sharing.get_request(session, actor=principal, request_id=request_id)
    wanted = set(req.fields or [i.name for i in req.resource.items])
    personal = [i for i in req.resource.items if i.name in wanted and (i.personal or i.sensitive)]
    return render(
        request,
        "exchange_decision.html",
        {
            "r": req,
            "personal": personal,
            "labels": labels(),
            "errors": errors,
            "tz": SHANGHAI,
            "is_overdue": deadlines.is_overdue,
        },
        status_code=422 if errors else 200,
    )


@router.get("/requests/{request_id}")
def decision_form(
    request: Request, session: SessionDep, principal: PagePrincipal, request_id: int
) -> Response:
    """One request with the approval form: which personal items are served in clear, validity, rate limit."""
    return _decision_page(request, session, principal, request_id, [])


@router.post("/requests/{request_id}/decision")
def decision_submit(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    request_id: int,
    action: Annotated[str, Form(pattern="^(accept|approve|refuse)$")],
    reason: Annotated[str, Form(max_length=2000)] = "",
    clear_fields: Annotated[list[str] | None, Form()] = None,
    days: Annotated[int | None, Form(ge=1, le=1095)] = None,
    rate_limit_per_minute: Annotated[int | None, Form(ge=1, le=100000)] = None,
) -> Response:
    """The approval form and the inbox buttons post here."""
    try:
        sharing.decide(
            session,
            actor=principal,
            request_id=request_id,
            action=action,
            reason=reason,
            clear_fields=clear_fields or [],
            days=days,
            rate_limit_per_minute=rate_limit_per_minute,
        )
    except ValidationFailedError as exc:
        session.rollback()
        return _decision_page(request, session, principal, request_id, [exc.message])
    return RedirectResponse(
        notice_url("/exchange/requests", DECISION_NOTICES[action], id=request_id), status_code=303
    )


@router.post("/requests/{request_id}/withdraw")
def withdraw_submit(
    request: Request, session: SessionDep, principal: PagePrincipal, request_id: int
) -> Response:
    """The requesting department withdraws a pending request."""
    sharing.withdraw(session, actor=principal, request_id=request_id)
    return RedirectResponse(notice_url("/exchange/requests", "withdrawn", id=request_id), status_code=303)


@router.get("/grants")
def grants_page(request: Request, session: SessionDep, principal: PagePrincipal) -> Response:
    """Grants my departments hold (with their data) and grants they gave (revocable)."""
    held, _ = grants.list_grants(session, actor=principal, side="consumer", limit=200)
    given, _ = grants.list_grants(session, actor=principal, side="provider", limit=200)
    return render(
        request,
        "exchange_grants.html",
        {
            "held": held,
            "given": given,
            "status": grants.grant_status,
            "labels": labels(),
            "notice": notice(request),
        },
    )


@router.post("/grants/{grant_id}/revoke")
def revoke_submit(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    grant_id: int,
    reason: Annotated[str, Form(min_length=2, max_length=2000)],
) -> Response:
    """Revoke button of the grants page posts here."""
    grants.revoke_grant(session, actor=principal, grant_id=grant_id, reason=reason)
    return RedirectResponse(notice_url("/exchange/grants", "revoked", id=grant_id), status_code=303)


@router.get("/resources/{code}/data")
def data_page(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    code: str,
    after: Annotated[int | None, Query(ge=0)] = None,
) -> Response:
    """My granted data: a page of records read through the gateway (granted fields, masked, audited)."""
    res = access.get_resource(session, actor=principal, code=code)
    page = gateway.read_records(
        session, actor=principal, code=code, limit=DATA_PAGE, after=after, purpose="页面查看 (page view)"
    )
    item_labels = {i.name: i.label for i in res.items}
    return render(
        request,
        "exchange_data.html",
        {"res": res, "page": page, "after": after, "item_labels": item_labels, "labels": labels()},
    )
