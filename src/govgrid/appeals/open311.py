"""Open311 GeoReport v2 at /open311/v2/: the six calls in XML and JSON, api_key for POST, the spec's error
format."""

from __future__ import annotations

import math
import secrets
from datetime import datetime, timedelta
from typing import Annotated, Any
from xml.etree import ElementTree as ET

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from govgrid.appeals import categories, privacy
from govgrid.appeals.enums import Channel, TicketState
from govgrid.appeals.models import Ticket
from govgrid.appeals.services import idempotency, intake, public, queries
from govgrid.core.authz.principal import Principal
from govgrid.core.db import utcnow
from govgrid.core.deps import SessionDep
from govgrid.core.divisions.models import Division
from govgrid.core.errors import BadRequestError, NotFoundError
from govgrid.core.http import register_error_renderer, site_url
from govgrid.core.openapi import public as public_operation
from govgrid.core.workdays import SHANGHAI

router = APIRouter(prefix="/open311/v2", tags=["open311"])
OPEN = public_operation("GeoReport v2: reads are public; a request needs the partner's api_key")

MAX_ROWS = 1000
DEFAULT_WINDOW_DAYS = 90
SPEC_URL = "http://wiki.open311.org/GeoReport_v2"
CLOSED_STATES: tuple[str, ...] = (TicketState.answered, TicketState.closed, TicketState.merged)
STATUS_NOTES: dict[str, str] = {
    TicketState.pending: "已受理，待派遣",
    TicketState.dispatched: "已派遣，待签收",
    TicketState.signed: "办理中",
    TicketState.answered: "已答复，待评价",
    TicketState.closed: "已办结",
    TicketState.merged: "已与相同诉求合并办理",
}


# --------------------------------------------------------------------------------------------- rendering


def _fmt(fmt: str) -> str:
    if fmt not in ("json", "xml"):
        raise NotFoundError(
            f"不支持的格式 .{fmt}；请用 .json 或 .xml (unsupported format .{fmt}: use .json or .xml)"
        )
    return fmt


def _xml_value(parent: ET.Element, key: str, value: Any, item_tag: str | None = None) -> None:
    el = ET.SubElement(parent, key)
    if isinstance(value, list):
        for v in value:
            if isinstance(v, dict):
                _xml_dict(ET.SubElement(el, item_tag or "item"), v)
            else:
                ET.SubElement(el, item_tag or "item").text = _text(v)
    elif isinstance(value, dict):
        _xml_dict(el, value)
    else:
        el.text = _text(value)


def _xml_dict(el: ET.Element, data: dict[str, Any]) -> None:
    for k, v in data.items():
        item = {
            "attributes": "attribute",
            "values": "value",
            "endpoints": "endpoint",
            "formats": "format",
        }.get(k)
        _xml_value(el, k, v, item)


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def render(
    fmt: str, root: str, item: str, rows: list[dict[str, Any]] | dict[str, Any], status: int = 200
) -> Response:
    """JSON as the spec's arrays/objects; XML as <root><item>...</item></root>."""
    if fmt == "json":
        return JSONResponse(rows, status_code=status)
    top = ET.Element(root)
    if isinstance(rows, dict):
        _xml_dict(top, rows)
    else:
        for row in rows:
            _xml_dict(ET.SubElement(top, item), row)
    body = b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(top, encoding="utf-8")
    return Response(body, status_code=status, media_type="text/xml; charset=utf-8")


def _render_error(
    request: Request, status: int, code: str, message: str, details: list[dict[str, Any]]
) -> Response:
    """The spec's error format: a list of {code, description}; 404 missing, 403 bad key, 400 anything else."""
    if status not in (403, 404) and status < 500:
        status = 403 if status == 401 else 400
    errors = [{"code": status, "description": message}]
    for d in details:
        loc = ".".join(str(p) for p in d.get("loc", []) if p not in ("body", "query"))
        errors.append(
            {"code": status, "description": f"{loc}: {d.get('msg', '')}" if loc else d.get("msg", "")}
        )
    fmt = "xml" if request.url.path.endswith(".xml") else "json"
    return render(fmt, "errors", "error", errors, status)


