"""Junshan wetland registry demo (君山湿地碳汇示例): engine run -> project -> report -> verification
-> issuance -> transfer -> retirement, and a refused second issuance over the same area and vintage.

Every input is the engine's seeded synthetic demo data (labelled DEMO); the loader is idempotent.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import shapely
from pyproj import Transformer
from shapely.geometry import box, mapping
from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.carbon.models import CarbonProject, MonitoringReport
from govgrid.carbon.serials import serial_label
from govgrid.carbon.services import accounts, alerts, assessments, credits, projects, reports
from govgrid.core.audit.service import Actor, SystemActor
from govgrid.core.authz.principal import Principal
from govgrid.core.errors import AppError, ConflictError
from govgrid.core.identity import service as identity
from govgrid.core.identity.models import User
from govgrid.core.modules import DemoContext

log = logging.getLogger(__name__)

ACTOR = SystemActor("demo-loader")
PROJECT_NAME = "君山湿地退林退耕还湿碳汇项目（示例）"
ENTERPRISE = "岳阳绿源纸业有限公司（示例企业）"
USERS = [
    ("jsh_forestry", "君山区林业局项目专员", "430611-forestry", "operator", "department"),
    ("jsh_ecology", "君山区生态环境局值班员", "430611-ecology_environment", "operator", "department"),
    ("yy_verifier", "岳阳市生态环境核查机构（示例第三方）", "430600-ecology_environment", "verifier", "line"),
    ("hn_registry", "湖南省生态环境厅碳汇登记簿管理员", "430000-ecology_environment", "admin", "line"),
]
ATTACH = ("report.html", "report.pdf", "result.json", "fig_landcover.png", "fig_maps.png", "fig_charts.png")


def _principal(session: Session, username: str) -> Principal:
    """The principal of a demo user the loader has just ensured."""
    user_id = session.scalar(select(User.id).where(User.username == username))
    principal = identity.load_user_principal(session, user_id) if user_id is not None else None
    if principal is None:
        raise RuntimeError(f"carbon demo: user {username} is missing")
    return principal


def scene_boundary(landcover_tif: Path) -> dict[str, Any]:
    """The WGS 84 footprint of the engine's demo scene (the project covers the whole scene the engine
    accounts)."""
    import rasterio

    with rasterio.open(landcover_tif) as src:
        b = src.bounds
        to_wgs = Transformer.from_crs(src.crs, 4326, always_xy=True)
    scene = box(b.left, b.bottom, b.right, b.top).segmentize(150)
    geom = shapely.transform(scene, lambda x, y: to_wgs.transform(x, y), interleaved=False)
    return mapping(geom)


def _cache_root() -> Path:
    """Where the demo's engine run is kept between processes (the user's cache folder)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "govgrid" / "carbon-demo"


def _run_engine(work: Path) -> Any:
    """Generate the seeded inputs and run the whole assessment in ``work`` (imports the engine)."""
    from govgrid.carbon.engine.assessment import run_assessment
    from govgrid.carbon.engine.demo import generate_demo_inputs

    return run_assessment(generate_demo_inputs(work / "inputs"), out_dir=work / "output")


def _engine_key() -> str:
    """A digest of the engine's source files: a kept run is reused only with the engine that made it (found
    without importing the engine, whose libraries take seconds to load)."""
    spec = importlib.util.find_spec("govgrid.carbon.engine")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("govgrid.carbon.engine is not installed")
    root = Path(next(iter(spec.submodule_search_locations)))
    digest = hashlib.sha256()
    for f in sorted(root.rglob("*.py")):
        digest.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes())
    return digest.hexdigest()[:16]


