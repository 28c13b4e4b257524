"""A read-only subset of the CKAN Action API over the catalog (/ckan/api/3/action/ and /ckan/api/action/).

Catalog entries are packages (Chinese catalog fields in `extras`), provider departments are organizations, lines
are groups. Anonymous callers see open (无条件开放) entries; an API key in `Authorization` sees what its department
sees. `datastore_search` goes through the exchange gateway (grant, masking, audit).
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govgrid.core.authz.principal import Principal
from govgrid.core.departments.models import Department, Line
from govgrid.core.deps import OptionalPrincipal, SessionDep
from govgrid.core.divisions.models import Division
from govgrid.core.errors import AppError, NotFound, ValidationFailed
from govgrid.core.http import register_error_renderer, site_url
from govgrid.exchange import service
from govgrid.exchange.models import Resource

router = APIRouter(prefix="/ckan", include_in_schema=False)
CKAN_VERSION = "2.10.4"
_TYPES = {
    404: "Not Found Error",
    403: "Authorization Error",
    401: "Authorization Error",
    409: "Validation Error",
    400: "Validation Error",
    413: "Validation Error",
    422: "Validation Error",
    429: "Rate Limit Error",
}
# CKAN answers its errors with these statuses: ValidationError is 409, NotAuthorized 403.
_STATUS = {401: 403, 422: 409}
_FQ = re.compile(r'([+-]?)([A-Za-z_]+):("([^"]*)"|\S+)')
FQ_FIELDS = {
    "organization": "org",
    "owner_org": "org",
    "groups": "line",
    "line": "line",
    "sharing_type": "sharing",
    "grade": "grade",
    "division": "division",
    "open_type": "open",
    "name": "name",
}
# package_search `sort` fields (CKAN's Solr fields) -> service.search_resources order keys.
SORT_FIELDS = {
    "score": "score",
    "name": "code",  # a package's name is its lowercased resource code
    "title": "name",
    "title_string": "name",
    "metadata_modified": "modified",
    "metadata_created": "created",
}
DEFAULT_SORT = "score desc, metadata_modified desc"  # CKAN's default
# package_search `facet.field` names -> service facets; "tags" are the package's two tags (sharing type, grade).
FACETS = {
    "organization": "organization",
    "owner_org": "organization",
    "groups": "groups",
    "res_format": "res_format",
    "sharing_type": "sharing_type",
    "grade": "grade",
    "open_type": "open_type",
    "division": "division",
}
FACET_EXTRA = ("tags", "license_id")


class SearchQueryError(AppError):
    """An fq or sort the search does not understand (CKAN answers 409 Search Query Error)."""

    status = 409
    code = "search_query_error"


def ckan_error(
    request: Request, status: int, code: str, message: str, details: list[dict[str, Any]]
) -> Response:
    """CKAN's error format: {"success": false, "error": {"__type", "message", field: [msgs]}}."""
    etype = "Search Query Error" if code == "search_query_error" else _TYPES.get(status, "Validation Error")
    error: dict[str, Any] = {"__type": etype, "message": f"{etype}: {message}"}
    for d in details:
        # CKAN keys errors by parameter ({"sort": ['field "x" not in table']}): the first part of the location
        loc = [str(x) for x in d.get("loc", []) if x not in ("body", "query")]
        key = loc[0] if loc else "detail"
        error.setdefault(key, []).append(d.get("msg", ""))
    out_status = _STATUS.get(status, status)
    action = request.path_params.get("action") or "status_show"
    body = {"help": _help(request, str(action)), "success": False, "error": error}
    return JSONResponse(body, status_code=out_status)


register_error_renderer("/ckan", ckan_error)


def _base(request: Request) -> str:
    return site_url(request)


def _help(request: Request, action: str) -> str:
    return f"{_base(request)}/ckan/api/3/action/help_show?name={action}"


