"""Economic monitoring JSON API under /api/v1/economy. Routes stay thin: parse, call a service, serialise."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Path, Query, UploadFile

from govgrid.core.deps import CurrentPrincipal, SessionDep
from govgrid.core.errors import PayloadTooLargeError, ValidationFailedError
from govgrid.economy import schemas as s
from govgrid.economy import tables
from govgrid.economy.enums import AlertStatus
from govgrid.economy.models import Alert, Feed, Indicator, Observation
from govgrid.economy.services import alerts, feeds, monitoring, registry, series, views

router = APIRouter(prefix="/economy", tags=["economy"])
DIVISION = Annotated[str, Query(pattern=r"^\d{6}(\d{3}(\d{3})?)?$", description="行政区划代码")]
CODE = Annotated[str, Path(pattern=r"^[A-Z][A-Z0-9_]{1,31}$")]


def indicator_read(i: Indicator) -> s.IndicatorRead:
    """Serialise a registry entry."""
    return s.IndicatorRead(
        code=i.code,
        name_zh=i.name_zh,
        name_en=i.name_en,
        unit=i.unit,
        frequency=i.frequency,
        line_code=i.line_code,
        division_level=i.division_level,
        definition=i.definition,
    )


def alert_read(a: Alert) -> s.AlertRead:
    """Serialise an alert."""
    return s.AlertRead(
        id=a.id,
        kind=a.kind,
        indicator=a.indicator.code,
        indicator_name=a.indicator.name_zh,
        partner_indicator=a.partner.code if a.partner else None,
        division=a.division_code,
        period=a.period,
        value=a.value,
        unit=a.value_unit,
        expected_low=a.expected_low,
        expected_high=a.expected_high,
        score=a.score,
        explanation=a.explanation,
        status=a.status,
        department=a.department.name,
        due_at=a.due_at,
    )


@router.get("/indicators", response_model=list[s.IndicatorRead])
def list_indicators(session: SessionDep, principal: CurrentPrincipal) -> list[s.IndicatorRead]:
    """The indicator registry (指标目录)."""
    return [indicator_read(i) for i in registry.list_indicators(session)]


@router.post("/indicators", response_model=s.IndicatorRead, status_code=201)
def create_indicator(
    body: s.IndicatorCreate, session: SessionDep, principal: CurrentPrincipal
) -> s.IndicatorRead:
    """Add an indicator (statistics admin)."""
    return indicator_read(registry.create_indicator(session, actor=principal, body=body))


@router.get("/series/{code}", response_model=s.SeriesRead)
def get_series(
    code: CODE, division: DIVISION, session: SessionDep, principal: CurrentPrincipal
) -> s.SeriesRead:
    """Current figures of one indicator in one division with YoY and cumulative growth."""
    g = views.growth(session, principal=principal, division_code=division, indicator_code=code)
    return s.SeriesRead(
        indicator=code,
        division=division,
        unit=g.indicator.unit,
        periods=g.periods,
        values=g.values,
        yoy_pct=g.yoy,
        ytd_pct=g.ytd,
        demo=g.demo,
    )


@router.get("/series/{code}/vintages", response_model=list[s.ObservationRead])
def get_vintages(
    code: CODE, division: DIVISION, session: SessionDep, principal: CurrentPrincipal
) -> list[s.ObservationRead]:
    """Every vintage of a series (revisions kept), newest first."""
    ind = registry.get_indicator(session, code)
    rows: list[Observation] = series.vintages(
        session, principal=principal, division_code=division, indicator=ind
    )
    return [
        s.ObservationRead(
            indicator=ind.code,
            division=o.division_code,
            period=o.period,
            value=o.value,
            unit=ind.unit,
            vintage=o.vintage,
            current=o.current,
            source=o.source,
            recorded_at=o.recorded_at,
        )
        for o in rows
    ]


@router.post("/uploads", response_model=s.ImportResult, status_code=201)
def upload(
    session: SessionDep, principal: CurrentPrincipal, file: Annotated[UploadFile, File()]
) -> s.ImportResult:
    """Import a CSV or .xlsx table (指标代码,区划代码,期别,数值,单位): all rows or none, with row-level
    reasons."""
    data = file.file.read(tables.MAX_BYTES + 1)
    if len(data) > tables.MAX_BYTES:
        raise PayloadTooLargeError(
            f"文件超过 {tables.MAX_BYTES // 1024 // 1024} MB，请拆分后上传 (file too large)"
        )
    if not data:
        raise ValidationFailedError(
            "文件为空 (the file is empty)", details=[{"loc": ["file"], "msg": "empty"}]
        )
    done = series.upload(session, actor=principal, data=data, filename=file.filename or "")
    return s.ImportResult(
        batch_id=done.batch.id, rows=done.written, revised=done.revised, unchanged=done.unchanged
    )


@router.post("/scans", response_model=s.ScanResult, status_code=201)
def scan(division: DIVISION, session: SessionDep, principal: CurrentPrincipal) -> s.ScanResult:
    """Run the anomaly scan and cross-checks of a division now (the scheduler runs it daily)."""
    n, created = monitoring.scan_division(session, actor=principal, division_code=division)
    return s.ScanResult(division=division, series=n, new_alerts=len(created))


@router.get("/alerts", response_model=list[s.AlertRead])
def list_alerts(
    division: DIVISION,
    session: SessionDep,
    principal: CurrentPrincipal,
    status: Annotated[AlertStatus, Query()] = AlertStatus.open,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[s.AlertRead]:
    """Alerts (open by default) of the division's subtree that the caller may see."""
    rows, _ = alerts.list_alerts(
        session, principal=principal, division_code=division, status=status, limit=limit, offset=offset
    )
    return [alert_read(a) for a in rows]


