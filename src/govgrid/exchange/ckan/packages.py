"""CKAN actions over the catalog: status_show, package_list, package_show, package_search (fq, sort, facets),
resource_show, organization_list, organization_show, group_list."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.orm import Session

from govgrid.core.authz.principal import Principal
from govgrid.core.departments import service as departments
from govgrid.core.errors import NotFoundError, ValidationFailedError
from govgrid.exchange.ckan.dicts import group_dict, org_dict, package_dict, package_resources
from govgrid.exchange.ckan.errors import SearchQueryError
from govgrid.exchange.ckan.params import bool_param, int_param, json_list
from govgrid.exchange.enums import GRADE_ZH, SHARING_TYPE_ZH
from govgrid.exchange.services import access, search

CKAN_VERSION = "2.10.4"
FQ_PART = re.compile(r'([+-]?)([A-Za-z_]+):("([^"]*)"|\S+)')
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
# package_search `sort` fields (CKAN's Solr fields) -> search.search_resources order keys.
SORT_FIELDS = {
    "score": "score",
    "name": "code",  # a package's name is its lowercased resource code
    "title": "name",
    "title_string": "name",
    "metadata_modified": "modified",
    "metadata_created": "created",
}
DEFAULT_SORT = "score desc, metadata_modified desc"  # CKAN's default
# package_search `facet.field` names -> service facets; "tags" are the package's two tags (sharing type,
# grade).
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


def status_show(session: Session, principal: Principal | None, params: dict[str, Any], base: str) -> Any:
    """The site's description."""
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
    """Names of the visible packages."""
    limit = int_param(params, "limit", 100000, 100000)
    offset = int_param(params, "offset", 0, 10**9)
    return [c.lower() for c in search.visible_codes(session, actor=principal, limit=limit, offset=offset)]


def package_show(session: Session, principal: Principal | None, params: dict[str, Any], base: str) -> Any:
    """One visible package by id or name (the resource code, any case)."""
    ident = params.get("id") or params.get("name")
    if not ident:
        raise ValidationFailedError(
            "缺少 id (Missing value)", details=[{"loc": ["id"], "msg": "Missing value"}]
        )
    res = access.find_visible(session, actor=principal, code=str(ident), ignore_case=True)
    if res is None:
        raise NotFoundError(f"数据集不存在 (Dataset not found): {ident}")
    return package_dict(res, base, search.line_names(session))


def package_sort(raw: str) -> list[tuple[str, bool]]:
    """CKAN's `sort` ("metadata_modified desc, name asc") as service order keys; unknown fields refused."""
    order = []
    for part in raw.split(","):
        words = part.split()
        if not words:
            continue
        field, direction = words[0], (words[1].lower() if len(words) > 1 else "asc")
        if field not in SORT_FIELDS or direction not in ("asc", "desc") or len(words) > 2:
            raise SearchQueryError(
                f"不支持的排序 (unsupported sort): {part.strip()}; "
                f"fields: {', '.join(SORT_FIELDS)}, asc or desc"
            )
        order.append((SORT_FIELDS[field], direction == "desc"))
    if not order:
        raise SearchQueryError(f"无法解析 sort (cannot parse sort): {raw}")
    return order


def _facet_counts(found: dict[str, dict[str, int]], name: str) -> dict[str, int]:
    if name == "tags":
        tags = {SHARING_TYPE_ZH.get(k, k): n for k, n in found["sharing_type"].items()}
        for k, n in found["grade"].items():
            label = GRADE_ZH.get(k, k)
            tags[label] = tags.get(label, 0) + n
        return tags
    if name == "license_id":
        return {}  # packages carry no licence
    return found[FACETS[name]]


def facets(
    session: Session, principal: Principal | None, params: dict[str, Any], query: dict[str, Any]
) -> tuple[dict[str, dict[str, int]], dict[str, Any]]:
    """CKAN's `facets` ({field: {value: count}}) and `search_facets` ({field: {title, items}})."""
    wanted = json_list(params, "facet.field")
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
        raise ValidationFailedError(
            "facet.limit 应为整数 (facet.limit must be an integer)",
            details=[{"loc": ["facet.limit"], "msg": "Invalid integer"}],
        ) from None
    mincount = int_param(params, "facet.mincount", 1, 10**9)
    needed = {FACETS[f] for f in wanted if f in FACETS}
    if "tags" in wanted:
        needed |= {"sharing_type", "grade"}
    found = search.search_facets(session, actor=principal, facets=sorted(needed), **query)
    counted: dict[str, dict[str, int]] = {}
    for name in wanted:
        values = _facet_counts(found, name)
        ranked = sorted(((k, n) for k, n in values.items() if n >= mincount), key=lambda kv: (-kv[1], kv[0]))
        counted[name] = dict(ranked if limit < 0 else ranked[:limit])
    search_facets: dict[str, Any] = {}
    for name, values in counted.items():
        names = search.facet_value_names(session, facet=FACETS.get(name, name), values=list(values))
        items: list[dict[str, Any]] = [
            {"name": k, "display_name": names.get(k) or k, "count": n} for k, n in values.items()
        ]
        # CKAN sorts facet items by display name, descending
        items.sort(key=lambda item: str(item["display_name"]), reverse=True)
        search_facets[name] = {"title": name, "items": items}
    return counted, search_facets


