"""Demo data of the reuse module: 内黄县's own appeals settings (its 民声诉求监督群 practice) exported as a
signed pack, and the case library's first entries: the seed's three cases (君山湿地碳汇, 内黄 民声诉求监督群,
平定 一张图) and Zhejiang's 最多跑一次. Figures are illustrative demo values (is_demo), not statistics."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.core import ports
from govgrid.core.audit.service import SystemActor
from govgrid.core.departments import service as departments
from govgrid.core.modules import DemoContext
from govgrid.reuse.enums import CaseState
from govgrid.reuse.models import Case, Pack
from govgrid.reuse.services import cases, packs

log = logging.getLogger(__name__)
ACTOR = SystemActor("demo-loader")
NEIHUANG = "410527"
APPEALS = ("appeals", "categories")

# 内黄县: supervision groups watch wage arrears and village affairs; clocks shorter than the platform default.
NEIHUANG_APPEALS: dict[str, Any] = {
    "categories": {
        "wage_arrears": {"line": "human_resources", "sign_hours": 2, "resolve_days": 5},
        "village_affairs": {"line": "petition", "resolve_days": 5},
        "garbage": {"sign_hours": 1, "resolve_days": 1},
    }
}

CASES: list[dict[str, Any]] = [
    {
        "division_code": "430611", "title": "君山湿地碳汇：遥感核算与碳汇交易",
        "summary": "以湿地遥感分类和 IPCC 湿地指南方法核算碳汇，形成可核查的 MRV 报告，"
                   "并探索碳汇收益回馈保护。",
        "state": CaseState.recommended_provincial,
        "before": {"核算周期（天）": 90}, "after": {"核算周期（天）": 7},
    },
    {
        "division_code": NEIHUANG, "title": "内黄县民声诉求监督群",
        "summary": "群众诉求进监督群，纪检监察下沉监督，欠薪、村务等诉求限时签收、限时办结，超时自动升级。",
        "state": CaseState.accepted, "pack_id": f"appeals-{NEIHUANG}",
        "before": {"按期办结率（%）": 82.0, "满意率（%）": 85.0},
        "after": {"按期办结率（%）": 95.5, "满意率（%）": 93.0},
    },
    {
        "division_code": "140321", "title": "平定县城市管理一张图",
        "summary": "网格、部件、事件和视频汇于一张图，案件按网格派遣并跟踪到结案。",
        "state": CaseState.under_review,
        "before": {"结案率（%）": 78.0}, "after": {"结案率（%）": 92.0},
    },
    {
        "division_code": "330000", "title": "浙江省“最多跑一次”改革",
        "summary": "以群众和企业到政府办事“最多跑一次”为目标，推动事项标准化、数据共享和一窗受理。",
        "state": CaseState.recommended_national,
        "before": {}, "after": {},
    },
]


def _neihuang_settings(session: Session) -> None:
    """Give 内黄县 its own appeals settings through the pack-section port (once)."""
    section = ports.PACK_SECTIONS.get(APPEALS)
    if section is None or any(section.export(session, division_code=NEIHUANG).get("categories", {}).values()):
        return
    plan = section.plan(session, division_code=NEIHUANG, content=NEIHUANG_APPEALS, mapping={})
    section.apply(session, actor=ACTOR, division_code=NEIHUANG, plan=plan)


def _walk(session: Session, case: Case, target: CaseState) -> None:
    """Move a demo case along the table to its state."""
    path = [CaseState.under_review, CaseState.accepted, CaseState.recommended_provincial,
            CaseState.recommended_national]
    for state in path[: path.index(target) + 1]:
        if state == CaseState.under_review:
            cases.start_review(session, actor=ACTOR, case_id=case.id)
        elif state == CaseState.accepted:
            cases.decide(session, actor=ACTOR, case_id=case.id, accept=True, note="示例：入库")
        else:
            level = "provincial" if state == CaseState.recommended_provincial else "national"
            cases.promote(session, actor=ACTOR, case_id=case.id, level=level)


def load_demo(session: Session, ctx: DemoContext) -> None:
    """内黄县's appeals pack in the catalogue and the four library cases (idempotent)."""
    _neihuang_settings(session)
    if ports.PACK_SECTIONS.get(APPEALS) is not None and session.scalar(
        select(Pack.id).where(Pack.pack_id == f"appeals-{NEIHUANG}").limit(1)
    ) is None:
        packs.export_pack(session, actor=ACTOR, division_code=NEIHUANG, module="appeals")
    for entry in CASES:
        if session.scalar(select(Case.id).where(Case.title == entry["title"]).limit(1)) is not None:
            continue
        departments.ensure(session, line_code="government", division_code=entry["division_code"])
        pack_id = entry.get("pack_id")
        if pack_id and session.scalar(select(Pack.id).where(Pack.pack_id == pack_id).limit(1)) is None:
            pack_id = None
        case = cases.submit(
            session, actor=ACTOR, division_code=entry["division_code"], title=entry["title"],
            summary=entry["summary"], pack_id=pack_id, measures_before=entry["before"],
            measures_after=entry["after"], is_demo=True,
        )
        _walk(session, case, entry["state"])
    ctx.printed.append("方案包与典型案例：/reuse/packs，/reuse/cases（内黄县方案包 appeals-410527）")
    log.info("reuse demo loaded", extra={"cases": len(CASES)})
