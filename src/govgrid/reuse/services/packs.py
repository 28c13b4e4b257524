"""Solution packs (方案包): export a division's configuration as a signed pack, keep packs in the catalogue,
preview an install as a diff, install atomically with an undo record, uninstall exactly.

The sections come from the modules through ``core.ports.pack_sections`` (appeals: categories, routing rules
and clocks); this file never reads another module's tables."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govgrid.core import ports
from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor
from govgrid.core.db import utcnow
from govgrid.core.departments import service as departments
from govgrid.core.departments.models import Department
from govgrid.core.divisions import service as divisions
from govgrid.core.divisions.models import Division
from govgrid.core.errors import ConflictError, NotFoundError, UnauthorizedError, ValidationFailedError
from govgrid.reuse import packfile
from govgrid.reuse.enums import INSTALL_LIFECYCLE, InstallState
from govgrid.reuse.models import Installation, Pack
from govgrid.reuse.services import access

log = logging.getLogger(__name__)
SHARING_KEY = "sharing"  # the preview's list of sharing requests an install files (not a module section)


@dataclass
class SectionPlan:
    """What installing one section would change in a division."""

    key: str  # "appeals/categories"
    title_zh: str
    changes: list[ports.PackChange]


def _section(key: str) -> ports.PackSection:
    """The registered section for a pack's key (422 when this deployment lacks the module)."""
    module, _slash, name = key.partition("/")
    found = ports.PACK_SECTIONS.get((module, name))
    if found is None:
        raise ValidationFailedError(
            f"本平台没有启用方案包所需的模块配置 {key}，请先启用该模块 (this deployment lacks section {key})",
            details=[{"loc": ["sections", key], "msg": "section not available here"}],
        )
    return found


def _signed_in(actor: Actor) -> None:
    """Refuse anonymous callers (the catalogue is for staff)."""
    if access.principal_of(actor) is None and not access.is_system(actor):
        raise UnauthorizedError("请先登录 (sign in first)")


def _government(session: Session, division_code: str) -> Department:
    """The division's government office: the department a pack or case of the division is filed under."""
    try:
        return departments.get_by_code(session, f"{division_code}-government")
    except NotFoundError:
        raise ValidationFailedError(
            f"{division_code} 还没有人民政府办公室部门，请先开通该地区 (no government office there)"
        ) from None


def export_pack(
    session: Session, *, actor: Actor, division_code: str, module: str, pack_id: str | None = None
) -> Pack:
    """Export the division's configuration of a module (or of several: ``services,exchange``) as a signed
    pack and put it in the catalogue."""
    division = access.require_division_admin(
        session, actor=actor, division_code=division_code, what="导出配置"
    )
    names = [m.strip() for m in module.split(",") if m.strip()]
    sections = [s for name in dict.fromkeys(names) for s in ports.pack_sections(name)]
    missing = [name for name in names if not ports.pack_sections(name)]
    if missing or not sections:
        raise NotFoundError(f"模块 {'、'.join(missing) or module} 没有可导出的配置 "
                            f"(module {module} offers no pack sections)")
    module = ",".join(dict.fromkeys(names))
    contents = {f"{s.module}/{s.name}": s.export(session, division_code=division_code) for s in sections}
    needs = _lift_needs(contents)
    if not any(any(v for v in c.values()) for c in contents.values()):
        raise ValidationFailedError(
            f"{division.name} 在 {module} 模块中还没有自己的配置，没有可导出的内容 "
            f"(the division has no own {module} configuration to export)"
        )
    pid = pack_id or f"{module.replace(',', '-')}-{division_code}"
    if not packfile.PACK_ID.match(pid):
        raise ValidationFailedError("方案包编号只能用小写字母、数字、点、横线和下划线 (invalid pack id)")
    previous = list(session.scalars(select(Pack.version).where(Pack.pack_id == pid)))
    adopters = sorted(set(session.scalars(
        select(Installation.division_code).where(
            Installation.pack_id == pid, Installation.state == InstallState.installed
        )
    )))
    dept = _government(session, division_code)
    manifest: dict[str, Any] = {
        "id": pid,
        "version": packfile.next_version(previous),
        "title": f"{division.name}{'、'.join(s.title_zh for s in sections)}",
        "module": module,
        "govgrid": packfile.compatible_range(),
        "origin": {"division_code": division.code, "division_name": division.name, "department": dept.code},
        "adopters": adopters,
        "created_at": utcnow().isoformat(timespec="seconds"),
        "parameters": packfile.MAPPING_SCHEMA,
        "sections": [{"key": f"{s.module}/{s.name}", "title_zh": s.title_zh} for s in sections],
        "fixtures": _fixtures(contents),
        "sharing": needs,  # the shared resources the adopter's departments will need (from the sections)
    }
    document = packfile.seal(manifest, contents)
    pack = _store(session, actor=actor, document=document, department_id=dept.id)
    log.info("pack exported", extra={"pack_row_id": pack.id, "pack_id": pid, "division_code": division_code})
    return pack


