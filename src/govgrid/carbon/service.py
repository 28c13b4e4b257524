"""The carbon registry's rules: projects, monitoring reports, verification, issuance, transfers, retirement, alerts.

Who may do what (decided here, documented in docs/carbon-registry.md):
- the proponent department's ``operator``/``admin`` (or anyone holding those roles above it) creates projects and
  submits monitoring reports;
- a ``verifier`` of the ecology-environment line whose territory (reach ``line`` or ``division``) covers the
  project's division signs reports off; a verifier holding any role in the proponent department is refused (no
  self-verification); only the registry administrator grants the role (``register_grant_rule`` below);
- the registry administrator issues credits: ``admin`` of a provincial ``ecology_environment`` department whose
  territory covers the project, or the platform superuser;
- a department account is operated by that department's ``operator``/``admin``; an external holder's account
  (an enterprise) is operated by the registry administrator on the holder's written instruction.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import uuid
from dataclasses import asdict, replace
from datetime import date
from typing import Any

from pydantic import ValidationError as PydanticValidationError
from pyproj import Geod
from shapely.geometry import mapping, shape
from sqlalchemy import Select, and_, false, func, or_, select, true
from sqlalchemy.orm import Session

from govgrid.carbon import alerts as landcover
from govgrid.carbon.models import (
    AlertTask,
    CarbonAccount,
    CarbonProject,
    CreditBlock,
    CreditMovement,
    Issuance,
    MonitoringReport,
    ProtectionAlert,
    ReportFile,
    SerialCounter,
)
from govgrid.core import geofiles
from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor
from govgrid.core.authz import policy
from govgrid.core.authz.principal import Principal
from govgrid.core.db import utcnow
from govgrid.core.departments import service as departments
from govgrid.core.departments.models import Department
from govgrid.core.divisions import service as divisions
from govgrid.core.divisions.models import Division
from govgrid.core.errors import AppError, Conflict, Forbidden, NotFound, PayloadTooLarge, ValidationFailed
from govgrid.core.events import publish
from govgrid.core.identity.service import register_grant_rule

log = logging.getLogger(__name__)

PROTECTION_ALERT = "carbon.protection_alert"
CREDITS_ISSUED = "carbon.credits_issued"
CREDITS_RETIRED = "carbon.credits_retired"

PROPONENT_ROLES = ("operator", "admin")
OVERLAP_TOLERANCE_HA = 0.01  # 100 m2: slivers from digitising are not double issuance
REGISTRY_LINE = "ecology_environment"
ALERT_LINES = ("forestry", "ecology_environment")
FILE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,120}$")
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".png": "image/png",
    ".pdf": "application/pdf",
    ".json": "application/json",
    ".tif": "image/tiff",
    ".csv": "text/csv; charset=utf-8",
}
MAX_FILE_BYTES = 20 * 1024 * 1024
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# Roles that oversee the projects of a territory (besides the proponent's own scope, see _visible_projects).
OVERSIGHT_ROLES = ("verifier", "admin", "supervisor")
_geod = Geod(ellps="WGS84")


# ---------------------------------------------------------------- helpers


def geodesic_area_ha(geom: Any) -> float:
    """Area of a WGS 84 polygon on the ellipsoid, in hectares."""
    area, _ = _geod.geometry_area_perimeter(geom)
    return abs(area) / 10_000.0


def serial_label(project_code: str, vintage_start: int, vintage_end: int, start: int, end: int) -> str:
    """The printed serial block: CN-GG-<project>-<vintage>-<start>-<end>."""
    return f"CN-GG-{project_code}-{vintage_start}-{vintage_end}-{start:09d}-{end:09d}"


def _holder(actor: Actor) -> str:
    return actor.audit_identity[2] or "system"


def _principal(actor: Actor) -> Principal | None:
    return actor if isinstance(actor, Principal) else None


def _division_path(session: Session, code: str) -> str:
    path = session.scalar(select(Division.path).where(Division.code == code))
    if path is None:
        raise NotFound(f"行政区划 {code} 不存在 (no division {code})")
    return path


def _registry_admin_paths(principal: Principal) -> list[str]:
    """Division paths where the principal is registry administrator (provincial ecology-environment admin)."""
    return [
        a.division_path
        for a in principal.assignments
        if a.role == "admin"
        and a.line_code == REGISTRY_LINE
        and a.reach in ("line", "division")
        and a.division_path.count("/") == 3
    ]  # '/000000/430000/': a province


def is_registry_admin(actor: Actor, division_path: str | None = None) -> bool:
    """True for the platform superuser, a system job, or a provincial ecology-environment admin covering the path."""
    p = _principal(actor)
    if p is None:
        return actor.audit_identity[0] == "system"
    if p.is_superuser:
        return True
    return any(division_path is None or division_path.startswith(path) for path in _registry_admin_paths(p))


def _require_registry_admin(actor: Actor, division_path: str | None = None) -> None:
    if not is_registry_admin(actor, division_path):
        raise Forbidden(
            "需要登记簿管理员（省级生态环境部门 admin）权限 (requires the registry administrator: "
            "admin of the provincial ecology_environment department covering the project)"
        )


def _registry_line_principal(principal: Principal) -> Principal:
    """The principal with only its assignments in the registry's line (ecology_environment)."""
    return replace(principal, assignments=tuple(a for a in principal.assignments if a.line_code == REGISTRY_LINE))


