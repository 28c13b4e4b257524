"""MRV report (监测、报告与核查报告): HTML with figures beside it, and a PDF through matplotlib's PdfPages.

Everything a verifier needs to reproduce the numbers is in it: every parameter, every input file's
SHA-256, the equations of the methodology, the accuracy and error figures, and the credit arithmetic.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import rasterio
from matplotlib.backends.backend_pdf import PdfPages

from .result import AssessmentResult

CLASS_COLOURS = ["#ffffff", "#2b6cb0", "#c8b27a", "#7cb342", "#c0ca33", "#1b5e20", "#f6e05e", "#9e9e9e"]


def _read(path: str) -> np.ma.MaskedArray:
    with rasterio.open(path) as src:
        return src.read(1, masked=True)


def _map(ax: Any, arr: np.ma.MaskedArray, title: str, cmap: str, label: str, centre: bool = False) -> None:
    kw: dict[str, Any] = {"cmap": cmap}
    if centre:
        lim = float(np.abs(arr).max() or 1.0)
        kw.update(vmin=-lim, vmax=lim)
    im = ax.imshow(arr, **kw)
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    plt.colorbar(im, ax=ax, shrink=0.75, label=label)


def figures(r: AssessmentResult, out: Path) -> list[Path]:
    """Maps of land cover, stock, change and uncertainty, and charts of pools and the credit steps."""
    from matplotlib.colors import ListedColormap

    y1, y2 = r.vintage_start, r.vintage_end
    paths = []
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
    cmap = ListedColormap(CLASS_COLOURS)
    for ax, y in zip(axes, (y1, y2), strict=True):
        ax.imshow(
            _read(r.rasters[f"landcover_{y}"]).filled(0), cmap=cmap, vmin=0, vmax=7, interpolation="nearest"
        )
        ax.set_title(f"Land cover {y} (random forest)", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(
        "1 open water  2 mudflat  3 reed marsh  4 sedge meadow  5 forest  6 cropland  7 built-up", fontsize=8
    )
    paths.append(out / "fig_landcover.png")
    fig.savefig(paths[-1], dpi=110, bbox_inches="tight")
    plt.close(fig)

    fig, axes = plt.subplots(2, 2, figsize=(10, 8.5))
    _map(axes[0, 0], _read(r.rasters[f"stock_{y1}"]), f"Carbon stock {y1}", "YlGn", "Mg C/ha")
    _map(axes[0, 1], _read(r.rasters[f"stock_{y2}"]), f"Carbon stock {y2}", "YlGn", "Mg C/ha")
    _map(axes[1, 0], _read(r.rasters["change"]), f"Stock change {y1}-{y2}", "RdBu", "Mg C/ha", centre=True)
    _map(
        axes[1, 1],
        np.sqrt(_read(r.rasters["soil_variance"])),
        "Soil kriging standard deviation",
        "magma",
        "t C/ha",
    )
    paths.append(out / "fig_maps.png")
    fig.savefig(paths[-1], dpi=110, bbox_inches="tight")
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    pools = r.stocks["pools"]
    areas = r.stocks["areas_ha"]
    names = ["c_above", "c_below", "c_soil", "c_dead"]
    bottom = np.zeros(2)
    for n in names:
        vals = (
            np.array([sum(pools[y][k][n] * areas[y].get(k, 0.0) for k in pools[y]) for y in (y1, y2)]) / 1000
        )
        axes[0].bar([str(y1), str(y2)], vals, bottom=bottom, label=n)
        bottom += vals
    axes[0].set_ylabel("kt C")
    axes[0].set_title("Stock by pool", fontsize=9)
    axes[0].legend(fontsize=8)
    c = r.credit
    steps = [
        ("project", c["project_removals_tco2e"]),
        ("- baseline", -c["baseline_removals_tco2e"]),
        ("- leakage", -c["leakage_tco2e"]),
        ("- uncertainty", -c["uncertainty_deduction_tco2e"]),
        ("- buffer", -c["buffer_tco2e"]),
        ("credits", c["net_creditable_tco2e"]),
    ]
    axes[1].bar(
        [s for s, _ in steps], [v for _, v in steps], color=["#2f855a"] + ["#c53030"] * 4 + ["#2b6cb0"]
    )
    lo, hi = r.interval_90_tco2e
    axes[1].axhspan(lo, hi, color="grey", alpha=0.2, label="90% interval of net removals")
    axes[1].legend(fontsize=8)
    axes[1].set_ylabel("t CO2e")
    axes[1].set_title(f"Credit arithmetic ({r.methodology})", fontsize=9)
    axes[1].tick_params(axis="x", labelsize=8)
    paths.append(out / "fig_charts.png")
    fig.savefig(paths[-1], dpi=110, bbox_inches="tight")
    plt.close(fig)
    return paths


def _rows(d: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for k, v in d.items():
        if isinstance(v, float):
            out.append((k, f"{v:,.4f}"))
        elif isinstance(v, dict | list):
            out.append((k, json.dumps(v, ensure_ascii=False, default=str)))
        else:
            out.append((k, str(v)))
    return out


def sections(r: AssessmentResult) -> list[tuple[str, list[tuple[str, str]]]]:
    """The report's tables as (title, rows), shared by HTML and PDF."""
    c = r.credit
    return [
        (
            "Result 结果",
            [
                ("project", r.project),
                ("methodology 方法学", r.methodology),
                ("vintage 监测期", f"{r.vintage_start}-{r.vintage_end}"),
                ("area (ha)", f"{r.area_ha:,.2f}"),
                ("annual sink 年碳汇 (t C/yr)", f"{r.annual_sink_tc:,.2f}"),
                ("annual sink (t CO2e/yr)", f"{r.annual_sink_tco2e:,.2f}"),
                (
                    "90% interval of net removals (t CO2e)",
                    f"{r.interval_90_tco2e[0]:,.1f} .. {r.interval_90_tco2e[1]:,.1f}",
                ),
                ("net creditable 可签发减排量 (t CO2e)", f"{r.net_creditable_tco2e:,.2f}"),
            ],
        ),
        ("Credit arithmetic 核算", _rows({k: v for k, v in c.items() if k != "equations"})),
        ("Equations 公式", [(str(i + 1), e) for i, e in enumerate(c["equations"])]),
        ("Stocks 碳储量 (t C)", _rows({str(k): v for k, v in r.stocks["total_tc"].items()})),
        (
            "Pools per class 分地类碳密度 (Mg C/ha)",
            [
                (
                    f"{y} class {k}",
                    ", ".join(f"{n}={v:.2f}" for n, v in row.items())
                    + f", area={r.stocks['areas_ha'][y].get(k, 0):.1f} ha",
                )
                for y, rows in r.stocks["pools"].items()
                for k, row in rows.items()
            ],
        ),
        (
            "Classification accuracy 分类精度 (held-out points)",
            [
                *_rows({k: v for k, v in r.classification.items() if k != "confusion"}),
                ("confusion matrix (rows = reference)", json.dumps(r.classification["confusion"])),
            ],
        ),
        ("Biomass regression 生物量回归", _rows(r.biomass)),
        ("LiDAR 激光雷达", _rows(r.lidar)),
        ("Soil kriging 土壤克里金", _rows(r.soil)),
        ("Monte Carlo 蒙特卡洛", _rows(r.monte_carlo)),
        ("InVEST-compatible cross-check (default pools)", _rows(r.invest_compatible)),
        ("Input files SHA-256 输入文件哈希", list(r.input_hashes.items())),
        ("Parameters 参数", _rows(r.parameters)),
    ]