def _lift_needs(contents: dict[str, Any]) -> list[dict[str, Any]]:
    """Move the sections' ``sharing_needs`` into the manifest's list (one per resource and line)."""
    needs: dict[tuple[str, str], dict[str, Any]] = {}
    for content in contents.values():
        for need in content.pop("sharing_needs", None) or []:
            needs.setdefault((need["resource_code"], need.get("consumer_line", "government")), need)
    return list(needs.values())[:50]


def _fixtures(contents: dict[str, Any]) -> list[dict[str, Any]]:
    """Test fixtures shipped with a pack: per category, the line and clocks a routed ticket should get."""
    out = []
    for key, content in contents.items():
        for code, settings in sorted((content.get("categories") or {}).items()):
            out.append({"section": key, "category": code, **settings})
    return out


def _store(session: Session, *, actor: Actor, document: dict[str, Any], department_id: int) -> Pack:
    """Put a checked pack document in the catalogue (the same pack again answers the row it made)."""
    manifest = document["manifest"]
    sha = packfile.digest(document)
    existing = session.scalar(
        select(Pack).where(Pack.pack_id == manifest["id"], Pack.version == manifest["version"])
    )
    if existing is not None:
        if existing.sha256 != sha:
            raise ConflictError(
                f"目录中已有 {manifest['id']} {manifest['version']} 但内容不同；请换一个版本号 "
                "(a different pack with this id and version is already in the catalogue)"
            )
        return existing
    pack = Pack(
        pack_id=manifest["id"],
        version=manifest["version"],
        title=str(manifest.get("title", ""))[:200],
        module=str(manifest.get("module", ""))[:32],
        division_code=manifest["origin"]["division_code"],
        department_id=department_id,
        document=document,
        sha256=sha,
        created_by=access.actor_name(actor),
    )
    session.add(pack)
    session.flush()
    audit.record(
        session, actor=actor, action="reuse.pack_stored", entity_type="reuse_pack", entity_id=pack.id,
        division_code=pack.division_code, department_id=department_id,
        detail={"pack_id": pack.pack_id, "version": pack.version, "sha256": sha},
    )
    return pack


def import_pack(session: Session, *, actor: Actor, raw: bytes) -> Pack:
    """Check a pack file (signature, signer, version range) and put it in the catalogue."""
    _signed_in(actor)
    document = packfile.read(raw)
    origin = document["manifest"].get("origin") or {}
    code = str(origin.get("division_code", ""))
    divisions.get(session, code)
    pack = _store(session, actor=actor, document=document, department_id=_government(session, code).id)
    log.info("pack imported", extra={"pack_row_id": pack.id, "pack_id": pack.pack_id})
    return pack


def list_packs(session: Session, *, actor: Actor) -> list[Pack]:
    """The catalogue (shared with every signed-in user), newest first."""
    _signed_in(actor)
    return list(session.scalars(select(Pack).order_by(Pack.created_at.desc(), Pack.id.desc()).limit(500)))


def get_pack(session: Session, *, actor: Actor, pack_row_id: int) -> Pack:
    """One pack of the catalogue (404 if unknown)."""
    _signed_in(actor)
    pack = session.get(Pack, pack_row_id)
    if pack is None:
        raise NotFoundError("没有这个方案包 (no such pack)")
    audit.record(session, actor=actor, action="reuse.pack_read", entity_type="reuse_pack", entity_id=pack.id)
    return pack


def find_pack(session: Session, *, actor: Actor, pack_id: str, version: str | None = None) -> Pack:
    """A pack by its id (the latest version unless one is named)."""
    _signed_in(actor)
    stmt = select(Pack).where(Pack.pack_id == pack_id)
    if version:
        stmt = stmt.where(Pack.version == version)
    rows = list(session.scalars(stmt))
    if not rows:
        raise NotFoundError(f"目录中没有方案包 {pack_id} (no such pack)")
    return max(rows, key=lambda p: packfile.semver.Version.parse(p.version))


def preview(
    session: Session, *, actor: Actor, pack: Pack, division_code: str, mapping: Any
) -> list[SectionPlan]:
    """The diff installing the pack with the mapping would make in the division (nothing written)."""
    access.require_division_admin(session, actor=actor, division_code=division_code, what="安装方案包")
    document = packfile.read(packfile.to_bytes(pack.document))  # the stored copy is checked again
    mapped = packfile.check_mapping(document["manifest"]["parameters"], mapping)
    plans = []
    for key, content in _in_manifest_order(document):
        section = _section(key)
        changes = section.plan(session, division_code=division_code, content=content, mapping=mapped)
        plans.append(SectionPlan(key, section.title_zh, changes))
    sharing = _sharing_plan(session, document["manifest"], division_code)
    if sharing.changes:
        plans.append(sharing)
    audit.record(
        session, actor=actor, action="reuse.pack_previewed", entity_type="reuse_pack", entity_id=pack.id,
        division_code=division_code, detail={"changes": sum(len(p.changes) for p in plans)},
    )
    return plans