def _visible_projects(principal: Principal | None) -> Any:
    """Predicate over CarbonProject joined to Division: the proponent's scope or an overseeing territory.

    A territory is overseen by a verifier/admin/supervisor with reach ``division`` (any line: the core's rule),
    or with reach ``line`` in the registry's own line (ecology_environment: verifiers and the registry
    administrator). Line reach in any other line covers that line's departments only (``policy.scope``): a
    city health admin or a provincial tax supervisor sees no carbon project; a forestry line above the
    proponent sees its own line's projects through the scope."""
    if principal is None:
        return false()
    return or_(
        policy.scope(CarbonProject.department_id, principal),
        policy.division_clause(principal, Division.path, OVERSIGHT_ROLES),
        policy.division_clause(
            _registry_line_principal(principal), Division.path, OVERSIGHT_ROLES, reaches=("division", "line")
        ),
    )


def _project_query() -> Select[Any]:
    return select(CarbonProject).join(Division, Division.code == CarbonProject.division_code)


# ---------------------------------------------------------------- projects


def create_project(
    session: Session,
    *,
    actor: Actor,
    name: str,
    department_code: str,
    methodology: str,
    wetland_type: str,
    tidal: bool,
    soil: str,
    boundary: dict[str, Any],
    crediting_start: date,
    crediting_end: date,
    description: str = "",
    is_demo: bool = False,
) -> CarbonProject:
    """Register a project after checking boundary, division, methodology applicability and the period."""
    from govgrid.carbon.engine.methodology import REGISTRY, ProjectInfo, get_methodology

    problems: list[dict[str, Any]] = []
    try:
        dept = departments.get_by_code(session, department_code)
    except NotFound:
        raise ValidationFailed(
            "项目业主部门不存在 (unknown proponent department)",
            details=[{"loc": ["department_code"], "msg": f"no department {department_code}"}],
        ) from None
    p = _principal(actor)
    if p is not None:
        policy.require(
            session, p, dept.id, PROPONENT_ROLES, what="该部门的碳汇项目 (this department's carbon projects)"
        )
    geom = divisions.parse_boundary(boundary, problems)
    if crediting_end <= crediting_start:
        problems.append(
            {
                "loc": ["crediting_end"],
                "msg": "计入期结束须晚于开始 (crediting_end must follow crediting_start)",
            }
        )
    if methodology not in REGISTRY:
        problems.append(
            {"loc": ["methodology"], "msg": f"未知方法学 (unknown methodology); known: {sorted(REGISTRY)}"}
        )
    else:
        try:
            info = ProjectInfo.model_validate(
                {"name": name, "wetland_type": wetland_type, "tidal": tidal, "soil": soil}
            )
        except PydanticValidationError as exc:
            raise ValidationFailed(
                "项目适用性信息无效 (invalid applicability facts)",
                details=[{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()],
            ) from None
        for reason in get_methodology(methodology).applicability(info):
            problems.append(
                {"loc": ["methodology"], "msg": f"方法学不适用 ({methodology} does not apply): {reason}"}
            )
    if geom is not None:
        raw = session.scalar(select(Division.boundary).where(Division.code == dept.division_code))
        if raw is None:
            problems.append(
                {
                    "loc": ["boundary"],
                    "msg": f"区划 {dept.division_code} 无边界，无法核对 (division has no boundary)",
                }
            )
        elif not shape(json.loads(raw)).buffer(1e-6).covers(geom):
            problems.append(
                {
                    "loc": ["boundary"],
                    "msg": f"项目边界超出 {dept.division.name} 行政区划 "
                    f"(boundary lies outside division {dept.division_code})",
                }
            )
        elif geodesic_area_ha(geom) < 0.01:
            problems.append({"loc": ["boundary"], "msg": "项目面积过小 (project area below 0.01 ha)"})
    if problems:
        raise ValidationFailed("项目信息有误 (invalid project)", details=problems)
    assert geom is not None
    seq = (
        session.scalar(
            select(func.count())
            .select_from(CarbonProject)
            .where(CarbonProject.division_code == dept.division_code)
        )
        or 0
    )
    code = f"P{dept.division_code}-{seq + 1:03d}"
    while session.scalar(select(CarbonProject.id).where(CarbonProject.code == code)) is not None:
        seq += 1
        code = f"P{dept.division_code}-{seq + 1:03d}"
    minx, miny, maxx, maxy = geom.bounds
    project = CarbonProject(
        code=code,
        name=name,
        description=description,
        division_code=dept.division_code,
        department_id=dept.id,
        methodology=methodology,
        wetland_type=wetland_type,
        tidal=tidal,
        soil=soil,
        boundary=json.dumps(mapping(geom)),
        area_ha=round(geodesic_area_ha(geom), 4),
        min_lon=minx,
        min_lat=miny,
        max_lon=maxx,
        max_lat=maxy,
        crediting_start=crediting_start,
        crediting_end=crediting_end,
        is_demo=is_demo,
        created_by=_holder(actor),
    )
    session.add(project)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="carbon.project_create",
        entity_type="carbon_project",
        entity_id=project.id,
        division_code=project.division_code,
        department_id=dept.id,
        detail={"code": code, "methodology": methodology, "area_ha": project.area_ha},
    )
    return project


def list_projects(
    session: Session, *, principal: Principal, limit: int, offset: int
) -> tuple[list[CarbonProject], int]:
    """Projects the caller may see, newest first."""
    stmt = _project_query().where(_visible_projects(principal))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(CarbonProject.id.desc()).limit(limit).offset(offset)).all()
    return list(rows), total


def get_project(session: Session, *, principal: Principal, project_id: int) -> CarbonProject:
    """One project the caller may see; 404 if missing, 403 if out of scope."""
    if session.get(CarbonProject, project_id) is None:
        raise NotFound(f"碳汇项目 {project_id} 不存在 (no carbon project {project_id})")
    project = session.scalar(
        _project_query().where(CarbonProject.id == project_id, _visible_projects(principal))
    )
    if project is None:
        raise Forbidden("无权查看该碳汇项目 (this project is outside your scope)")
    return project