register_error_renderer("/open311", _render_error)


def _iso(dt: datetime | None) -> str | None:
    return dt.astimezone(SHANGHAI).isoformat(timespec="seconds") if dt else None


def _param(value: str | None) -> str | None:
    """An optional parameter sent empty is treated exactly like one not sent."""
    return value.strip() if value and value.strip() else None


# --------------------------------------------------------------------------------------------- jurisdiction


def jurisdiction(session: Session, jurisdiction_id: str | None) -> Division:
    """The division a call addresses: jurisdiction_id, else the deployment's default."""
    return public.jurisdiction(session, code=_param(jurisdiction_id))


# --------------------------------------------------------------------------------------------- services


def _service(cat: categories.Category, group: str) -> dict[str, Any]:
    return {
        "service_code": cat.code,
        "service_name": cat.name_zh,
        "description": f"{cat.name_zh} ({cat.name_en})",
        "metadata": False,
        "type": "realtime",
        "keywords": ",".join(cat.keywords[:5]),
        "group": group,
    }


def _groups(session: Session) -> dict[str, str]:
    names = queries.line_names(session)
    return {
        c.code: (names.get(c.line, c.line) if c.line else "属地（乡镇、村）") for c in categories.CATEGORIES
    }


@router.get(
    "/discovery.{fmt}",
    openapi_extra=OPEN,
    description="Service discovery: where the GeoReport v2 endpoint lives (the configured site address, "
    "never a raw Host).",
)
def discovery(request: Request, fmt: str) -> Response:
    """Service discovery: where the GeoReport v2 endpoint lives (the site address, never a raw Host)."""
    _fmt(fmt)
    base = site_url(request) + "/open311/v2/"
    doc = {
        "changeset": "2026-11-27T00:00:00+08:00",
        "contact": "12345 政务服务便民热线",
        "key_service": base,
        "endpoints": [
            {
                "specification": SPEC_URL,
                "url": base,
                "changeset": "2026-11-27T00:00:00+08:00",
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return render(fmt, "discovery", "", doc)


@router.get("/services.{fmt}", openapi_extra=OPEN)
def services(fmt: str, session: SessionDep, jurisdiction_id: str | None = None) -> Response:
    """GET Service List: the appeal categories as Open311 services."""
    _fmt(fmt)
    jurisdiction(session, jurisdiction_id)
    groups = _groups(session)
    return render(fmt, "services", "service", [_service(c, groups[c.code]) for c in categories.CATEGORIES])


@router.get("/services/{service_code}.{fmt}", openapi_extra=OPEN)
def service_definition(
    service_code: str, fmt: str, session: SessionDep, jurisdiction_id: str | None = None
) -> Response:
    """GET Service Definition: our services take no extra attributes (metadata=false)."""
    _fmt(fmt)
    jurisdiction(session, jurisdiction_id)
    if categories.get(service_code) is None:
        raise NotFoundError(f"未知的 service_code {service_code} (unknown service_code)")
    return render(fmt, "service_definition", "", {"service_code": service_code, "attributes": []})


# --------------------------------------------------------------------------------------------- requests


def _float(form: dict[str, str], key: str) -> float | None:
    raw = _param(form.get(key))
    if raw is None:
        return None
    try:
        v = float(raw)
    except ValueError:
        raise BadRequestError(f"{key} 须为数字 ({key} must be a number)") from None
    if not math.isfinite(v):
        raise BadRequestError(f"{key} 须为有限数字 ({key} must be finite)")
    return v


async def _form(request: Request) -> dict[str, str]:
    """The form fields of a POST (parsed on the event loop; the database work runs in a thread)."""
    try:
        form = await request.form()
    except Exception:
        raise BadRequestError(
            "请求体须为 application/x-www-form-urlencoded (body must be form-encoded)"
        ) from None
    return {k: v for k, v in form.items() if isinstance(v, str)}


FormFields = Annotated[dict[str, str], Depends(_form)]
# What makes two posts "the same request" for an Idempotency-Key (the key itself is in the scope, not the
# content).
_CONTENT_FIELDS = (
    "jurisdiction_id",
    "service_code",
    "lat",
    "long",
    "address_string",
    "address_id",
    "email",
    "device_id",
    "account_id",
    "first_name",
    "last_name",
    "phone",
    "description",
    "media_url",
)


@router.post("/requests.{fmt}", openapi_extra=OPEN)
def post_request(
    fmt: str,
    session: SessionDep,
    form: FormFields,
    key: Annotated[str | None, Header(alias=idempotency.HEADER)] = None,
) -> Response:
    """POST Service Request: needs a valid api_key; answers service_request_id (created synchronously).

    A plain `def`: FastAPI runs it in the thread pool, so waiting for the database never blocks the server. An
    optional `Idempotency-Key` header makes a retry answer the first request's id and token."""
    _fmt(fmt)
    principal, div = public.open311_poster(
        session, api_key=_param(form.get("api_key")), jurisdiction_id=_param(form.get("jurisdiction_id"))
    )
    content = {k: form.get(k) for k in _CONTENT_FIELDS} | {"jurisdiction_id": div.code}
    row, replayed = idempotency.once(
        session,
        key=key,
        scope=idempotency.key_scope("open311", principal=principal),
        content=content,
        create=lambda: _create_request(session, principal, div, form),
    )
    out = render(fmt, "service_requests", "request", [row])
    if replayed:
        out.headers[idempotency.REPLAYED_HEADER] = "true"
    return out


def _create_request(
    session: Session, principal: Principal, div: Division, form: dict[str, str]
) -> tuple[Ticket, dict[str, Any]]:
    """Check the request's fields, make the ticket and the spec's answer row."""
    code = _param(form.get("service_code"))
    if code is None:
        raise BadRequestError("缺少 service_code (service_code is required)")
    if categories.get(code) is None:
        raise BadRequestError(f"未知的 service_code {code} (unknown service_code)")
    lat, lon = _float(form, "lat"), _float(form, "long")
    address = _param(form.get("address_string")) or _param(form.get("address_id"))
    if (lat is None or lon is None) and address is None:
        raise BadRequestError("须提供位置：lat+long、address_string 或 address_id (a location is required)")
    description = _param(form.get("description")) or categories.get_or_default(code).name_zh
    name = "".join(p for p in (_param(form.get("last_name")), _param(form.get("first_name"))) if p) or None
    token = secrets.token_hex(12)
    data = intake.TicketInput(
        channel=Channel.open311,
        channel_ref=token,
        description=description,
        category_code=code,
        lon=lon,
        lat=lat,
        address=address,
        default_division_code=div.code,
        media_url=_param(form.get("media_url")),
        reporter_name=name,
        reporter_phone=_param(form.get("phone")),
        reporter_email=_param(form.get("email")),
    )
    ticket = intake.create_ticket(session, actor=principal, data=data)
    if not ticket.division_path.startswith(div.path):
        # raising rolls the whole request back: nothing of the ticket remains
        raise BadRequestError("位置不在该辖区内 (the location lies outside the jurisdiction)")
    row = {
        "service_request_id": ticket.number,
        "token": token,
        "service_notice": (
            f"已受理，查询码 {ticket.tracking_code} (received; tracking code {ticket.tracking_code})"
        ),
        "account_id": _param(form.get("account_id")),
    }
    return ticket, row


@router.get("/tokens/{token}.{fmt}", openapi_extra=OPEN)
def get_token(token: str, fmt: str, session: SessionDep, jurisdiction_id: str | None = None) -> Response:
    """GET request id from a token."""
    _fmt(fmt)
    jurisdiction(session, jurisdiction_id)
    ticket = queries.find_by_channel_ref(session, channel=Channel.open311, ref=token)
    if ticket is None:
        raise NotFoundError(f"token {token} 不存在 (no such token)")
    return render(fmt, "service_requests", "request", [{"service_request_id": ticket.number, "token": token}])


def _public_rows(session: Session, tickets: list[Ticket]) -> list[dict[str, Any]]:
    """The spec's rows for tickets (public text only; places as township/village names; points coarsened)."""
    places = public.place_names(session, tickets=tickets)
    depts = queries.department_names(session, ids={t.department_id for t in tickets if t.department_id})
    rows = []
    for t in tickets:
        cat = categories.get(t.category_code)
        rows.append(
            {
                "service_request_id": t.number,
                "status": "closed" if t.state in CLOSED_STATES else "open",
                "status_notes": STATUS_NOTES.get(t.state, t.state)
                + (f"；{privacy.public_text(t, t.answer)}" if t.answer else ""),
                "service_name": cat.name_zh if cat else t.category_code,
                "service_code": t.category_code,
                "description": privacy.public_text(t, t.description),
                "agency_responsible": depts.get(t.department_id) if t.department_id else None,
                "service_notice": None,
                "requested_datetime": _iso(t.created_at),
                "updated_datetime": _iso(t.updated_at),
                "expected_datetime": _iso(t.resolve_due),
                "address": places.get(t.division_code),
                "address_id": None,
                "zipcode": None,
                "lat": privacy.coarse(t.lat),
                "long": privacy.coarse(t.lon),
                "media_url": t.media_url,
            }
        )
    return rows


def _date(raw: str | None, key: str) -> datetime | None:
    raw = _param(raw)
    if raw is None:
        return None
    try:
        dt = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequestError(
            f"{key} 须为 W3C 日期时间，如 2026-01-01T00:00:00Z ({key} must be a W3C datetime)"
        ) from None
    if dt.tzinfo is None:
        raise BadRequestError(f"{key} 须带时区 ({key} needs a timezone, e.g. Z or +08:00)")
    return dt


@router.get("/requests.{fmt}", openapi_extra=OPEN)
def get_requests(
    fmt: str,
    session: SessionDep,
    jurisdiction_id: str | None = None,
    service_request_id: str | None = None,
    service_code: str | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
    status: str | None = None,
) -> Response:
    """GET Service Requests: filters, default last 90 days, at most 1000 rows; never personal data."""
    _fmt(fmt)
    div = jurisdiction(session, jurisdiction_id)
    ids = [x.strip() for x in (_param(service_request_id) or "").split(",") if x.strip()][:MAX_ROWS]
    codes = [c.strip() for c in (_param(service_code) or "").split(",") if c.strip()]
    start, end = _date(start_date, "start_date"), _date(end_date, "end_date")
    if start is None:
        start = (end or utcnow()) - timedelta(days=DEFAULT_WINDOW_DAYS)
    statuses = [x.strip() for x in (_param(status) or "").split(",") if x.strip()]
    if any(x not in ("open", "closed") for x in statuses):
        raise BadRequestError("status 只能是 open 或 closed (status must be open or closed)")
    closed = None if len(set(statuses)) != 1 else statuses[0] == "closed"
    tickets = public.public_search(
        session,
        root=div,
        numbers=ids,
        categories=codes,
        start=start,
        end=end,
        closed=closed,
        closed_states=CLOSED_STATES,
        limit=MAX_ROWS,
    )
    return render(fmt, "service_requests", "request", _public_rows(session, tickets))


@router.get("/requests/{request_id}.{fmt}", openapi_extra=OPEN)
def get_request(
    request_id: str, fmt: str, session: SessionDep, jurisdiction_id: str | None = None
) -> Response:
    """GET Service Request: one request (as a one-element list, per the spec)."""
    _fmt(fmt)
    div = jurisdiction(session, jurisdiction_id)
    ticket = queries.by_number(session, number=request_id, root_path=div.path)
    if ticket is None:
        raise NotFoundError(f"service_request_id {request_id} 不存在 (no such request)")
    return render(fmt, "service_requests", "request", _public_rows(session, [ticket]))
