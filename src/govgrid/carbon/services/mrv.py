"""The MRV report for people (监测报告): one document, shown as a page and printed as a PDF.

In Chinese: the project and its map, ONE area figure (the project area on its projected CRS, with the engine's
pixel area reconciled to it), the land-cover change, the pool table, the uncertainty and the deductions, the
methodology with equation references, the verification, the registry entries, and the data hashes in an
appendix. No raw JSON, no server paths: only figures the report names.
"""

from __future__ import annotations

import io
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.carbon.models import Adjustment, Issuance, MonitoringReport
from govgrid.carbon.report_pdf import render_pdf
from govgrid.carbon.serials import serial_label
from govgrid.carbon.services import reports
from govgrid.carbon.spatial import boundary_geometry
from govgrid.core.authz.principal import Principal
from govgrid.core.geofiles import open_raster

CLASS_ZH = {1: "开阔水面", 2: "泥滩", 3: "芦苇沼泽", 4: "苔草草甸", 5: "林地", 6: "耕地", 7: "建设用地"}
CLASS_COLOURS = {
    1: "#2b6cb0",
    2: "#c8b27a",
    3: "#7cb342",
    4: "#c0ca33",
    5: "#1b5e20",
    6: "#f6e05e",
    7: "#9e9e9e",
}
METHODOLOGY_ZH = {
    "ipcc_inland_wetland": "IPCC 2013 湿地增补指南第 5 章：内陆矿质土湿地（储量差法）",
    "vm0033": "Verra VM0033 v2.1 潮汐湿地与海草床恢复方法学",
}
WETLAND_ZH = {
    "lake": "湖泊湿地",
    "riverine": "河流湿地",
    "inland_mineral": "内陆矿质土湿地",
    "inland_organic": "内陆有机土湿地",
    "tidal_marsh": "潮汐盐沼",
    "tidal_freshwater": "潮汐淡水湿地",
    "mangrove": "红树林",
    "seagrass": "海草床",
}
INPUT_ZH = {
    "config": "核算配置文件",
    "image_bas": "基期遥感影像",
    "image_alt": "末期遥感影像",
    "training_points": "地类训练样点",
    "field_plots": "生物量样地",
    "soil_samples": "土壤采样数据",
    "carbon_pools": "碳库参数表",
    "lidar": "无人机 LiDAR 点云",
}
STATUS_ZH = {"submitted": "待核查", "verified": "已核查", "rejected": "未通过核查"}
OPINION_ZH = {"unqualified": "无保留意见", "qualified": "保留意见", "adverse": "否定意见"}
RISK_ZH = {"low": "低", "medium": "中", "high": "高"}
CREDIT_STEPS = (
    ("project_removals_tco2e", "项目碳清除量", 1),
    ("baseline_removals_tco2e", "基线碳清除量", -1),
    ("leakage_tco2e", "泄漏", -1),
    ("uncertainty_deduction_tco2e", "不确定性扣减", -1),
    ("buffer_tco2e", "方法学非永久性扣减", -1),
    ("net_creditable_tco2e", "可签发减排量", 1),
)
EQUATIONS = {
    "ipcc_inland_wetland": [
        (
            "式 1",
            "ΔC = (C_t2 - C_t1) ÷ (t2 - t1)",
            "年均碳储量变化（t C/年），四个碳库合计",
            "IPCC 2006 指南第 4 卷第 2 章式 2.5（储量差法）",
        ),
        (
            "式 2",
            "C_t = Σ_k A_k × (C地上_k + C地下_k + C土壤_k + C死亡_k)",
            "各地类面积乘碳密度之和（t C）",
            "IPCC 2013 湿地增补指南第 5 章",
        ),
        (
            "式 3",
            "C地上 = AGB × CF；C地下 = AGB × R × CF",
            "CF 为含碳率 0.47，R 为根冠比",
            "IPCC 2006 指南第 4 卷表 4.3、表 4.4",
        ),
        (
            "式 4",
            "R = ΔC × (t2 - t1) × 44/12 - E项目",
            "碳清除量折算为二氧化碳当量（t CO2e）",
            "IPCC 2006 指南第 4 卷",
        ),
        ("式 5", "NR = R项目 - R基线 - LK", "净碳清除量：扣除基线与泄漏", "CCER 湿地类方法学通行结构"),
        (
            "式 6",
            "NR调整 = NR × (1 - (U90 - 10%))，U90 > 10% 时",
            "90% 置信区间半宽超过 10% 时的保守扣减",
            "CCER 方法学保守性原则",
        ),
        (
            "式 7",
            "可签发量 = NR调整 × (1 - 缓冲比例)",
            "方法学非永久性扣减后可签发量",
            "VCS AFOLU 非永久性风险工具",
        ),
    ],
    "vm0033": [
        (
            "式 1",
            "NER = GHG_BSL - GHG_WPS + FRP - GHG_LK",
            "净减排量：基线排放减项目排放，加火灾减少奖励，减泄漏",
            "VM0033 v2.1 第 8 节式 8.1",
        ),
        (
            "式 2",
            "NER调整 = NER × (1 - (NER_ERROR - 20%))，误差超过 20% 时",
            "不确定性扣减",
            "VM0033 v2.1 第 8.5 节",
        ),
        ("式 3", "可签发量 = NER调整 × (1 - 缓冲比例)", "非永久性缓冲扣减", "VCS AFOLU 非永久性风险工具"),
    ],
}
FIGURES = ("map", "landcover")


