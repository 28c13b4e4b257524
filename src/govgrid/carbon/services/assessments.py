"""Assessment runs (核算任务) started from the pages: the engine runs in the background and its progress is
kept on the run; a finished run submits its monitoring report with the engine's outputs attached.

The input set is the engine's synthetic Junshan scene (示例数据集: imagery, plots, soil samples, LiDAR): the
server holds no survey data of its own. Real surveys are run with ``govgrid carbon assess`` where the data
lives, and their ``result.json`` is submitted as a monitoring report (``submit_result``).
"""

from __future__ import annotations

import json
import logging
import tempfile
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.carbon.enums import RunStatus, require_move
from govgrid.carbon.models import AssessmentRun, CarbonProject, MonitoringReport
from govgrid.carbon.services import access, projects, reports
from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor, SystemActor
from govgrid.core.authz import policy
from govgrid.core.authz.principal import Principal
from govgrid.core.db import session_scope, utcnow
from govgrid.core.errors import ConflictError, NotFoundError, ValidationFailedError

log = logging.getLogger(__name__)

ATTACH = ("report.html", "result.json", "fig_landcover.png", "fig_maps.png", "fig_charts.png")
STAGES = {  # stage -> (percent, label)
    "queued": (0, "排队等待"),
    "inputs": (10, "准备输入数据"),
    "engine": (30, "分类、生物量、土壤与碳储量核算"),
    "report": (85, "生成监测报告并附加成果文件"),
    "done": (100, "已完成"),
    "failed": (100, "失败"),
}
_engine_lock = threading.Lock()  # one engine run at a time: it uses every core of the machine


def mrv_figures(result: Any) -> dict[str, Any]:
    """The figures of an engine result the MRV report needs: land cover and pools per class, Monte Carlo."""
    stocks = result.stocks
    return {
        "areas_ha": {str(y): {str(k): float(a) for k, a in v.items()} for y, v in stocks["areas_ha"].items()},
        "pools": {
            str(y): {str(k): {p: float(x) for p, x in row.items()} for k, row in v.items()}
            for y, v in stocks["pools"].items()
        },
        "monte_carlo": {
            k: float(v)
            for k, v in result.monte_carlo.items()
            if isinstance(v, int | float) and not isinstance(v, bool)
        },
        "pixel_area_ha": float(result.area_ha),
    }


def _proponent(session: Session, actor: Actor, project: CarbonProject) -> None:
    """Only the proponent department's operator/admin starts a run."""
    p = access.principal_of(actor)
    if p is not None:
        policy.require(
            session, p, project.department_id, access.PROPONENT_ROLES, what="该碳汇项目 (this carbon project)"
        )


def start_run(session: Session, *, actor: Actor, project_id: int) -> AssessmentRun:
    """Queue an engine run for a project (the proponent); refused while another run of it is unfinished."""
    project = session.get(CarbonProject, project_id)
    if project is None:
        raise NotFoundError(f"碳汇项目 {project_id} 不存在 (no carbon project {project_id})")
    _proponent(session, actor, project)
    busy = session.scalar(
        select(AssessmentRun.id).where(
            AssessmentRun.project_id == project.id,
            AssessmentRun.status.in_([RunStatus.queued, RunStatus.running]),
        )
    )
    if busy is not None:
        raise ConflictError(
            f"该项目已有核算任务 #{busy} 在运行，请等待其完成 (a run of this project is still going)",
            code="run_in_progress",
        )
    run = AssessmentRun(
        project_id=project.id,
        status=RunStatus.queued,
        stage="queued",
        progress=0,
        started_by=access.holder_name(actor),
    )
    session.add(run)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="carbon.run_start",
        entity_type="carbon_run",
        entity_id=run.id,
        division_code=project.division_code,
        department_id=project.department_id,
        detail={"project": project.code},
    )
    log.info("assessment run queued", extra={"run_id": run.id, "project_id": project.id, "to": "queued"})
    return run


def get_run(session: Session, *, principal: Principal, run_id: int) -> AssessmentRun:
    """One run of a visible project."""
    run = session.get(AssessmentRun, run_id)
    if run is None:
        raise NotFoundError(f"核算任务 {run_id} 不存在 (no assessment run {run_id})")
    projects.get_project(session, principal=principal, project_id=run.project_id)
    return run


def project_runs(session: Session, *, project_id: int) -> list[AssessmentRun]:
    """The runs of a project, newest first."""
    return list(
        session.scalars(
            select(AssessmentRun)
            .where(AssessmentRun.project_id == project_id)
            .order_by(AssessmentRun.id.desc())
        )
    )


def stage_label(stage: str) -> str:
    """The Chinese label of a run stage."""
    return STAGES.get(stage, (0, stage))[1]


Scope = Callable[[], AbstractContextManager[Session]]


def _move(scope: Scope, run_id: int, stage: str, status: RunStatus | None = None, **values: Any) -> None:
    """Record a run's stage (and status) in its own short transaction, so the page sees it at once."""
    with scope() as session:
        run = session.get(AssessmentRun, run_id)
        if run is None:
            return
        if status is not None and status != run.status:
            require_move(run.status, status, message=f"核算任务已是 {run.status} (run already {run.status})")
            log.info("assessment run moved", extra={"run_id": run_id, "from": run.status, "to": status.value})
            run.status = status
        run.stage = stage
        run.progress = STAGES[stage][0]
        for k, v in values.items():
            setattr(run, k, v)


