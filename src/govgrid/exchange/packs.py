"""The exchange section of a solution pack (数据目录, 一地创新、多地复用): the origin county's own catalog
entries, metadata only (never records), and the shared resources its departments use, which the pack carries
as sharing needs (共享需求) and the adopter files as sharing requests on install.

Content: ``{"entries": {"A01-0001": {"class_code", "name", "line" (provider line), "sharing_type",
"update_cycle", "items": [...], ...}}, "sharing_needs": [{"resource_code", "purpose", "fields",
"consumer_line"}]}``. The reuse module moves ``sharing_needs`` into the manifest's ``sharing`` at export.
An entry key is the code without the division; installed in 平定县 ``A01-0001`` becomes
``A01-140321-0001``, provided by the adopter's department of the (mapped) line. An entry the adopter already
has is left as it is. Uninstall removes the entries the pack added (refused once they hold data or requests).
Registered with ``core.ports.register_pack_section``; the sharing requester with
``core.ports.register_sharing_requester`` (check, file, withdraw)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from govgrid.core import ports
from govgrid.core.errors import ValidationFailedError
from govgrid.exchange.services import pack_requests


def export(session: Session, *, division_code: str) -> dict[str, Any]:
    """The county's own catalog entries and its sharing needs, as JSON."""
    return pack_requests.export_catalog(session, division_code=division_code)


def plan(
    session: Session, *, division_code: str, content: dict[str, Any], mapping: dict[str, Any]
) -> list[ports.PackChange]:
    """The catalog entries installing the section would add in the division (nothing written)."""
    adds, problems = pack_requests.catalog_changes(
        session, division_code=division_code, content=content, mapping=mapping
    )
    if problems:
        raise ValidationFailedError(
            "方案包的数据目录不能用于本地，请按提示修改参数映射 (the catalog section cannot be applied here)",
            details=problems,
        )
    return [
        ports.PackChange(
            op="add", path=f"/entries/{key}", before=None, after={"code": code, **entry}, label=label
        )
        for code, key, entry, label in adds
    ]


def apply(
    session: Session, *, actor: Any, division_code: str, plan: list[ports.PackChange]
) -> dict[str, Any]:
    """Create the planned catalog entries; the undo record lists the codes made."""
    wanted = []
    for change in plan:
        payload = dict(change.after)
        wanted.append((str(payload.pop("code")), payload))
    return {"created": pack_requests.add_entries(session, actor=actor, entries=wanted)}


def revert(session: Session, *, actor: Any, division_code: str, undo: dict[str, Any]) -> None:
    """Remove the entries the install added."""
    pack_requests.remove_entries(session, actor=actor, codes=list(undo.get("created") or []))


SECTION = ports.PackSection(
    module="exchange",
    name="catalog",
    title_zh="数据资源目录与共享需求",
    export=export,
    plan=plan,
    apply=apply,
    revert=revert,
)


def register() -> None:
    """Offer the section to solution packs and file the packs' sharing requests (core.ports)."""
    ports.register_pack_section(SECTION)
    ports.register_sharing_requester(
        pack_requests.file_request, check=pack_requests.problem, withdraw=pack_requests.withdraw_request
    )