def _num(value: Any) -> float | None:
    """A finite number from a report summary (submitted data), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return None
    return float(value)


def _project_section(report: MonitoringReport) -> dict[str, Any]:
    """项目概况 and the one area figure, with the engine's pixel area reconciled to it."""
    p = report.project
    pixel = _num((report.summary or {}).get("pixel_area_ha")) or report.area_ha
    diff = pixel - p.area_ha
    pct = diff / p.area_ha * 100 if p.area_ha else 0.0
    zone = p.area_crs.removeprefix("EPSG:326")
    crs_name = (
        f"WGS 84 / UTM 第 {zone} 带（{p.area_crs}）" if p.area_crs.startswith("EPSG:326") else p.area_crs
    )
    rows = [
        ["项目名称", p.name],
        ["项目编号", p.code],
        ["项目业主", p.department.name],
        ["行政区划代码", p.division_code],
        [
            "湿地类型",
            WETLAND_ZH.get(p.wetland_type, p.wetland_type) + ("（潮汐）" if p.tidal else "（非潮汐）"),
        ],
        ["方法学", METHODOLOGY_ZH.get(p.methodology, p.methodology)],
        ["计入期", f"{p.crediting_start} 至 {p.crediting_end}"],
        ["监测期", f"{report.vintage_start} 年至 {report.vintage_end} 年"],
        ["项目面积", f"{p.area_ha:,.2f} 公顷"],
        ["非永久性风险等级", RISK_ZH.get(p.risk_rating, p.risk_rating)],
        ["报告状态", STATUS_ZH.get(report.status, report.status)],
    ]
    return {
        "heading": "一、项目概况",
        "tables": [{"header": ["项目", "内容"], "rows": rows, "widths": [1, 3], "numeric_from": 2}],
        "paragraphs": [
            f"本报告通篇使用一个面积数：项目面积 {p.area_ha:,.2f} 公顷，即项目边界（地块）在投影坐标系 "
            f"{crs_name or '（未记录）'}上量算的面积。",
            f"面积核对：核算引擎按分类栅格的有效像元计得 {pixel:,.2f} 公顷，与项目面积相差 "
            f"{diff:+,.2f} 公顷（{pct:+.3f}%）。差异来自边界穿过的像元按整像元计入或舍去，以及无数据像元；"
            "下文各地类面积按像元占比折算到项目面积，合计等于项目面积。",
        ],
        "figures": ["map"],
    }


