"""Demo: the Neihuang WeChat channel, an Open311 key, handler users and a synthetic but realistic ticket
history.

The history is SYNTHETIC (seeded random text from templates, fictional names and numbers): the figures it
produces exercise the statistics, rankings and classifier training, and say nothing about any real county."""

from __future__ import annotations

import heapq
import json
import logging
import random
from datetime import datetime, timedelta
from typing import Any, TypeVar

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govgrid.appeals import categories
from govgrid.appeals.enums import Channel, RatingSource, TicketState
from govgrid.appeals.models import Ticket
from govgrid.appeals.services import (
    access,
    channels,
    config,
    escalation,
    intake,
    queries,
    ratings,
    routing,
    workflow,
)
from govgrid.core.audit.service import Actor, PublicActor, SystemActor
from govgrid.core.authz.principal import Principal
from govgrid.core.db import utcnow
from govgrid.core.departments.models import Department
from govgrid.core.divisions.models import Division
from govgrid.core.errors import AppError
from govgrid.core.identity import service as identity
from govgrid.core.identity.models import ApiKey
from govgrid.core.modules import DemoContext

log = logging.getLogger(__name__)
ACTOR = SystemActor("demo-loader")

COUNTY = "410527"
CHANNEL_ID = "neihuang"
DEMO_TOKEN = "govgridDemoToken2026"  # noqa: S105 - the demo channel's published token, demo mode only
DEMO_AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"  # 43 characters, demo only
DEMO_APP_ID = "wxd3m0a11ea15e2026"
OPEN311_KEY_NAME = "open311-demo"
HISTORY_TICKETS = 2400
HISTORY_DAYS = 420

LINE_HANDLERS = [
    ("nh_env_handler", "内黄县生态环境局办理员", "ecology_environment"),
    ("nh_water_handler", "内黄县水利局办理员", "water_resources"),
    ("nh_market_handler", "内黄县市场监管局办理员", "market_regulation"),
    ("nh_hr_handler", "内黄县人社局办理员", "human_resources"),
    ("nh_civil_handler", "内黄县民政局办理员", "civil_affairs"),
    ("nh_housing_handler", "内黄县住建局办理员", "housing"),
    ("nh_edu_handler", "内黄县教育局办理员", "education"),
    ("nh_health_handler", "内黄县卫健委办理员", "health"),
    ("nh_transport_handler", "内黄县交通局办理员", "transport"),
]

TEMPLATES: dict[str, list[str]] = {
    "road_damage": [
        "{place}{road}路面破损严重，有好几个大坑，晚上骑车容易摔倒",
        "{place}{road}的井盖松动塌陷，存在安全隐患",
        "{road}靠近{place}一段道路裂缝坑洼，下雨积水过不去车",
    ],
    "garbage": [
        "{place}路口垃圾堆放好几天没人清运，气味很大",
        "{place}垃圾桶满了溢出来，保洁不及时",
        "{road}边上乱倒建筑垃圾，脏乱差",
    ],
    "illegal_parking": [
        "{place}门口经常有车辆乱停，堵门出不去",
        "{road}两侧占道停车，救护车都过不去",
        "小区出口被乱停的货车挡路",
    ],
    "street_vendor": [
        "{road}晚上夜市摆摊占道经营，影响通行",
        "{place}学校门口流动摊贩太多，卫生差",
        "小贩在{road}人行道上摆摊卖菜",
    ],
    "street_light": ["{road}路灯坏了一个多月不亮，晚上很黑", "{place}村口照明路灯不亮，老人出行不安全"],
    "noise": [
        "{place}广场舞音响太吵，晚上十点还在扰民",
        "{road}工地夜间施工噪音很大，睡不着觉",
        "{place}附近加工厂机器噪声扰民",
    ],
    "pollution": [
        "{place}有企业夜里偷排污水，河里发臭",
        "{place}附近有人焚烧秸秆垃圾，黑烟很大",
        "{road}旁边的厂子烟尘污染严重",
    ],
    "water_supply": [
        "{place}已经停水两天了，没有任何通知",
        "{place}自来水水压太低，二楼就上不去水",
        "{place}自来水水质发黄有异味",
    ],
    "food_safety": [
        "在{road}一家餐馆吃饭后拉肚子，怀疑食品变质",
        "{place}超市卖过期食品",
        "{road}早餐店没有卫生许可，后厨很脏",
    ],
    "consumer": [
        "在{place}商家买到假货，要求退款被拒绝",
        "{road}一家店价格欺诈，标价和结账不一致",
        "预付卡商家跑路，消费者维权无门",
    ],
    "wage_arrears": [
        "在{place}工地干活，老板拖欠工资三个月",
        "农民工工钱一直拖着不给，{road}的项目",
        "公司欠薪半年，找不到负责人",
    ],
    "social_assistance": [
        "{place}家里困难，申请低保一直没有结果",
        "老人是五保户，救助金这个月没发",
        "残疾补助申请材料交了很久没回复",
    ],
    "housing": [
        "{place}小区物业不作为，电梯坏了没人修",
        "房屋漏雨，物业推诿不管",
        "{place}有危房没人管，担心倒塌",
    ],
    "education": [
        "{place}学校乱收费，要求家长买资料",
        "孩子入学手续办不下来，学校说学位满了",
        "校车超载，学生安全没保障",
    ],
    "medical": ["{place}卫生院看病排队太久，医生态度差", "医保报销一直办不了", "乡镇卫生院药品短缺"],
    "traffic": [
        "{place}到县城的公交班车停运了，出行不便",
        "{road}路口红绿灯坏了，交通混乱",
        "客运班车经常不按时发车",
    ],
    "village_affairs": [
        "{place}村委村务不公开，村民有意见",
        "{place}宅基地纠纷，邻里协调不了",
        "{place}灌溉水渠堵塞，庄稼浇不上水",
        "村里修路资金使用不透明，村干部不回应",
    ],
    "other": [
        "咨询一下{place}办事需要什么材料",
        "{place}有流浪狗伤人，希望有人管管",
        "建议在{road}增设公共厕所",
    ],
}
ROADS = ["人民路", "繁荣大道", "建设路", "红枣大道", "黄河路", "迎宾大道", "中华路", "丰收路"]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马胡朱郭何罗高林"
GIVEN = ["建国", "秀英", "桂兰", "志强", "海燕", "国华", "明", "丽", "伟", "芳", "军", "静", "磊", "娜"]