def project_boundary(project: CarbonProject) -> dict[str, Any]:
    """The project's boundary as a GeoJSON Feature."""
    return {
        "type": "Feature",
        "geometry": json.loads(project.boundary),
        "properties": {"code": project.code, "name": project.name, "area_ha": project.area_ha},
    }


# ---------------------------------------------------------------- monitoring reports


def submit_report(
    session: Session,
    *,
    actor: Actor,
    project_id: int,
    vintage_start: int,
    vintage_end: int,
    methodology: str,
    net_creditable_tco2e: float,
    area_ha: float,
    input_hashes: dict[str, str],
    summary: dict[str, Any] | None = None,
) -> MonitoringReport:
    """Record a monitoring report (an engine run) for a project; the proponent submits it."""
    project = session.get(CarbonProject, project_id)
    if project is None:
        raise NotFound(f"碳汇项目 {project_id} 不存在 (no carbon project {project_id})")
    p = _principal(actor)
    if p is not None:
        policy.require(
            session, p, project.department_id, PROPONENT_ROLES, what="该碳汇项目 (this carbon project)"
        )
    problems = []
    if vintage_end <= vintage_start:
        problems.append(
            {"loc": ["vintage_end"], "msg": "监测期结束须晚于开始 (vintage_end must follow vintage_start)"}
        )
    if not (project.crediting_start.year <= vintage_start and vintage_end <= project.crediting_end.year):
        problems.append(
            {
                "loc": ["vintage_start"],
                "msg": f"监测期须在计入期 {project.crediting_start}~{project.crediting_end} 内 "
                "(monitoring period outside the crediting period)",
            }
        )
    if methodology != project.methodology:
        problems.append(
            {
                "loc": ["methodology"],
                "msg": f"须使用项目登记的方法学 {project.methodology} "
                "(report methodology differs from the project's)",
            }
        )
    if not math.isfinite(net_creditable_tco2e) or net_creditable_tco2e < 0:
        problems.append(
            {"loc": ["net_creditable_tco2e"], "msg": "须为非负数 (must be a non-negative number)"}
        )
    for key, digest in input_hashes.items():
        if not re.fullmatch(r"[0-9a-f]{64}", digest):
            problems.append(
                {
                    "loc": ["input_hashes", key],
                    "msg": "须为 SHA-256 十六进制摘要 (must be a SHA-256 hex digest)",
                }
            )
    if problems:
        raise ValidationFailed("监测报告有误 (invalid monitoring report)", details=problems)
    report = MonitoringReport(
        project_id=project.id,
        vintage_start=vintage_start,
        vintage_end=vintage_end,
        methodology=methodology,
        net_creditable_tco2e=net_creditable_tco2e,
        area_ha=area_ha,
        input_hashes=dict(input_hashes),
        summary=summary or {},
        submitted_by=_holder(actor),
    )
    session.add(report)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="carbon.report_submit",
        entity_type="carbon_report",
        entity_id=report.id,
        division_code=project.division_code,
        department_id=project.department_id,
        detail={
            "project": project.code,
            "vintage": [vintage_start, vintage_end],
            "net_creditable_tco2e": net_creditable_tco2e,
            "input_hashes": input_hashes,
        },
    )
    return report


def get_report(session: Session, *, principal: Principal, report_id: int) -> MonitoringReport:
    """One report of a visible project."""
    report = session.get(MonitoringReport, report_id)
    if report is None:
        raise NotFound(f"监测报告 {report_id} 不存在 (no monitoring report {report_id})")
    get_project(session, principal=principal, project_id=report.project_id)
    return report


def list_reports(session: Session, *, principal: Principal, project_id: int) -> list[MonitoringReport]:
    """The reports of a visible project, oldest first."""
    get_project(session, principal=principal, project_id=project_id)
    return list(
        session.scalars(
            select(MonitoringReport)
            .where(MonitoringReport.project_id == project_id)
            .order_by(MonitoringReport.vintage_start, MonitoringReport.id)
        )
    )


def report_file_names(session: Session, report_id: int) -> list[str]:
    """Names of the files attached to a report."""
    return list(
        session.scalars(
            select(ReportFile.name).where(ReportFile.report_id == report_id).order_by(ReportFile.name)
        )
    )


def _check_content(name: str, ext: str, content: bytes) -> None:
    """The bytes must be what the name says: a .tif a GeoTIFF GDAL opens as such, a .png a PNG, and so on."""

    def refuse(what: str) -> ValidationFailed:
        return ValidationFailed(
            f"文件内容与类型不符 (the file's content is not {what})",
            details=[{"loc": ["file"], "msg": f"{geofiles.excerpt(name, 80)}: not {what}"}],
        )

    if ext == ".tif":
        with geofiles.open_raster(name, content):  # 422/413 in the one shape; GDAL reads a TIFF or nothing
            return
    if ext == ".png" and not content.startswith(PNG_MAGIC):
        raise refuse("a PNG image")
    if ext == ".pdf" and not content.startswith(b"%PDF-"):
        raise refuse("a PDF document")
    if ext in (".json", ".html", ".csv"):
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            raise refuse("UTF-8 text") from None
        if "\x00" in text:
            raise refuse("text")
        if ext == ".json":
            try:
                json.loads(text)
            except ValueError:
                raise refuse("JSON") from None


