"""Demo data for the three seed counties: 君山区, 内黄县, 平定县.

Each gets townships, villages, departments and users.

Township and village boundaries are demo data: Voronoi partitions of the real county boundary around
seed points. Township codes follow the GB/T 10114 layout (001-099 街道, 100-199 镇, 200-299 乡)
but are not the official codes.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import shapely
from shapely.geometry import MultiPoint, mapping, shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.core.audit.service import SystemActor
from govgrid.core.departments import service as departments
from govgrid.core.divisions import service as divisions
from govgrid.core.divisions.models import Division
from govgrid.core.identity import service as identity
from govgrid.core.identity.models import User
from govgrid.core.modules import DEMO_PASSWORD, DemoContext, module_specs

log = logging.getLogger(__name__)

ACTOR = SystemActor("demo-loader")

# county code -> (prefix for usernames, townships [(suffix, name)], villages per township)
COUNTIES: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "430611": ("jsh", [
        ("001", "柳林洲街道"), ("100", "许市镇"), ("101", "钱粮湖镇"), ("102", "良心堡镇"),
        ("103", "广兴洲镇"),
    ]),
    "410527": ("nh", [
        ("100", "城关镇"), ("101", "东庄镇"), ("102", "井店镇"), ("103", "梁庄镇"), ("104", "后河镇"),
        ("105", "楚旺镇"), ("200", "张龙乡"), ("201", "高堤乡"),
    ]),
    "140321": ("pd", [
        ("100", "冠山镇"), ("101", "冶西镇"), ("102", "锁簧镇"), ("103", "张庄镇"), ("104", "娘子关镇"),
        ("200", "岔口乡"),
    ]),
}
VILLAGE_NAMES = [
    "东关村", "西街村", "南街村", "北关村", "前营村", "后营村", "王庄村", "李庄村", "张庄村", "刘庄村",
    "新华村", "红旗村", "团结村", "和平村", "幸福村", "五里铺村",
]
COUNTY_LINES = [
    "government", "development_reform", "finance", "tax", "audit", "statistics", "market_regulation",
    "education", "health", "human_resources", "civil_affairs", "administrative_approval", "urban_management",
    "ecology_environment", "natural_resources", "forestry", "water_resources", "agriculture", "housing",
    "transport", "public_security", "emergency", "discipline_inspection", "data_management", "petition",
    "hotline_12345",
]
UPPER_LINES = [
    "government", "finance", "tax", "statistics", "market_regulation", "human_resources", "civil_affairs",
    "urban_management", "ecology_environment", "natural_resources", "forestry", "discipline_inspection",
    "data_management", "health", "development_reform",
]


def _partition(boundary: dict, n: int, seed: int) -> list:
    """Split a polygon into n plausible parts (Voronoi cells around random interior points)."""
    poly = shape(boundary)
    rng = random.Random(seed)  # noqa: S311  (repeatable demo geometry, not a secret)
    minx, miny, maxx, maxy = poly.bounds
    pts: list[shapely.Point] = []
    while len(pts) < n:
        p = shapely.Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if poly.contains(p):
            pts.append(p)
    cells = shapely.voronoi_polygons(MultiPoint(pts), extend_to=poly.envelope.buffer(0.1))
    parts = []
    for cell in cells.geoms:
        part = shapely.make_valid(cell.intersection(poly).buffer(0))
        if part.geom_type == "GeometryCollection":
            part = shapely.unary_union([g for g in part.geoms if g.geom_type in ("Polygon", "MultiPolygon")])
        # shrink a hair so children sit strictly inside their parent despite float noise
        parts.append(part.buffer(-1e-7))
    return [p for p in parts if not p.is_empty]


def load_core(session: Session, ctx: DemoContext) -> None:
    """Divisions below the three counties, their departments up the lines, and demo users."""
    for county_code, (prefix, towns) in COUNTIES.items():
        county = divisions.get(session, county_code)
        lineage = [a.code for a in divisions.ancestors(session, county) if a.level in ("province", "city")]
        for code in lineage:
            for line in UPPER_LINES:
                d = departments.ensure(session, line_code=line, division_code=code)
                ctx.departments[d.code] = d.id
        for line in COUNTY_LINES:
            d = departments.ensure(session, line_code=line, division_code=county_code)
            ctx.departments[d.code] = d.id
        county_boundary = json.loads(
            session.scalar(select(Division.boundary).where(Division.code == county_code))
        )
        town_shapes = _partition(county_boundary, len(towns), seed=int(county_code))
        for i, ((suffix, tname), tshape) in enumerate(zip(towns, town_shapes, strict=False)):
            tcode = county_code + suffix
            if session.get(Division, tcode) is None:
                divisions.create_subdivision(
                    session,
                    parent_code=county_code,
                    code=tcode,
                    name=tname,
                    level="township",
                    boundary=mapping(tshape),
                    allow_outside=True,
                )
            d = departments.ensure(
                session, line_code="government", division_code=tcode, name=f"{tname}人民政府"
            )
            ctx.departments[d.code] = d.id
            vshapes = _partition(mapping(tshape), 4, seed=int(tcode))
            for j, vshape in enumerate(vshapes):
                vcode = f"{tcode}{200 + j:03d}"
                vname = VILLAGE_NAMES[(i * 4 + j) % len(VILLAGE_NAMES)]
                if session.get(Division, vcode) is None:
                    divisions.create_subdivision(
                        session,
                        parent_code=tcode,
                        code=vcode,
                        name=vname,
                        level="village",
                        boundary=mapping(vshape),
                        allow_outside=True,
                    )
                d = departments.ensure(
                    session, line_code="government", division_code=vcode, name=f"{vname}村民委员会"
                )
                ctx.departments[d.code] = d.id
        county_name = county.name
        users = [
            (f"{prefix}_gov", f"{county_name}政府办管理员", "government", "admin", "division"),
            (f"{prefix}_data", f"{county_name}数据局", "data_management", "admin", "department"),
            (f"{prefix}_tax", f"{county_name}税务局", "tax", "operator", "department"),
            (f"{prefix}_dispatcher", f"{county_name}12345派遣员", "hotline_12345", "dispatcher", "division"),
            (f"{prefix}_handler", f"{county_name}城管处置员", "urban_management", "handler", "department"),
            (
                f"{prefix}_supervisor",
                f"{county_name}纪委监督员",
                "discipline_inspection",
                "supervisor",
                "division",
            ),
            (f"{prefix}_viewer", f"{county_name}查看者", "government", "viewer", "department"),
        ]
        for username, display, line, role, reach in users:
            _demo_user(session, ctx, username, display, f"{county_code}-{line}", role, reach)
    # Line roles up the tree: a city bureau sees the same line in its counties.
    _demo_user(session, ctx, "ay_tax", "安阳市税务局", "410500-tax", "operator", "line")
    _demo_user(session, ctx, "hn_data", "河南省数据管理局", "410000-data_management", "admin", "line")
    _demo_user(session, ctx, "yy_forestry", "岳阳市林业局", "430600-forestry", "operator", "line")
    if session.scalar(select(User.id).where(User.username == "admin")) is None:
        identity.create_user(
            session,
            actor=ACTOR,
            username="admin",
            password=DEMO_PASSWORD,
            display_name="平台管理员",
            is_superuser=True,
            is_demo=True,
        )
    ctx.users["admin"] = "平台管理员 platform administrator (all divisions)"


def _demo_user(session: Session, ctx: DemoContext, username: str, display: str, dept_code: str, role: str,
               reach: str) -> None:
    identity.ensure_user_with_role(session, actor=ACTOR, username=username, password=DEMO_PASSWORD,
                                   display_name=display, department_code=dept_code, role=role, reach=reach,
                                   is_demo=True)
    ctx.users[username] = f"{display} · {role} ({reach})"


def load_demo(session: Session, *, base_url: str = "http://127.0.0.1:8000") -> DemoContext:
    """Load the core demo and every module's demo (each loader is idempotent);
    `base_url` is where it is served."""
    ctx = DemoContext(password=DEMO_PASSWORD, base_url=base_url)
    load_core(session, ctx)
    session.flush()
    for spec in module_specs():
        if spec.load_demo is not None:
            log.info("loading demo data for %s", spec.name)
            spec.load_demo(session, ctx)
            session.flush()
    return ctx


def load_reference(session: Session, ctx: DemoContext) -> None:
    """The GB/T 2260 division tree and the line catalogue (idempotent)."""
    report = divisions.load_gb2260(session)
    departments.ensure_lines(session)
    if report.inserted:
        ctx.printed.append(f"  行政区划 (divisions): {report.inserted} 个 (GB/T 2260)")


@dataclass
class DemoStep:
    """One unit of demo loading, committed on its own so the server stays usable between steps."""

    key: str
    zh: str
    en: str
    run: Callable[[Session, DemoContext], None]


def demo_steps() -> list[DemoStep]:
    """The divisions, the core demo, then every enabled module's demo loader, in navigation order."""
    steps = [DemoStep("divisions", "行政区划与条线", "divisions and lines", load_reference),
             DemoStep("core", "部门与演示账号", "departments and demo accounts", load_core)]
    steps += [DemoStep(spec.name, spec.title_zh, spec.title_en, spec.load_demo)
              for spec in module_specs() if spec.load_demo is not None]
    return steps