def demo_assessment(work: Path, *, run: Callable[[Path], Any]) -> Any:
    """The engine's seeded Junshan run (about 25 s with the engine's imports): run once per engine version,
    then read back from the cache folder (its outputs and ``result.json``) in milliseconds. Without a
    writable cache folder every call runs the engine in ``work``."""
    cache = _cache_root() / _engine_key()
    if not (cache / "result.json").is_file():
        result = run(work)
        staging: Path | None = None
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=cache.parent))
            shutil.copytree(Path(result.result_json).parent, staging, dirs_exist_ok=True)
            staging.replace(cache)  # atomic: a concurrent loader sees the whole run or none
        except OSError:  # unwritable, or another loader cached it first: use this run as it is
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
            log.info("carbon demo run not cached", extra={"cached": (cache / "result.json").is_file()})
            return result
    data = json.loads((cache / "result.json").read_text(encoding="utf-8"))
    made_in = Path(data["result_json"]).parent

    def here(path: str) -> str:
        p = Path(path)
        return str(cache / p.relative_to(made_in)) if p.is_relative_to(made_in) else path

    for key in ("report_html", "report_pdf", "result_json"):
        data[key] = here(data[key])
    data["rasters"] = {k: here(v) for k, v in data.get("rasters", {}).items()}
    data["interval_90_tco2e"] = tuple(data["interval_90_tco2e"])
    return SimpleNamespace(**data)  # the engine's AssessmentResult fields, without importing the engine


def report_summary(result: Any) -> dict[str, Any]:
    """The figures of an engine result kept with the report (for pages and verifiers)."""
    credit = dict(result.credit)
    credit.pop("equations", None)
    return {
        "project": result.project,
        "annual_sink_tco2e": result.annual_sink_tco2e,
        "interval_90_tco2e": list(result.interval_90_tco2e),
        "stocks_tc": {str(k): v for k, v in result.stocks.get("total_tc", {}).items()},
        "credit": credit,
        "classification": {k: v for k, v in result.classification.items() if not isinstance(v, list | dict)},
        "demo": True,
    } | assessments.mrv_figures(result)


def record_run(session: Session, *, actor: Actor, project: CarbonProject, result: Any) -> MonitoringReport:
    """Submit an engine result as a monitoring report and attach its outputs (report, figures, land cover)."""
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
        summary=report_summary(result),
    )
    out = Path(result.report_html).parent
    names = [*ATTACH, f"landcover_{result.vintage_start}.tif", f"landcover_{result.vintage_end}.tif"]
    for name in names:
        path = out / name
        if path.exists():
            # the server ran the engine itself: its HTML report may be shown as a page (uploads never are)
            reports.add_report_file(
                session,
                actor=actor,
                report_id=report.id,
                name=name,
                content=path.read_bytes(),
                generated=True,
            )
    return report


