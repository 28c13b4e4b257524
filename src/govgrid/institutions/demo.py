"""Institutions demo (示例数据，合成): data officials of 河南省, 内黄县 and 平定县, scoring rules
(河南省 v1, 内黄县 v1 and v2), a real gateway refusal (平定县 asks 内黄县's population data through the data
port without a grant), the grading register synced from the exchange catalog, and the refusal filed
as an incident under investigation. Idempotent; runs after the exchange demo (its calls are the ledger)."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.core import ports
from govgrid.core.audit import service as audit
from govgrid.core.audit.service import SystemActor
from govgrid.core.db import utcnow
from govgrid.core.errors import AppError
from govgrid.core.identity import service as identity
from govgrid.core.modules import DemoContext
from govgrid.institutions.models import ScoringRule
from govgrid.institutions.rules import DEFAULT_WEIGHTS
from govgrid.institutions.services import incidents, ledger, register

log = logging.getLogger(__name__)
ACTOR = SystemActor("demo-loader")
USERS = [
    ("hn_shuju", "河南省数据局（数据制度）", "410000-data_management", "admin"),
    ("nh_shuju", "内黄县数据局（数据制度）", "410527-data_management", "admin"),
    ("pd_shuju", "平定县数据局（数据制度）", "140321-data_management", "admin"),
]
PROVINCES = ("410000", "140000")
RULES = [
    ("410000", DEFAULT_WEIGHTS, 0.01, "省级默认：预填 3 分、核验 2 分"),
    ("410527", {**DEFAULT_WEIGHTS, "case": 3.0}, 0.0, "县级试行"),
    ("410527", {**DEFAULT_WEIGHTS, "case": 4.0}, 0.005, "提高办案用数权重（绩效考核）"),
]


def load_demo(session: Session, ctx: DemoContext) -> None:
    """Users, rules, a refused call, the register and an incident (idempotent)."""
    if session.scalar(select(ScoringRule.id).where(ScoringRule.is_demo.is_(True)).limit(1)) is not None:
        return
    users = {}
    for username, display, dept, role in USERS:
        users[username] = identity.ensure_user_with_role(
            session,
            actor=ACTOR,
            username=username,
            password=ctx.password,
            display_name=display,
            department_code=dept,
            role=role,
            reach="division",
            is_demo=True,
        )
        ctx.users[username] = f"{display} · {role} (division)"
    for code, weights, row_weight, note in RULES:
        rule = ledger.set_rule(
            session, actor=ACTOR, division_code=code, weights=weights, row_weight=row_weight, note=note
        )
        rule.is_demo = True
    try:
        ports.pull_rows(
            session,
            actor=identity.principal_for_user(users["pd_shuju"]),
            resource_code="A01-410527-0001",
            filters={},
            purpose="跨省人口信息比对（未申请共享）",
        )
    except AppError as exc:  # the refusal is audited as the web layer does after a refused request
        if exc.audit:
            audit.record(session, **exc.audit)
    for code in PROVINCES:
        try:
            register.sync(session, actor=ACTOR, division_code=code)
            end = utcnow() + timedelta(seconds=1)
            incidents.scan(session, actor=ACTOR, division_code=code, start=end - timedelta(days=90), end=end)
        except AppError:
            log.warning("institutions demo: %s skipped (exchange data missing)", code)
    for inc in incidents.incidents(session, actor=ACTOR, division_code="410000", state="reported")[:1]:
        incidents.move(
            session,
            actor=ACTOR,
            incident_id=inc.id,
            state="investigating",
            note="已通知平定县数据局核实调用目的，提示先提交共享申请",
        )
    ctx.printed.append(
        "数据制度 institutions: /institutions/ledger (贡献台账与计分规则), "
        "/institutions/security (分类分级台账、安全事件). Try nh_shuju (内黄县) or hn_shuju (河南省)."
    )
