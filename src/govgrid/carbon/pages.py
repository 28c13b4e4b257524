"""Carbon registry pages: project map, monitoring results with maps and charts, public registry, alerts."""

from __future__ import annotations

import math
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from govgrid.carbon.models import MonitoringReport
from govgrid.carbon.serials import serial_label
from govgrid.carbon.services import access, accounts, alerts, buffer, credits, mrv, projects, public, reports
from govgrid.core.deps import SessionDep, get_locale
from govgrid.core.pages import PagePrincipal, register_messages, render

router = APIRouter(include_in_schema=False)

register_messages(
    {
        "zh-CN": {
            "carbon.title": "湿地碳汇",
            "carbon.projects": "碳汇项目",
            "carbon.registry": "碳汇登记簿",
            "carbon.alerts": "保护预警",
            "carbon.map": "项目范围图",
            "carbon.code": "项目编号",
            "carbon.name": "项目名称",
            "carbon.proponent": "项目业主",
            "carbon.methodology": "方法学",
            "carbon.area": "面积 (公顷)",
            "carbon.period": "计入期",
            "carbon.reports": "监测报告",
            "carbon.vintage": "监测期",
            "carbon.status": "状态",
            "carbon.net": "可签发减排量 (tCO2e)",
            "carbon.hashes": "输入文件 SHA-256",
            "carbon.verifier": "核查机构",
            "carbon.issuances": "签发记录",
            "carbon.serial": "序列号",
            "carbon.quantity": "数量 (tCO2e)",
            "carbon.holder": "持有账户",
            "carbon.retired": "已注销",
            "carbon.issued": "已签发",
            "carbon.active": "流通中",
            "carbon.beneficiary": "受益方",
            "carbon.reason": "注销原因",
            "carbon.open_report": "打开完整 MRV 报告",
            "carbon.figures": "引擎输出图件",
            "carbon.charts": "核算图表",
            "carbon.none": "暂无",
            "carbon.lost": "湿地流失 (公顷)",
            "carbon.transitions": "地类转变",
            "carbon.department": "责任部门",
            "carbon.public_note": "公开登记簿：列出项目、签发与注销（含受益方），不含账户与个人信息。",
            "carbon.demo_note": "示例数据（合成，非真实调查）",
            "carbon.division": "行政区划边界",
            "carbon.blocks": "序列号区块",
            "carbon.epochs": "时相",
            "carbon.alert_help": (
                "项目范围内湿地（水面、泥滩、沼泽、草甸）转为耕地或建设用地超过阈值时生成，"
                "派给县林业局和生态环境局。"
            ),
            "carbon.stock_chart": "各时相碳储量 (t C)",
            "carbon.credit_chart": "减排量核算步骤 (tCO2e)",
            "carbon.registry_chart": "各项目签发与注销 (tCO2e)",
            "carbon.steps": "项目清除,基线,泄漏,不确定性扣减,缓冲池,可签发",
        },
        "en": {
            "carbon.title": "Wetland carbon",
            "carbon.projects": "Carbon projects",
            "carbon.registry": "Carbon registry",
            "carbon.alerts": "Protection alerts",
            "carbon.map": "Project map",
            "carbon.code": "Code",
            "carbon.name": "Name",
            "carbon.proponent": "Proponent",
            "carbon.methodology": "Methodology",
            "carbon.area": "Area (ha)",
            "carbon.period": "Crediting period",
            "carbon.reports": "Monitoring reports",
            "carbon.vintage": "Vintage",
            "carbon.status": "Status",
            "carbon.net": "Net creditable (tCO2e)",
            "carbon.hashes": "Input SHA-256",
            "carbon.verifier": "Verifier",
            "carbon.issuances": "Issuances",
            "carbon.serial": "Serial numbers",
            "carbon.quantity": "Quantity (tCO2e)",
            "carbon.holder": "Account",
            "carbon.retired": "Retired",
            "carbon.issued": "Issued",
            "carbon.active": "Active",
            "carbon.beneficiary": "Beneficiary",
            "carbon.reason": "Reason",
            "carbon.open_report": "Open the full MRV report",
            "carbon.figures": "Engine figures",
            "carbon.charts": "Accounting charts",
            "carbon.none": "None yet",
            "carbon.lost": "Wetland lost (ha)",
            "carbon.transitions": "Transitions",
            "carbon.department": "Department",
            "carbon.public_note": (
                "Public registry: projects, issuances and retirements with beneficiaries; "
                "no accounts or personal data."
            ),
            "carbon.demo_note": "Demo data (synthetic, not a survey)",
            "carbon.division": "Division boundary",
            "carbon.blocks": "Serial blocks",
            "carbon.epochs": "Epochs",
            "carbon.alert_help": (
                "Raised when wetland (water, mudflat, marsh, meadow) inside a project turns to cropland or "
                "built-up land beyond the threshold; assigned to the county forestry and ecology-environment "
                "departments."
            ),
            "carbon.stock_chart": "Carbon stock by epoch (t C)",
            "carbon.credit_chart": "Credit arithmetic (tCO2e)",
            "carbon.registry_chart": "Issued and retired per project (tCO2e)",
            "carbon.steps": "project,baseline,leakage,uncertainty,buffer,creditable",
        },
    }
)