def load_demo(session: Session, ctx: DemoContext) -> None:
    """Load the Junshan registry demo (idempotent: a second call adds nothing)."""
    for username, display, dept, role, reach in USERS:
        identity.ensure_user_with_role(
            session,
            actor=ACTOR,
            username=username,
            password=ctx.password,
            display_name=display,
            department_code=dept,
            role=role,
            reach=reach,
            is_demo=True,
        )
        ctx.users[username] = f"{display} · {role} ({reach})"
    if session.scalar(select(CarbonProject.id).where(CarbonProject.name == PROJECT_NAME)) is not None:
        return
    proponent = _principal(session, "jsh_forestry")
    verifier = _principal(session, "yy_verifier")
    registrar = _principal(session, "hn_registry")
    with tempfile.TemporaryDirectory(prefix="govgrid-carbon-demo-") as tmp:
        try:
            result = demo_assessment(Path(tmp), run=_run_engine)
        except ImportError as exc:  # the engine is a separate piece of work; the registry stays usable
            ctx.printed.append(f"碳汇示例跳过：引擎不可用 (carbon demo skipped, engine unavailable: {exc})")
            return
        boundary = scene_boundary(Path(result.rasters[f"landcover_{result.vintage_end}"]))
        project = projects.create_project(
            session,
            actor=proponent,
            name=PROJECT_NAME,
            department_code="430611-forestry",
            methodology=result.methodology,
            wetland_type="lake",
            tidal=False,
            soil="mineral",
            boundary=boundary,
            crediting_start=date(result.vintage_start, 1, 1),
            crediting_end=date(result.vintage_start + 20, 12, 31),
            description=(
                "东洞庭湖君山湿地：遥感影像、无人机 LiDAR、土壤采样支撑的碳汇核算。示例数据，非真实调查。"
            ),
            is_demo=True,
        )
        report = record_run(session, actor=proponent, project=project, result=result)
    reports.verify_report(
        session,
        actor=verifier,
        report_id=report.id,
        approve=True,
        statement="示例核查：输入文件哈希与报告一致，方法学适用（内陆矿质土湿地），数据可复现。",
    )
    loss, alert = alerts.check_report_landcover(session, actor=ACTOR, report_id=report.id)
    ctx.printed.append(
        f"碳汇: 项目 {project.code} 湿地流失 {loss.lost_ha:.2f} ha"
        + (f"，已生成保护预警 #{alert.id}" if alert else "（未超过阈值）")
    )
    if report.net_creditable_tco2e < 1:
        ctx.printed.append(
            f"碳汇: 引擎核算可签发量为 {report.net_creditable_tco2e:.2f} tCO2e，不足 1 吨，示例未签发 "
            "(engine returned no creditable tonnes: issuance skipped)"
        )
        return
    iss = credits.issue(session, actor=registrar, report_id=report.id)
    enterprise = accounts.create_account(
        session, actor=registrar, holder_name=ENTERPRISE, department_code=None, division_code="430600"
    )
    moved = max(1, iss.quantity * 4 // 10)
    credits.transfer(
        session, actor=proponent, from_account_id=iss.account_id, to_account_id=enterprise.id, quantity=moved
    )
    credits.retire(
        session,
        actor=registrar,
        account_id=enterprise.id,
        quantity=max(1, moved // 2),
        beneficiary=ENTERPRISE,
        reason="2024 年度企业碳中和声明（示例）",
    )
    credits.retire(
        session,
        actor=proponent,
        account_id=iss.account_id,
        quantity=max(1, iss.quantity // 10),
        beneficiary="君山区人民政府",
        reason="君山区公共机构 2024 年度碳中和（示例）",
    )
    label = serial_label(project.code, iss.vintage_start, iss.vintage_end, iss.serial_start, iss.serial_end)
    ctx.printed.append(f"碳汇: 签发 {label}（{iss.quantity} tCO2e），转让 {moved} 给 {ENTERPRISE}，部分注销")
    _show_double_issuance_refused(session, ctx, proponent, verifier, registrar, project, report)


def _show_double_issuance_refused(
    session: Session,
    ctx: DemoContext,
    proponent: Principal,
    verifier: Principal,
    registrar: Principal,
    project: CarbonProject,
    report: MonitoringReport,
) -> None:
    """A second project over the same area and vintage is refused at issuance; nothing of it is kept."""
    nested = session.begin_nested()
    try:
        dup = projects.create_project(
            session,
            actor=proponent,
            name="重复申报测试（示例，将被回滚）",
            department_code="430611-forestry",
            methodology=project.methodology,
            wetland_type="lake",
            tidal=False,
            soil="mineral",
            boundary=json.loads(project.boundary),
            crediting_start=project.crediting_start,
            crediting_end=project.crediting_end,
        )
        dup_report = reports.submit_report(
            session,
            actor=proponent,
            project_id=dup.id,
            vintage_start=report.vintage_start,
            vintage_end=report.vintage_end,
            methodology=report.methodology,
            net_creditable_tco2e=report.net_creditable_tco2e,
            area_ha=report.area_ha,
            input_hashes=report.input_hashes,
        )
        reports.verify_report(
            session, actor=verifier, report_id=dup_report.id, approve=True, statement="示例"
        )
        credits.issue(session, actor=registrar, report_id=dup_report.id)
        ctx.printed.append("碳汇: 警告——重复签发未被拒绝 (WARNING: double issuance was not refused)")
    except ConflictError as exc:
        ctx.printed.append(
            f"碳汇: 同一区域同一监测期的第二次签发被拒绝 (second issuance refused): {exc.message[:80]}…"
        )
    except AppError as exc:
        ctx.printed.append(f"碳汇: 重复签发演示未能完成 (double-issuance demo incomplete): {exc.message}")
    finally:
        nested.rollback()