def _org_dict(dept: Department, count: int | None = None) -> dict[str, Any]:
    out = {
        "id": dept.code,
        "name": dept.code,
        "title": dept.name,
        "display_name": dept.name,
        "type": "organization",
        "is_organization": True,
        "state": "active",
        "description": f"{dept.line.name_zh} · {dept.division.name}",
        "image_url": "",
        "approval_status": "approved",
        "created": dept.created_at.isoformat(),
    }
    if count is not None:
        out["package_count"] = count
    return out


def _group_dict(line: Line, count: int | None = None) -> dict[str, Any]:
    out = {
        "id": line.code,
        "name": line.code,
        "title": line.name_zh,
        "display_name": line.name_zh,
        "description": line.name_en,
        "type": "group",
        "is_organization": False,
        "state": "active",
        "image_url": "",
        "approval_status": "approved",
    }
    if count is not None:
        out["package_count"] = count
    return out


def _resources(res: Resource, base: str) -> list[dict[str, Any]]:
    if res.kind == "table":
        return [
            {
                "id": f"{res.code}-records",
                "package_id": res.code,
                "name": f"{res.name}（数据）",
                "description": "经授权、脱敏并留痕的记录接口 (records through the exchange gateway)",
                "format": "JSON",
                "url": f"{base}/api/v1/exchange/resources/{res.code}/records",
                "datastore_active": True,
                "state": "active",
                "position": 0,
                "mimetype": "application/json",
                "created": res.created_at.isoformat(),
                "last_modified": res.updated_at.isoformat(),
            }
        ]
    return [
        {
            "id": f"{res.code}-api",
            "package_id": res.code,
            "name": f"{res.name}（接口）",
            "description": "提供方登记的接口 (the provider's registered API)",
            "format": "API",
            "url": res.api_url or "",
            "datastore_active": False,
            "state": "active",
            "position": 0,
            "mimetype": None,
            "created": res.created_at.isoformat(),
            "last_modified": res.updated_at.isoformat(),
        }
    ]


def package_dict(res: Resource, base: str, line_names: dict[str, str]) -> dict[str, Any]:
    """A catalog entry as a CKAN package."""
    items = [
        {"name": i.name, "label": i.label, "type": i.type, "personal": i.personal, "sensitive": i.sensitive}
        for i in res.items
    ]
    extras = [
        ("资源代码", res.code),
        ("资源分类", res.class_code),
        ("提供方", res.provider.name),
        ("提供方代码", res.provider.code),
        ("格式", res.format),
        ("共享类型", service.SHARING_TYPES[res.sharing_type]),
        ("共享条件", res.sharing_conditions),
        ("共享方式", res.sharing_method),
        ("开放属性", service.OPEN_TYPES[res.open_type]),
        ("更新周期", service.UPDATE_CYCLES.get(res.update_cycle, res.update_cycle)),
        ("发布日期", res.publish_date.isoformat() if res.publish_date else ""),
        ("关联资源代码", ",".join(res.related_codes or [])),
        ("数据分级", service.GRADES[res.grade]),
        ("行政区划", res.division_code),
        ("信息项", json.dumps(items, ensure_ascii=False)),
    ]
    resources = _resources(res, base)
    return {
        "id": res.code,
        "name": res.code.lower(),
        "title": res.name,
        "notes": res.abstract,
        "type": "dataset",
        "state": "active",
        "private": res.open_type != "open",
        "version": str(res.version),
        "metadata_created": res.created_at.isoformat(),
        "metadata_modified": res.updated_at.isoformat(),
        "owner_org": res.provider.code,
        "organization": _org_dict(res.provider),
        "author": res.provider.name,
        "maintainer": res.provider.name,
        "license_id": "",
        "license_title": "",
        "url": "",
        "groups": [
            {
                "id": res.line_code,
                "name": res.line_code,
                "title": line_names.get(res.line_code, res.line_code),
                "display_name": line_names.get(res.line_code, res.line_code),
            }
        ],
        "tags": [{"name": service.SHARING_TYPES[res.sharing_type]}, {"name": service.GRADES[res.grade]}],
        "num_tags": 2,
        "resources": resources,
        "num_resources": len(resources),
        "extras": [{"key": k, "value": v} for k, v in extras],
    }