def add_report_file(
    session: Session,
    *,
    actor: Actor,
    report_id: int,
    name: str,
    content: bytes,
    generated: bool = False,
) -> ReportFile:
    """Attach one engine output (report.html, fig_*.png, landcover_*.tif, result.json ...) to a submitted report.

    ``generated`` marks a file the server's own engine run wrote (the demo loader): only such an HTML report is
    shown as a page; every uploaded file is served as a download (see api.get_file)."""
    report = session.get(MonitoringReport, report_id)
    if report is None:
        raise NotFound(f"监测报告 {report_id} 不存在 (no monitoring report {report_id})")
    p = _principal(actor)
    if p is not None:
        policy.require(
            session, p, report.project.department_id, PROPONENT_ROLES, what="该碳汇项目 (this carbon project)"
        )
    if report.status != "submitted":
        raise Conflict("报告已核查，不能再添加文件 (the report was already verified: files are frozen)")
    ext = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if not FILE_NAME.fullmatch(name) or ext not in MEDIA_TYPES:
        raise ValidationFailed(
            "文件名或类型不受支持 (unsupported file name or type)",
            details=[{"loc": ["file"], "msg": f"allowed: {sorted(MEDIA_TYPES)}; letters, digits, _ . -"}],
        )
    if len(content) > MAX_FILE_BYTES:
        raise PayloadTooLarge(f"文件超过 {MAX_FILE_BYTES} 字节 (file larger than {MAX_FILE_BYTES} bytes)")
    _check_content(name, ext, content)
    digest = hashlib.sha256(content).hexdigest()
    existing = session.scalar(
        select(ReportFile).where(ReportFile.report_id == report_id, ReportFile.name == name)
    )
    if existing is not None:
        session.delete(existing)
        session.flush()
    f = ReportFile(
        report_id=report_id,
        name=name,
        media_type=MEDIA_TYPES[ext],
        sha256=digest,
        size=len(content),
        content=content,
        generated=generated,
    )
    session.add(f)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="carbon.report_file",
        entity_type="carbon_report",
        entity_id=report_id,
        division_code=report.project.division_code,
        department_id=report.project.department_id,
        detail={"name": name, "sha256": digest, "size": len(content), "generated": generated},
    )
    return f


def get_report_file(session: Session, *, principal: Principal, report_id: int, name: str) -> ReportFile:
    """One attached file of a visible report."""
    get_report(session, principal=principal, report_id=report_id)
    f = session.scalar(select(ReportFile).where(ReportFile.report_id == report_id, ReportFile.name == name))
    if f is None:
        raise NotFound(f"报告 {report_id} 没有文件 {name} (no such file)")
    return f


def verify_report(
    session: Session, *, actor: Actor, report_id: int, approve: bool, statement: str
) -> MonitoringReport:
    """A third-party verifier signs a submitted report off (or rejects it)."""
    report = session.get(MonitoringReport, report_id)
    if report is None:
        raise NotFound(f"监测报告 {report_id} 不存在 (no monitoring report {report_id})")
    project = report.project
    path = _division_path(session, project.division_code)
    p = _principal(actor)
    verifier_dept = None
    if p is not None:
        # "verifier" is also a city-management role (case verification): only the registry line's verifiers count
        covering = [
            a
            for a in p.assignments_with("verifier")
            if a.line_code == REGISTRY_LINE
            and a.reach in ("line", "division")
            and path.startswith(a.division_path)
        ]
        if not covering:
            raise Forbidden(
                "需要覆盖该项目区划的生态环境条线核查机构 verifier 角色 (requires an ecology_environment verifier "
                "covering this project's division)"
            )
        if project.department_id in p.department_ids:
            raise Forbidden(
                "核查机构不得核查本部门的项目 (a verifier may not verify its own department's project)"
            )
        verifier_dept = covering[0].department_id
    if report.status != "submitted":
        raise Conflict(f"报告状态为 {report.status}，不能再次核查 (report already {report.status})")
    report.status = "verified" if approve else "rejected"
    report.verifier_name = p.display_name if p is not None else _holder(actor)
    report.verifier_department_id = verifier_dept
    report.verification_statement = statement
    report.verified_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="carbon.report_verify",
        entity_type="carbon_report",
        entity_id=report.id,
        division_code=project.division_code,
        department_id=project.department_id,
        detail={"approve": approve, "statement": statement[:500]},
    )
    return report


# ---------------------------------------------------------------- accounts


def _new_account(
    session: Session, *, holder_name: str, kind: str, department_id: int | None, division_code: str
) -> CarbonAccount:
    acc = CarbonAccount(
        number="tmp-" + uuid.uuid4().hex[:20],
        holder_name=holder_name,
        kind=kind,
        department_id=department_id,
        division_code=division_code,
    )
    session.add(acc)
    session.flush()
    acc.number = f"CA-{acc.id:06d}"
    session.flush()
    return acc


def ensure_department_account(session: Session, *, actor: Actor, department: Department) -> CarbonAccount:
    """The department's holding account, opened on first use."""
    acc = session.scalar(select(CarbonAccount).where(CarbonAccount.department_id == department.id))
    if acc is None:
        acc = _new_account(
            session,
            holder_name=department.name,
            kind="department",
            department_id=department.id,
            division_code=department.division_code,
        )
        audit.record(
            session,
            actor=actor,
            action="carbon.account_open",
            entity_type="carbon_account",
            entity_id=acc.id,
            division_code=department.division_code,
            department_id=department.id,
            detail={"number": acc.number, "holder": acc.holder_name},
        )
    return acc


