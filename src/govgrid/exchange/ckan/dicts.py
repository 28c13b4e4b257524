"""Catalog entries, provider departments and lines as CKAN packages, organizations and groups."""

from __future__ import annotations

import json
from typing import Any

from govgrid.core.departments.models import Department, Line
from govgrid.exchange.enums import (
    GRADE_ZH,
    OPEN_TYPE_ZH,
    SHARING_TYPE_ZH,
    UPDATE_CYCLE_ZH,
    OpenType,
    ResourceKind,
)
from govgrid.exchange.models import Resource


def org_dict(dept: Department, count: int | None = None) -> dict[str, Any]:
    """A provider department as a CKAN organization (name = department code)."""
    out: dict[str, Any] = {
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


def group_dict(line: Line, count: int | None = None) -> dict[str, Any]:
    """A line (条) as a CKAN group (name = line code)."""
    out: dict[str, Any] = {
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


def package_resources(res: Resource, base: str) -> list[dict[str, Any]]:
    """The package's one CKAN resource: `<code>-records` (our records API, datastore) or `<code>-api`."""
    if res.kind == ResourceKind.table:
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
        ("共享类型", SHARING_TYPE_ZH[res.sharing_type]),
        ("共享条件", res.sharing_conditions),
        ("共享方式", res.sharing_method),
        ("开放属性", OPEN_TYPE_ZH[res.open_type]),
        ("更新周期", UPDATE_CYCLE_ZH.get(res.update_cycle, res.update_cycle)),
        ("发布日期", res.publish_date.isoformat() if res.publish_date else ""),
        ("关联资源代码", ",".join(res.related_codes or [])),
        ("数据分级", GRADE_ZH[res.grade]),
        ("行政区划", res.division_code),
        ("信息项", json.dumps(items, ensure_ascii=False)),
    ]
    resources = package_resources(res, base)
    line_title = line_names.get(res.line_code, res.line_code)
    return {
        "id": res.code,
        "name": res.code.lower(),
        "title": res.name,
        "notes": res.abstract,
        "type": "dataset",
        "state": "active",
        "private": res.open_type != OpenType.open,
        "version": str(res.version),
        "metadata_created": res.created_at.isoformat(),
        "metadata_modified": res.updated_at.isoformat(),
        "owner_org": res.provider.code,
        "organization": org_dict(res.provider),
        "author": res.provider.name,
        "maintainer": res.provider.name,
        "license_id": "",
        "license_title": "",
        "url": "",
        "groups": [
            {"id": res.line_code, "name": res.line_code, "title": line_title, "display_name": line_title}
        ],
        "tags": [{"name": SHARING_TYPE_ZH[res.sharing_type]}, {"name": GRADE_ZH[res.grade]}],
        "num_tags": 2,
        "resources": resources,
        "num_resources": len(resources),
        "extras": [{"key": k, "value": v} for k, v in extras],
    }