def _landcover_section(report: MonitoringReport, area_ha: float) -> dict[str, Any] | None:
    """土地覆被变化: class areas of both epochs (pixel shares scaled to the project area) and their change."""
    areas = (report.summary or {}).get("areas_ha")
    y1, y2 = str(report.vintage_start), str(report.vintage_end)
    if not isinstance(areas, dict) or y1 not in areas or y2 not in areas:
        return None
    a1 = {int(k): _num(v) or 0.0 for k, v in areas[y1].items() if str(k).isdigit()}
    a2 = {int(k): _num(v) or 0.0 for k, v in areas[y2].items() if str(k).isdigit()}
    t1, t2 = sum(a1.values()) or 1.0, sum(a2.values()) or 1.0
    rows = []
    for k in sorted(set(a1) | set(a2)):
        h1, h2 = a1.get(k, 0.0) / t1 * area_ha, a2.get(k, 0.0) / t2 * area_ha
        rows.append([CLASS_ZH.get(k, f"地类 {k}"), h1, h2, h2 - h1, f"{(h2 - h1) / area_ha * 100:+.2f}%"])
    rows.append(["合计", area_ha, area_ha, 0.0, "0.00%"])
    return {
        "heading": "二、土地覆被变化",
        "paragraphs": [f"两期遥感影像经随机森林分类，{y1} 年与 {y2} 年各地类面积（公顷）如下。"],
        "tables": [
            {
                "header": ["地类", f"{y1} 年", f"{y2} 年", "变化", "占项目面积"],
                "rows": rows,
                "widths": [2, 1.3, 1.3, 1.3, 1.3],
            }
        ],
        "figures": ["landcover"],
    }


def _pool_section(report: MonitoringReport) -> dict[str, Any] | None:
    """碳库表: carbon density of every pool per class and epoch, and the stock per epoch."""
    summary = report.summary or {}
    pools = summary.get("pools")
    stocks: dict[str, Any] = summary["stocks_tc"] if isinstance(summary.get("stocks_tc"), dict) else {}
    rows = []
    if isinstance(pools, dict):
        for year in sorted(pools):
            for k in sorted(pools[year], key=lambda x: int(x) if str(x).isdigit() else 0):
                row = pools[year][k] if isinstance(pools[year][k], dict) else {}
                vals = [_num(row.get(p)) or 0.0 for p in ("c_above", "c_below", "c_soil", "c_dead")]
                name = CLASS_ZH.get(int(k), f"地类 {k}") if str(k).isdigit() else str(k)
                rows.append([f"{year} 年", name, *vals, sum(vals)])
    stock_rows = [[f"{y} 年", v] for y, v in sorted(stocks.items()) if _num(v) is not None]
    if not rows and not stock_rows:
        return None
    tables = []
    if rows:
        tables.append(
            {
                "caption": "各地类碳密度（t C/公顷）",
                "numeric_from": 2,
                "header": ["时相", "地类", "地上生物量", "地下生物量", "土壤有机碳", "枯落物", "合计"],
                "rows": rows,
                "widths": [1, 1.4, 1.1, 1.1, 1.1, 1, 1],
            }
        )
    if stock_rows:
        tables.append({"caption": "项目碳储量（t C）", "header": ["时相", "碳储量"], "rows": stock_rows})
    return {"heading": "三、碳库与碳储量", "tables": tables}


