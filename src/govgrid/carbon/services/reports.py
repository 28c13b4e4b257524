"""Monitoring reports: submission (an engine run's figures and input hashes), attached files, verification."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.carbon.enums import ReportStatus, VerificationOpinion, can_move
from govgrid.carbon.models import CarbonProject, MonitoringReport, ReportFile
from govgrid.carbon.services import access, projects
from govgrid.core import geofiles, storage
from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor
from govgrid.core.authz import policy
from govgrid.core.authz.principal import Principal
from govgrid.core.db import utcnow
from govgrid.core.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    PayloadTooLargeError,
    ValidationFailedError,
)

log = logging.getLogger(__name__)

FILE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,120}$")
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
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
FILE_NAMESPACE = "carbon-files"  # core.storage namespace of report files (uploads, engine outputs, rasters)


def _report_problems(
    project: CarbonProject,
    *,
    vintage_start: int,
    vintage_end: int,
    methodology: str,
    net_creditable_tco2e: float,
    input_hashes: dict[str, str],
) -> list[dict[str, Any]]:
    """Every problem of a report at once: period, methodology, amount, hashes."""
    problems: list[dict[str, Any]] = []
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
        if not SHA256_HEX.fullmatch(digest):
            problems.append(
                {
                    "loc": ["input_hashes", key],
                    "msg": "须为 SHA-256 十六进制摘要 (must be a SHA-256 hex digest)",
                }
            )
    return problems


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
        raise NotFoundError(f"碳汇项目 {project_id} 不存在 (no carbon project {project_id})")
    p = access.principal_of(actor)
    if p is not None:
        policy.require(
            session, p, project.department_id, access.PROPONENT_ROLES, what="该碳汇项目 (this carbon project)"
        )
    problems = _report_problems(
        project,
        vintage_start=vintage_start,
        vintage_end=vintage_end,
        methodology=methodology,
        net_creditable_tco2e=net_creditable_tco2e,
        input_hashes=input_hashes,
    )
    if problems:
        raise ValidationFailedError("监测报告有误 (invalid monitoring report)", details=problems)
    report = MonitoringReport(
        project_id=project.id,
        vintage_start=vintage_start,
        vintage_end=vintage_end,
        methodology=methodology,
        net_creditable_tco2e=net_creditable_tco2e,
        area_ha=area_ha,
        input_hashes=dict(input_hashes),
        summary=summary or {},
        status=ReportStatus.submitted,
        submitted_by=access.holder_name(actor),
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
    log.info(
        "monitoring report submitted",
        extra={"report_id": report.id, "project_id": project.id, "to": ReportStatus.submitted.value},
    )
    return report


def get_report(session: Session, *, principal: Principal, report_id: int) -> MonitoringReport:
    """One report of a visible project."""
    report = session.get(MonitoringReport, report_id)
    if report is None:
        raise NotFoundError(f"监测报告 {report_id} 不存在 (no monitoring report {report_id})")
    projects.get_project(session, principal=principal, project_id=report.project_id)
    return report


def list_reports(session: Session, *, principal: Principal, project_id: int) -> list[MonitoringReport]:
    """The reports of a visible project, oldest first."""
    projects.get_project(session, principal=principal, project_id=project_id)
    return list(
        session.scalars(
            select(MonitoringReport)
            .where(MonitoringReport.project_id == project_id)
            .order_by(MonitoringReport.vintage_start, MonitoringReport.id)
        )
    )


def report_file_names(session: Session, *, report_id: int) -> list[str]:
    """Names of the files attached to a report."""
    return list(
        session.scalars(
            select(ReportFile.name).where(ReportFile.report_id == report_id).order_by(ReportFile.name)
        )
    )


def report_file_rows(session: Session, *, report_id: int) -> list[ReportFile]:
    """The files attached to a report (name, hash, size; the bytes stay in storage), by name."""
    return list(
        session.scalars(select(ReportFile).where(ReportFile.report_id == report_id).order_by(ReportFile.name))
    )


def report_files(session: Session, *, report_id: int, names: list[str]) -> dict[str, bytes]:
    """The contents of the named files attached to a report (those that exist), by name."""
    rows = session.scalars(
        select(ReportFile).where(ReportFile.report_id == report_id, ReportFile.name.in_(names))
    )
    return {f.name: file_bytes(f) for f in rows}


def file_bytes(f: ReportFile) -> bytes:
    """The stored bytes of a report file, checked against the hash recorded when it was attached."""
    return storage.get_verified(f.storage_key, size=f.size, sha256=f.sha256)


def _check_content(name: str, ext: str, content: bytes) -> None:
    """The bytes must be what the name says: a .tif a GeoTIFF GDAL opens as such, a .png a PNG, and so on."""

    def refuse(what: str) -> ValidationFailedError:
        return ValidationFailedError(
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
    """Attach one engine output (report.html, fig_*.png, landcover_*.tif, result.json ...) to a submitted
    report.

    ``generated`` marks a file the server's own engine run wrote (the demo loader): only such an HTML report
    is shown as a page; every uploaded file is served as a download (see api.get_file)."""
    report = session.get(MonitoringReport, report_id)
    if report is None:
        raise NotFoundError(f"监测报告 {report_id} 不存在 (no monitoring report {report_id})")
    p = access.principal_of(actor)
    if p is not None:
        policy.require(
            session,
            p,
            report.project.department_id,
            access.PROPONENT_ROLES,
            what="该碳汇项目 (this carbon project)",
        )
    if report.status != ReportStatus.submitted:
        raise ConflictError("报告已核查，不能再添加文件 (the report was already verified: files are frozen)")
    ext = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if not FILE_NAME.fullmatch(name) or ext not in MEDIA_TYPES:
        raise ValidationFailedError(
            "文件名或类型不受支持 (unsupported file name or type)",
            details=[{"loc": ["file"], "msg": f"allowed: {sorted(MEDIA_TYPES)}; letters, digits, _ . -"}],
        )
    if len(content) > MAX_FILE_BYTES:
        raise PayloadTooLargeError(
            f"文件超过 {MAX_FILE_BYTES} 字节 (file larger than {MAX_FILE_BYTES} bytes)"
        )
    _check_content(name, ext, content)
    digest = hashlib.sha256(content).hexdigest()
    existing = session.scalar(
        select(ReportFile).where(ReportFile.report_id == report_id, ReportFile.name == name)
    )
    if existing is not None:  # its object stays until `govgrid storage sweep` (a rollback keeps the old row)
        session.delete(existing)
        session.flush()
    # the object first, then the row: a failed transaction leaves an orphan object for the sweep, never a row
    # without its object
    key = storage.put(FILE_NAMESPACE, content, content_type=MEDIA_TYPES[ext])
    f = ReportFile(
        report_id=report_id,
        name=name,
        media_type=MEDIA_TYPES[ext],
        sha256=digest,
        size=len(content),
        storage_key=key,
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
    log.info("report file attached", extra={"report_id": report_id, "file_id": f.id, "sha256": digest})
    return f


def get_report_file(session: Session, *, principal: Principal, report_id: int, name: str) -> ReportFile:
    """One attached file of a visible report."""
    get_report(session, principal=principal, report_id=report_id)
    f = session.scalar(select(ReportFile).where(ReportFile.report_id == report_id, ReportFile.name == name))
    if f is None:
        raise NotFoundError(f"报告 {report_id} 没有文件 {name} (no such file)")
    return f


def _verifier_department(
    session: Session, principal: Principal, project: CarbonProject, report_id: int
) -> int:
    """The department the principal verifies for: a registry-line verifier covering the project, not its
    own."""
    covering = access.covering_verifiers(principal, access.division_path(session, project.division_code))
    if not covering:
        raise ForbiddenError(
            "需要覆盖该项目区划的生态环境条线核查机构 verifier 角色 "
            "(requires an ecology_environment verifier covering this project's division)"
        )
    if project.department_id in principal.department_ids:
        log.warning(
            "self-verification refused",
            extra={"report_id": report_id, "project_id": project.id, "department_id": project.department_id},
        )
        raise ForbiddenError(
            "核查机构不得核查本部门的项目 (a verifier may not verify its own department's project)"
        )
    return covering[0].department_id


def _findings(findings: list[dict[str, str]] | None) -> list[dict[str, str]]:
    """The verifier's findings, each a non-empty finding text with an optional resolution (at most 50)."""
    out = []
    for i, f in enumerate(findings or []):
        text = str(f.get("finding", "")).strip()
        if not text:
            continue
        if len(text) > 1000 or len(str(f.get("resolution", ""))) > 1000:
            raise ValidationFailedError(
                "每条核查发现不超过 1000 字 (each finding at most 1000 characters)",
                details=[{"loc": ["findings", i], "msg": "too long"}],
            )
        out.append({"finding": text, "resolution": str(f.get("resolution", "")).strip()})
    if len(out) > 50:
        raise ValidationFailedError(
            "核查发现最多 50 条 (at most 50 findings)", details=[{"loc": ["findings"], "msg": "<= 50"}]
        )
    return out