def _line_names(session: Session) -> dict[str, str]:
    return dict(session.execute(select(Line.code, Line.name_zh)).all())


def _int(params: dict[str, Any], key: str, default: int, maximum: int) -> int:
    value = params.get(key, default)
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise ValidationFailed(
            f"{key} 应为整数 ({key} must be an integer)", details=[{"loc": [key], "msg": "Invalid integer"}]
        ) from None
    if n < 0:
        raise ValidationFailed(
            f"{key} 不能为负数 ({key} must not be negative)",
            details=[{"loc": [key], "msg": "Must be a positive integer"}],
        )
    return min(n, maximum)


def _bool(params: dict[str, Any], key: str) -> bool:
    v = params.get(key, False)
    return v if isinstance(v, bool) else str(v).lower() in ("true", "1", "yes")


def _package(session: Session, principal: Principal | None, ident: str) -> Resource:
    res = session.scalar(
        service._resource_query(principal).where(func.upper(Resource.code) == str(ident).upper())
    )
    if res is None:
        raise NotFound(f"数据集不存在 (Dataset not found): {ident}")
    return res


def _visible_stmt(principal: Principal | None) -> Any:
    return select(Resource).where(service.catalog_clause(principal))


# ---------------------------------------------------------------- actions


def status_show(session: Session, principal: Principal | None, params: dict[str, Any], base: str) -> Any:
    return {
        "site_title": "govgrid 政务数据资源目录",
        "site_description": "条块协同的政务数据共享交换 (govgrid exchange)",
        "site_url": base,
        "ckan_version": CKAN_VERSION,
        "error_emails_to": None,
        "locale_default": "zh_Hans_CN",
        "extensions": ["datastore", "govgrid_exchange"],
    }


def package_list(session: Session, principal: Principal | None, params: dict[str, Any], base: str) -> Any:
    limit = _int(params, "limit", 100000, 100000)
    offset = _int(params, "offset", 0, 10**9)
    stmt = select(Resource.code).where(service.catalog_clause(principal)).order_by(Resource.code)
    return [c.lower() for c in session.scalars(stmt.limit(limit).offset(offset))]


def package_show(session: Session, principal: Principal | None, params: dict[str, Any], base: str) -> Any:
    ident = params.get("id") or params.get("name")
    if not ident:
        raise ValidationFailed("缺少 id (Missing value)", details=[{"loc": ["id"], "msg": "Missing value"}])
    return package_dict(_package(session, principal, str(ident)), base, _line_names(session))


def _package_sort(raw: str) -> list[tuple[str, bool]]:
    """CKAN's `sort` ("metadata_modified desc, name asc") as service order keys; unknown fields are refused."""
    order = []
    for part in raw.split(","):
        words = part.split()
        if not words:
            continue
        field, direction = words[0], (words[1].lower() if len(words) > 1 else "asc")
        if field not in SORT_FIELDS or direction not in ("asc", "desc") or len(words) > 2:
            raise SearchQueryError(
                f"不支持的排序 (unsupported sort): {part.strip()}; fields: {', '.join(SORT_FIELDS)}, asc or desc"
            )
        order.append((SORT_FIELDS[field], direction == "desc"))
    if not order:
        raise SearchQueryError(f"无法解析 sort (cannot parse sort): {raw}")
    return order


def _json_list(params: dict[str, Any], key: str) -> list[str]:
    value = params.get(key)
    if value is None or value == "":
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValidationFailed(
                f"{key} 应为 JSON 列表 ({key} must be a JSON list)",
                details=[{"loc": [key], "msg": "Invalid JSON"}],
            ) from None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationFailed(
            f"{key} 应为字符串列表 ({key} must be a list of strings)",
            details=[{"loc": [key], "msg": "not a list"}],
        )
    return value


