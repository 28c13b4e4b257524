"""Coordination demo (示例数据，合成): 安阳市 hosts two more counties as tenants beside 内黄县,
province targets, a measure-backed task and an overdue hand-reported task from 安阳市 to its counties,
hardware and systems (a county's planned data platform flagged against the province's), and two compute
pools (east and west). Idempotent; no argon2 beyond the shared demo hash."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.coordination.enums import AssetKind, SystemKind, SystemState
from govgrid.coordination.models import ComputePool, Task, Tenant
from govgrid.coordination.services import assets, compute, targets, tasks, tenants
from govgrid.core import ports
from govgrid.core.audit.service import SystemActor
from govgrid.core.db import utcnow
from govgrid.core.identity import service as identity
from govgrid.core.modules import DemoContext

log = logging.getLogger(__name__)
ACTOR = SystemActor("demo-loader")
HOSTED = ("410522", "410523")  # 安阳县, 汤阴县 (内黄县 is already in the core demo)
USERS = [
    ("hn_gov", "河南省政府办（统筹）", "410000-government", "admin"),
    ("ay_gov", "安阳市政府办（统筹）", "410500-government", "admin"),
]
HARDWARE = [
    (
        "410000-data_management",
        AssetKind.machine_room,
        "河南省政务云主机房",
        "郑州市郑东新区",
        113.73,
        34.77,
        400,
        "机柜",
        0.72,
    ),
    (
        "410500-government",
        AssetKind.command_hall,
        "安阳市城市运行指挥大厅",
        "安阳市文峰区",
        114.39,
        36.10,
        120,
        "座",
        0.55,
    ),
    (
        "410527-government",
        AssetKind.video_conference,
        "内黄县视频会议室",
        "内黄县城关镇",
        114.90,
        35.97,
        60,
        "座",
        0.18,
    ),
    (
        "410527-urban_management",
        AssetKind.big_screen,
        "内黄县城管大屏",
        "内黄县城关镇",
        114.91,
        35.95,
        1,
        "块",
        0.25,
    ),
    (
        "410527-data_management",
        AssetKind.server,
        "内黄县数据局服务器",
        "内黄县城关镇",
        114.89,
        35.96,
        8,
        "台",
        0.41,
    ),
]


def load_demo(session: Session, ctx: DemoContext) -> None:
    """Tenants, targets, tasks, assets, systems and pools of the coordination demo (idempotent)."""
    if session.scalar(select(Task.id).where(Task.is_demo.is_(True)).limit(1)) is not None:
        return
    for username, display, dept, role in USERS:
        identity.ensure_user_with_role(
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
    have = set(session.scalars(select(Tenant.division_code)))
    for code in HOSTED:
        if code not in have:
            t = tenants.onboard(
                session, actor=ACTOR, division_code=code, admin_password=ctx.password, is_demo=True
            )
            ctx.users[t.admin_username] = f"{t.division.name}管理员 · admin (division)"
    known = ports.measure_catalog()  # only the measures of the enabled modules
    for key, threshold in (("appeals.on_time_rate", 0.95), ("services.online_rate", 0.9)):
        if key in known:
            targets.set_target(
                session,
                actor=ACTOR,
                division_code="410000",
                measure_key=key,
                threshold=threshold,
                is_demo=True,
            )
    now = utcnow()
    counties = ["410527", *HOSTED]
    if "appeals.on_time_rate" in known:
        tasks.create_task(
            session,
            actor=ACTOR,
            division_code="410500",
            title="诉求按期办结率达到 95%",
            description="按省定目标，各县诉求按期办结率不低于 95%，进度由民声诉求数据自动计算。",
            assignees=counties,
            measure_key="appeals.on_time_rate",
            target_value=0.95,
            period_start=now - timedelta(days=60),
            deadline=now + timedelta(days=5),
            is_demo=True,
        )
    late = tasks.create_task(
        session,
        actor=ACTOR,
        division_code="410500",
        title="政务服务大厅标准化改造",
        description="完成县级政务服务大厅综合窗口改造并报送验收材料。",
        assignees=counties,
        period_start=now - timedelta(days=60),
        deadline=now - timedelta(days=10),
        is_demo=True,
    )
    first = late.assignments[0]
    tasks.report_progress(
        session,
        actor=ACTOR,
        assignment_id=first.id,
        progress=1.0,
        evidence="综合窗口已改造完成，验收材料见附件清单。",
        done=True,
    )
    for dept, kind, name, place, lon, lat, cap, unit, use in HARDWARE:
        assets.add_asset(
            session,
            actor=ACTOR,
            department_code=dept,
            is_demo=True,
            data=assets.AssetData(
                kind=kind,
                name=name,
                location=place,
                lon=lon,
                lat=lat,
                capacity=cap,
                capacity_unit=unit,
                utilisation=use,
            ),
        )
    assets.add_system(
        session,
        actor=ACTOR,
        department_code="410000-data_management",
        is_demo=True,
        data=assets.SystemData(
            kind=SystemKind.data_platform,
            name="河南省一体化数据共享交换平台",
            platform="河南省政务云",
            state=SystemState.operating,
            offered_below=True,
            users=5200,
        ),
    )
    assets.add_system(
        session,
        actor=ACTOR,
        department_code="410527-data_management",
        is_demo=True,
        data=assets.SystemData(
            kind=SystemKind.data_platform,
            name="内黄县数据中台（规划）",
            state=SystemState.planned,
            budget_wan=380,
        ),
    )
    if session.scalar(select(ComputePool.id).limit(1)) is None:
        compute.add_pool(
            session,
            actor=ACTOR,
            department_code="410000-data_management",
            is_demo=True,
            data=compute.PoolData(
                code="HN-ZZ",
                name="河南政务云郑州节点",
                region="河南·郑州",
                capacity_units=64,
                cost_per_unit=1.2,
                residency=["410000"],
            ),
        )
        compute.add_pool(
            session,
            actor=ACTOR,
            department_code="410000-data_management",
            is_demo=True,
            data=compute.PoolData(
                code="NX-ZW",
                name="宁夏枢纽中卫集群",
                region="宁夏枢纽·中卫",
                capacity_units=512,
                cost_per_unit=0.45,
                residency=["410000", "640000"],
            ),
        )
    log.info("coordination demo loaded", extra={"tenants": len(HOSTED)})
