"""Declared ports between modules: event names and payloads that one module publishes and another consumes.

Modules never import each other; they publish these events with `core.events.publish` (delivered after commit)
and subscribe with `core.events.subscribe`. Shared data is read through the data-pull port at the end
(`pull_record`, `pull_rows`), which the exchange implements.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
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
