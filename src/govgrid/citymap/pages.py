"""City map pages: the one map (一张图), the inspector's mobile report page, and a case page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from govgrid.citymap import catalog
from govgrid.citymap.enums import SHANGHAI, STATE_ZH, CaseAction
from govgrid.citymap.services import cases
from govgrid.core.authz.principal import Principal
from govgrid.core.deps import SessionDep, get_locale
from govgrid.core.pages import PagePrincipal, register_messages, render, translate

router = APIRouter(include_in_schema=False)

MESSAGES = {
    "zh-CN": {
        "citymap.title": "城市管理一张图",
        "citymap.layers": "图层",
        "citymap.grid": "单元网格",
        "citymap.grid_by": "网格着色",
        "citymap.by_open": "在办案卷数",
        "citymap.by_overdue": "超期数",
        "citymap.cases": "案卷",
        "citymap.parts": "城市部件",
        "citymap.units": "处置力量",
        "citymap.cameras": "视频监控",
        "citymap.boundaries": "行政区划",
        "citymap.heat": "热力图",
        "citymap.class": "类别",
        "citymap.all": "全部",
        "citymap.period": "时段",
        "citymap.days30": "近30天",
        "citymap.days90": "近90天",
        "citymap.days180": "近180天",
        "citymap.indicators": "考核指标（近90天）",
        "citymap.closure_rate": "结案率",
        "citymap.on_time_rate": "按期结案率",
        "citymap.rework_rate": "返工率",
        "citymap.overdue": "超期数",
        "citymap.open_overdue": "在办超期",
        "citymap.filed": "立案数",
        "citymap.response": "响应时间中位数(分)",
        "citymap.live": "实时",
        "citymap.report": "网格员上报",
        "citymap.report_title": "问题上报",
        "citymap.photo": "照片",
        "citymap.location": "位置",
        "citymap.use_gps": "使用当前位置",
        "citymap.description": "描述",
        "citymap.submit": "上报",
        "citymap.case": "案卷",
        "citymap.state": "状态",
        "citymap.steps": "处理过程",
        "citymap.departments": "部门考核",
        "citymap.units_available": "可用",
        "citymap.tap_map": "在地图上点击选择位置",
        "citymap.open": "在办",
        "citymap.part": "部件",
        "citymap.department": "部门",
        "citymap.assigned": "应处置",
        "citymap.on_time": "按期率",
        "citymap.rework": "返工率",
        "js.available": "空闲",
        "js.en_route": "在途",
        "js.on_site": "到场",
        "js.off_duty": "离岗",
        "js.cell": "网格",
        "js.area": "面积",
        "js.open_n": "在办",
        "js.overdue_n": "超期",
        "js.open_cases": "在办案卷",
        "js.overdue_cases": "超期案卷",
        "js.case_state": "案卷状态",
        "js.units": "处置力量",
        "js.part": "部件",
        "js.nearby": "附近案卷",
        "js.none_open": "无在办案卷",
        "js.no_indicators": "无权查看指标",
        "citymap.inspectors": "监督员考核",
        "citymap.person": "人员",
        "citymap.reported": "上报",
        "citymap.valid_rate": "有效率",
        "citymap.verified": "核查",
        "citymap.on_time_verify": "按时核查率",
    },
    "en": {
        "citymap.title": "City management map",
        "citymap.layers": "Layers",
        "citymap.grid": "Unit grid",
        "citymap.grid_by": "Colour cells by",
        "citymap.by_open": "open cases",
        "citymap.by_overdue": "overdue cases",
        "citymap.cases": "Cases",
        "citymap.parts": "City parts",
        "citymap.units": "Field units",
        "citymap.cameras": "Cameras",
        "citymap.boundaries": "Divisions",
        "citymap.heat": "Heat map",
        "citymap.class": "Class",
        "citymap.all": "all",
        "citymap.period": "Period",
        "citymap.days30": "last 30 days",
        "citymap.days90": "last 90 days",
        "citymap.days180": "last 180 days",
        "citymap.indicators": "Indicators (last 90 days)",
        "citymap.closure_rate": "Closure rate",
        "citymap.on_time_rate": "On-time closure rate",
        "citymap.rework_rate": "Rework rate",
        "citymap.overdue": "Overdue",
        "citymap.open_overdue": "Open overdue",
        "citymap.filed": "Filed",
        "citymap.response": "Median response (min)",
        "citymap.live": "live",
        "citymap.report": "Inspector report",
        "citymap.report_title": "Report a problem",
        "citymap.photo": "Photo",
        "citymap.location": "Location",
        "citymap.use_gps": "Use my position",
        "citymap.description": "Description",
        "citymap.submit": "Submit",
        "citymap.case": "Case",
        "citymap.state": "State",
        "citymap.steps": "Steps",
        "citymap.departments": "Departments",
        "citymap.units_available": "available",
        "citymap.tap_map": "tap the map to pick the location",
        "citymap.open": "open",
        "citymap.part": "part",
        "citymap.department": "Department",
        "citymap.assigned": "Assigned",
        "citymap.on_time": "On time",
        "citymap.rework": "Rework",
        "js.available": "available",
        "js.en_route": "en route",
        "js.on_site": "on site",
        "js.off_duty": "off duty",
        "js.cell": "Cell",
        "js.area": "Area",
        "js.open_n": "open",
        "js.overdue_n": "overdue",
        "js.open_cases": "Open cases",
        "js.overdue_cases": "Overdue cases",
        "js.case_state": "Case state",
        "js.units": "Field units",
        "js.part": "Part",
        "js.nearby": "cases nearby",
        "js.none_open": "no open cases",
        "js.no_indicators": "indicators not in your scope",
        "citymap.inspectors": "Supervision",
        "citymap.person": "Person",
        "citymap.reported": "Reports",
        "citymap.valid_rate": "Valid",
        "citymap.verified": "Checks",
        "citymap.on_time_verify": "On time",
    },
}
register_messages(MESSAGES)


ACTION_ZH = {
    CaseAction.collect.value: "信息收集",
    CaseAction.file.value: "案卷建立",
    CaseAction.reject.value: "不予立案",
    CaseAction.dispatch.value: "任务派遣",
    CaseAction.acknowledge.value: "签收任务",
    CaseAction.arrive.value: "到达现场",
    CaseAction.feedback.value: "处理反馈",
    CaseAction.verify_pass.value: "核查通过·结案",
    CaseAction.verify_fail.value: "核查未通过·返工",
    CaseAction.evaluate.value: "综合评价",
}
DEFAULT_COUNTY = "140321"  # the demo county, when the caller's assignments name none


def _county(principal: Principal, requested: str | None) -> str:
    if requested and requested.isdigit() and len(requested) == 6:
        return requested
    for a in principal.assignments:
        if (
            len(a.division_code) >= 6
            and a.division_code[:6] != "000000"
            and not a.division_code.endswith("0000")
        ):
            return a.division_code[:6]
    return DEFAULT_COUNTY


def _classes(locale: str) -> list[dict[str, str]]:
    return [
        {"kind": c.kind, "code": c.code, "name": c.name_zh if locale == "zh-CN" else c.name_en}
        for c in catalog.catalogue()
    ]


@router.get("/citymap")
def map_page(
    request: Request, principal: PagePrincipal, county: str | None = None, town: str | None = None
) -> HTMLResponse:
    """The one map: grid, cases, parts, units, cameras, boundaries, heat, indicators, live feed."""
    code = _county(principal, county)
    locale = get_locale(request)
    js_keys = [k[3:] for k in MESSAGES["zh-CN"] if k.startswith("js.")]
    return render(
        request,
        "citymap_map.html",
        {
            "county": code,
            "town": town or "",
            "classes": _classes(locale),
            "js_messages": {k: translate(locale, "js." + k) for k in js_keys},
            "states": [(s.value, z if locale == "zh-CN" else s.value) for s, z in STATE_ZH.items()],
        },
    )


@router.get("/citymap/report")
def report_page(request: Request, principal: PagePrincipal) -> HTMLResponse:
    """The grid inspector's mobile page: class, point, description, photo."""
    return render(
        request,
        "citymap_report.html",
        {
            "county": _county(principal, None),
            "classes": sorted(_classes(get_locale(request)), key=lambda c: (c["kind"] != "event", c["code"])),
        },
    )


@router.get("/citymap/cases/{case_id}")
def case_page(case_id: int, request: Request, session: SessionDep, principal: PagePrincipal) -> HTMLResponse:
    """One case with its steps."""
    case = cases.case_read(cases.read_case(session, principal=principal, case_id=case_id))
    steps = cases.case_steps(session, principal=principal, case_id=case_id)
    return render(
        request,
        "citymap_case.html",
        {
            "case": case,
            "steps": steps,
            "tz": SHANGHAI,
            "action_zh": ACTION_ZH,
            "state_zh": {s.value: z for s, z in STATE_ZH.items()},
        },
    )