def execute_run(run_id: int, *, scope: Scope = session_scope) -> None:
    """Run the engine for a queued run and submit its report; every failure is kept on the run."""
    actor = SystemActor("carbon-assessment")
    try:
        with _engine_lock:
            _move(scope, run_id, "inputs", RunStatus.running)
            from govgrid.carbon.engine.assessment import run_assessment
            from govgrid.carbon.engine.demo import generate_demo_inputs

            with tempfile.TemporaryDirectory(prefix="govgrid-carbon-run-") as tmp:
                config = generate_demo_inputs(Path(tmp) / "inputs")
                _move(scope, run_id, "engine")
                result = run_assessment(config, out_dir=Path(tmp) / "output")
                _move(scope, run_id, "report")
                with scope() as session:
                    run = session.get(AssessmentRun, run_id)
                    if run is None:
                        return
                    report = record_result(session, actor=actor, project_id=run.project_id, result=result)
                    report_id = report.id
        _move(scope, run_id, "done", RunStatus.done, report_id=report_id, finished_at=utcnow())
    except Exception as exc:  # the engine raises many types; the run keeps a message a person can read
        log.exception("assessment run failed", extra={"run_id": run_id})
        message = getattr(exc, "message", None) or "核算引擎运行失败，请联系管理员 (the engine run failed)"
        _move(scope, run_id, "failed", RunStatus.failed, message=str(message)[:500], finished_at=utcnow())


def launch(run_id: int) -> None:
    """Start ``execute_run`` in a background thread (the page polls the run's progress)."""
    threading.Thread(target=execute_run, args=(run_id,), name=f"carbon-run-{run_id}", daemon=True).start()


def result_summary(result: Any) -> dict[str, Any]:
    """The figures of an engine result kept with its report (for pages, verifiers and the MRV report)."""
    credit = dict(result.credit)
    credit.pop("equations", None)
    return {
        "annual_sink_tco2e": float(result.annual_sink_tco2e),
        "interval_90_tco2e": [float(x) for x in result.interval_90_tco2e],
        "stocks_tc": {str(k): float(v) for k, v in result.stocks.get("total_tc", {}).items()},
        "credit": credit,
        "classification": {
            k: v for k, v in result.classification.items() if isinstance(v, int | float | str)
        },
        "demo": True,
    } | mrv_figures(result)


def record_result(session: Session, *, actor: Actor, project_id: int, result: Any) -> MonitoringReport:
    """Submit an engine result as the project's monitoring report and attach the engine's outputs."""
    project = session.get(CarbonProject, project_id)
    if project is None:
        raise NotFoundError(f"碳汇项目 {project_id} 不存在 (no carbon project {project_id})")
    report = reports.submit_report(
        session,
        actor=actor,
        project_id=project.id,
        vintage_start=result.vintage_start,
        vintage_end=result.vintage_end,
        methodology=result.methodology,
        net_creditable_tco2e=result.net_creditable_tco2e,
        area_ha=result.area_ha,
        input_hashes=result.input_hashes,
        summary=result_summary(result),
    )
    out = Path(result.report_html).parent
    for name in (*ATTACH, f"landcover_{result.vintage_start}.tif", f"landcover_{result.vintage_end}.tif"):
        path = out / name
        if path.exists():
            reports.add_report_file(
                session,
                actor=actor,
                report_id=report.id,
                name=name,
                content=path.read_bytes(),
                generated=True,
            )
    return report


def submit_result(session: Session, *, actor: Actor, project_id: int, data: bytes) -> MonitoringReport:
    """Submit the ``result.json`` of an engine run made elsewhere (its figures and input hashes)."""
    try:
        doc = json.loads(data.decode("utf-8"))
        vintage_start, vintage_end = int(doc["vintage_start"]), int(doc["vintage_end"])
        methodology = str(doc["methodology"])
        net, area = float(doc["net_creditable_tco2e"]), float(doc["area_ha"])
        hashes = {str(k): str(v) for k, v in dict(doc["input_hashes"]).items()}
        stocks = dict(doc.get("stocks") or {}).get("total_tc", {})
        summary = {"stocks_tc": {str(k): v for k, v in dict(stocks).items()}}
    except (UnicodeDecodeError, ValueError, KeyError, TypeError):
        raise ValidationFailedError(
            "须为核算引擎输出的 result.json (not an engine result.json)",
            details=[{"loc": ["result_file"], "msg": "vintage_start, vintage_end, methodology... required"}],
        ) from None
    return reports.submit_report(
        session,
        actor=actor,
        project_id=project_id,
        vintage_start=vintage_start,
        vintage_end=vintage_end,
        methodology=methodology,
        net_creditable_tco2e=net,
        area_ha=area,
        input_hashes=hashes,
        summary=summary,
    )


def sample_boundary() -> dict[str, Any]:
    """The outline of the engine's example scene (示例边界) as GeoJSON in WGS 84: a project registered
    with it matches the example input set of ``execute_run``."""
    import shapely
    from pyproj import Transformer
    from shapely.geometry import box, mapping

    from govgrid.carbon.engine import demo as engine_demo

    x0, y0 = engine_demo.origin()
    side = engine_demo.SIZE * engine_demo.RES
    scene = box(x0, y0 - side, x0 + side, y0).segmentize(150)
    to_wgs = Transformer.from_crs(engine_demo.EPSG, 4326, always_xy=True)
    geom = shapely.transform(scene, lambda x, y: to_wgs.transform(x, y), interleaved=False)
    return {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "geometry": mapping(geom), "properties": {"name": "示例边界"}}],
    }