def _credit_section(report: MonitoringReport, issuance: Issuance | None) -> dict[str, Any]:
    """不确定性与扣减: the Monte Carlo interval and each deduction from removals to creditable tonnes."""
    summary = report.summary or {}
    credit: dict[str, Any] = summary["credit"] if isinstance(summary.get("credit"), dict) else {}
    rows = []
    for key, label, sign in CREDIT_STEPS:
        value = _num(credit.get(key))
        if value is not None:
            rows.append([label, (sign * value if key != "net_creditable_tco2e" else value) + 0.0])
    if not rows:
        rows.append(["可签发减排量", report.net_creditable_tco2e])
    paragraphs = []
    interval = summary.get("interval_90_tco2e")
    mc: dict[str, Any] = summary["monte_carlo"] if isinstance(summary.get("monte_carlo"), dict) else {}
    if isinstance(interval, list) and len(interval) == 2 and all(_num(x) is not None for x in interval):
        half = _num(mc.get("half_width_rel")) or _num(credit.get("uncertainty_rel"))
        allowed = _num(credit.get("allowed_uncertainty"))
        n = _num(mc.get("n"))
        text = (
            f"不确定性：蒙特卡洛模拟{f' {int(n):,} 次' if n else ''}，净碳清除量 90% 置信区间为 "
            f"{interval[0]:,.2f} 至 {interval[1]:,.2f} t CO2e"
        )
        if half is not None:
            text += f"，区间半宽为均值的 {half * 100:.1f}%"
        if allowed is not None:
            text += f"；方法学允许 {allowed * 100:.0f}%，超出部分按式 6 扣减"
        paragraphs.append(text + "。")
    if issuance is not None:
        share = issuance.buffer_quantity / issuance.quantity * 100 if issuance.quantity else 0
        paragraphs.append(
            f"登记簿签发：{issuance.quantity:,} t CO2e（序列号 {serial_label(report.project.code, issuance.vintage_start, issuance.vintage_end, issuance.serial_start, issuance.serial_end)}），"  # noqa: E501
            f"其中 {issuance.buffer_quantity:,} 吨（{share:.1f}%，按风险等级"
            f"“{RISK_ZH.get(issuance.risk_rating or '', '中')}”）存入缓冲池，用于抵补日后的逆转损失。"
            "方法学非永久性扣减不再另行扣留：签发量为扣减前的核证减排量，缓冲份额只由登记簿缓冲池扣留一次。"
        )
    return {
        "heading": "四、减排量、不确定性与扣减",
        "tables": [{"header": ["核算步骤", "t CO2e"], "rows": rows, "widths": [2, 1]}],
        "paragraphs": paragraphs,
    }


def _method_section(report: MonitoringReport) -> dict[str, Any]:
    """方法学: the equations with their references."""
    eqs = EQUATIONS.get(report.methodology, [])
    return {
        "heading": "五、方法学与计算公式",
        "paragraphs": [f"采用方法学：{METHODOLOGY_ZH.get(report.methodology, report.methodology)}。"],
        "tables": [
            {
                "header": ["编号", "公式", "说明", "出处"],
                "rows": [list(e) for e in eqs],
                "widths": [0.6, 2.6, 2, 2],
                "numeric_from": 4,
            }
        ]
        if eqs
        else [],
    }


def _verification_section(report: MonitoringReport, adjustments: list[Adjustment]) -> dict[str, Any]:
    """核查与更正: the verifier's opinion, statement and findings, then any compensating entries."""
    paragraphs = []
    if report.verified_at:
        opinion = OPINION_ZH.get(
            report.verification_opinion or "", "无保留意见" if report.status == "verified" else "否定意见"
        )
        paragraphs.append(
            f"核查机构：{report.verifier_name or '—'}；核查结论：{opinion}；"
            f"核查日期：{report.verified_at:%Y-%m-%d}。"
        )
        paragraphs.append(f"核查意见：{report.verification_statement or '—'}")
    else:
        paragraphs.append("本报告尚待第三方核查。")
    tables = []
    findings = report.verification_findings or []
    if findings:
        tables.append(
            {
                "caption": "核查发现",
                "header": ["序号", "发现", "处理"],
                "numeric_from": 3,
                "rows": [
                    [str(i + 1), f["finding"], f.get("resolution") or "—"] for i, f in enumerate(findings)
                ],
                "widths": [0.5, 3, 3],
            }
        )
    if adjustments:
        kinds = {"reversal": "逆转", "correction": "更正"}
        tables.append(
            {
                "caption": "补偿分录（原签发记录不作修改）",
                "numeric_from": 2,
                "header": ["类型", "日期", "作废量", "缓冲池", "项目持有", "未覆盖", "原因"],
                "rows": [
                    [
                        kinds.get(a.kind, a.kind),
                        f"{a.created_at:%Y-%m-%d}",
                        a.quantity,
                        a.from_buffer,
                        a.from_project,
                        a.uncovered,
                        a.reason,
                    ]
                    for a in adjustments
                ],
                "widths": [0.7, 1.1, 0.8, 0.8, 0.8, 0.8, 2.5],
            }
        )
    return {"heading": "六、第三方核查与更正", "paragraphs": paragraphs, "tables": tables}