def ensure_setup(session: Session, ctx: DemoContext) -> None:
    """The WeChat channel, default jurisdiction, Open311 key and handler users (idempotent)."""
    channels.ensure_channel(
        session,
        actor=ACTOR,
        channel_id=CHANNEL_ID,
        name="内黄县民声公众号",
        token=DEMO_TOKEN,
        encoding_aes_key=DEMO_AES_KEY,
        app_id=DEMO_APP_ID,
        division_code=COUNTY,
    )
    if config.default_jurisdiction(session) != COUNTY:
        config.set_config(session, actor=ACTOR, key=config.OPEN311, value={"default_jurisdiction": COUNTY})
    dept_id = ctx.departments.get(f"{COUNTY}-hotline_12345") or routing.department_id(
        session, code=f"{COUNTY}-hotline_12345"
    )
    for old in session.scalars(
        select(ApiKey).where(ApiKey.name == OPEN311_KEY_NAME, ApiKey.revoked_at.is_(None))
    ):
        identity.revoke_api_key(session, actor=ACTOR, key=old)
    _key, full = identity.create_api_key(
        session,
        actor=ACTOR,
        name=OPEN311_KEY_NAME,
        department_id=_must(dept_id, f"{COUNTY}-hotline_12345"),
        role="operator",
        reach="division",
    )
    ctx.printed += [
        "民声诉求 appeals:",
        f"  微信公众号回调 WeChat callback: /channels/wechat/{CHANNEL_ID}",
        f"    Token: {DEMO_TOKEN}",
        f"    EncodingAESKey: {DEMO_AES_KEY}",
        f"    AppID: {DEMO_APP_ID}",
        f"  Open311 GeoReport v2: /open311/v2/ (jurisdiction_id {COUNTY}); api_key: {full}",
        "  演示诉求历史为合成数据 (the demo ticket history is synthetic)",
    ]
    # few accounts (argon2 hashing is slow by design): one user may hold the role in several units
    users = [
        ("nh_line", "内黄县职能部门办理员", f"{COUNTY}-{line}", "handler", "department")
        for _u, _d, line in LINE_HANDLERS
    ]
    towns = session.execute(
        select(Division.code, Division.name)
        .where(Division.parent_code == COUNTY, Division.level == "township")
        .order_by(Division.code)
    ).all()
    users += [
        ("nh_town", "乡镇人民政府办理员（含包村）", f"{code}-government", "handler", "division")
        for code, _n in towns
    ]
    first_village = session.scalar(
        select(Division.code).where(Division.parent_code == towns[0][0]).order_by(Division.code)
    )
    if first_village:
        users.append(
            ("nh_village", "村民委员会办理员", f"{first_village}-government", "handler", "department")
        )
    users.append(("nh_operator", "内黄县12345话务员", f"{COUNTY}-hotline_12345", "operator", "division"))
    for username, display, dept_code, role, reach in users:
        identity.ensure_user_with_role(
            session,
            actor=ACTOR,
            username=username,
            password=ctx.password,
            display_name=display,
            department_code=dept_code,
            role=role,
            reach=reach,
            is_demo=True,
        )
        ctx.users[username] = f"{display} · {role} ({reach})"
    ctx.users["nh_line"] = (
        "内黄县职能部门办理员 · handler in 9 county bureaus (生态环境, 水利, 市场监管, ...)"
    )
    ctx.users["nh_town"] = (
        "乡镇人民政府办理员 · handler in every township government (division: their villages too)"
    )