def create_account(
    session: Session,
    *,
    actor: Actor,
    holder_name: str,
    department_code: str | None,
    division_code: str = "430000",
) -> CarbonAccount:
    """Open an account: a department's (its operator/admin) or an external holder's (registry administrator)."""
    if department_code:
        try:
            dept = departments.get_by_code(session, department_code)
        except NotFound:
            raise ValidationFailed(
                "部门不存在 (unknown department)",
                details=[{"loc": ["department_code"], "msg": f"no department {department_code}"}],
            ) from None
        p = _principal(actor)
        if p is not None:
            policy.require(
                session, p, dept.id, PROPONENT_ROLES, what="该部门的账户 (this department's account)"
            )
        if session.scalar(select(CarbonAccount.id).where(CarbonAccount.department_id == dept.id)) is not None:
            raise Conflict(f"{dept.name} 已有账户 (this department already has an account)")
        return ensure_department_account(session, actor=actor, department=dept)
    path = _division_path(session, division_code)
    _require_registry_admin(actor, path)
    acc = _new_account(
        session, holder_name=holder_name, kind="external", department_id=None, division_code=division_code
    )
    audit.record(
        session,
        actor=actor,
        action="carbon.account_open",
        entity_type="carbon_account",
        entity_id=acc.id,
        division_code=division_code,
        detail={"number": acc.number, "holder": holder_name, "kind": "external"},
    )
    return acc


def _account_clause(principal: Principal) -> Any:
    """Accounts the caller may see: its departments' accounts; external ones for the registry administrator."""
    own = policy.scope(CarbonAccount.department_id, principal, PROPONENT_ROLES + ("viewer", "supervisor"))
    parts = [and_(CarbonAccount.department_id.is_not(None), own)]
    if principal.is_superuser:
        return true()
    paths = _registry_admin_paths(principal)
    if paths:
        territory = select(Division.code).where(or_(*[Division.path.like(p + "%") for p in paths]))
        parts.append(CarbonAccount.division_code.in_(territory))
    return or_(*parts)


def list_accounts(session: Session, *, principal: Principal) -> list[tuple[CarbonAccount, int, int]]:
    """Visible accounts with (balance, retired) in t CO2e."""
    accs = list(
        session.scalars(select(CarbonAccount).where(_account_clause(principal)).order_by(CarbonAccount.id))
    )
    return [(a, *balances(session, a.id)) for a in accs]


def balances(session: Session, account_id: int) -> tuple[int, int]:
    """(active, retired) quantities held by an account."""
    rows = dict(
        session.execute(
            select(CreditBlock.status, func.coalesce(func.sum(CreditBlock.quantity), 0))
            .where(CreditBlock.account_id == account_id)
            .group_by(CreditBlock.status)
        ).all()
    )
    return int(rows.get("active", 0)), int(rows.get("retired", 0))


def _require_holder(session: Session, actor: Actor, account: CarbonAccount) -> None:
    p = _principal(actor)
    if p is None:
        return
    if account.department_id is not None:
        if policy.can_act(session, p, account.department_id, PROPONENT_ROLES):
            return
        raise Forbidden("只有账户持有部门可以操作该账户 (only the holding department may move these credits)")
    if not is_registry_admin(p, _division_path(session, account.division_code)):
        raise Forbidden(
            "外部持有人账户由登记簿管理员按持有人指令操作 (external accounts are operated by the registry "
            "administrator on the holder's instruction)"
        )


def _get_account(session: Session, account_id: int, loc: str) -> CarbonAccount:
    acc = session.get(CarbonAccount, account_id)
    if acc is None:
        raise ValidationFailed(
            "账户不存在 (unknown account)", details=[{"loc": [loc], "msg": f"no account {account_id}"}]
        )
    return acc


# ---------------------------------------------------------------- issuance


def _lock_counter(session: Session) -> SerialCounter:
    counter = session.execute(
        select(SerialCounter).where(SerialCounter.id == 1).with_for_update()
    ).scalar_one_or_none()
    if counter is None:
        counter = SerialCounter(id=1, next_serial=1)
        session.add(counter)
        session.flush()
    return counter


def overlapping_issuances(
    session: Session, *, geom: Any, vintage_start: int, vintage_end: int, exclude_report_id: int | None = None
) -> list[tuple[Issuance, float]]:
    """Issuances whose project area overlaps ``geom`` (more than the tolerance) for an overlapping vintage period."""
    minx, miny, maxx, maxy = geom.bounds
    stmt = (
        select(Issuance)
        .join(CarbonProject, CarbonProject.id == Issuance.project_id)
        .where(
            Issuance.vintage_start < vintage_end,
            vintage_start < Issuance.vintage_end,
            CarbonProject.min_lon <= maxx,
            CarbonProject.max_lon >= minx,
            CarbonProject.min_lat <= maxy,
            CarbonProject.max_lat >= miny,
        )
    )
    if exclude_report_id is not None:
        stmt = stmt.where(Issuance.report_id != exclude_report_id)
    found = []
    for iss in session.scalars(stmt):
        other = shape(json.loads(iss.project.boundary))
        if not other.intersects(geom):
            continue
        inter = other.intersection(geom)
        ha = geodesic_area_ha(inter) if not inter.is_empty and inter.area > 0 else 0.0
        if ha > OVERLAP_TOLERANCE_HA:
            found.append((iss, ha))
    return found