@dataclass
class DemoProgress:
    """How far `govgrid demo` has loaded (the pages show a banner until `done`)."""

    steps: list[DemoStep]
    index: int = 0
    done: bool = False
    failed: bool = False
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """The number of steps."""
        return len(self.steps)

    def label(self, locale: str) -> str:
        """The name of the step under way, in the page's language."""
        step = self.steps[max(0, min(self.index, self.total) - 1)] if self.steps else None
        return "" if step is None else (step.zh if locale == "zh-CN" else step.en)


def run_steps(progress: DemoProgress, ctx: DemoContext, report: Callable[[str], None] = print) -> None:
    """Run every step in its own transaction (a step the server's writers kept waiting is retried), printing
    one progress line per step; `progress.done` (or `failed`) at the end."""
    from govgrid.core.db import session_scope
    from govgrid.core.errors import UnavailableError

    started = time.perf_counter()
    try:
        for i, step in enumerate(progress.steps, 1):
            progress.index = i
            report(f"演示数据 (demo data) {i}/{progress.total}: {step.zh} ({step.en}) …")
            t0 = time.perf_counter()
            for attempt in range(1, _STEP_ATTEMPTS + 1):
                try:
                    with session_scope() as session:
                        step.run(session, ctx)
                    break
                except UnavailableError:  # the write turn stayed busy: a request was writing
                    if attempt == _STEP_ATTEMPTS:
                        raise
                    time.sleep(0.5)
            progress.seconds[step.key] = round(time.perf_counter() - t0, 1)
            report(f"演示数据 (demo data) {i}/{progress.total}: {step.zh} 完成 (done) "
                   f"{progress.seconds[step.key]} s")
    except Exception:
        progress.failed = True
        log.exception("loading the demo data failed at step %d", progress.index)
        report(f"演示数据加载失败 (demo data failed) at step {progress.index}/{progress.total}")
        raise
    finally:
        progress.done = not progress.failed
    report(f"演示数据已全部加载 (all demo data loaded) in {time.perf_counter() - started:.1f} s")


_STEP_ATTEMPTS = 5