def write_report(r: AssessmentResult, out: Path) -> tuple[Path, Path]:
    """Write ``report.html`` (figures as PNG beside it) and ``report.pdf``."""
    figs = figures(r, out)
    secs = sections(r)
    parts = [
        "<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'><title>MRV report</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}table{border-collapse:collapse;margin-bottom:1em}"
        "td,th{border:1px solid #ccc;padding:3px 6px;font-size:13px;vertical-align:top}"
        "td:first-child{white-space:nowrap}</style>",
        f"</head><body><h1>Wetland carbon MRV report 湿地碳汇监测报告: {html.escape(r.project)}</h1>",
        "<p>Generated by govgrid.carbon.engine. "
        "Reproduce with the same inputs (hashes below) and parameters.</p>",
    ]
    for f in figs:
        parts.append(f"<p><img src='{f.name}' style='max-width:100%'></p>")
    for title, rows in secs:
        parts.append(f"<h2>{html.escape(title)}</h2><table>")
        parts += [f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in rows]
        parts.append("</table>")
    parts.append("</body></html>")
    html_path = out / "report.html"
    html_path.write_text("\n".join(parts), encoding="utf-8")

    pdf_path = out / "report.pdf"
    with PdfPages(pdf_path) as pdf:
        for f in figs:
            img = plt.imread(f)
            fig = plt.figure(figsize=(8.27, 11.69))
            ax = fig.add_axes((0.05, 0.05, 0.9, 0.9))
            ax.imshow(img)
            ax.axis("off")
            pdf.savefig(fig)
            plt.close(fig)
        # tables as text pages; DejaVu has no CJK glyphs, so the PDF keeps the English half of each title
        lines: list[str] = []
        for title, rows in secs:
            lines.append("")
            lines.append("== " + "".join(ch for ch in title if ord(ch) < 0x2E80).strip())
            for k, v in rows:
                k2 = "".join(ch for ch in k if ord(ch) < 0x2E80).strip()
                text = f"{k2}: {v}"
                lines += [text[i : i + 110] for i in range(0, max(1, len(text)), 110)]
        per_page = 70
        for i in range(0, len(lines), per_page):
            fig = plt.figure(figsize=(8.27, 11.69))
            fig.text(
                0.04, 0.97, "\n".join(lines[i : i + per_page]), va="top", family="monospace", fontsize=6.5
            )
            pdf.savefig(fig)
            plt.close(fig)
    return html_path, pdf_path