ANSWERS = [
    "已到现场核实并处理完毕，感谢您的反映。",
    "已协调相关单位整改，问题已解决。",
    "已联系当事人调解，双方达成一致。",
    "经核实已按政策办理，结果已电话告知诉求人。",
]
T = TypeVar("T")


def _must(value: T | None, what: str) -> T:
    """A value the demo data must hold (the core demo made it), or a clear error."""
    if value is None:
        raise RuntimeError(f"演示数据不完整 (demo data incomplete): {what}")
    return value


class _History:
    """An event-driven simulation of 14 months of tickets, executed through the real service functions."""

    def __init__(self, session: Session, rng: random.Random, now: datetime):
        self.session, self.rng, self.now = session, rng, now
        self.queue: list[tuple[datetime, int, str, dict[str, Any]]] = []
        self.seq = 0
        self.principals: dict[str, Principal] = {}
        villages = session.execute(
            select(Division.code, Division.name, Division.parent_code, Division.boundary)
            .where(Division.path.like(f"%/{COUNTY}/%"), Division.level == "village")
            .order_by(Division.code)
        ).all()
        self.villages = [(c, n, p, shape(json.loads(b))) for c, n, p, b in villages if b]
        self.town_names = dict(
            session.execute(select(Division.code, Division.name).where(Division.parent_code == COUNTY)).all()
        )
        # a few villages are busier (hot spots), a few units slower
        self.weights = [rng.choice([1, 1, 1, 2, 3, 6]) for _ in self.villages]
        self.slow_towns = set(rng.sample(sorted(self.town_names), 2))

    def principal(self, username: str) -> Principal:
        """A demo user's principal (loaded once)."""
        if username not in self.principals:
            self.principals[username] = access.load_principal(self.session, username=username)
        return self.principals[username]

    def push(self, at: datetime, kind: str, **kw: Any) -> None:
        if at < self.now:
            self.seq += 1
            heapq.heappush(self.queue, (at, self.seq, kind, kw))

    def point_in(self, poly: BaseGeometry) -> tuple[float, float]:
        """A random point inside a village (its representative point after 50 misses)."""
        minx, miny, maxx, maxy = poly.bounds
        for _ in range(50):
            x, y = self.rng.uniform(minx, maxx), self.rng.uniform(miny, maxy)
            if poly.contains(shapely.Point(x, y)):
                return round(x, 6), round(y, 6)
        c = poly.representative_point()
        return c.x, c.y

    def plan(self, n: int) -> None:
        cats = [c.code for c in categories.CATEGORIES]
        cat_w = [8, 10, 7, 6, 4, 6, 5, 5, 3, 4, 4, 3, 4, 3, 3, 2, 9, 3]
        for i in range(n):
            # more tickets in recent months (the service became known)
            age = HISTORY_DAYS * (self.rng.random() ** 1.3)
            at = self.now - timedelta(days=age, minutes=self.rng.randint(0, 600))
            cat = self.rng.choices(cats, weights=cat_w)[0]
            v = self.rng.choices(range(len(self.villages)), weights=self.weights)[0]
            self.push(at, "create", i=i, cat=cat, v=v)

    def text(self, cat: str, v: int) -> str:
        _code, vname, town, _ = self.villages[v]
        place = self.rng.choice([f"{self.town_names.get(town or '', '')}{vname}", vname, ""])
        return self.rng.choice(TEMPLATES[cat]).format(place=place, road=self.rng.choice(ROADS))

    def run(self) -> int:
        created = 0
        next_pass = min((q[0] for q in self.queue), default=self.now)
        while self.queue:
            at, _s, kind, kw = heapq.heappop(self.queue)
            while next_pass <= at:
                escalation.run_escalations(
                    self.session, now=next_pass, actor=SystemActor("appeals-escalation")
                )
                next_pass += timedelta(hours=24)
            try:
                created += self.step(at, kind, kw)
            except AppError as exc:  # e.g. a rating after a reopen: skip, as a real person would
                log.debug("demo step %s skipped: %s", kind, exc.message)
        escalation.run_escalations(self.session, now=self.now, actor=SystemActor("appeals-escalation"))
        return created

    def step(self, at: datetime, kind: str, kw: dict[str, Any]) -> int:
        """Run one simulated event; returns how many tickets it made."""
        if kind == "create":
            return self.create(at, kw)
        if kind == "duplicate":
            return self.duplicate(at, kw)
        t = _must(self.session.get(Ticket, kw["id"]), f"ticket {kw['id']}")
        if kind == "dispatch":
            self.dispatch(t, at, kw["true_cat"])
        else:
            self.handle(t, at, kind)
        return 0

    def create(self, at: datetime, kw: dict[str, Any]) -> int:
        """A new concern through one of the channels (some are placed where the caller lives)."""
        rng, s = self.rng, self.session
        cat, v = kw["cat"], kw["v"]
        code, vname, town, poly = self.villages[v]
        channel = rng.choices(["hotline", "wechat", "web", "mobile", "open311"], weights=[50, 25, 15, 5, 5])[
            0
        ]
        data = intake.TicketInput(
            channel=channel,
            description=self.text(cat, v),
            default_division_code=COUNTY,
            channel_ref=f"demo-{kw['i']}" if channel in ("wechat", "open311") else None,
            reporter_name=rng.choice(SURNAMES) + rng.choice(GIVEN),
            reporter_phone=f"13{rng.randint(0, 9)}{rng.randint(10_000_000, 99_999_999)}",
        )
        how = rng.random()
        if how < 0.6:
            data.lon, data.lat = self.point_in(poly)
        elif how < 0.9:
            data.address = f"内黄县{self.town_names.get(town or '', '')}{vname}"
        if channel == "wechat":
            data.reporter_openid = f"oDEMO{rng.randint(10**8, 10**9)}"
        t = intake.create_ticket(s, actor=PublicActor(channel), data=data, now=at)
        if t.division_code == COUNTY and data.lon is None:
            # an operator would ask for the village: place it where the caller lives
            village = _must(s.get(Division, code), code)
            t.division_code, t.division_path = code, village.path
            t.proposed_department_id = routing.propose_unit(
                s, division=village, category_code=t.category_code
            )
        if rng.random() < 0.02 and kw["i"] % 3 == 0:
            self.push(
                at + timedelta(minutes=rng.randint(10, 300)), "duplicate", number=t.number, cat=cat, v=v
            )
        self.push(at + timedelta(minutes=rng.randint(5, 240)), "dispatch", id=t.id, true_cat=cat)
        return 1

    def duplicate(self, at: datetime, kw: dict[str, Any]) -> int:
        """Someone else reports the same concern; the dispatcher merges it when the category matches."""
        rng, s = self.rng, self.session
        orig = _must(queries.by_number(s, number=kw["number"]), kw["number"])
        data = intake.TicketInput(
            channel=Channel.hotline,
            description=orig.description + "，还是没人管",
            lon=orig.lon,
            lat=orig.lat,
            default_division_code=orig.division_code,
            reporter_name=rng.choice(SURNAMES) + rng.choice(GIVEN),
            reporter_phone=f"15{rng.randint(0, 9)}{rng.randint(10_000_000, 99_999_999)}",
        )
        dup = intake.create_ticket(s, actor=PublicActor("hotline"), data=data, now=at)
        dup.division_code, dup.division_path = orig.division_code, orig.division_path
        if orig.state != TicketState.merged and dup.category_code == orig.category_code:
            workflow.merge(
                s,
                actor=self.principal("nh_dispatcher"),
                ticket=dup,
                into=orig,
                now=at + timedelta(minutes=20),
            )
        else:
            self.push(at + timedelta(minutes=30), "dispatch", id=dup.id, true_cat=kw["cat"])
        return 1

    def dispatch(self, t: Ticket, at: datetime, true_cat: str) -> None:
        """The dispatcher confirms or corrects the category and the unit (now and then overriding the
        unit)."""
        if t.state != TicketState.pending:
            return
        cat = true_cat if true_cat != t.category_code else None
        dept = None
        if self.rng.random() < 0.04 and cat is None:
            town = t.division_code[:9]
            dept = routing.department_id(self.session, code=f"{town}-government")
        workflow.dispatch(
            self.session,
            actor=self.principal("nh_dispatcher"),
            ticket=t,
            department_id=dept,
            category_code=cat,
            now=at,
        )
        self.plan_handling(t, at)

    def handle(self, t: Ticket, at: datetime, kind: str) -> None:
        """The unit signs, contacts, answers; the reporter (or a callback survey) rates."""
        rng, s = self.rng, self.session
        handler = self.handler_for(t)
        if kind == "sign":
            workflow.sign(s, actor=handler, ticket=t, now=at)
        elif kind == "contact":
            workflow.contact(s, actor=handler, ticket=t, now=at)
        elif kind == "answer":
            workflow.answer(s, actor=handler, ticket=t, text=rng.choice(ANSWERS), now=at)
            self.push(at + timedelta(hours=rng.uniform(2, 60)), "rate", id=t.id)
        elif kind == "rate":
            if t.state != TicketState.answered or rng.random() < 0.25:
                return  # not every reporter rates; the auto-close pass closes the rest
            slow = t.division_code[:9] in self.slow_towns
            r = rng.random()
            rating = "unsatisfied" if r < (0.16 if slow else 0.06) else ("basic" if r < 0.3 else "satisfied")
            resolved = rating != "unsatisfied" and rng.random() > 0.05
            source = rng.choice([RatingSource.citizen, RatingSource.survey])
            actor: Actor = (
                PublicActor("tracking") if source == RatingSource.citizen else self.principal("nh_operator")
            )
            ratings.rate(s, actor=actor, ticket=t, rating=rating, resolved=resolved, source=source, now=at)
            if t.state == TicketState.signed:  # reopened: the unit tries again
                self.push(at + timedelta(days=rng.uniform(1, 6)), "answer", id=t.id)

    def fresh(self, k: int) -> int:
        """Concerns of the last hours, not yet dispatched."""
        cats = [c.code for c in categories.CATEGORIES]
        for i in range(k):
            at = self.now - timedelta(minutes=self.rng.randint(5, 240))
            self.step(
                at,
                "create",
                {
                    "i": HISTORY_TICKETS + i,
                    "cat": self.rng.choice(cats),
                    "v": self.rng.randrange(len(self.villages)),
                },
            )
        self.queue.clear()  # their dispatch lies in the future: the dispatcher does it
        return k

    def handler_for(self, t: Ticket) -> Principal:
        """The demo user who handles a ticket for its unit."""
        code = _must(self.session.get(Department, t.department_id), f"department {t.department_id}").code
        line = code.split("-", 1)[1]
        if line == "urban_management":
            return self.principal("nh_handler")
        if any(line_code == line for _u, _d, line_code in LINE_HANDLERS):
            return self.principal("nh_line")
        return self.principal("nh_town")

    def plan_handling(self, t: Ticket, at: datetime) -> None:
        rng = self.rng
        slow = t.division_code[:9] in self.slow_towns
        late_p = 0.3 if slow else 0.08

        def when(due: datetime, start: datetime) -> datetime:
            if rng.random() < late_p:
                return due + timedelta(
                    hours=rng.uniform(0.5, 8) if rng.random() < 0.8 else rng.uniform(8, 40)
                )
            return start + (due - start) * rng.uniform(0.1, 0.9)

        if rng.random() < 0.015:
            return  # never signed: escalates all the way
        sign_at = when(_must(t.sign_due, "sign_due"), at)
        self.push(sign_at, "sign", id=t.id)
        contact_at = max(sign_at + timedelta(minutes=10), when(_must(t.contact_due, "contact_due"), at))
        self.push(contact_at, "contact", id=t.id)
        answer_at = max(contact_at + timedelta(hours=1), when(_must(t.resolve_due, "resolve_due"), at))
        self.push(answer_at, "answer", id=t.id)


def load_demo(session: Session, ctx: DemoContext) -> None:
    """Channel, keys and users every time; the ticket history once (idempotent)."""
    ensure_setup(session, ctx)
    session.flush()
    if session.scalar(select(func.count()).select_from(Ticket).where(Ticket.created_at.is_not(None))):
        return
    history = _History(session, random.Random(410527), utcnow())  # noqa: S311 - synthetic data, not secrets
    history.plan(HISTORY_TICKETS)
    n = history.run()
    n += history.fresh(12)  # this morning's concerns, still in the dispatcher's inbox
    log.info("appeals demo: %d tickets of synthetic history", n)