def issue(session: Session, *, actor: Actor, report_id: int, quantity: int | None = None) -> Issuance:
    """Issue credits for a verified report as one serial block into the proponent's account."""
    report = session.get(MonitoringReport, report_id)
    if report is None:
        raise ValidationFailed(
            "监测报告不存在 (unknown monitoring report)",
            details=[{"loc": ["report_id"], "msg": f"no monitoring report {report_id}"}],
        )
    project = report.project
    _require_registry_admin(actor, _division_path(session, project.division_code))
    if report.status != "verified":
        raise Conflict(f"报告尚未通过第三方核查（状态 {report.status}）(the report is not verified)")
    # The counter lock serialises issuances, so the overlap check below cannot race another issuance.
    counter = _lock_counter(session)
    if session.scalar(select(Issuance.id).where(Issuance.report_id == report.id)) is not None:
        raise Conflict(
            "该监测报告已签发 (credits were already issued for this report)", code="double_issuance"
        )
    available = int(math.floor(report.net_creditable_tco2e + 1e-9))
    qty = available if quantity is None else quantity
    if qty <= 0:
        raise Conflict(
            "核证减排量为零，无可签发 (nothing to issue: the verified net creditable amount is zero)"
        )
    if qty > available:
        raise ValidationFailed(
            "签发量超过核证量 (quantity exceeds the verified amount)",
            details=[{"loc": ["quantity"], "msg": f"at most {available} t CO2e"}],
        )
    clash = overlapping_issuances(
        session,
        geom=shape(json.loads(project.boundary)),
        vintage_start=report.vintage_start,
        vintage_end=report.vintage_end,
    )
    if clash:
        iss, ha = clash[0]
        raise Conflict(
            f"重复签发：该区域 {ha:.2f} 公顷在 {iss.vintage_start}-{iss.vintage_end} 监测期已由项目 "
            f"{iss.project.code} 签发 (double issuance refused: the same area and vintage was already "
            f"credited, {serial_label(iss.project.code, iss.vintage_start, iss.vintage_end, iss.serial_start, iss.serial_end)})",
            code="double_issuance",
            details=[
                {"loc": ["report_id"], "msg": f"overlaps issuance {i.id} by {a:.2f} ha"} for i, a in clash
            ],
        )
    start = counter.next_serial
    end = start + qty - 1
    counter.next_serial = end + 1
    account = ensure_department_account(session, actor=actor, department=project.department)
    iss = Issuance(
        project_id=project.id,
        report_id=report.id,
        vintage_start=report.vintage_start,
        vintage_end=report.vintage_end,
        quantity=qty,
        serial_start=start,
        serial_end=end,
        account_id=account.id,
        issued_by=_holder(actor),
    )
    session.add(iss)
    session.flush()
    block = CreditBlock(
        issuance_id=iss.id,
        project_id=project.id,
        vintage_start=iss.vintage_start,
        vintage_end=iss.vintage_end,
        serial_start=start,
        serial_end=end,
        quantity=qty,
        account_id=account.id,
    )
    session.add(block)
    session.flush()
    session.add(
        CreditMovement(
            kind="issue",
            project_id=project.id,
            block_id=block.id,
            to_account_id=account.id,
            serial_start=start,
            serial_end=end,
            quantity=qty,
            actor_name=_holder(actor),
        )
    )
    session.flush()
    label = serial_label(project.code, iss.vintage_start, iss.vintage_end, start, end)
    audit.record(
        session,
        actor=actor,
        action="carbon.issue",
        entity_type="carbon_issuance",
        entity_id=iss.id,
        division_code=project.division_code,
        department_id=project.department_id,
        detail={"serial": label, "quantity": qty, "report_id": report.id, "account": account.number},
    )
    publish(session, CREDITS_ISSUED, project=project.code, serial=label, quantity=qty)
    return iss


# ---------------------------------------------------------------- transfers and retirement


def _take(session: Session, account_id: int, project_id: int | None, quantity: int) -> list[CreditBlock]:
    """Active blocks of an account covering exactly ``quantity``, splitting the last one (its tail stays)."""
    stmt = select(CreditBlock).where(CreditBlock.account_id == account_id, CreditBlock.status == "active")
    if project_id is not None:
        stmt = stmt.where(CreditBlock.project_id == project_id)
    blocks = list(session.scalars(stmt.order_by(CreditBlock.serial_start).with_for_update()))
    held = sum(b.quantity for b in blocks)
    if held < quantity:
        raise Conflict(
            f"余额不足：持有 {held} 吨，申请 {quantity} 吨 (insufficient balance: {held} t CO2e held, "
            f"{quantity} requested)",
            code="insufficient_balance",
        )
    taken: list[CreditBlock] = []
    need = quantity
    for b in blocks:
        if need == 0:
            break
        if b.quantity > need:
            tail = CreditBlock(
                issuance_id=b.issuance_id,
                project_id=b.project_id,
                vintage_start=b.vintage_start,
                vintage_end=b.vintage_end,
                serial_start=b.serial_start + need,
                serial_end=b.serial_end,
                quantity=b.quantity - need,
                account_id=b.account_id,
            )
            b.serial_end = b.serial_start + need - 1
            b.quantity = need
            session.flush()
            session.add(tail)
            session.flush()
        taken.append(b)
        need -= b.quantity
    return taken


def transfer(
    session: Session,
    *,
    actor: Actor,
    from_account_id: int,
    to_account_id: int,
    quantity: int,
    project_id: int | None = None,
) -> list[CreditBlock]:
    """Move credits between accounts (lowest serials first); returns the moved blocks."""
    if quantity <= 0:
        raise ValidationFailed(
            "数量须为正整数 (quantity must be positive)", details=[{"loc": ["quantity"], "msg": "> 0"}]
        )
    src = _get_account(session, from_account_id, "from_account_id")
    dst = _get_account(session, to_account_id, "to_account_id")
    if src.id == dst.id:
        raise ValidationFailed(
            "转出与转入账户相同 (source and destination are the same account)",
            details=[{"loc": ["to_account_id"], "msg": "must differ from from_account_id"}],
        )
    _require_holder(session, actor, src)
    moved = _take(session, src.id, project_id, quantity)
    for b in moved:
        b.account_id = dst.id
        session.add(
            CreditMovement(
                kind="transfer",
                project_id=b.project_id,
                block_id=b.id,
                from_account_id=src.id,
                to_account_id=dst.id,
                serial_start=b.serial_start,
                serial_end=b.serial_end,
                quantity=b.quantity,
                actor_name=_holder(actor),
            )
        )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="carbon.transfer",
        entity_type="carbon_account",
        entity_id=src.id,
        division_code=src.division_code,
        department_id=src.department_id,
        detail={
            "from": src.number,
            "to": dst.number,
            "quantity": quantity,
            "ranges": [[b.serial_start, b.serial_end] for b in moved],
        },
    )
    return moved


