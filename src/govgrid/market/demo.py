"""Market supervision demo (示例数据，合成): a directory of plausible entities for the three demo counties
with their credit classes, inspectors, one completed joint 双随机 round in 内黄县 with public results and an
escalated finding, and a committed (not yet drawn) round in 平定县. Idempotent; no argon2 beyond four demo
users."""

from __future__ import annotations

import logging
import random

from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.core.audit.service import SystemActor
from govgrid.core.departments import service as departments
from govgrid.core.identity import service as identity
from govgrid.core.modules import DemoContext
from govgrid.market import creditcode
from govgrid.market.enums import CaseKind, Outcome
from govgrid.market.models import InspectionPlan, MarketEntity
from govgrid.market.services import cases, draws, inspections, registry

log = logging.getLogger(__name__)

ACTOR = SystemActor("demo-loader")
COUNTIES = {"410527": "内黄", "430611": "君山", "140321": "平定"}
CENTRES = {"410527": (114.90, 35.97), "430611": (113.00, 29.46), "140321": (113.63, 37.80)}
TRADES = [
    ("商贸有限公司", "批发和零售业", "91"),
    ("食品有限公司", "食品制造业", "91"),
    ("农业科技有限公司", "农业", "91"),
    ("建材有限公司", "建筑材料", "91"),
    ("餐饮店", "餐饮业", "92"),
    ("超市", "零售业", "92"),
    ("果蔬种植专业合作社", "农业", "93"),
    ("药房", "药品零售", "91"),
    ("汽车维修有限公司", "机动车维修", "91"),
    ("农资经营部", "农资零售", "92"),
]
WORDS = [
    "鑫源",
    "华丰",
    "绿野",
    "永盛",
    "金穗",
    "宏达",
    "福润",
    "瑞祥",
    "新兴",
    "恒通",
    "嘉禾",
    "利民",
    "兴旺",
    "康泰",
]
SURNAMES = "王李张刘陈杨赵黄周吴"
GIVEN = ["伟", "芳", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟"]
USERS = [
    ("nh_market", "内黄县市场监督管理局执法员", "410527-market_regulation", "operator", "department"),
    ("nh_health", "内黄县卫生健康委员会执法员", "410527-health", "operator", "department"),
    ("ay_market", "安阳市市场监督管理局", "410500-market_regulation", "operator", "line"),
    ("pd_market", "平定县市场监督管理局执法员", "140321-market_regulation", "operator", "department"),
]
DEMO_SEED = (
    "6d61726b65742d64656d6f2d73656564" * 2
)  # fixed for the demo only; real draws use secrets.token_hex


def demo_code(rng: random.Random, prefix: str, county: str) -> str:
    """A valid synthetic credit code: GB 11714 organisation code with its check, then the GB 32100 check."""
    org8 = "".join(rng.choice("0123456789") for _ in range(8))
    return creditcode.make(prefix + county + org8 + creditcode.org_check_char(org8))


def _entities(county: str, rng: random.Random, n: int) -> list[registry.EntityData]:
    """n plausible entities of a county with synthetic facts (most clean, a few risky)."""
    out = []
    lon0, lat0 = CENTRES[county]
    for i in range(n):
        suffix, industry, prefix = TRADES[i % len(TRADES)]
        name = (
            f"{COUNTIES[county]}县{WORDS[i % len(WORDS)]}{suffix}（示例）"
            if county != "430611"
            else f"岳阳市君山区{WORDS[i % len(WORDS)]}{suffix}（示例）"
        )
        risky = rng.random()
        out.append(
            registry.EntityData(
                credit_code=demo_code(rng, prefix, county),
                name=name,
                industry=industry,
                address=f"{COUNTIES[county]}示例路{rng.randint(1, 300)}号",
                legal_rep=rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
                lon=round(lon0 + rng.uniform(-0.05, 0.05), 5),
                lat=round(lat0 + rng.uniform(-0.04, 0.04), 5),
                penalties=1 if risky > 0.8 else 0,
                complaints=rng.randint(0, 3) if risky > 0.6 else 0,
                abnormal=risky > 0.93,
                serious_violation=risky > 0.985,
                tax_status="C" if 0.9 < risky < 0.95 else "A" if risky < 0.3 else "B",
            )
        )
    return out


def _users(session: Session, ctx: DemoContext) -> None:
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


def _inspectors(session: Session, rng: random.Random, dept_code: str, n: int) -> None:
    dept = departments.get_by_code(session, dept_code)
    for i in range(n):
        registry.add_inspector(
            session,
            actor=ACTOR,
            department_code=dept_code,
            name=rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
            badge_no=f"{dept.division_code}{dept.line_code[:2].upper()}{i + 1:04d}",
            fields="市场监管综合执法" if "market" in dept_code else "卫生监督",
            is_demo=True,
        )


def load_demo(session: Session, ctx: DemoContext) -> None:
    """Entities, inspectors, a completed joint round in 内黄县 and a committed round in 平定县."""
    _users(session, ctx)
    if session.scalar(select(MarketEntity.id).where(MarketEntity.is_demo.is_(True)).limit(1)) is not None:
        return
    rng = random.Random(20261203)  # noqa: S311 (repeatable synthetic demo data, not a secret)
    for county in COUNTIES:
        dept = departments.get_by_code(session, f"{county}-market_regulation")
        registry.upsert_entities(
            session,
            actor=ACTOR,
            department=dept,
            rows=_entities(county, rng, 40),
            source="demo",
            is_demo=True,
        )
        _inspectors(session, rng, f"{county}-market_regulation", 6)
    _inspectors(session, rng, "410527-health", 4)
    nh = _joint_round(session)
    pd = draws.create_plan(
        session,
        actor=ACTOR,
        name="2026 年平定县企业公示信息双随机抽查（示例）",
        year=2026,
        department_code="140321-market_regulation",
        items=[("140321-market_regulation", "企业年度报告公示情况检查")],
        sample_size=4,
        weights={"A": 1, "B": 2, "C": 4, "D": 8},
        per_group=2,
        beacon_source="2026-12-31 中国福利彩票双色球开奖号码",
        is_demo=True,
    )
    draws.commit_draw(session, actor=ACTOR, plan_id=pd.id)
    ctx.printed.append(
        f"市场监管: 内黄县联合抽查 {nh.code} 已摇号并公示结果 /market/results；"
        f"平定县 {pd.code} 已公布承诺、待摇号 /market/draws (demo: nh_market, ay_market, pd_market)"
    )


def _joint_round(session: Session) -> InspectionPlan:
    """A joint round (市场监管 + 卫健, 进一次门、查多项事): drawn, every visit recorded, one escalated."""
    plan = draws.create_plan(
        session,
        actor=ACTOR,
        name="2026 年内黄县餐饮食品经营主体联合双随机抽查（示例）",
        year=2026,
        department_code="410527-market_regulation",
        items=[
            ("410527-market_regulation", "食品经营许可与公示信息检查"),
            ("410527-health", "从业人员健康证明检查"),
        ],
        sample_size=6,
        weights={"A": 1, "B": 2, "C": 4, "D": 8},
        per_group=1,
        is_demo=True,
    )
    draws.commit_draw(session, actor=ACTOR, plan_id=plan.id, seed=DEMO_SEED)
    draws.publish_draw(session, actor=ACTOR, plan_id=plan.id)
    visits = sorted(inspections.plan_inspections_all(session, plan_id=plan.id), key=lambda v: v.id)
    outcomes = [
        Outcome.no_problem,
        Outcome.no_problem,
        Outcome.corrected,
        Outcome.no_problem,
        Outcome.not_disclosed,
        Outcome.violation,
    ]
    for visit, outcome in zip(visits, outcomes, strict=False):
        inspections.record_result(
            session,
            actor=ACTOR,
            inspection_id=visit.id,
            outcome=outcome,
            summary="现场检查，已告知整改要求。" if outcome != Outcome.no_problem else "",
        )
    finding = visits[-1]
    cases.open_case(
        session,
        actor=ACTOR,
        kind=CaseKind.escalate,
        credit_code=finding.credit_code,
        from_department_code="410527-market_regulation",
        to_department_code="410500-market_regulation",
        title="连锁经营主体涉嫌跨县销售不合格食品，请市局协调（示例）",
        days=10,
        inspection_id=finding.id,
    )
    return plan