def _facets(
    session: Session, principal: Principal | None, params: dict[str, Any], query: dict[str, Any]
) -> tuple[dict[str, dict[str, int]], dict[str, Any]]:
    """CKAN's `facets` ({field: {value: count}}) and `search_facets` ({field: {title, items}}) for `facet.field`."""
    wanted = _json_list(params, "facet.field")
    if not wanted or str(params.get("facet", "true")).lower() == "false":
        return {}, {}
    unknown = [f for f in wanted if f not in FACETS and f not in FACET_EXTRA]
    if unknown:
        raise SearchQueryError(
            f"不支持的分面字段 (unsupported facet field): {', '.join(unknown)}; "
            f"one of {', '.join([*FACETS, *FACET_EXTRA])}"
        )
    try:
        limit = int(params.get("facet.limit", 50))  # negative: no limit, as in CKAN
    except (TypeError, ValueError):
        raise ValidationFailed(
            "facet.limit 应为整数 (facet.limit must be an integer)",
            details=[{"loc": ["facet.limit"], "msg": "Invalid integer"}],
        ) from None
    mincount = _int(params, "facet.mincount", 1, 10**9)
    needed = {FACETS[f] for f in wanted if f in FACETS}
    if "tags" in wanted:
        needed |= {"sharing_type", "grade"}
    counts = service.search_facets(session, actor=principal, facets=sorted(needed), **query)
    facets: dict[str, dict[str, int]] = {}
    for name in wanted:
        if name == "tags":
            found = {service.SHARING_TYPES.get(k, k): n for k, n in counts["sharing_type"].items()}
            for k, n in counts["grade"].items():
                label = service.GRADES.get(k, k)
                found[label] = found.get(label, 0) + n
        elif name == "license_id":
            found = {}  # packages carry no licence
        else:
            found = counts[FACETS[name]]
        ranked = sorted(((k, n) for k, n in found.items() if n >= mincount), key=lambda kv: (-kv[1], kv[0]))
        facets[name] = dict(ranked if limit < 0 else ranked[:limit])
    titles = _facet_titles(session, facets)
    search_facets: dict[str, Any] = {}
    for name, values in facets.items():
        items: list[dict[str, Any]] = [
            {"name": k, "display_name": titles.get((name, k)) or k, "count": n} for k, n in values.items()
        ]
        # CKAN sorts facet items by display name, descending
        items.sort(key=lambda item: str(item["display_name"]), reverse=True)
        search_facets[name] = {"title": name, "items": items}
    return facets, search_facets


def _facet_titles(session: Session, facets: dict[str, dict[str, int]]) -> dict[tuple[str, str], str]:
    """Display names: organizations (department names), groups (line names), divisions."""
    titles: dict[tuple[str, str], str] = {}
    for name in ("organization", "owner_org"):
        if facets.get(name):
            for code, title in session.execute(
                select(Department.code, Department.name).where(Department.code.in_(list(facets[name])))
            ):
                titles[(name, code)] = title
    if facets.get("groups"):
        for code, title in session.execute(
            select(Line.code, Line.name_zh).where(Line.code.in_(list(facets["groups"])))
        ):
            titles[("groups", code)] = title
    if facets.get("division"):
        for code, title in session.execute(
            select(Division.code, Division.name).where(Division.code.in_(list(facets["division"])))
        ):
            titles[("division", code)] = title
    labels = {"sharing_type": service.SHARING_TYPES, "grade": service.GRADES, "open_type": service.OPEN_TYPES}
    for name, mapping in labels.items():
        for k in facets.get(name, {}):
            titles[(name, k)] = mapping.get(k, k)
    return titles


