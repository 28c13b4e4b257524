"""CKAN's datastore_search over a package's records, through the exchange gateway (grant, masking, audit)."""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy.orm import Session

from govgrid.core.authz.principal import Principal
from govgrid.core.errors import NotFoundError, ValidationFailedError
from govgrid.exchange.ckan.params import int_param
from govgrid.exchange.enums import CallKind
from govgrid.exchange.services import catalog, gateway

# Item types as datastore field types.
CKAN_TYPES = {
    "string": "text",
    "integer": "int",
    "number": "numeric",
    "date": "date",
    "boolean": "bool",
    "division": "text",
    "id_number": "text",
    "phone": "text",
}
SORT_PART = re.compile(r'^\s*(?:"([^"]+)"|([^\s"]*))\s*(asc|desc)?\s*$', re.IGNORECASE)


def datastore_sort(value: Any) -> list[tuple[str, bool]]:
    """CKAN's datastore `sort`: "field asc, other desc" (a field may be double-quoted), or a list of such
    parts.

    The names are checked by the gateway (not in the table, not granted, masked: Validation Error)."""
    parts = value if isinstance(value, list) else str(value).split(",")
    order = []
    for part in parts:
        m = SORT_PART.match(str(part))
        if m is None:
            raise ValidationFailedError(
                f"无法解析排序 (cannot parse sort): {str(part)[:80]}",
                details=[{"loc": ["sort"], "msg": f"cannot parse sort: {str(part)[:80]}"}],
            )
        field = m.group(1) if m.group(1) is not None else m.group(2)
        if field:
            order.append((field, (m.group(3) or "asc").lower() == "desc"))
    return order


def datastore_q(value: Any) -> str | dict[str, str] | None:
    """CKAN's datastore `q`: a text searched in every field, or {field: text} (also as JSON text)."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValidationFailedError(
                "q 不是有效 JSON (q is not valid JSON)", details=[{"loc": ["q"], "msg": "Invalid JSON"}]
            ) from None
    if isinstance(value, dict):
        if not all(isinstance(v, str | int | float) for v in value.values()):
            raise ValidationFailedError(
                "q 的值应为文本 (q values must be text)", details=[{"loc": ["q"], "msg": "must be text"}]
            )
        return {str(k): str(v) for k, v in value.items()}
    if isinstance(value, str | int | float):
        return str(value)
    raise ValidationFailedError(
        "q 应为文本或对象 (q must be text or an object)", details=[{"loc": ["q"], "msg": "invalid"}]
    )


def _filters(params: dict[str, Any]) -> dict[str, Any]:
    filters = params.get("filters") or {}
    if isinstance(filters, str):
        try:
            filters = json.loads(filters)
        except ValueError:
            raise ValidationFailedError(
                "filters 不是有效 JSON (filters is not valid JSON)",
                details=[{"loc": ["filters"], "msg": "Invalid JSON"}],
            ) from None
    if not isinstance(filters, dict) or not all(isinstance(v, str | int | float) for v in filters.values()):
        raise ValidationFailedError(
            "filters 应为字段到值的对象 (filters must map fields to values)",
            details=[{"loc": ["filters"], "msg": "must be a dict of values"}],
        )
    return filters


def datastore_search(session: Session, principal: Principal | None, params: dict[str, Any], base: str) -> Any:
    """Records of `<code>-records` through the gateway (filters, q, sort, fields, limit, offset)."""
    ident = str(params.get("resource_id") or params.get("id") or "")
    if not ident.endswith("-records"):
        raise NotFoundError(f"资源不存在或没有数据存储 (Resource not found in the datastore): {ident}")
    code = ident[: -len("-records")]
    filters = _filters(params)
    fields = params.get("fields")
    if isinstance(fields, str):
        fields = [f.strip() for f in fields.split(",") if f.strip()]
    limit = max(1, int_param(params, "limit", 100, 1000))
    offset = int_param(params, "offset", 0, 10**9)
    sort = datastore_sort(params["sort"]) if params.get("sort") else []
    q = datastore_q(params.get("q"))
    page = gateway.read_records(
        session,
        actor=principal,
        code=code,
        filters={k: str(v) for k, v in filters.items()},
        limit=limit,
        offset=offset,
        count=True,
        kind=CallKind.datastore,
        fields=fields or None,
        purpose=str(params.get("purpose") or ""),
        sort=sort,
        q=q,
    )
    columns = {i.name: i for i in catalog.data_items(session, code=code)}
    url = f"/ckan/api/3/action/datastore_search?resource_id={ident}"
    out: dict[str, Any] = {
        "resource_id": ident,
        "fields": [
            {"id": f, "type": CKAN_TYPES.get(columns[f].type, "text"), "info": {"label": columns[f].label}}
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
