"""Exchange pages: catalog browse and search, resource detail with the request form, approval inbox, my
grants, and the 条×块 flow matrix."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from govgrid.core.departments import service as departments
from govgrid.core.deps import SessionDep
from govgrid.core.errors import ValidationFailedError
from govgrid.core.pages import PagePrincipal, register_messages, render
from govgrid.core.workdays import SHANGHAI
from govgrid.exchange import enums
from govgrid.exchange.schemas import RequestCreate
from govgrid.exchange.services import access, deadlines, grants, metrics, search, sharing, uploads

router = APIRouter(prefix="/exchange", include_in_schema=False)

register_messages(
    {
        "zh-CN": {
            "ex.catalog": "数据资源目录",
            "ex.search": "搜索",
            "ex.q": "关键词，如 人口 低保 湿地",
            "ex.all_lines": "全部条线",
            "ex.all_sharing": "全部共享类型",
            "ex.all_grades": "全部分级",
            "ex.mine": "我的目录（含下级汇总）",
            "ex.code": "资源代码",
            "ex.name": "资源名称",
            "ex.provider": "提供方",
            "ex.sharing": "共享类型",
            "ex.grade": "分级",
            "ex.open": "开放属性",
            "ex.cycle": "更新周期",
            "ex.items": "信息项",
            "ex.item_type": "类型",
            "ex.personal": "个人信息",
            "ex.sensitive": "敏感",
            "ex.mask": "脱敏规则",
            "ex.request": "申请使用",
            "ex.purpose": "用途",
            "ex.legal_basis": "法律依据",
            "ex.fields": "申请的信息项（不选即全部）",
            "ex.row_filter": "只要本区划的数据（区划代码）",
            "ex.days": "有效期（天）",
            "ex.mode": "方式",
            "ex.submit": "提交申请",
            "ex.requests": "共享申请",
            "ex.inbox": "待我审批",
            "ex.my_requests": "我的申请",
            "ex.overdue": "逾期未办（本级及下级）",
            "ex.status": "状态",
            "ex.due": "期限",
            "ex.approve": "同意",
            "ex.refuse": "拒绝",
            "ex.accept": "审核通过",
            "ex.reason": "理由",
            "ex.grants": "我的授权",
            "ex.given": "本部门给出的授权",
            "ex.held": "本部门持有的授权",
            "ex.revoke": "撤销",
            "ex.expires": "到期",
            "ex.matrix": "共享流转 条×块",
            "ex.division": "行政区划",
            "ex.requested": "申请",
            "ex.granted": "已授权",
            "ex.refused": "已拒绝",
            "ex.median": "审批中位时长（小时）",
            "ex.calls": "调用次数",
            "ex.rows": "提供行数",
            "ex.stuck": "卡在哪里：逾期的审批",
            "ex.level": "层级",
            "ex.records": "数据",
            "ex.version": "版本",
            "ex.conditions": "共享条件",
            "ex.abstract": "摘要",
            "ex.none_found": "没有找到符合条件的目录",
            "ex.total": "共 {n} 条",
            "ex.consumer": "使用方",
            "ex.handler": "审批部门",
            "ex.clear_fields": "允许明文的字段",
            "ex.records_info": "当前数据版本",
            "ex.item_label": "信息项名称",
        },
        "en": {
            "ex.catalog": "Data catalog",
            "ex.search": "Search",
            "ex.q": "keywords, e.g. population, wetland",
            "ex.all_lines": "All lines",
            "ex.all_sharing": "All sharing types",
            "ex.all_grades": "All grades",
            "ex.mine": "My catalog (with levels below)",
            "ex.code": "Code",
            "ex.name": "Name",
            "ex.provider": "Provider",
            "ex.sharing": "Sharing",
            "ex.grade": "Grade",
            "ex.open": "Open type",
            "ex.cycle": "Update cycle",
            "ex.items": "Data items",
            "ex.item_type": "Type",
            "ex.personal": "Personal",
            "ex.sensitive": "Sensitive",
            "ex.mask": "Masking",
            "ex.request": "Request access",
            "ex.purpose": "Purpose",
            "ex.legal_basis": "Legal basis",
            "ex.fields": "Fields (none = all)",
            "ex.row_filter": "Only rows of division (code)",
            "ex.days": "Valid (days)",
            "ex.mode": "Mode",
            "ex.submit": "Submit request",
            "ex.requests": "Sharing requests",
            "ex.inbox": "Waiting for my approval",
            "ex.my_requests": "My requests",
            "ex.overdue": "Overdue (my level and below)",
            "ex.status": "Status",
            "ex.due": "Due",
            "ex.approve": "Approve",
            "ex.refuse": "Refuse",
            "ex.accept": "Accept for review",
            "ex.reason": "Reason",
            "ex.grants": "My grants",
            "ex.given": "Grants given by my departments",
            "ex.held": "Grants my departments hold",
            "ex.revoke": "Revoke",
            "ex.expires": "Expires",
            "ex.matrix": "Flow matrix (line x territory)",
            "ex.division": "Division",
            "ex.requested": "Requested",
            "ex.granted": "Granted",
            "ex.refused": "Refused",
            "ex.median": "Median approval (hours)",
            "ex.calls": "Calls",
            "ex.rows": "Rows served",
            "ex.stuck": "Where approvals are stuck",
            "ex.level": "Level",
            "ex.records": "Records",
            "ex.version": "Version",
            "ex.conditions": "Conditions",
            "ex.abstract": "Abstract",
            "ex.none_found": "Nothing found",
            "ex.total": "{n} entries",
            "ex.consumer": "Consumer",
            "ex.handler": "Approver",
            "ex.clear_fields": "Fields allowed in clear",
            "ex.records_info": "Current data version",
            "ex.item_label": "Item",
        },
    }
)


def _labels() -> dict[str, dict[str, str]]:
    return {
        "sharing": enums.SHARING_TYPE_ZH,
        "open": enums.OPEN_TYPE_ZH,
        "grade": enums.GRADE_ZH,
        "cycle": enums.UPDATE_CYCLE_ZH,
        "status": enums.REQUEST_STATUS_ZH,
    }


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
            "labels": _labels(),
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
            "grant": grant,
            "labels": _labels(),
            "message": request.query_params.get("msg"),
        },
    )


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
    return RedirectResponse(f"/exchange/requests?submitted={req.id}", status_code=303)


@router.get("/requests")
def requests_page(request: Request, session: SessionDep, principal: PagePrincipal) -> Response:
    """Approval inbox with deadlines, my requests, and overdue approvals in my territory."""
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
            "labels": _labels(),
            "is_overdue": deadlines.is_overdue,
            "submitted": request.query_params.get("submitted"),
            "tz": SHANGHAI,
        },
    )


@router.post("/requests/{request_id}/decision")
def decision_submit(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    request_id: int,
    action: Annotated[str, Form(pattern="^(accept|approve|refuse)$")],
    reason: Annotated[str, Form(max_length=2000)] = "",
    clear_fields: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Decision buttons of the inbox post here."""
    sharing.decide(
        session,
        actor=principal,
        request_id=request_id,
        action=action,
        reason=reason,
        clear_fields=clear_fields or [],
    )
    return RedirectResponse("/exchange/requests", status_code=303)


@router.get("/grants")
def grants_page(request: Request, session: SessionDep, principal: PagePrincipal) -> Response:
    """Grants my departments hold and grants they gave."""
    held, _ = grants.list_grants(session, actor=principal, side="consumer", limit=200)
    given, _ = grants.list_grants(session, actor=principal, side="provider", limit=200)
    return render(
        request, "exchange_grants.html", {"held": held, "given": given, "status": grants.grant_status}
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
    return RedirectResponse("/exchange/grants", status_code=303)


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
            "labels": _labels(),
            "division": data["division_code"],
            "handlers": {
                r.handler_department_id: departments.get(session, r.handler_department_id).name
                for r in data["stuck"]
            },
        },
    )