def _in_manifest_order(document: dict[str, Any]) -> list[tuple[str, Any]]:
    """The pack's sections in the order its manifest lists them (the file's keys are sorted)."""
    listed = [str(s.get("key")) for s in document["manifest"].get("sections", []) if isinstance(s, dict)]
    rank = {key: i for i, key in enumerate(listed)}
    return sorted(document["sections"].items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0]))


def _needs(manifest: dict[str, Any], division_code: str) -> list[tuple[str, ports.SharingNeed]]:
    """The manifest's sharing needs as (consumer department code, need) for a division."""
    out = []
    for need in manifest.get("sharing", []):
        wanted = ports.SharingNeed(
            resource_code=need["resource_code"],
            purpose=f"方案包 {manifest['id']} {manifest['version']}：{need['purpose']}"[:2000],
            fields=tuple(need.get("fields", [])),
            consumer_line=need.get("consumer_line", "government"),
        )
        out.append((f"{division_code}-{wanted.consumer_line}", wanted))
    return out


def _sharing_plan(session: Session, manifest: dict[str, Any], division_code: str) -> SectionPlan:
    """The sharing requests an install would file (422 with every need that cannot be filed here)."""
    changes, problems = [], []
    for consumer, need in _needs(manifest, division_code):
        problem = ports.check_sharing(session, consumer_department_code=consumer, need=need)
        if problem:
            problems.append({"loc": ["sharing", need.resource_code], "msg": problem})
            continue
        changes.append(ports.PackChange(
            op="add", path=f"/sharing/{need.resource_code}", before=None, after=consumer,
            label=f"申请共享资源 {need.resource_code}（申请部门 {consumer}"
            f"{'，信息项 ' + '、'.join(need.fields) if need.fields else ''}）",
        ))
    if problems:
        raise ValidationFailedError(
            "方案包需要的共享资源在本地无法申请，请先与首创地或资源提供部门确认 "
            "(the pack needs shared resources this division cannot request)",
            details=problems,
        )
    return SectionPlan(SHARING_KEY, "数据共享申请（安装时自动提交）", changes)


def active_installation(session: Session, *, pack_id: str, division_code: str) -> Installation | None:
    """The pack's installation in force in a division, if any."""
    return session.scalar(
        select(Installation).where(
            Installation.pack_id == pack_id,
            Installation.division_code == division_code,
            Installation.state == InstallState.installed,
        )
    )


def install(
    session: Session, *, actor: Actor, pack: Pack, division_code: str, mapping: Any
) -> tuple[Installation, list[SectionPlan]]:
    """Apply the pack in the division (one transaction: all sections or none) and record the undo."""
    current = active_installation(session, pack_id=pack.pack_id, division_code=division_code)
    if current is not None:
        raise ConflictError(
            f"{pack.pack_id} 已安装（版本 {current.version}）；如需更换版本请先卸载 (already installed here)"
        )
    plans = preview(session, actor=actor, pack=pack, division_code=division_code, mapping=mapping)
    plans_applied = [p for p in plans if p.key != SHARING_KEY]
    undo: dict[str, Any] = {}
    for plan in plans_applied:
        undo[plan.key] = _section(plan.key).apply(
            session, actor=actor, division_code=division_code, plan=plan.changes
        )
    requested = _file_sharing(session, actor=actor, pack=pack, division_code=division_code)
    row = Installation(
        pack_row_id=pack.id,
        pack_id=pack.pack_id,
        version=pack.version,
        division_code=division_code,
        department_id=_government(session, division_code).id,
        state=InstallState.installed,
        mapping=dict(mapping or {}),
        changes=[{"section": p.key, **change_json(c)} for p in plans_applied for c in p.changes] + requested,
        undo=undo,
        installed_by=access.actor_name(actor),
    )
    session.add(row)
    session.flush()
    audit.record(
        session, actor=actor, action="reuse.pack_installed", entity_type="reuse_installation",
        entity_id=row.id, division_code=division_code, department_id=row.department_id,
        detail={"pack_id": pack.pack_id, "version": pack.version, "changes": len(row.changes)},
    )
    log.info("pack installed", extra={"installation_id": row.id, "pack_row_id": pack.id,
                                      "division_code": division_code})
    return row, plans