def verify_report(
    session: Session,
    *,
    actor: Actor,
    report_id: int,
    approve: bool,
    statement: str,
    opinion: str | None = None,
    findings: list[dict[str, str]] | None = None,
) -> MonitoringReport:
    """A third-party verifier signs a submitted report off (or rejects it) with an opinion and findings."""
    if opinion is not None and opinion not in set(VerificationOpinion):
        raise ValidationFailedError(
            "核查结论须为无保留、保留或否定意见 (opinion: unqualified, qualified or adverse)",
            details=[{"loc": ["opinion"], "msg": "unqualified | qualified | adverse"}],
        )
    if opinion is None:
        opinion = VerificationOpinion.unqualified if approve else VerificationOpinion.adverse
    approve = opinion != VerificationOpinion.adverse
    if not statement.strip():
        raise ValidationFailedError(
            "须填写核查意见 (the verification statement is required)",
            details=[{"loc": ["statement"], "msg": "required"}],
        )
    checked = _findings(findings)
    if opinion == VerificationOpinion.qualified and not checked:
        raise ValidationFailedError(
            "保留意见须列出核查发现 (a qualified opinion lists its findings)",
            details=[{"loc": ["findings"], "msg": "at least one finding"}],
        )
    report = session.get(MonitoringReport, report_id)
    if report is None:
        raise NotFoundError(f"监测报告 {report_id} 不存在 (no monitoring report {report_id})")
    project = report.project
    p = access.principal_of(actor)
    verifier_dept = None
    if p is not None:
        verifier_dept = _verifier_department(session, p, project, report.id)
    else:
        access.division_path(session, project.division_code)  # 404 for a project in an unknown division
    target = ReportStatus.verified if approve else ReportStatus.rejected
    before = report.status
    if not can_move(before, target):
        raise ConflictError(f"报告状态为 {before}，不能再次核查 (report already {before})")
    report.status = target
    report.verifier_name = p.display_name if p is not None else access.holder_name(actor)
    report.verifier_department_id = verifier_dept
    report.verification_statement = statement
    report.verification_opinion = VerificationOpinion(opinion)
    report.verification_findings = checked
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
        detail={
            "approve": approve,
            "opinion": opinion,
            "findings": len(checked),
            "statement": statement[:500],
        },
    )
    log.info(
        "monitoring report verified" if approve else "monitoring report rejected",
        extra={
            "report_id": report.id,
            "project_id": project.id,
            "from": str(before),
            "to": target.value,
            "verifier_department_id": verifier_dept,
        },
    )
    return report


def _referenced_keys(session: Session) -> list[str]:
    return list(session.scalars(select(ReportFile.storage_key).where(ReportFile.storage_key.is_not(None))))


storage.register_references(FILE_NAMESPACE, _referenced_keys)