def _appendix(session: Session, report: MonitoringReport) -> dict[str, Any]:
    """附录: the SHA-256 of every input and of every attached output (names only, never paths)."""
    inputs = [[INPUT_ZH.get(k, k), v] for k, v in sorted(report.input_hashes.items())]
    files = [[f.name, f.sha256, f.size] for f in reports.report_file_rows(session, report_id=report.id)]
    tables = [
        {
            "caption": "输入数据",
            "header": ["数据", "SHA-256"],
            "rows": inputs,
            "widths": [1.2, 4],
            "numeric_from": 2,
        }
    ]
    if files:
        tables.append(
            {
                "caption": "成果文件",
                "header": ["文件", "SHA-256", "字节"],
                "rows": files,
                "widths": [1.5, 4, 0.8],
                "numeric_from": 2,
            }
        )
    return {
        "heading": "附录　数据哈希",
        "tables": tables,
        "notes": ["核查时对原始数据重新计算 SHA-256，与上表一致即证明报告所用数据未被改动。"],
    }


def report_document(session: Session, *, principal: Principal, report_id: int) -> dict[str, Any]:
    """The MRV report of a visible monitoring report, as sections of paragraphs, tables and figures."""
    report = reports.get_report(session, principal=principal, report_id=report_id)
    p = report.project
    issuance = session.scalar(select(Issuance).where(Issuance.report_id == report.id))
    adjustments = list(
        session.scalars(select(Adjustment).where(Adjustment.report_id == report.id).order_by(Adjustment.id))
    )
    sections = [_project_section(report)]
    for extra in (_landcover_section(report, p.area_ha), _pool_section(report)):
        if extra is not None:
            sections.append(extra)
    sections += [
        _credit_section(report, issuance),
        _method_section(report),
        _verification_section(report, adjustments),
        _appendix(session, report),
    ]
    for i, s in enumerate(sections[1:-1], start=2):  # renumber when optional sections are missing
        s["heading"] = "二三四五六七八"[i - 2] + "、" + s["heading"].split("、", 1)[1]
    demo = " · 示例数据（合成，非真实调查）" if p.is_demo else ""
    return {
        "title": f"{p.name} 监测报告",
        "subtitle": f"{p.code} · 监测期 {report.vintage_start}-{report.vintage_end} 年{demo}",
        "footer": f"{p.code} 监测报告 #{report.id}",
        "author": p.department.name,
        "report_id": report.id,
        "sections": sections,
    }


def _plt() -> Any:
    """matplotlib with a CJK font (WenQuanYi Micro Hei from fonts-wqy-microhei) for the figures."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["font.sans-serif"] = ["WenQuanYi Micro Hei", "Noto Sans CJK SC", "DejaVu Sans"]
    plt.rcParams["axes.unicode_minus"] = False
    return plt


def _png(fig: Any) -> bytes:
    """A figure as PNG bytes (closed afterwards)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
    _plt().close(fig)
    return buf.getvalue()