def retire(
    session: Session,
    *,
    actor: Actor,
    account_id: int,
    quantity: int,
    beneficiary: str,
    reason: str,
    project_id: int | None = None,
) -> list[CreditBlock]:
    """Retire credits for a beneficiary (注销): they leave circulation for good."""
    if quantity <= 0:
        raise ValidationFailed(
            "数量须为正整数 (quantity must be positive)", details=[{"loc": ["quantity"], "msg": "> 0"}]
        )
    if not beneficiary.strip() or not reason.strip():
        raise ValidationFailed(
            "须填写受益方和注销原因 (beneficiary and reason are required)",
            details=[{"loc": ["beneficiary"], "msg": "required"}],
        )
    acc = _get_account(session, account_id, "account_id")
    _require_holder(session, actor, acc)
    blocks = _take(session, acc.id, project_id, quantity)
    now = utcnow()
    for b in blocks:
        b.status = "retired"
        b.beneficiary = beneficiary.strip()
        b.retirement_reason = reason.strip()
        b.retired_at = now
        session.add(
            CreditMovement(
                kind="retire",
                project_id=b.project_id,
                block_id=b.id,
                from_account_id=acc.id,
                serial_start=b.serial_start,
                serial_end=b.serial_end,
                quantity=b.quantity,
                beneficiary=b.beneficiary,
                reason=b.retirement_reason,
                actor_name=_holder(actor),
            )
        )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="carbon.retire",
        entity_type="carbon_account",
        entity_id=acc.id,
        division_code=acc.division_code,
        department_id=acc.department_id,
        detail={
            "account": acc.number,
            "quantity": quantity,
            "beneficiary": beneficiary,
            "ranges": [[b.serial_start, b.serial_end] for b in blocks],
        },
    )
    publish(session, CREDITS_RETIRED, account=acc.number, quantity=quantity, beneficiary=beneficiary)
    return blocks


def list_blocks(session: Session, *, principal: Principal, account_id: int) -> list[CreditBlock]:
    """Blocks held by one visible account."""
    acc = session.get(CarbonAccount, account_id)
    if acc is None:
        raise NotFound(f"账户 {account_id} 不存在 (no account {account_id})")
    if (
        session.scalar(
            select(CarbonAccount.id).where(CarbonAccount.id == account_id, _account_clause(principal))
        )
        is None
    ):
        raise Forbidden("无权查看该账户 (this account is outside your scope)")
    return list(
        session.scalars(
            select(CreditBlock).where(CreditBlock.account_id == account_id).order_by(CreditBlock.serial_start)
        )
    )


def project_issuances(session: Session, project_id: int) -> list[Issuance]:
    """Issuances of one project."""
    return list(
        session.scalars(select(Issuance).where(Issuance.project_id == project_id).order_by(Issuance.id))
    )


def project_blocks(session: Session, project_id: int) -> list[CreditBlock]:
    """Every block of one project (active and retired)."""
    return list(
        session.scalars(
            select(CreditBlock).where(CreditBlock.project_id == project_id).order_by(CreditBlock.serial_start)
        )
    )


# ---------------------------------------------------------------- public registry


def public_registry(session: Session) -> dict[str, Any]:
    """Projects, issuances and retirements for the public: no accounts, holders or people."""
    projects = list(session.scalars(select(CarbonProject).order_by(CarbonProject.code)))
    issuances = list(session.scalars(select(Issuance).order_by(Issuance.serial_start)))
    retired = list(
        session.scalars(
            select(CreditBlock).where(CreditBlock.status == "retired").order_by(CreditBlock.serial_start)
        )
    )
    return {
        "projects": [
            {
                "code": p.code,
                "name": p.name,
                "division_code": p.division_code,
                "proponent": p.department.name,
                "methodology": p.methodology,
                "area_ha": p.area_ha,
                "crediting_start": p.crediting_start,
                "crediting_end": p.crediting_end,
                "boundary": json.loads(p.boundary),
            }
            for p in projects
        ],
        "issuances": [
            {
                "project_code": i.project.code,
                "vintage": f"{i.vintage_start}-{i.vintage_end}",
                "serial": serial_label(
                    i.project.code, i.vintage_start, i.vintage_end, i.serial_start, i.serial_end
                ),
                "quantity": i.quantity,
                "issued_at": i.issued_at,
            }
            for i in issuances
        ],
        "retirements": [
            {
                "project_code": b.project.code,
                "vintage": f"{b.vintage_start}-{b.vintage_end}",
                "serial": serial_label(
                    b.project.code, b.vintage_start, b.vintage_end, b.serial_start, b.serial_end
                ),
                "quantity": b.quantity,
                "beneficiary": b.beneficiary,
                "reason": b.retirement_reason,
                "retired_at": b.retired_at,
            }
            for b in retired
        ],
        "totals": {
            "issued": sum(i.quantity for i in issuances),
            "retired": sum(b.quantity for b in retired),
            "projects": len(projects),
        },
    }


# ---------------------------------------------------------------- protection alerts