def package_search(session: Session, principal: Principal | None, params: dict[str, Any], base: str) -> Any:
    q = str(params.get("q") or "").strip()
    if q in ("*:*", "*"):
        q = ""
    rows = _int(params, "rows", 10, 1000)
    start = _int(params, "start", 0, 10**9)
    sort_raw = str(params.get("sort") or DEFAULT_SORT).strip()
    order = _package_sort(sort_raw)
    filters: dict[str, str] = {}
    fq = str(params.get("fq") or "")
    for m in _FQ.finditer(fq):
        field = FQ_FIELDS.get(m.group(2))
        if field is None or m.group(1) == "-":
            raise SearchQueryError(
                f"不支持的过滤字段 (unsupported fq field): {m.group(2)}; one of {', '.join(FQ_FIELDS)}"
            )
        filters[field] = m.group(4) if m.group(4) is not None else m.group(3)
    if fq.strip() and not filters:
        raise SearchQueryError(f"无法解析 fq (cannot parse fq): {fq}")
    provider_id = None
    if "org" in filters:
        dept = session.scalar(select(Department).where(Department.code == filters["org"]))
        provider_id = dept.id if dept else -1
    query: dict[str, Any] = dict(
        q=q or filters.get("name"),
        line=filters.get("line"),
        division=filters.get("division"),
        sharing_type=filters.get("sharing"),
        grade=filters.get("grade"),
        open_type=filters.get("open"),
        provider_department_id=provider_id,
        mine=False,
    )
    found, total = service.search_resources(
        session, actor=principal, order=order, limit=rows, offset=start, **query
    )
    facets, search_facets = _facets(session, principal, params, query)
    names = _line_names(session)
    return {
        "count": total,
        "sort": sort_raw,
        "results": [package_dict(r, base, names) for r, _ in found],
        "facets": facets,
        "search_facets": search_facets,
    }


def _org_counts(session: Session, principal: Principal | None) -> dict[int, int]:
    stmt = (
        select(Resource.provider_department_id, func.count())
        .where(service.catalog_clause(principal))
        .group_by(Resource.provider_department_id)
    )
    return dict(session.execute(stmt).all())


def organization_list(
    session: Session, principal: Principal | None, params: dict[str, Any], base: str
) -> Any:
    counts = _org_counts(session, principal)
    depts = list(
        session.scalars(
            select(Department).where(Department.id.in_(list(counts) or [-1])).order_by(Department.code)
        )
    )
    if _bool(params, "all_fields"):
        return [_org_dict(d, counts[d.id]) for d in depts]
    return [d.code for d in depts]


def organization_show(
    session: Session, principal: Principal | None, params: dict[str, Any], base: str
) -> Any:
    ident = str(params.get("id") or "")
    dept = session.scalar(select(Department).where(Department.code == ident))
    if dept is None:
        raise NotFound(f"组织不存在 (Organization not found): {ident}")
    stmt = _visible_stmt(principal).where(Resource.provider_department_id == dept.id).order_by(Resource.code)
    packages = list(session.scalars(stmt))
    out = _org_dict(dept, len(packages))
    if _bool(params, "include_datasets") or "include_datasets" not in params:
        names = _line_names(session)
        out["packages"] = [package_dict(r, base, names) for r in packages[:1000]]
    return out


def group_list(session: Session, principal: Principal | None, params: dict[str, Any], base: str) -> Any:
    stmt = (
        select(Resource.line_code, func.count())
        .where(service.catalog_clause(principal))
        .group_by(Resource.line_code)
    )
    counts = dict(session.execute(stmt).all())
    lines = [ln for ln in session.scalars(select(Line).order_by(Line.sort)) if ln.code in counts]
    if _bool(params, "all_fields"):
        return [_group_dict(ln, counts[ln.code]) for ln in lines]
    return [ln.code for ln in lines]