def map_figure(report: MonitoringReport) -> bytes:
    """项目范围图: the parcels on the project's projected CRS with a scale bar and north arrow."""
    import shapely
    from pyproj import Transformer

    plt = _plt()
    p = report.project
    geom = boundary_geometry(p.parcels or p.boundary)
    crs = p.area_crs or "EPSG:3857"
    to_m = Transformer.from_crs(4326, crs, always_xy=True)
    projected = shapely.transform(geom, lambda x, y: to_m.transform(x, y), interleaved=False)
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    polys = list(getattr(projected, "geoms", [projected]))
    for i, poly in enumerate(polys):
        x, y = poly.exterior.xy
        ax.fill(x, y, color="#2f855a", alpha=0.35, label="项目地块" if i == 0 else None)
        ax.plot(x, y, color="#22543d", linewidth=1.2)
    minx, miny, maxx, maxy = projected.bounds
    span = max(maxx - minx, maxy - miny) or 1.0
    bar = 10 ** int(f"{span / 3:e}".split("e")[1])
    ax.plot([minx, minx + bar], [miny - span * 0.05] * 2, color="black", linewidth=3)
    ax.text(
        minx + bar / 2,
        miny - span * 0.09,
        f"{bar / 1000:g} 千米" if bar >= 1000 else f"{bar:g} 米",
        ha="center",
        fontsize=8,
    )
    ax.annotate(
        "北",
        xy=(maxx + span * 0.08, maxy),
        xytext=(maxx + span * 0.08, maxy - span * 0.14),
        ha="center",
        fontsize=10,
        arrowprops={"arrowstyle": "-|>", "color": "black"},
        annotation_clip=False,
    )
    ax.set_aspect("equal")
    ax.ticklabel_format(style="plain", useOffset=False)
    ax.set_title(f"项目范围图（项目面积 {p.area_ha:,.2f} 公顷，{crs}）", fontsize=10)
    ax.set_xlabel("东坐标（米）", fontsize=8)
    ax.set_ylabel("北坐标（米）", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=8, loc="lower right")
    return _png(fig)


def landcover_figure(session: Session, report: MonitoringReport) -> bytes | None:
    """土地覆被图: both epochs' classified maps and the pixels that changed, with a Chinese legend."""
    import numpy as np
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    names = [f"landcover_{report.vintage_start}.tif", f"landcover_{report.vintage_end}.tif"]
    files = reports.report_files(session, report_id=report.id, names=names)
    if len(files) != 2:
        return None
    arrays = []
    for name in names:
        with open_raster(name, files[name]) as ds:
            arrays.append(ds.read(1))
    if arrays[0].shape != arrays[1].shape:
        return None
    plt = _plt()
    cmap = ListedColormap(["#ffffff"] + [CLASS_COLOURS[k] for k in range(1, 8)])
    fig, axes = plt.subplots(1, 3, figsize=(11, 4.2))
    for ax, arr, year in zip(axes[:2], arrays, (report.vintage_start, report.vintage_end), strict=True):
        ax.imshow(np.clip(arr, 0, 7), cmap=cmap, vmin=0, vmax=7, interpolation="nearest")
        ax.set_title(f"{year} 年土地覆被", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    changed = (arrays[0] != arrays[1]) & (arrays[0] > 0) & (arrays[1] > 0)
    axes[2].imshow(
        changed, cmap=ListedColormap(["#f7fafc", "#c53030"]), vmin=0, vmax=1, interpolation="nearest"
    )
    axes[2].set_title(f"地类变化像元（{changed.mean() * 100:.1f}%）", fontsize=10)
    axes[2].set_xticks([])
    axes[2].set_yticks([])
    handles = [Patch(color=CLASS_COLOURS[k], label=CLASS_ZH[k]) for k in range(1, 8)]
    fig.legend(handles=handles, loc="lower center", ncol=7, fontsize=8, frameon=False)
    fig.subplots_adjust(bottom=0.12)
    return _png(fig)


def figure(session: Session, *, principal: Principal, report_id: int, name: str) -> bytes | None:
    """One figure of the MRV report ('map' or 'landcover'), None when its data is missing."""
    report = reports.get_report(session, principal=principal, report_id=report_id)
    if name == "map":
        return map_figure(report)
    if name == "landcover":
        return landcover_figure(session, report)
    return None


def report_pdf(session: Session, *, principal: Principal, report_id: int) -> tuple[bytes, str]:
    """The MRV report as PDF bytes and its file name."""
    doc = report_document(session, principal=principal, report_id=report_id)
    report = reports.get_report(session, principal=principal, report_id=report_id)
    figures = {"map": map_figure(report)}
    lc = landcover_figure(session, report)
    if lc is not None:
        figures["landcover"] = lc
    return render_pdf(doc, figures), f"mrv-{report.project.code}-{report.id}.pdf"


def document_json(doc: dict[str, Any]) -> str:
    """The document as JSON text (for tests and the API's consumers; never shown on the page)."""
    return json.dumps(doc, ensure_ascii=False, default=str)