def _file_sharing(
    session: Session, *, actor: Actor, pack: Pack, division_code: str
) -> list[dict[str, Any]]:
    """File the sharing requests the pack needs for the adopter (core.ports.request_sharing)."""
    out = []
    for consumer, wanted in _needs(pack.document["manifest"], division_code):
        request_id = ports.request_sharing(
            session, actor=actor, consumer_department_code=consumer, need=wanted
        )
        out.append({"section": SHARING_KEY, "op": "add", "path": f"/sharing/{wanted.resource_code}",
                    "before": None, "after": request_id,
                    "label": f"申请共享资源 {wanted.resource_code}（{consumer}，申请编号 {request_id}）"})
    return out


def change_json(change: ports.PackChange) -> dict[str, Any]:
    """A change as stored and served (JSON Patch op and path, before, after, label)."""
    return {"op": change.op, "path": change.path, "before": change.before, "after": change.after,
            "label": change.label}


def uninstall(session: Session, *, actor: Actor, pack_id: str, division_code: str) -> Installation:
    """Restore the division's configuration from before the pack was installed, exactly."""
    access.require_division_admin(session, actor=actor, division_code=division_code, what="卸载方案包")
    row = active_installation(session, pack_id=pack_id, division_code=division_code)
    if row is None:
        raise NotFoundError(f"{division_code} 没有安装方案包 {pack_id} (the pack is not installed here)")
    later = session.scalars(
        select(Installation).where(
            Installation.division_code == division_code,
            Installation.state == InstallState.installed,
            Installation.id > row.id,
        )
    ).all()
    clash = [r.pack_id for r in later if set(r.undo) & set(row.undo)]
    if clash:
        raise ConflictError(
            f"之后安装的方案包 {'、'.join(clash)} 改动了同一配置，请先卸载它们再卸载 {pack_id} "
            "(packs installed later change the same settings: uninstall them first)"
        )
    INSTALL_LIFECYCLE.require_move(
        row.state, InstallState.uninstalled, message="该安装已卸载 (already uninstalled)"
    )
    for key in reversed(list(row.undo)):
        _section(key).revert(session, actor=actor, division_code=division_code, undo=row.undo[key])
    withdrawn = [
        c["after"] for c in row.changes
        if c.get("section") == SHARING_KEY and isinstance(c.get("after"), int) and c["after"] > 0
        and ports.withdraw_sharing(session, actor=actor, request_id=c["after"])
    ]
    row.state = InstallState.uninstalled
    row.uninstalled_at = utcnow()
    row.uninstalled_by = access.actor_name(actor)
    session.flush()
    audit.record(
        session, actor=actor, action="reuse.pack_uninstalled", entity_type="reuse_installation",
        entity_id=row.id, division_code=division_code, department_id=row.department_id,
        detail={"pack_id": pack_id, "version": row.version, "withdrawn_requests": withdrawn},
    )
    log.info("pack uninstalled", extra={"installation_id": row.id, "division_code": division_code})
    return row


def get_installation(session: Session, *, actor: Actor, installation_id: int) -> Installation:
    """One installation the actor may see (404 otherwise: its existence is not disclosed)."""
    _signed_in(actor)
    stmt = (
        select(Installation)
        .join(Division, Division.code == Installation.division_code)
        .where(Installation.id == installation_id)
    )
    if not access.is_system(actor):
        stmt = stmt.where(access.visible_installations(access.principal_of(actor)))
    row = session.scalar(stmt)
    if row is None:
        raise NotFoundError("没有这个安装记录 (no such installation)")
    return row


def list_installations(
    session: Session, *, actor: Actor, division_code: str | None = None, pack_id: str | None = None
) -> list[Installation]:
    """Installations the actor may see (its territory's and its departments'), newest first."""
    _signed_in(actor)
    stmt = select(Installation).join(Division, Division.code == Installation.division_code)
    if not access.is_system(actor):
        stmt = stmt.where(access.visible_installations(access.principal_of(actor)))
    if division_code:
        stmt = stmt.where(Installation.division_code == division_code)
    if pack_id:
        stmt = stmt.where(Installation.pack_id == pack_id)
    return list(session.scalars(stmt.order_by(Installation.id.desc()).limit(500)))


def adopter_counts(session: Session) -> dict[str, int]:
    """Divisions where each pack id is installed now (the catalogue's 复用地 column)."""
    rows = session.execute(
        select(Installation.pack_id, func.count())
        .where(Installation.state == InstallState.installed)
        .group_by(Installation.pack_id)
    ).all()
    return {r[0]: int(r[1]) for r in rows}


def export_section(session: Session, *, actor: Actor, division_code: str, key: str) -> dict[str, Any]:
    """One section of a division's configuration as a pack would carry it (for the diff and for tests)."""
    access.require_division_admin(session, actor=actor, division_code=division_code, what="查看配置")
    return _section(key).export(session, division_code=division_code)