CREDIT_STEPS = (
    "project_removals_tco2e",
    "baseline_removals_tco2e",
    "leakage_tco2e",
    "uncertainty_deduction_tco2e",
    "buffer_tco2e",
    "net_creditable_tco2e",
)
EPOCH = re.compile(r"^\d{4}$")


def _number(value: Any) -> float | None:
    """A finite number from a report summary, else None (summaries are submitted data)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def report_chart(report: MonitoringReport) -> dict[str, Any]:
    """The chart data of one report: epochs (four-digit years) with numeric stocks, the known credit steps."""
    summary = report.summary if isinstance(report.summary, dict) else {}
    stocks = summary.get("stocks_tc")
    credit = summary.get("credit")
    stock_points: dict[str, float] = {}
    if isinstance(stocks, dict):
        for key, value in stocks.items():
            number = _number(value)
            if EPOCH.match(str(key)) and number is not None:
                stock_points[str(key)] = number
    credit_steps: dict[str, float] = {}
    if isinstance(credit, dict):
        for step in CREDIT_STEPS:
            number = _number(credit.get(step))
            if number is not None:
                credit_steps[step] = number
    return {
        "id": report.id,
        "vintage": [report.vintage_start, report.vintage_end],
        "stocks": stock_points,
        "credit": credit_steps,
    }


@router.get("/carbon")
def carbon_home() -> RedirectResponse:
    """The module's entry point: the project list."""
    return RedirectResponse("/carbon/projects", status_code=303)


@router.get("/carbon/projects")
def projects_page(request: Request, session: SessionDep, principal: PagePrincipal) -> HTMLResponse:
    """Projects in scope on a map with their division boundaries."""
    rows, total = projects.list_projects(session, principal=principal, limit=200, offset=0)
    features = [projects.project_boundary(p) | {"id": p.id} for p in rows]
    divisions = sorted({p.division_code[:6] for p in rows})
    return render(
        request,
        "carbon/projects.html",
        {
            "projects": rows,
            "total": total,
            # objects, written into the page with |tojson (never |safe): names cannot leave the script
            "features": features,
            "divisions": divisions,
        },
    )


@router.get("/carbon/projects/{project_id}")
def project_page(
    project_id: int, request: Request, session: SessionDep, principal: PagePrincipal
) -> HTMLResponse:
    """One project: map, monitoring results with the engine's figures and charts, issuances, blocks,
    alerts."""
    project = projects.get_project(session, principal=principal, project_id=project_id)
    report_rows = reports.list_reports(session, principal=principal, project_id=project_id)
    pool = accounts.buffer_account_of(session, division_code=project.division_code)
    return render(
        request,
        "carbon/project.html",
        {
            "project": project,
            "reports": report_rows,
            "issuances": credits.project_issuances(session, project_id=project_id),
            "blocks": credits.project_blocks(session, project_id=project_id),
            "alerts": alerts.project_alerts(session, project_id=project_id),
            "adjustments": buffer.project_adjustments(session, project_id=project_id),
            "buffer_accounts": {pool.id} if pool else set(),
            "can": access.project_actions(session, principal, project),
            "input_names": mrv.INPUT_ZH if get_locale(request) == "zh-CN" else {},
            "serial": serial_label,
            "feature": projects.project_boundary(project),
            "parcels": projects.project_parcels(project),
            "charts": [report_chart(r) for r in report_rows],
        },
    )


@router.get("/carbon/registry")
def registry_page(request: Request, session: SessionDep) -> HTMLResponse:
    """The public registry of issued and retired credits (no login)."""
    reg = public.public_registry(session)
    return render(
        request,
        "carbon/registry.html",
        {"reg": reg, "per_project": public.totals_per_project(reg), "blocks": public.block_rows(session)},
    )


@router.get("/carbon/alerts")
def alerts_page(request: Request, session: SessionDep, principal: PagePrincipal) -> HTMLResponse:
    """Protection-alert inbox of the caller's departments."""
    tasks, total = alerts.list_alert_tasks(session, principal=principal, status=None, limit=200, offset=0)
    return render(request, "carbon/alerts.html", {"tasks": tasks, "total": total})
