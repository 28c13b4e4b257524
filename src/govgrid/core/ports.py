"""Declared ports between modules: event names and payloads that one module publishes and another consumes.

Modules never import each other; they publish these events with `core.events.publish` (delivered after commit)
and subscribe with `core.events.subscribe`. Shared data is read through the data-pull port at the end
(`pull_record`, `pull_rows`), which the exchange implements.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from govgrid.core.authz.principal import Principal
from govgrid.core.errors import UnavailableError
from govgrid.core.events import publish

# A citizen concern (e.g. an appeals ticket) that is a city-management event:
# the city map files it as an event.
CITY_EVENT_REPORTED = "citymap.event_reported"
# The city map closed a case that came from another module: the source can tell the citizen.
CITY_CASE_CLOSED = "citymap.case_closed"


@dataclass(frozen=True)
class CityEventReport:
    """A city-management event reported by another module (payload of CITY_EVENT_REPORTED)."""

    source: str  # the publishing module, e.g. "appeals"
    external_ref: str  # the source's id, e.g. the ticket number
    category: str  # the source's category code (the consumer maps it to a GB/T 30428 event class)
    description: str
    lon: float
    lat: float
    division_code: str | None
    reported_at: str  # ISO 8601 with timezone


@dataclass(frozen=True)
class CityCaseClosed:
    """The outcome of a forwarded event (payload of CITY_CASE_CLOSED)."""

    source: str
    external_ref: str
    case_code: str
    result: str
    closed_at: str
    handled: bool = True  # False: declined (不予立案), closed without being handled


def report_city_event(session: Session, report: CityEventReport) -> None:
    """Publish a city event for the city map (delivered after the caller's commit)."""
    publish(session, CITY_EVENT_REPORTED, **asdict(report))


def report_case_closed(session: Session, closed: CityCaseClosed) -> None:
    """Publish the closure of a forwarded case back to its source."""
    publish(session, CITY_CASE_CLOSED, **asdict(closed))


# --- Data pulls: a module reads another module's shared data (e.g. the exchange's resources) through a grant.
#
# The exchange registers the one provider (`govgrid.exchange.port`); consumers (services pre-fill, economy,
# market) call `pull_record` / `pull_rows`. The provider decides field scope, row filter and masking, counts
# the call against the grant and writes one audit record with the purpose, exactly like any gateway read.


@dataclass(frozen=True)
class PulledRows:
    """Rows of a shared resource as served to a consumer department (masked where its grant masks)."""

    resource_code: str
    rows: list[dict[str, Any]]
    fields: list[str]
    masked_fields: list[str]  # served fields whose values are masked (e.g. 4101**********1234)
    grant_id: int | None  # None when the consumer department is the provider itself
    provider_department_id: int | None = None


class DataProvider(Protocol):
    """What a data provider implements: rows of a resource matching equality filters, for a department."""

    def __call__(
        self,
        session: Session,
        *,
        actor: Principal,
        department_id: int | None,
        resource_code: str,
        filters: dict[str, str],
        purpose: str,
        limit: int,
    ) -> PulledRows: ...


DATA_PROVIDERS: list[DataProvider] = []


def register_data_provider(provider: DataProvider) -> None:
    """Install the data provider (the exchange does this when its module is loaded); the last one wins."""
    DATA_PROVIDERS.clear()
    DATA_PROVIDERS.append(provider)


def pull_rows(
    session: Session,
    *,
    actor: Principal,
    resource_code: str,
    purpose: str,
    department_id: int | None = None,
    filters: dict[str, str] | None = None,
    limit: int = 100,
) -> PulledRows:
    """Rows of a shared resource, read through the provider's gateway under a grant, masked and audited.

    `actor` is who asks (audited); `department_id` is the consumer department whose grant is used (the actor's
    own departments when None; a module passes the department handling a case when a citizen's action pulls
    data, after it has checked that the actor may act on that case). `filters` are equality on unmasked
    granted items. `purpose` is logged with the call (say which case, e.g. "一网通办预填 SV-2026-000001").
    Raises `UnavailableError` without a provider, and the provider's 401/403/404/422 errors."""
    if not DATA_PROVIDERS:
        raise UnavailableError("数据共享交换未启用，无法获取共享数据 (the data exchange is not enabled)")
    return DATA_PROVIDERS[0](
        session,
        actor=actor,
        department_id=department_id,
        resource_code=resource_code,
        filters=dict(filters or {}),
        purpose=purpose,
        limit=limit,
    )


def pull_record(
    session: Session,
    *,
    actor: Principal,
    resource_code: str,
    key: dict[str, str],
    purpose: str,
    department_id: int | None = None,
) -> PulledRows | None:
    """The one record of a resource whose key items equal `key` (e.g. {"id_number": ...}), or None.

    The same rules as `pull_rows`; the key items must be granted in clear (a masked item cannot be
    searched)."""
    pulled = pull_rows(
        session,
        actor=actor,
        resource_code=resource_code,
        purpose=purpose,
        department_id=department_id,
        filters=key,
        limit=1,
    )
    return pulled if pulled.rows else None


# --- Measures: figures a module computes from its own tables for a division subtree (统筹: targets, tasks).
#
# Each module that has figures registers one provider at import (`appeals/measures.py`,
# `services/measures.py`, `exchange/measures.py`, `citymap/measures.py`); the coordination module reads
# them with `measures(...)` to compute the progress of measure-backed tasks and the province overview.
# Figures are aggregates (no personal data); the caller decides who may see a division's figures.

MEASURE_BETTER = ("higher", "lower")


@dataclass(frozen=True)
class Measure:
    """One named figure: key (module.name), titles, unit ("ratio": a fraction 0..1), which way is better."""

    key: str
    title_zh: str
    title_en: str
    unit: str
    better: str = "higher"  # "higher" or "lower"


class MeasureFunction(Protocol):
    """Computes a provider's figures for the subtree of `division_code` over [start, end)."""

    def __call__(
        self, session: Session, *, division_code: str, start: datetime, end: datetime
    ) -> dict[str, float | None]: ...


@dataclass(frozen=True)
class MeasureProvider:
    """A module's measures and the function computing them (None where there is nothing to count)."""

    module: str
    measures: tuple[Measure, ...]
    compute: MeasureFunction


MEASURE_PROVIDERS: dict[str, MeasureProvider] = {}


def register_measures(provider: MeasureProvider) -> None:
    """Install a module's measure provider (at import of the module; registering again replaces it)."""
    for m in provider.measures:
        if m.better not in MEASURE_BETTER:
            raise ValueError(f"measure {m.key}: better must be higher or lower")
    MEASURE_PROVIDERS[provider.module] = provider


def measure_catalog() -> dict[str, Measure]:
    """Every registered measure by key, in registration order."""
    return {m.key: m for p in MEASURE_PROVIDERS.values() for m in p.measures}


def measures(session: Session, division_code: str, start: datetime, end: datetime) -> dict[str, float | None]:
    """Every registered measure of the subtree of `division_code` over [start, end), by key."""
    out: dict[str, float | None] = {}
    for provider in MEASURE_PROVIDERS.values():
        values = provider.compute(session, division_code=division_code, start=start, end=end)
        out.update({m.key: values.get(m.key) for m in provider.measures})
    return out


# A county (or township) was onboarded as a tenant of a province or city deployment (统筹: hosting lower
# levels). Payload: division_code, department_codes (the standard 条 lines created), admin_username, by.
# Modules may subscribe to seed their own starting data for the new division (catalog entries, service items).
TENANT_ONBOARDED = "coordination.tenant_onboarded"


# --- Pack sections (一地创新、多地复用): a module's configuration of one division, exported into a solution
# pack and applied to another division. Each module that can be packed registers its sections at import
# (`appeals/packs.py`, ...); the reuse module exports, plans, applies and reverts them. `export` returns plain
# JSON (no personal data, no ids: codes only); `plan` turns a pack's content and the adopter's parameter
# mapping into a list of changes without writing (it raises ValidationFailedError when the content cannot be
# applied there); `apply` writes the plan in the caller's transaction and returns the undo record (JSON);
# `revert` restores the state the undo record describes, exactly. An exported content may carry a top-level
# "sharing_needs" list ({resource_code, purpose, fields, consumer_line}); the reuse module moves it into the
# manifest's "sharing", checks it in the preview (`check_sharing`), files it on install (`request_sharing`)
# and withdraws what is still pending on uninstall (`withdraw_sharing`).


@dataclass(frozen=True)
class PackChange:
    """One change a plan would make: a JSON Patch style op on a path of the section's content, zh-CN label."""

    op: str  # "add" | "replace" | "remove"
    path: str  # e.g. "/categories/garbage/resolve_days"
    before: Any
    after: Any
    label: str  # what a person reads in the diff, zh-CN


class PackExport(Protocol):
    """The section's configuration of one division, as JSON."""

    def __call__(self, session: Session, *, division_code: str) -> dict[str, Any]: ...


class PackPlan(Protocol):
    """The changes installing `content` with `mapping` would make in a division (nothing written)."""

    def __call__(
        self, session: Session, *, division_code: str, content: dict[str, Any], mapping: dict[str, Any]
    ) -> list[PackChange]: ...


class PackApply(Protocol):
    """Write a plan's changes for a division; returns the undo record."""

    def __call__(
        self, session: Session, *, actor: Any, division_code: str, plan: list[PackChange]
    ) -> dict[str, Any]: ...


class PackRevert(Protocol):
    """Restore the state an undo record describes."""

    def __call__(
        self, session: Session, *, actor: Any, division_code: str, undo: dict[str, Any]
    ) -> None: ...


@dataclass(frozen=True)
class PackSection:
    """A section of a solution pack a module can export and apply (e.g. appeals: categories, routing,
    deadlines)."""

    module: str
    name: str
    title_zh: str
    export: PackExport
    plan: PackPlan
    apply: PackApply
    revert: PackRevert


PACK_SECTIONS: dict[tuple[str, str], PackSection] = {}


def register_pack_section(section: PackSection) -> None:
    """Install a module's pack section (at import of the module; registering again replaces it)."""
    PACK_SECTIONS[(section.module, section.name)] = section


def pack_sections(module: str | None = None) -> list[PackSection]:
    """The registered pack sections (of one module when given), in registration order."""
    return [s for (m, _n), s in PACK_SECTIONS.items() if module is None or m == module]


@dataclass(frozen=True)
class SharingNeed:
    """A shared resource a pack needs in the adopter's division: filed as a sharing request on install."""

    resource_code: str
    purpose: str
    fields: tuple[str, ...] = ()
    consumer_line: str = "government"  # the adopter's department (line) that will use the data


class SharingRequester(Protocol):
    """Files a sharing request for a consumer department; returns the request's id."""

    def __call__(
        self, session: Session, *, actor: Any, consumer_department_code: str, need: SharingNeed
    ) -> int: ...


class SharingChecker(Protocol):
    """Why a need cannot be filed for a consumer department (zh-CN), or None when it can (writes nothing)."""

    def __call__(
        self, session: Session, *, consumer_department_code: str, need: SharingNeed
    ) -> str | None: ...


class SharingWithdrawer(Protocol):
    """Withdraw a request filed for a pack if it is still pending; True if it was withdrawn."""

    def __call__(self, session: Session, *, actor: Any, request_id: int) -> bool: ...


SHARING_REQUESTERS: list[SharingRequester] = []
SHARING_CHECKERS: list[SharingChecker] = []
SHARING_WITHDRAWERS: list[SharingWithdrawer] = []


def register_sharing_requester(
    requester: SharingRequester,
    *,
    check: SharingChecker | None = None,
    withdraw: SharingWithdrawer | None = None,
) -> None:
    """Install the functions that file, check and withdraw sharing requests (the exchange's; last wins)."""
    SHARING_REQUESTERS[:] = [requester]
    SHARING_CHECKERS[:] = [check] if check is not None else []
    SHARING_WITHDRAWERS[:] = [withdraw] if withdraw is not None else []


def check_sharing(session: Session, *, consumer_department_code: str, need: SharingNeed) -> str | None:
    """Why the registered requester could not file the need (None: it can, or no checker is registered)."""
    if not SHARING_CHECKERS:
        return None
    return SHARING_CHECKERS[0](session, consumer_department_code=consumer_department_code, need=need)


def withdraw_sharing(session: Session, *, actor: Any, request_id: int) -> bool:
    """Withdraw a pack's request if still pending (False when decided already or no withdrawer exists)."""
    if not SHARING_WITHDRAWERS:
        return False
    return SHARING_WITHDRAWERS[0](session, actor=actor, request_id=request_id)


def request_sharing(session: Session, *, actor: Any, consumer_department_code: str, need: SharingNeed) -> int:
    """File a sharing request through the registered requester (503 when the exchange offers none)."""
    if not SHARING_REQUESTERS:
        raise UnavailableError(
            f"数据共享交换未提供共享申请接口，无法为方案包申请资源 {need.resource_code} "
            "(no sharing requester is registered)"
        )
    return SHARING_REQUESTERS[0](
        session, actor=actor, consumer_department_code=consumer_department_code, need=need
    )


# --- Data use (数据制度: 收益分配, 安全治理): the exchange's audited use of shared data, read by the
# institutions module for the contribution ledger (贡献台账) and the security register (分类分级). The
# exchange registers one provider (`exchange/usage.py`). Figures name departments, resources and purposes,
# never records or persons.


@dataclass(frozen=True)
class DataUse:
    """Served gateway calls of one resource to one consumer for one purpose and call kind over a period."""

    resource_code: str
    resource_name: str
    provider_department_id: int
    provider_line_code: str
    provider_division_code: str
    consumer_department_id: int | None
    consumer_name: str
    kind: str  # records / verify / datastore
    purpose: str
    calls: int
    rows: int
    last_at: datetime


@dataclass(frozen=True)
class DataResourceInfo:
    """A catalog resource as the security register needs it (sharing type, catalog grade, personal items)."""

    code: str
    name: str
    provider_department_id: int
    line_code: str
    division_code: str
    division_path: str
    sharing_type: str  # unconditional / conditional / none
    open_type: str
    catalog_grade: str  # general / important / core
    personal_items: tuple[str, ...]
    sensitive_items: tuple[str, ...]


@dataclass(frozen=True)
class DataRefusal:
    """A gateway call refused (audited): a candidate security incident."""

    audit_seq: int
    at: datetime
    resource_code: str
    actor: str  # "<kind>:<id>"
    reason: str  # not_visible / no_grant / ...


class DataUseFunction(Protocol):
    """Served use of the resources provided in the subtree of `division_code` over [start, end)."""

    def __call__(
        self, session: Session, *, start: datetime, end: datetime, division_code: str
    ) -> list[DataUse]: ...


class DataResourceFunction(Protocol):
    """The catalog resources provided in the subtree of `division_code`."""

    def __call__(self, session: Session, *, division_code: str) -> list[DataResourceInfo]: ...


class DataRefusalFunction(Protocol):
    """Refused calls to resources provided in the subtree of `division_code` over [start, end)."""

    def __call__(
        self, session: Session, *, start: datetime, end: datetime, division_code: str
    ) -> list[DataRefusal]: ...


@dataclass(frozen=True)
class DataUseProvider:
    """The three readers of the data-use port (the exchange's)."""

    uses: DataUseFunction
    resources: DataResourceFunction
    refusals: DataRefusalFunction


DATA_USE_PROVIDERS: list[DataUseProvider] = []


def register_data_use(provider: DataUseProvider) -> None:
    """Install the data-use provider (the exchange's; the last one wins)."""
    DATA_USE_PROVIDERS.clear()
    DATA_USE_PROVIDERS.append(provider)


def data_use_provider() -> DataUseProvider:
    """The registered provider, or 503 when the exchange is not loaded."""
    if not DATA_USE_PROVIDERS:
        raise UnavailableError(
            "数据共享交换未加载，无法读取数据使用记录 (no data-use provider is registered)"
        )
    return DATA_USE_PROVIDERS[0]


def data_use(session: Session, *, start: datetime, end: datetime, division_code: str) -> list[DataUse]:
    """Served use of the subtree's resources over [start, end), per resource, consumer and purpose."""
    return data_use_provider().uses(session, start=start, end=end, division_code=division_code)


def data_resources(session: Session, *, division_code: str) -> list[DataResourceInfo]:
    """The catalog resources provided in the subtree of `division_code`."""
    return data_use_provider().resources(session, division_code=division_code)


def data_refusals(
    session: Session, *, start: datetime, end: datetime, division_code: str
) -> list[DataRefusal]:
    """Refused gateway calls to the subtree's resources over [start, end)."""
    return data_use_provider().refusals(session, start=start, end=end, division_code=division_code)
