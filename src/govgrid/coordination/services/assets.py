"""Assets, hard and soft (硬/软): hardware with utilisation, software systems with the duplication check.

The duplication check (防重复建设) flags a division's *planned* system when a level above it already runs
one of the same kind and offers it to the levels below (集约化: use the province's platform).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from govgrid.coordination.enums import SYSTEM, AssetKind, SystemKind, SystemState
from govgrid.coordination.models import Asset, SoftwareSystem
from govgrid.coordination.services import access
from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor
from govgrid.core.divisions.models import Division
from govgrid.core.errors import NotFoundError

log = logging.getLogger(__name__)
UNDER_USED = 0.3  # below this utilisation a facility is reported as under-used


@dataclass
class AssetData:
    """What registering a piece of hardware needs besides its department."""

    kind: AssetKind
    name: str
    location: str = ""
    lon: float | None = None
    lat: float | None = None
    capacity: float = 0
    capacity_unit: str = ""
    utilisation: float = 0


def add_asset(
    session: Session, *, actor: Actor, department_code: str, data: AssetData, is_demo: bool = False
) -> Asset:
    """Register a piece of hardware of a department."""
    dept = access.department_for_write(session, actor=actor, department_code=department_code)
    asset = Asset(
        kind=AssetKind(data.kind).value,
        name=data.name.strip(),
        division_code=dept.division_code,
        division_path=dept.division.path,
        department_id=dept.id,
        location=data.location,
        lon=data.lon,
        lat=data.lat,
        capacity=data.capacity,
        capacity_unit=data.capacity_unit,
        utilisation=data.utilisation,
        is_demo=is_demo,
    )
    session.add(asset)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="coordination.asset_add",
        entity_type="asset",
        entity_id=asset.id,
        division_code=asset.division_code,
        department_id=dept.id,
        detail={"kind": asset.kind},
    )
    log.info("asset registered", extra={"asset_id": asset.id})
    return asset


def get_asset(session: Session, *, actor: Actor, asset_id: int) -> Asset:
    """One piece of hardware in the actor's scope or territory (404 otherwise)."""
    asset = session.scalar(
        select(Asset).where(
            Asset.id == asset_id, access.records_clause(actor, Asset.department_id, Asset.division_path)
        )
    )
    if asset is None:
        raise NotFoundError(f"设施 {asset_id} 不存在或不在您的范围内 (no such hardware in your scope)")
    audit.record(
        session,
        actor=actor,
        action="coordination.asset_read",
        entity_type="asset",
        entity_id=asset.id,
        division_code=asset.division_code,
        department_id=asset.department_id,
    )
    return asset


def update_asset(session: Session, *, actor: Actor, asset_id: int, data: AssetData) -> Asset:
    """Change a piece of hardware (its department stays; the caller must be able to write there)."""
    asset = get_asset(session, actor=actor, asset_id=asset_id)
    access.department_for_write(session, actor=actor, department_code=asset.department.code)
    before = {"kind": asset.kind, "capacity": asset.capacity, "utilisation": asset.utilisation}
    asset.kind = AssetKind(data.kind).value
    asset.name = data.name.strip()
    asset.location = data.location
    asset.lon, asset.lat = data.lon, data.lat
    asset.capacity, asset.capacity_unit = data.capacity, data.capacity_unit
    asset.utilisation = data.utilisation
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="coordination.asset_update",
        entity_type="asset",
        entity_id=asset.id,
        division_code=asset.division_code,
        department_id=asset.department_id,
        detail={"before": before, "kind": asset.kind, "capacity": asset.capacity,
                "utilisation": asset.utilisation},
    )
    log.info("asset updated", extra={"asset_id": asset.id})
    return asset


def list_assets(session: Session, *, actor: Actor, kind: str | None = None) -> list[Asset]:
    """Hardware in the actor's scope or territory."""
    stmt = select(Asset).where(access.records_clause(actor, Asset.department_id, Asset.division_path))
    if kind:
        stmt = stmt.where(Asset.kind == kind)
    rows = list(session.scalars(stmt.order_by(Asset.division_path, Asset.kind, Asset.id)))
    audit.record(
        session,
        actor=actor,
        action="coordination.assets_read",
        entity_type="asset",
        detail={"count": len(rows)},
    )
    return rows


@dataclass
class UtilisationRow:
    """Hardware of one kind in one division: count, mean utilisation, how many are under-used."""

    division_code: str
    division_name: str
    kind: str
    count: int
    mean_utilisation: float
    under_used: int


