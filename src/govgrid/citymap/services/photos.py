"""Report and feedback photos: JPEG, PNG or WebP up to 8 MB, checked by their first bytes."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from govgrid.citymap.models import Case, CaseStep, Photo
from govgrid.citymap.services import access
from govgrid.citymap.services.common import Actor
from govgrid.core import storage
from govgrid.core.audit import service as audit
from govgrid.core.authz.principal import Principal
from govgrid.core.errors import NotFoundError, ValidationFailedError

PHOTO_TYPES = {"image/jpeg", "image/png", "image/webp"}
PHOTO_MAX_BYTES = 8 * 1024 * 1024
PHOTO_NAMESPACE = "citymap-photos"  # core.storage namespace of report and feedback photos
MAGIC = {"image/jpeg": b"\xff\xd8", "image/png": b"\x89PNG", "image/webp": b"RIFF"}


def save_photo(session: Session, *, actor: Actor, content_type: str, data: bytes) -> Photo:
    """Store a report photo (JPEG, PNG or WebP, at most 8 MB)."""
    if content_type not in PHOTO_TYPES:
        raise ValidationFailedError(
            f"照片须为 JPEG/PNG/WebP，收到 {content_type} (photo must be JPEG, PNG or WebP)",
            details=[{"loc": ["file"], "msg": content_type}],
        )
    if not data:
        raise ValidationFailedError("照片为空 (empty photo)", details=[{"loc": ["file"], "msg": "empty"}])
    if len(data) > PHOTO_MAX_BYTES:
        raise ValidationFailedError(
            "照片超过 8 MB (photo larger than 8 MB)", details=[{"loc": ["file"], "msg": str(len(data))}]
        )
    if not data.startswith(MAGIC[content_type]):
        raise ValidationFailedError(
            "文件内容与类型不符 (file content does not match its type)",
            details=[{"loc": ["file"], "msg": content_type}],
        )
    # the object first, then the row: a failed transaction leaves an orphan object for `govgrid storage
    # sweep`, never a row without its object
    key = storage.put(PHOTO_NAMESPACE, data, content_type=content_type)
    photo = Photo(content_type=content_type, size=len(data), storage_key=key,
                  uploaded_by=actor.audit_identity[2])
    session.add(photo)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="citymap.photo_upload",
        entity_type="photo",
        entity_id=photo.id,
        detail={"size": len(data)},
    )
    return photo


def get_photo(session: Session, *, principal: Principal, photo_id: int) -> Photo:
    """A photo, if it belongs to a case the caller can see (or the caller uploaded it)."""
    case_id = session.scalar(
        select(Case.id)
        .where(
            or_(
                Case.photo_id == photo_id,
                Case.id.in_(select(CaseStep.case_id).where(CaseStep.photo_id == photo_id)),
            ),
            access.cases_clause(principal),
        )
        .limit(1)
    )
    photo = session.get(Photo, photo_id)
    if photo is None or (case_id is None and photo.uploaded_by != principal.name):
        raise NotFoundError("照片不存在或无权查看 (no such photo in your scope)")
    return photo


def photo_bytes(photo: Photo) -> bytes:
    """The stored bytes of a photo the caller was allowed to get (from core.storage)."""
    return storage.get(photo.storage_key)


def _referenced_keys(session: Session) -> list[str]:
    return list(session.scalars(select(Photo.storage_key)))


storage.register_references(PHOTO_NAMESPACE, _referenced_keys)