def _fq_filters(fq: str) -> dict[str, str]:
    filters: dict[str, str] = {}
    for m in FQ_PART.finditer(fq):
        field = FQ_FIELDS.get(m.group(2))
        if field is None or m.group(1) == "-":
            raise SearchQueryError(
                f"不支持的过滤字段 (unsupported fq field): {m.group(2)}; one of {', '.join(FQ_FIELDS)}"
            )
        filters[field] = m.group(4) if m.group(4) is not None else m.group(3)
    if fq.strip() and not filters:
        raise SearchQueryError(f"无法解析 fq (cannot parse fq): {fq}")
    return filters


def _provider_id(session: Session, code: str) -> int:
    try:
        return departments.get_by_code(session, code).id
    except NotFoundError:
        return -1  # an unknown organization matches nothing


def package_search(session: Session, principal: Principal | None, params: dict[str, Any], base: str) -> Any:
    """Ranked search with `q`, `fq`, `rows`, `start`, `sort` and facets."""
    q = str(params.get("q") or "").strip()
    if q in ("*:*", "*"):
        q = ""
    rows = int_param(params, "rows", 10, 1000)
    start = int_param(params, "start", 0, 10**9)
    sort_raw = str(params.get("sort") or DEFAULT_SORT).strip()
    order = package_sort(sort_raw)
    filters = _fq_filters(str(params.get("fq") or ""))
    provider_id = _provider_id(session, filters["org"]) if "org" in filters else None
    query: dict[str, Any] = {
        "q": q or filters.get("name"),
        "line": filters.get("line"),
        "division": filters.get("division"),
        "sharing_type": filters.get("sharing"),
        "grade": filters.get("grade"),
        "open_type": filters.get("open"),
        "provider_department_id": provider_id,
        "mine": False,
    }
    found, total = search.search_resources(
        session, actor=principal, order=order, limit=rows, offset=start, **query
    )
    counted, search_facets = facets(session, principal, params, query)
    names = search.line_names(session)
    return {
        "count": total,
        "sort": sort_raw,
        "results": [package_dict(r, base, names) for r, _ in found],
        "facets": counted,
        "search_facets": search_facets,
    }


def organization_list(
    session: Session, principal: Principal | None, params: dict[str, Any], base: str
) -> Any:
    """Departments providing visible packages (names, or dicts with `all_fields`)."""
    found = search.providers(session, actor=principal)
    if bool_param(params, "all_fields"):
        return [org_dict(d, n) for d, n in found]
    return [d.code for d, _ in found]


def organization_show(
    session: Session, principal: Principal | None, params: dict[str, Any], base: str
) -> Any:
    """One department with its visible packages."""
    ident = str(params.get("id") or "")
    try:
        dept = departments.get_by_code(session, ident)
    except NotFoundError:
        raise NotFoundError(f"组织不存在 (Organization not found): {ident}") from None
    packages = search.provider_entries(session, actor=principal, department_id=dept.id)
    out = org_dict(dept, len(packages))
    if bool_param(params, "include_datasets") or "include_datasets" not in params:
        names = search.line_names(session)
        out["packages"] = [package_dict(r, base, names) for r in packages[:1000]]
    return out


def group_list(session: Session, principal: Principal | None, params: dict[str, Any], base: str) -> Any:
    """Lines with visible packages (names, or dicts with `all_fields`)."""
    found = search.lines(session, actor=principal)
    if bool_param(params, "all_fields"):
        return [group_dict(ln, n) for ln, n in found]
    return [ln.code for ln, _ in found]


def resource_show(session: Session, principal: Principal | None, params: dict[str, Any], base: str) -> Any:
    """A package's CKAN resource by id (`<code>-records` or `<code>-api`)."""
    ident = str(params.get("id") or "")
    code = ident.rsplit("-", 1)[0] if ident.endswith(("-records", "-api")) else ""
    res = access.find_visible(session, actor=principal, code=code) if code else None
    if res is None:
        raise NotFoundError(f"资源不存在 (Resource was not found): {ident}")
    found = [r for r in package_resources(res, base) if r["id"] == ident]
    if not found:
        raise NotFoundError(f"资源不存在 (Resource was not found): {ident}")
    return found[0]