def utilisation(session: Session, *, actor: Actor) -> list[UtilisationRow]:
    """Utilisation report by division and kind over the actor's scope."""
    under = func.sum(case((Asset.utilisation < UNDER_USED, 1), else_=0))
    stmt = (
        select(
            Asset.division_code,
            Division.name,
            Asset.kind,
            func.count(Asset.id),
            func.avg(Asset.utilisation),
            under,
        )
        .join(Division, Division.code == Asset.division_code)
        .where(access.records_clause(actor, Asset.department_id, Asset.division_path))
        .group_by(Asset.division_code, Division.name, Asset.kind)
        .order_by(Asset.division_code, Asset.kind)
    )
    rows = [
        UtilisationRow(c, n, k, int(cnt), float(avg or 0), int(u or 0))
        for c, n, k, cnt, avg, u in session.execute(stmt)
    ]
    audit.record(
        session,
        actor=actor,
        action="coordination.utilisation_read",
        entity_type="asset",
        detail={"rows": len(rows)},
    )
    return rows


@dataclass
class SystemData:
    """What registering a software system needs besides its department."""

    kind: SystemKind
    name: str
    platform: str = ""
    state: SystemState = SystemState.planned
    offered_below: bool = False
    users: int = 0
    budget_wan: float = 0


def duplicate_of(session: Session, system: SoftwareSystem) -> SoftwareSystem | None:
    """The operating system of the same kind an upper level offers below, for a planned system (or None)."""
    if system.state != SystemState.planned:
        return None
    upper = [c for c in system.division_path.strip("/").split("/") if c != system.division_code]
    if not upper:
        return None
    return session.scalar(
        select(SoftwareSystem)
        .where(
            SoftwareSystem.kind == system.kind,
            SoftwareSystem.division_code.in_(upper),
            SoftwareSystem.state == SystemState.operating.value,
            SoftwareSystem.offered_below.is_(True),
        )
        .order_by(SoftwareSystem.division_path.desc())
        .limit(1)
    )


def add_system(
    session: Session, *, actor: Actor, department_code: str, data: SystemData, is_demo: bool = False
) -> SoftwareSystem:
    """Register a software system; a planned one is checked against what upper levels already offer."""
    dept = access.department_for_write(session, actor=actor, department_code=department_code)
    system = SoftwareSystem(
        kind=SystemKind(data.kind).value,
        name=data.name.strip(),
        division_code=dept.division_code,
        division_path=dept.division.path,
        department_id=dept.id,
        platform=data.platform,
        state=SystemState(data.state).value,
        offered_below=data.offered_below,
        users=data.users,
        budget_wan=data.budget_wan,
        is_demo=is_demo,
    )
    session.add(system)
    session.flush()
    dup = duplicate_of(session, system)
    system.duplicate_of_id = dup.id if dup else None
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="coordination.system_add",
        entity_type="system",
        entity_id=system.id,
        division_code=system.division_code,
        department_id=dept.id,
        detail={"kind": system.kind, "state": system.state, "duplicate_of": system.duplicate_of_id},
    )
    log.info("system registered", extra={"system_id": system.id, "duplicate_of": system.duplicate_of_id})
    return system


def list_systems(session: Session, *, actor: Actor) -> list[tuple[SoftwareSystem, SoftwareSystem | None]]:
    """Systems in the actor's scope or territory, each with the upper-level system it duplicates (if any)."""
    stmt = select(SoftwareSystem).where(
        access.records_clause(actor, SoftwareSystem.department_id, SoftwareSystem.division_path)
    )
    rows = list(session.scalars(stmt.order_by(SoftwareSystem.division_path, SoftwareSystem.kind)))
    audit.record(
        session,
        actor=actor,
        action="coordination.systems_read",
        entity_type="system",
        detail={"count": len(rows)},
    )
    return [(s, duplicate_of(session, s)) for s in rows]


def move_system(session: Session, *, actor: Actor, system_id: int, state: SystemState) -> SoftwareSystem:
    """Move a system along its lifecycle (e.g. drop a flagged plan: planned -> retired)."""
    system = session.get(SoftwareSystem, system_id)
    if system is None:
        raise NotFoundError(f"系统 {system_id} 不存在 (no such system)")
    access.department_for_write(session, actor=actor, department_code=system.department.code)
    SYSTEM.require_move(
        system.state, state, message=f"系统当前为 {system.state}，不能改为 {state} (not allowed)"
    )
    system.state = SystemState(state).value
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="coordination.system_move",
        entity_type="system",
        entity_id=system.id,
        division_code=system.division_code,
        detail={"state": system.state},
    )
    log.info("system state changed", extra={"system_id": system.id, "state": system.state})
    return system
