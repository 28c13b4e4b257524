"""The MRV report as a PDF (监测报告 PDF), pure: a document (``services.mrv.report_document``) and its figures
in, PDF bytes out. ReportLab lays out real tables; the Chinese text uses WenQuanYi Micro Hei (Debian
``fonts-wqy-microhei``), or another installed CJK font, or ReportLab's built-in STSong CID font."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import Flowable

FONT_FILES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)
FONT = "GGChinese"
HEADER_BG = colors.HexColor("#e6efe9")
GRID = colors.HexColor("#9aa5a0")


def _font() -> str:
    """Register the CJK font once; its name."""
    if FONT in pdfmetrics.getRegisteredFontNames():
        return FONT
    for path in FONT_FILES:
        if Path(path).exists():
            pdfmetrics.registerFont(TTFont(FONT, path, subfontIndex=0))
            return FONT
    if "STSong-Light" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    return "STSong-Light"


def _styles(font: str) -> dict[str, ParagraphStyle]:
    """Paragraph styles of the report."""
    body = ParagraphStyle("body", fontName=font, fontSize=9.5, leading=14, wordWrap="CJK")
    return {
        "title": ParagraphStyle("title", parent=body, fontSize=17, leading=24, alignment=TA_CENTER),
        "subtitle": ParagraphStyle("subtitle", parent=body, alignment=TA_CENTER, textColor=colors.grey),
        "h1": ParagraphStyle("h1", parent=body, fontSize=13, leading=20, spaceBefore=8, spaceAfter=4),
        "body": body,
        "cell": ParagraphStyle("cell", parent=body, fontSize=8.5, leading=11),
        "cell_right": ParagraphStyle("cell_right", parent=body, fontSize=8.5, leading=11, alignment=TA_RIGHT),
        "mono": ParagraphStyle("mono", parent=body, fontName="Courier", fontSize=7, leading=9),
        "note": ParagraphStyle(
            "note", parent=body, fontSize=8, leading=11, textColor=colors.HexColor("#555555")
        ),
    }


def _esc(text: Any) -> str:
    """Text for a ReportLab paragraph (its mini-markup escaped)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _table(
    rows: list[list[Any]], styles: dict[str, ParagraphStyle], widths: list[float], numeric_from: int = 1
) -> Table:
    """A table with a header row; numbers right-aligned from column ``numeric_from``."""
    cell, right = styles["cell"], styles["cell_right"]
    data = [
        [
            Paragraph(_esc(c), right if r > 0 and i >= numeric_from else cell) if isinstance(c, str) else c
            for i, c in enumerate(row)
        ]
        for r, row in enumerate(rows)
    ]
    t = Table(data, colWidths=widths, repeatRows=1)
    t.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), styles["cell"].fontName),
                ("FONTSIZE", (0, 0), (-1, -1), 8.5),
                ("BACKGROUND", (0, 0), (-1, 0), HEADER_BG),
                ("GRID", (0, 0), (-1, -1), 0.4, GRID),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("ALIGN", (numeric_from, 1), (-1, -1), "RIGHT"),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return t


def _num_rows(rows: list[list[Any]]) -> list[list[Any]]:
    """Numbers as text right-aligned (floats with two decimals and thousands separators)."""
    out = []
    for row in rows:
        out.append(
            [f"{c:,.2f}" if isinstance(c, float) else f"{c:,}" if isinstance(c, int) else c for c in row]
        )
    return out


def _figure(png: bytes, width: float) -> Flowable:
    """A PNG figure scaled to ``width``."""
    img = Image(io.BytesIO(png))
    img.drawHeight = width * img.imageHeight / img.imageWidth
    img.drawWidth = width
    return img


def _footer(canvas: Any, doc: Any) -> None:
    """Page number and the report's title at the foot of every page."""
    canvas.saveState()
    canvas.setFont(FONT if FONT in pdfmetrics.getRegisteredFontNames() else "Helvetica", 7.5)
    canvas.setFillColor(colors.grey)
    canvas.drawString(18 * mm, 10 * mm, getattr(doc, "gg_footer", ""))
    canvas.drawRightString(A4[0] - 18 * mm, 10 * mm, f"第 {doc.page} 页")
    canvas.restoreState()


def render_pdf(doc: dict[str, Any], figures: dict[str, bytes]) -> bytes:
    """The whole MRV report as PDF bytes."""
    font = _font()
    st = _styles(font)
    width = A4[0] - 36 * mm
    story: list[Flowable] = [
        Paragraph(_esc(doc["title"]), st["title"]),
        Paragraph(_esc(doc["subtitle"]), st["subtitle"]),
        Spacer(1, 6 * mm),
    ]
    for section in doc["sections"]:
        block: list[Flowable] = [Paragraph(_esc(section["heading"]), st["h1"])]
        for para in section.get("paragraphs", []):
            block.append(Paragraph(_esc(para), st["body"]))
            block.append(Spacer(1, 1.5 * mm))
        for table in section.get("tables", []):
            if table.get("caption"):
                block.append(Paragraph(_esc(table["caption"]), st["note"]))
            cols = len(table["header"])
            rel = table.get("widths") or [1] * cols
            widths = [width * w / sum(rel) for w in rel]
            rows = [table["header"], *_num_rows(table["rows"])]
            block.append(_table(rows, st, widths, numeric_from=table.get("numeric_from", 1)))
            block.append(Spacer(1, 2.5 * mm))
        for name in section.get("figures", []):
            if name in figures:
                block.append(_figure(figures[name], width * (0.62 if name == "map" else 0.95)))
                block.append(Spacer(1, 2 * mm))
        for note in section.get("notes", []):
            block.append(Paragraph(_esc(note), st["note"]))
        story.append(KeepTogether(block[:3]))
        story.extend(block[3:])
    buf = io.BytesIO()
    pdf = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=doc["title"],
        author=doc.get("author", ""),
    )
    pdf.gg_footer = doc.get("footer", "")  # type: ignore[attr-defined]
    pdf.build(story, onFirstPage=_footer, onLaterPages=_footer)
    return buf.getvalue()
