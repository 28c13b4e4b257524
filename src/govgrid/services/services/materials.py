"""Materials (申请材料): which an item needs, which the government already holds, upload checks (type by the
file's leading bytes, size), and their bytes in core.storage (the row keeps the key, hash and size)."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.core import storage
from govgrid.core.errors import PayloadTooLargeError, ValidationFailedError
from govgrid.services.models import Material, ServiceItem

log = logging.getLogger(__name__)

MAX_MATERIAL_BYTES = 5 * 1024 * 1024
MATERIAL_NAMESPACE = "services-materials"  # core.storage namespace of uploaded application materials
# Leading bytes of the accepted file types (the declared type and the name are not trusted).
SIGNATURES = {
    "application/pdf": (b"%PDF-",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
}
TYPE_NAMES = {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG"}


@dataclass
class UploadIn:
    """One uploaded file for a material code."""

    code: str
    filename: str
    content: bytes


@dataclass
class CheckedFile:
    """An upload that passed the checks."""

    code: str
    filename: str
    content_type: str
    content: bytes
    sha256: str


def sniff(content: bytes) -> str | None:
    """The file's type from its leading bytes (None if not an accepted type)."""
    for ctype, prefixes in SIGNATURES.items():
        if any(content.startswith(p) for p in prefixes):
            return ctype
    return None


def needed(item: ServiceItem) -> list[dict[str, Any]]:
    """The materials the applicant must upload (required and not already held by the government)."""
    return [m for m in item.materials or [] if m.get("required") and not m.get("held")]


def check_files(item: ServiceItem, files: list[UploadIn], *, require_all: bool = True) -> list[CheckedFile]:
    """Check every upload against the item's materials; 413 if too large, 422 listing the rest."""
    by_code = {m["code"]: m for m in item.materials or []}
    problems: list[dict[str, Any]] = []
    out: list[CheckedFile] = []
    for f in files:
        if len(f.content) > MAX_MATERIAL_BYTES:
            raise PayloadTooLargeError(
                f"材料“{by_code.get(f.code, {}).get('name', f.code)}”"
                f"超过 {MAX_MATERIAL_BYTES // 1024 // 1024} MB，"
                "请压缩后重新上传 (file too large)",
                details=[{"loc": ["materials", f.code], "msg": "too large"}],
            )
        spec = by_code.get(f.code)
        if spec is None:
            problems.append(
                {"loc": ["materials", f.code], "msg": f"本事项没有材料 {f.code} (unknown material)"}
            )
            continue
        if spec.get("held"):
            problems.append(
                {
                    "loc": ["materials", f.code],
                    "msg": f"“{spec['name']}”由政府部门共享获取，无需上传 (held by the government)",
                }
            )
            continue
        ctype = sniff(f.content)
        allowed = spec.get("types") or list(SIGNATURES)
        if ctype is None or ctype not in allowed:
            kinds = "、".join(TYPE_NAMES[t] for t in allowed)
            problems.append(
                {
                    "loc": ["materials", f.code],
                    "msg": f"“{spec['name']}”只接受 {kinds} 文件 (wrong file type)",
                }
            )
            continue
        out.append(
            CheckedFile(
                f.code, f.filename[:200] or f.code, ctype, f.content, hashlib.sha256(f.content).hexdigest()
            )
        )
    if require_all:
        have = {c.code for c in out} | {f.code for f in files}
        for m in needed(item):
            if m["code"] not in have:
                problems.append(
                    {"loc": ["materials", m["code"]], "msg": f"缺少必需材料“{m['name']}” (missing)"}
                )
    if problems:
        raise ValidationFailedError(
            "申请材料有问题："
            + "；".join(p["msg"].split(" (")[0] for p in problems)
            + " (material problems)",
            details=problems,
        )
    return out


def stored(f: CheckedFile, *, application_id: int, uploaded_at: datetime) -> Material:
    """A material row for a checked upload whose bytes were just written to core.storage (object first)."""
    # the object first, then the row: a failed transaction leaves an orphan object for `govgrid storage
    # sweep`, never a row without its object
    key = storage.put(MATERIAL_NAMESPACE, f.content, content_type=f.content_type)
    return Material(
        application_id=application_id,
        code=f.code,
        filename=f.filename,
        content_type=f.content_type,
        size=len(f.content),
        sha256=f.sha256,
        storage_key=key,
        uploaded_at=uploaded_at,
    )


def material_bytes(mat: Material) -> bytes:
    """The stored bytes of a material, checked against the hash recorded at upload."""
    return storage.get_verified(mat.storage_key, size=mat.size, sha256=mat.sha256)


def _referenced_keys(session: Session) -> list[str]:
    return list(session.scalars(select(Material.storage_key).where(Material.storage_key.is_not(None))))


storage.register_references(MATERIAL_NAMESPACE, _referenced_keys)