def raise_alert(
    session: Session,
    *,
    actor: Actor,
    project: CarbonProject,
    epoch_from: int,
    epoch_to: int,
    loss: landcover.LandCoverLoss,
    threshold_ha: float,
    report_id: int | None = None,
) -> ProtectionAlert | None:
    """Create an alert and tasks for the county's forestry and ecology-environment departments when loss > threshold."""
    if loss.lost_ha <= threshold_ha:
        return None
    alert = ProtectionAlert(
        project_id=project.id,
        report_id=report_id,
        division_code=project.division_code,
        epoch_from=epoch_from,
        epoch_to=epoch_to,
        lost_ha=loss.lost_ha,
        threshold_ha=threshold_ha,
        transitions=dict(loss.transitions),
    )
    session.add(alert)
    session.flush()
    county = project.division_code[:6]
    dept_ids = []
    for line in ALERT_LINES:
        dept = session.scalar(select(Department).where(Department.code == f"{county}-{line}"))
        if dept is None:
            dept = departments.ensure(session, line_code=line, division_code=county)
        session.add(AlertTask(alert_id=alert.id, department_id=dept.id))
        dept_ids.append(dept.id)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="carbon.protection_alert",
        entity_type="carbon_alert",
        entity_id=alert.id,
        division_code=project.division_code,
        department_id=project.department_id,
        detail={
            "project": project.code,
            "lost_ha": loss.lost_ha,
            "transitions": loss.transitions,
            "epochs": [epoch_from, epoch_to],
            "departments": dept_ids,
        },
    )
    publish(
        session,
        PROTECTION_ALERT,
        alert_id=alert.id,
        project=project.code,
        division_code=project.division_code,
        lost_ha=loss.lost_ha,
        epochs=[epoch_from, epoch_to],
        department_ids=dept_ids,
    )
    return alert


def check_report_landcover(
    session: Session, *, actor: Actor, report_id: int, threshold_ha: float = landcover.DEFAULT_THRESHOLD_HA
) -> tuple[landcover.LandCoverLoss, ProtectionAlert | None]:
    """Compare the report's two land-cover rasters inside the project; raise an alert over the threshold."""
    report = session.get(MonitoringReport, report_id)
    if report is None:
        raise NotFound(f"监测报告 {report_id} 不存在 (no monitoring report {report_id})")
    p = _principal(actor)
    if p is not None:
        get_project(session, principal=p, project_id=report.project_id)
    names = [f"landcover_{report.vintage_start}.tif", f"landcover_{report.vintage_end}.tif"]
    files = {
        f.name: f.content
        for f in session.scalars(
            select(ReportFile).where(ReportFile.report_id == report_id, ReportFile.name.in_(names))
        )
    }
    missing = [n for n in names if n not in files]
    if missing:
        raise Conflict(
            f"报告缺少地类栅格 {missing} (the report has no land-cover rasters: upload them first)"
        )
    try:
        loss = landcover.loss_from_rasters(
            files[names[0]], files[names[1]], json.loads(report.project.boundary), names=(names[0], names[1])
        )
    except AppError:  # core.geofiles: not a GeoTIFF, unreadable, too many pixels (its messages hold no paths)
        raise
    except landcover.RastersNotComparable as exc:  # our own messages (grids differ, no CRS)
        raise ValidationFailed(str(exc)) from None
    except Exception:  # rasterio, pyproj and numpy raise many types; their text may name server paths
        log.exception("land-cover check of report %s failed", report_id)
        raise ValidationFailed("地类栅格无法读取 (the land-cover rasters could not be read)") from None
    alert = raise_alert(
        session,
        actor=actor,
        project=report.project,
        epoch_from=report.vintage_start,
        epoch_to=report.vintage_end,
        loss=loss,
        threshold_ha=threshold_ha,
        report_id=report.id,
    )
    report.summary = {**report.summary, "landcover_loss": asdict(loss)}
    session.flush()
    return loss, alert


def list_alert_tasks(
    session: Session, *, principal: Principal, status: str | None, limit: int, offset: int
) -> tuple[list[AlertTask], int]:
    """The caller's alert inbox: tasks of departments in scope."""
    stmt = select(AlertTask).where(policy.scope(AlertTask.department_id, principal))
    if status:
        stmt = stmt.where(AlertTask.status == status)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(AlertTask.id.desc()).limit(limit).offset(offset)).all()
    return list(rows), total


def update_alert_task(
    session: Session, *, actor: Principal, task_id: int, status: str, note: str | None
) -> AlertTask:
    """Mark an alert task done (or reopen it) with a note."""
    task = session.get(AlertTask, task_id)
    if task is None:
        raise NotFound(f"预警任务 {task_id} 不存在 (no alert task {task_id})")
    policy.require(
        session,
        actor,
        task.department_id,
        ("operator", "admin", "handler", "inspector"),
        what="该预警任务 (this alert task)",
    )
    task.status = status
    task.note = note
    task.done_by = actor.name if status == "done" else None
    task.done_at = utcnow() if status == "done" else None
    open_left = session.scalar(
        select(func.count())
        .select_from(AlertTask)
        .where(AlertTask.alert_id == task.alert_id, AlertTask.status == "open")
    )
    task.alert.status = "open" if open_left else "closed"
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="carbon.alert_task_update",
        entity_type="carbon_alert_task",
        entity_id=task.id,
        division_code=task.alert.division_code,
        department_id=task.department_id,
        detail={"status": status},
    )
    return task


def project_alerts(session: Session, project_id: int) -> list[ProtectionAlert]:
    """Alerts of one project."""
    return list(
        session.scalars(
            select(ProtectionAlert)
            .where(ProtectionAlert.project_id == project_id)
            .order_by(ProtectionAlert.id)
        )
    )


# ---------------------------------------------------------------- who may grant the verifier role


def may_grant_verifier(principal: Principal, department: Department) -> bool:
    """Only the registry administrator covering the department makes verifiers (core asks before any grant)."""
    return is_registry_admin(principal, department.division.path)


register_grant_rule("verifier", may_grant_verifier)