def resource_show(session: Session, principal: Principal | None, params: dict[str, Any], base: str) -> Any:
    ident = str(params.get("id") or "")
    code = ident.rsplit("-", 1)[0] if ident.endswith(("-records", "-api")) else ""
    res = session.scalar(service._resource_query(principal).where(Resource.code == code)) if code else None
    if res is None:
        raise NotFound(f"资源不存在 (Resource was not found): {ident}")
    found = [r for r in _resources(res, base) if r["id"] == ident]
    if not found:
        raise NotFound(f"资源不存在 (Resource was not found): {ident}")
    return found[0]


_CKAN_TYPES = {
    "string": "text",
    "integer": "int",
    "number": "numeric",
    "date": "date",
    "boolean": "bool",
    "division": "text",
    "id_number": "text",
    "phone": "text",
}


def _datastore_sort(value: Any) -> list[tuple[str, bool]]:
    """CKAN's datastore `sort`: "field asc, other desc" (a field may be double-quoted), or a list of such parts.

    The names are checked by the gateway (not in the table, not granted, masked: Validation Error)."""
    parts = value if isinstance(value, list) else str(value).split(",")
    order = []
    for part in parts:
        m = _SORT_PART.match(str(part))
        if m is None:
            raise ValidationFailed(
                f"无法解析排序 (cannot parse sort): {str(part)[:80]}",
                details=[{"loc": ["sort"], "msg": f"cannot parse sort: {str(part)[:80]}"}],
            )
        field = m.group(1) if m.group(1) is not None else m.group(2)
        if field:
            order.append((field, (m.group(3) or "asc").lower() == "desc"))
    return order


_SORT_PART = re.compile(r'^\s*(?:"([^"]+)"|([^\s"]*))\s*(asc|desc)?\s*$', re.IGNORECASE)


def _datastore_q(value: Any) -> str | dict[str, str] | None:
    """CKAN's datastore `q`: a text searched in every field, or {field: text} (a JSON object in a string too)."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValidationFailed(
                "q 不是有效 JSON (q is not valid JSON)", details=[{"loc": ["q"], "msg": "Invalid JSON"}]
            ) from None
    if isinstance(value, dict):
        if not all(isinstance(v, str | int | float) for v in value.values()):
            raise ValidationFailed(
                "q 的值应为文本 (q values must be text)", details=[{"loc": ["q"], "msg": "must be text"}]
            )
        return {str(k): str(v) for k, v in value.items()}
    if isinstance(value, str | int | float):
        return str(value)
    raise ValidationFailed(
        "q 应为文本或对象 (q must be text or an object)", details=[{"loc": ["q"], "msg": "invalid"}]
    )


def datastore_search(session: Session, principal: Principal | None, params: dict[str, Any], base: str) -> Any:
    ident = str(params.get("resource_id") or params.get("id") or "")
    if not ident.endswith("-records"):
        raise NotFound(f"资源不存在或没有数据存储 (Resource not found in the datastore): {ident}")
    code = ident[: -len("-records")]
    filters = params.get("filters") or {}
    if isinstance(filters, str):
        try:
            filters = json.loads(filters)
        except ValueError:
            raise ValidationFailed(
                "filters 不是有效 JSON (filters is not valid JSON)",
                details=[{"loc": ["filters"], "msg": "Invalid JSON"}],
            ) from None
    if not isinstance(filters, dict) or not all(isinstance(v, str | int | float) for v in filters.values()):
        raise ValidationFailed(
            "filters 应为字段到值的对象 (filters must map fields to values)",
            details=[{"loc": ["filters"], "msg": "must be a dict of values"}],
        )
    fields = params.get("fields")
    if isinstance(fields, str):
        fields = [f.strip() for f in fields.split(",") if f.strip()]
    limit = max(1, _int(params, "limit", 100, 1000))
    offset = _int(params, "offset", 0, 10**9)
    sort = _datastore_sort(params["sort"]) if params.get("sort") else []
    q = _datastore_q(params.get("q"))
    page = service.read_records(
        session,
        actor=principal,
        code=code,
        filters={k: str(v) for k, v in filters.items()},
        limit=limit,
        offset=offset,
        count=True,
        kind="datastore",
        fields=fields or None,
        purpose=str(params.get("purpose") or ""),
        sort=sort,
        q=q,
    )
    columns = {i.name: i for i in service._get_any(session, code).items}
    url = f"/ckan/api/3/action/datastore_search?resource_id={ident}"
    out: dict[str, Any] = {
        "resource_id": ident,
        "fields": [
            {"id": f, "type": _CKAN_TYPES.get(columns[f].type, "text"), "info": {"label": columns[f].label}}
            for f in page["fields"]
        ],
        "records": page["records"],
        "limit": limit,
        "offset": offset,
        "total": page["total"],
        "_links": {"start": url, "next": f"{url}&offset={offset + limit}"},
    }
    if filters:
        out["filters"] = filters
    if q is not None:
        out["q"] = q
    if sort:
        out["sort"] = ", ".join(f"{f} {'desc' if d else 'asc'}" for f, d in sort)
    return out


ACTIONS = {
    f.__name__: f
    for f in (
        status_show,
        package_list,
        package_show,
        package_search,
        organization_list,
        organization_show,
        group_list,
        resource_show,
        datastore_search,
    )
}


async def ckan_params(request: Request) -> dict[str, Any]:
    """The action's parameters: the query string, then a JSON or form body (read without blocking the loop)."""
    params: dict[str, Any] = dict(request.query_params)
    if request.method == "POST":
        body = await request.body()
        if body.strip():
            ctype = request.headers.get("content-type", "")
            if "form" in ctype:
                form = await request.form()
                params.update({k: v for k, v in form.items() if isinstance(v, str)})
            else:
                # A big body is decoded in a worker thread: the event loop keeps answering other requests.
                data = (
                    _json_body(body)
                    if len(body) < 65536
                    else await anyio.to_thread.run_sync(_json_body, body)
                )
                params.update(data)
    return params