@router.post("/alerts/{alert_id}", response_model=s.AlertRead)
def update_alert(
    alert_id: Annotated[int, Path(ge=1)],
    body: s.AlertUpdate,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> s.AlertRead:
    """The responsible department resolves, dismisses or reopens an alert."""
    a = alerts.update_alert(
        session, actor=principal, alert_id=alert_id, status=AlertStatus(body.status), note=body.note
    )
    return alert_read(a)


def feed_read(f: Feed) -> s.FeedRead:
    """Serialise a feed."""
    return s.FeedRead(
        id=f.id,
        resource_code=f.resource_code,
        indicator=f.indicator.code,
        department_id=f.department_id,
        division_field=f.division_field,
        period_field=f.period_field,
        value_field=f.value_field,
        filters={str(k): str(v) for k, v in f.filters.items()},
        active=f.active,
        last_run_at=f.last_run_at,
        last_status=f.last_status,
    )


@router.get("/feeds", response_model=list[s.FeedRead])
def list_feeds(session: SessionDep, principal: CurrentPrincipal) -> list[s.FeedRead]:
    """Scheduled pulls from the data exchange of the caller's departments."""
    return [feed_read(f) for f in feeds.list_feeds(session, principal=principal)]


@router.post("/feeds", response_model=s.FeedRead, status_code=201)
def create_feed(body: s.FeedCreate, session: SessionDep, principal: CurrentPrincipal) -> s.FeedRead:
    """Set up a scheduled pull of one indicator from a shared resource (pulled daily)."""
    return feed_read(feeds.create_feed(session, actor=principal, body=body))


@router.post("/feeds/{feed_id}/runs", response_model=s.ImportResult, status_code=201)
def run_feed(
    feed_id: Annotated[int, Path(ge=1)], session: SessionDep, principal: CurrentPrincipal
) -> s.ImportResult:
    """Pull a feed now: rows checked like an upload, imported all or nothing."""
    done = feeds.run_feed(session, actor=principal, feed_id=feed_id)
    return s.ImportResult(
        batch_id=done.batch.id, rows=done.written, revised=done.revised, unchanged=done.unchanged
    )