def _json_body(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except ValueError:
        raise ValidationFailed(
            "请求体不是有效的 JSON (request body is not valid JSON)",
            details=[{"loc": ["body"], "msg": "Invalid JSON"}],
        ) from None
    if not isinstance(data, dict):
        raise ValidationFailed(
            "请求体应为 JSON 对象 (body must be a JSON object)",
            details=[{"loc": ["body"], "msg": "must be an object"}],
        )
    return data


ParamsDep = Annotated[dict[str, Any], Depends(ckan_params)]


def _call(
    action: str, request: Request, session: Session, principal: Principal | None, params: dict
) -> Response:
    fn = ACTIONS.get(action)
    if fn is None:
        raise NotFound(f"不支持的操作 (Action name not known): {action}")
    # Rate limits (429 + Retry-After) and every other refusal reach the client through the CKAN error renderer.
    result = fn(session, principal, params, _base(request))
    return JSONResponse({"help": _help(request, action), "success": True, "result": result})


# Plain `def` routes: FastAPI runs them (and their database work) in the worker threads, off the event loop.
@router.api_route("/api/3/action/{action}", methods=["GET", "POST"])
def action_v3(
    action: str, request: Request, session: SessionDep, principal: OptionalPrincipal, params: ParamsDep
) -> Response:
    """CKAN Action API, version 3 path."""
    return _call(action, request, session, principal, params)


@router.api_route("/api/action/{action}", methods=["GET", "POST"])
def action(
    action: str, request: Request, session: SessionDep, principal: OptionalPrincipal, params: ParamsDep
) -> Response:
    """CKAN Action API, unversioned path (what ckanapi uses)."""
    return _call(action, request, session, principal, params)


@router.get("/api/3")
@router.get("/api")
def api_version() -> dict[str, int]:
    """CKAN answers its API version here."""
    return {"version": 3}
