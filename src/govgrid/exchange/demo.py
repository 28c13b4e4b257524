"""Demo catalog for the three seed counties: population, legal persons, social security, land and wetland, city
parts and more (36 entries across 15 lines), data behind some, and sharing requests in every state.

Every person in the demo data is synthetic (seeded random names, ID numbers with valid check digits, phones).
"""

from __future__ import annotations

import csv
import io
import random
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.core.audit.service import SystemActor
from govgrid.core.db import utcnow
from govgrid.core.identity import service as identity
from govgrid.core.identity.models import User
from govgrid.core.modules import DemoContext
from govgrid.core.privacy import id_number_checksum
from govgrid.core.workdays import default_calendar
from govgrid.exchange import service
from govgrid.exchange.models import Resource, SharingRequest
from govgrid.exchange.schemas import DataItemIn, RequestCreate, ResourceCreate

ACTOR = SystemActor("demo-loader")
COUNTIES = {"430611": ("jsh", "君山区"), "410527": ("nh", "内黄县"), "140321": ("pd", "平定县")}
TOWNSHIPS = {
    "430611": ["001", "100", "101", "102", "103"],
    "410527": ["100", "101", "102", "103", "104", "105", "200", "201"],
    "140321": ["100", "101", "102", "103", "104", "200"],
}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
COMPOUND = ["欧阳", "司马", "诸葛", "上官"]
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍鹏辉建红晓燕宇浩然子涵欣怡梓轩雨泽思远佳琪俊杰"

I = DataItemIn  # noqa: E741  (short alias for the long item lists below)
POPULATION_ITEMS = [
    I(name="id_number", label="公民身份号码", type="id_number", required=True, personal=True, sensitive=True),
    I(name="name", label="姓名", type="string", required=True, personal=True, mask="name"),
    I(name="gender", label="性别", type="string", required=True),
    I(name="birth_date", label="出生日期", type="date", personal=True, mask="full"),
    I(name="phone", label="联系电话", type="phone", personal=True),
    I(name="address", label="住址", type="string", personal=True, mask="address"),
    I(name="village_code", label="所属村（社区）代码", type="division", required=True),
    I(name="household_no", label="户号", type="string"),
]
LEGAL_ITEMS = [
    I(name="credit_code", label="统一社会信用代码", type="string", required=True),
    I(name="org_name", label="市场主体名称", type="string", required=True),
    I(name="org_type", label="主体类型", type="string"),
    # The legal representative is published by law (企业信息公示暂行条例), so it is not masked here.
    I(name="legal_rep", label="法定代表人", type="string"),
    I(name="registered_on", label="成立日期", type="date"),
    I(name="capital_wan", label="注册资本（万元）", type="number"),
    I(name="township_code", label="所属乡镇代码", type="division"),
    I(name="status", label="登记状态", type="string"),
]
SOCIAL_ITEMS = [
    I(name="id_number", label="公民身份号码", type="id_number", required=True, personal=True, sensitive=True),
    I(name="name", label="姓名", type="string", required=True, personal=True, mask="name"),
    I(name="insurance", label="险种", type="string", required=True),
    I(name="status", label="参保状态", type="string", required=True),
    I(name="since", label="参保日期", type="date"),
    I(name="monthly_base", label="缴费基数（元）", type="number", personal=True, mask="full"),
    I(name="village_code", label="所属村（社区）代码", type="division"),
]
CITY_PART_ITEMS = [
    I(name="part_code", label="部件编码", type="string", required=True),
    I(name="part_class", label="部件小类", type="string", required=True),
    I(name="township_code", label="所属乡镇（街道）代码", type="division", required=True),
    I(name="lon", label="经度", type="number", required=True),
    I(name="lat", label="纬度", type="number", required=True),
    I(name="status", label="部件状态", type="string"),
]
WETLAND_ITEMS = [
    I(name="patch_id", label="图斑编号", type="string", required=True),
    I(name="wetland_type", label="湿地类型", type="string", required=True),
    I(name="area_ha", label="面积（公顷）", type="number", required=True),
    I(name="township_code", label="所属乡镇代码", type="division"),
    I(name="protected", label="是否保护地", type="boolean"),
]
RELIEF_ITEMS = [
    I(name="id_number", label="公民身份号码", type="id_number", required=True, personal=True, sensitive=True),
    I(name="name", label="姓名", type="string", required=True, personal=True, mask="name"),
    I(name="category", label="救助类别", type="string", required=True),
    I(name="monthly_yuan", label="月救助金额（元）", type="number"),
    I(name="village_code", label="所属村（社区）代码", type="division"),
]


def _simple(*pairs: tuple[str, str, str]) -> list[DataItemIn]:
    return [I(name=n, label=lab, type=t) for n, lab, t in pairs]  # type: ignore[arg-type]


# (class code, line, name, abstract, sharing, conditions, open, cycle, grade, items key, kind)
ENTRIES: list[tuple[str, str, str, str, str, str, str, str, str, str, str]] = [
    (
        "A01",
        "public_security",
        "{c}人口基础信息",
        "户籍人口的身份、住址和联系方式，按村（社区）归属。",
        "conditional",
        "仅限履行法定职责所需，按最小必要原则申请字段；身份证号、手机号默认脱敏。",
        "not_open",
        "daily",
        "important",
        "population",
        "table",
    ),
    (
        "A02",
        "market_regulation",
        "{c}市场主体登记信息",
        "企业、个体工商户和农民专业合作社的登记信息。",
        "unconditional",
        "",
        "open",
        "daily",
        "general",
        "legal",
        "table",
    ),
    (
        "B01",
        "human_resources",
        "{c}社会保险参保信息",
        "城乡居民和职工养老、医疗保险的参保状态。",
        "conditional",
        "用于社会救助、资格审核等法定职责；缴费基数不提供明文。",
        "not_open",
        "monthly",
        "important",
        "social",
        "table",
    ),
    (
        "B02",
        "urban_management",
        "{c}城市部件普查数据",
        "按 GB/T 30428 分类的城市部件位置和状态。",
        "unconditional",
        "",
        "open",
        "quarterly",
        "general",
        "parts",
        "table",
    ),
    (
        "A03",
        "forestry",
        "{c}湿地资源图斑",
        "湿地类型、面积和保护地属性，来自湿地资源调查。",
        "unconditional",
        "",
        "open",
        "yearly",
        "general",
        "wetland",
        "table",
    ),
    (
        "B03",
        "civil_affairs",
        "{c}最低生活保障和特困人员名单",
        "在册低保对象和特困供养人员。",
        "conditional",
        "仅用于救助资格比对和监督检查；公开部分按规定另行公示。",
        "not_open",
        "monthly",
        "important",
        "relief",
        "table",
    ),
    (
        "A03",
        "natural_resources",
        "{c}不动产登记信息",
        "不动产权利人、坐落和权属状态（通过提供方接口核验）。",
        "conditional",
        "仅提供核验或按宗地查询；不批量提供权利人信息。",
        "not_open",
        "realtime",
        "important",
        "estate",
        "api",
    ),
    (
        "A03",
        "natural_resources",
        "{c}土地利用现状",
        "第三次全国国土调查地类图斑汇总。",
        "unconditional",
        "",
        "open",
        "yearly",
        "general",
        "landuse",
        "table",
    ),
    (
        "A04",
        "tax",
        "{c}纳税信用A级纳税人名单",
        "年度纳税信用评价为 A 级的纳税人。",
        "unconditional",
        "",
        "open",
        "yearly",
        "general",
        "taxcredit",
        "table",
    ),
    (
        "C01",
        "tax",
        "{c}纳税人涉税明细",
        "纳税人申报、缴税明细。",
        "none",
        "依据《税收征收管理法》第八条，涉税信息依法保密。",
        "not_open",
        "monthly",
        "core",
        "taxdetail",
        "table",
    ),
    (
        "C02",
        "health",
        "{c}出生医学证明信息",
        "新生儿出生医学证明签发记录。",
        "conditional",
        "用于户籍登记、社保参保等。",
        "not_open",
        "daily",
        "important",
        "birth",
        "table",
    ),
    (
        "C03",
        "education",
        "{c}中小学校名录",
        "中小学校名称、地址和办学规模。",
        "unconditional",
        "",
        "open",
        "yearly",
        "general",
        "schools",
        "table",
    ),
]
OTHER_ITEMS: dict[str, list[DataItemIn]] = {
    "estate": [
        I(name="parcel_no", label="不动产单元号", type="string", required=True),
        I(name="owner_id_number", label="权利人证件号", type="id_number", personal=True, sensitive=True),
        I(name="location", label="坐落", type="string", personal=True, mask="address"),
    ],
    "landuse": _simple(
        ("township_code", "乡镇代码", "division"),
        ("land_class", "地类", "string"),
        ("area_ha", "面积（公顷）", "number"),
    ),
    "taxcredit": _simple(
        ("credit_code", "统一社会信用代码", "string"),
        ("org_name", "纳税人名称", "string"),
        ("year", "评价年度", "integer"),
    ),
    "taxdetail": [
        I(name="credit_code", label="统一社会信用代码", type="string", required=True),
        I(name="period", label="所属期", type="string"),
        I(name="tax_yuan", label="税额（元）", type="number", sensitive=True, mask="full"),
    ],
    "birth": [
        I(name="cert_no", label="出生医学证明编号", type="string", required=True),
        I(name="baby_name", label="新生儿姓名", type="string", personal=True, mask="name"),
        I(name="mother_id_number", label="母亲身份证号", type="id_number", personal=True, sensitive=True),
        I(name="born_on", label="出生日期", type="date"),
        I(name="village_code", label="村（社区）代码", type="division"),
    ],
    "schools": _simple(
        ("school_name", "学校名称", "string"),
        ("school_type", "学段", "string"),
        ("address", "地址", "string"),
        ("students", "在校生数", "integer"),
    ),
}
# Entries at the city and province level (roll-up views see them from above, counties see them as 'up' flows).
UPPER = [
    (
        "A01",
        "410500",
        "statistics",
        "安阳市人口抽样调查汇总",
        "分县区人口抽样调查结果。",
        "unconditional",
        "open",
        "yearly",
        "general",
    ),
    (
        "B03",
        "430600",
        "ecology_environment",
        "岳阳市重点湿地水质监测",
        "东洞庭湖周边湿地水质断面监测结果。",
        "unconditional",
        "open",
        "monthly",
        "general",
    ),
    (
        "A04",
        "410000",
        "market_regulation",
        "河南省严重违法失信主体名单",
        "列入严重违法失信名单的市场主体。",
        "unconditional",
        "open",
        "weekly",
        "general",
    ),
]
DEMO_USERS = [
    ("{p}_police", "{c}公安局", "public_security", "operator"),
    ("{p}_civil", "{c}民政局", "civil_affairs", "operator"),
    ("{p}_hr", "{c}人社局", "human_resources", "operator"),
    ("{p}_forestry", "{c}林业局", "forestry", "operator"),
    ("{p}_market", "{c}市场监管局", "market_regulation", "operator"),
]


def _name(rng: random.Random) -> str:
    sur = rng.choice(COMPOUND) if rng.random() < 0.03 else rng.choice(SURNAMES)
    return sur + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _id_number(rng: random.Random, county: str, born: date, female: bool) -> str:
    seq = rng.randint(0, 49) * 2 + (0 if female else 1)
    first = f"{county}{born:%Y%m%d}{rng.randint(0, 9)}{seq:02d}"
    return first + id_number_checksum(first)


def _phone(rng: random.Random) -> str:
    return (
        rng.choice(["138", "139", "150", "151", "186", "187", "135", "177"])
        + f"{rng.randint(0, 99999999):08d}"
    )


def _csv(rows: list[dict[str, Any]]) -> bytes:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue().encode()


def _villages(county: str) -> list[str]:
    return [f"{county}{t}{200 + j:03d}" for t in TOWNSHIPS[county] for j in range(4)]


def population_rows(rng: random.Random, county: str, n: int) -> list[dict[str, Any]]:
    """Synthetic residents of a county."""
    rows = []
    towns = {
        "430611": ["柳林洲街道", "许市镇", "钱粮湖镇", "良心堡镇", "广兴洲镇"],
        "410527": ["城关镇", "东庄镇", "井店镇", "梁庄镇", "后河镇", "楚旺镇", "张龙乡", "高堤乡"],
        "140321": ["冠山镇", "冶西镇", "锁簧镇", "张庄镇", "娘子关镇", "岔口乡"],
    }[county]
    for k in range(n):
        born = date(1940, 1, 1) + timedelta(days=rng.randint(0, 30000))
        female = rng.random() < 0.5
        village = rng.choice(_villages(county))
        town = towns[TOWNSHIPS[county].index(village[6:9])]
        rows.append(
            {
                "id_number": _id_number(rng, county, born, female),
                "name": _name(rng),
                "gender": "女" if female else "男",
                "birth_date": born.isoformat(),
                "phone": _phone(rng),
                "address": f"{COUNTIES[county][1]}{town}{rng.randint(1, 99)}号院{rng.randint(1, 30)}号",
                "village_code": village,
                "household_no": f"{county}{k // 3:06d}",
            }
        )
    return rows


def _table_rows(
    key: str, rng: random.Random, county: str, people: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    towns = [county + t for t in TOWNSHIPS[county]]
    if key == "population":
        return people
    if key == "social":
        return [
            {
                "id_number": p["id_number"],
                "name": p["name"],
                "insurance": rng.choice(["城乡居民养老", "职工养老", "城乡居民医疗"]),
                "status": rng.choice(["参保缴费", "参保缴费", "暂停缴费", "待遇领取"]),
                "since": f"{rng.randint(2010, 2025)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                "monthly_base": rng.choice([3000, 3500, 4200, 5100]),
                "village_code": p["village_code"],
            }
            for p in people
            if rng.random() < 0.8
        ]
    if key == "relief":
        return [
            {
                "id_number": p["id_number"],
                "name": p["name"],
                "category": rng.choice(["农村低保", "城市低保", "特困供养"]),
                "monthly_yuan": rng.choice([320, 410, 560, 780]),
                "village_code": p["village_code"],
            }
            for p in people
            if rng.random() < 0.08
        ]
    if key == "legal":
        kinds = ["有限责任公司", "个体工商户", "农民专业合作社", "个人独资企业"]
        words = ["宏达", "兴农", "鑫源", "绿野", "金穗", "顺通", "恒泰", "富民", "康宁", "华盛"]
        trades = ["农业科技", "商贸", "建材", "食品加工", "物流", "养殖", "餐饮", "电子商务"]
        return [
            {
                "credit_code": f"91{county}MA{rng.randint(0, 99999999):08d}{rng.choice('ABCDEFGHJK')}",
                "org_name": f"{COUNTIES[county][1]}{rng.choice(words)}{rng.choice(trades)}{rng.choice(kinds)}",
                "org_type": rng.choice(kinds),
                "legal_rep": _name(rng),
                "registered_on": (date(2005, 1, 1) + timedelta(days=rng.randint(0, 7000))).isoformat(),
                "capital_wan": rng.choice([10, 50, 100, 200, 500, 1000]),
                "township_code": rng.choice(towns),
                "status": rng.choice(["存续", "存续", "存续", "注销", "吊销"]),
            }
            for _ in range(120)
        ]
    if key == "parts":
        classes = ["上水井盖", "污水井盖", "路灯", "垃圾箱", "消防栓", "公交站亭", "行道树", "交通信号灯"]
        return [
            {
                "part_code": f"{county}{rng.choice(['01', '02', '03'])}{k:06d}",
                "part_class": rng.choice(classes),
                "township_code": rng.choice(towns),
                "lon": round(rng.uniform(0, 1) + float(county[:3]) / 4, 6),
                "lat": round(rng.uniform(29, 38), 6),
                "status": rng.choice(["完好", "完好", "破损", "丢失"]),
            }
            for k in range(150)
        ]
    if key == "wetland":
        types = ["永久性河流", "湖泊", "洪泛平原湿地", "草本沼泽", "库塘", "水产养殖场"]
        return [
            {
                "patch_id": f"SD{county}{k:05d}",
                "wetland_type": rng.choice(types),
                "area_ha": round(rng.uniform(0.5, 800), 2),
                "township_code": rng.choice(towns),
                "protected": rng.random() < 0.3,
            }
            for k in range(80)
        ]
    return []


def _principal(session: Session, username: str) -> Any:
    user = session.scalar(select(User).where(User.username == username))
    return identity.principal_for_user(user)


def load_demo(session: Session, ctx: DemoContext) -> None:
    """Catalog, data and requests for the three counties (idempotent: skipped when the catalog exists)."""
    password = ctx.password or "govgrid-demo"
    for county, (prefix, cname) in COUNTIES.items():
        for uname, display, line, role in DEMO_USERS:
            u = uname.format(p=prefix)
            identity.ensure_user_with_role(
                session,
                actor=ACTOR,
                username=u,
                password=password,
                display_name=display.format(c=cname),
                department_code=f"{county}-{line}",
                role=role,
                reach="department",
                is_demo=True,
            )
            ctx.users[u] = f"{display.format(c=cname)} · {role} (department)"
    if session.scalar(select(Resource.id).where(Resource.code == "A01-410527-0001")) is not None:
        return
    rng = random.Random(20260101)
    published = date(2025, 6, 30)
    people: dict[str, list[dict[str, Any]]] = {}
    items_by_key = {
        "population": POPULATION_ITEMS,
        "legal": LEGAL_ITEMS,
        "social": SOCIAL_ITEMS,
        "parts": CITY_PART_ITEMS,
        "wetland": WETLAND_ITEMS,
        "relief": RELIEF_ITEMS,
        **OTHER_ITEMS,
    }
    for county, (_prefix, cname) in COUNTIES.items():
        people[county] = population_rows(rng, county, 240)
        for cls, line, name, abstract, sharing, cond, open_type, cycle, grade, key, kind in ENTRIES:
            data = ResourceCreate(
                class_code=cls,
                provider_department_code=f"{county}-{line}",
                name=name.format(c=cname),
                abstract=abstract,
                format="API" if kind == "api" else "数据库表",
                kind=kind,  # type: ignore[arg-type]
                api_url=f"https://dsj.example.gov.cn/{county}/estate/verify" if kind == "api" else None,
                sharing_type=sharing,
                sharing_conditions=cond,
                open_type=open_type,  # type: ignore[arg-type]
                sharing_method="verify" if kind == "api" else "interface",
                update_cycle=cycle,  # type: ignore[arg-type]
                publish_date=published,
                grade=grade,
                items=items_by_key[key],
            )  # type: ignore[arg-type]
            res = service.create_resource(session, actor=ACTOR, data=data)
            rows = _table_rows(key, rng, county, people[county])
            if rows:
                service.upload_records(
                    session, actor=ACTOR, code=res.code, content=_csv(rows), filename=f"{key}.csv"
                )
        # Related resources: social security and relief lists refer to the population base.
        pop = f"A01-{county}-0001"
        for res in session.scalars(
            select(Resource).where(Resource.division_code == county, Resource.class_code.in_(["B01", "B03"]))
        ):
            res.related_codes = [pop]
    for cls, div, line, name, abstract, sharing, open_type, cycle, grade in UPPER:
        service.create_resource(
            session,
            actor=ACTOR,
            data=ResourceCreate(
                class_code=cls,
                provider_department_code=f"{div}-{line}",
                name=name,
                abstract=abstract,
                sharing_type=sharing,
                open_type=open_type,
                update_cycle=cycle,
                publish_date=published,  # type: ignore[arg-type]
                grade=grade,
                items=_simple(
                    ("division_code", "区划代码", "division"),
                    ("indicator", "指标", "string"),  # type: ignore[arg-type]
                    ("value", "数值", "number"),
                ),
            ),
        )
    session.flush()
    _demo_requests(session, ctx)


def _backdate(req: SharingRequest, days_ago: float, decided_after_hours: float | None = None) -> None:
    cal = default_calendar()
    when = utcnow() - timedelta(days=days_ago)
    req.submitted_at = when
    req.check_due_at = cal.add_working_days(when, service.DEADLINES.periods()[0])
    req.answer_due_at = cal.add_working_days(
        when, sum(service.DEADLINES.periods())
    )
    if decided_after_hours is not None and req.decided_at is not None:
        req.decided_at = when + timedelta(hours=decided_after_hours)
        if req.checked_at is not None:
            req.checked_at = min(req.checked_at, req.decided_at)


def _demo_requests(session: Session, ctx: DemoContext) -> None:
    """Requests in every state, a revoked grant, and some gateway calls for the flow matrix."""
    nh_civil, nh_police = _principal(session, "nh_civil"), _principal(session, "nh_police")
    nh_hr = _principal(session, "nh_hr")
    pd_civil, pd_hr = _principal(session, "pd_civil"), _principal(session, "pd_hr")
    jsh_forestry, jsh_civil = _principal(session, "jsh_forestry"), _principal(session, "jsh_civil")

    def ask(who: Any, code: str, purpose: str, **kw: Any) -> SharingRequest:
        return service.submit_request(
            session, actor=who, data=RequestCreate(resource_code=code, purpose=purpose, **kw)
        )

    # Granted after approval: civil affairs checks residents of one township for minimum-living-allowance reviews.
    r1 = ask(
        nh_civil,
        "A01-410527-0001",
        "低保对象家庭成员身份核对（城关镇年度复核）",
        legal_basis="《社会救助暂行办法》第十一条",
        fields=["id_number", "name", "gender", "phone", "village_code"],
        row_filter_division="410527100",
    )
    service.decide(session, actor=nh_police, request_id=r1.id, action="accept")
    service.decide(session, actor=nh_police, request_id=r1.id, action="approve", reason="符合共享条件")
    _backdate(r1, 20, decided_after_hours=30)
    # Auto-granted unconditional request (same level) and one across regions.
    r2 = ask(nh_hr, "A02-410527-0001", "核验参保单位的登记状态")
    _backdate(r2, 15, decided_after_hours=0.01)
    r3 = ask(pd_hr, "A03-430611-0001", "湿地碳汇项目的跨区域对标分析")
    _backdate(r3, 9, decided_after_hours=0.01)
    # Refused with reasons.
    r4 = ask(
        nh_civil,
        "B01-410527-0001",
        "了解参保情况",
        fields=["id_number", "name", "monthly_base"],
        legal_basis="工作需要",
    )
    service.decide(
        session,
        actor=nh_hr,
        request_id=r4.id,
        action="refuse",
        reason="缴费基数不属于救助审核所需字段，不符合最小必要原则；请去掉 monthly_base 后重新申请",
    )
    _backdate(r4, 12, decided_after_hours=52)
    # Pending check, within deadline.
    ask(
        jsh_civil,
        "A01-430611-0001",
        "特困人员身份核验",
        mode="verify",
        fields=["id_number", "name"],
        legal_basis="《特困人员认定办法》第十六条",
    )
    # Pending approval and overdue (the level above sees it).
    r6 = ask(
        pd_civil,
        "A01-140321-0001",
        "临时救助对象户籍核对",
        fields=["id_number", "name", "village_code"],
        legal_basis="《社会救助暂行办法》第四十八条",
    )
    service.decide(session, actor=_principal(session, "pd_police"), request_id=r6.id, action="accept")
    _backdate(r6, 14)
    # Pending check and overdue.
    r7 = ask(
        nh_civil, "C02-410527-0001", "新生儿落户与救助衔接", fields=["cert_no", "born_on", "village_code"]
    )
    _backdate(r7, 10)
    # 不予共享 with a cited legal basis: routed to the data management bureau.
    ask(
        nh_civil,
        "C01-410527-0001",
        "困难企业职工救助的纳税状况核对",
        legal_basis="《社会救助暂行办法》第五十九条（有关单位应当如实提供）",
        fields=["credit_code", "period"],
    )
    # Withdrawn.
    r9 = ask(jsh_forestry, "B02-430611-0001", "湿地周边部件巡查")
    if r9.status == "granted":
        r9b = ask(jsh_forestry, "B03-430611-0001", "湿地周边低保户走访", fields=["village_code", "category"])
        service.withdraw(session, actor=jsh_forestry, request_id=r9b.id)
    # A grant that was revoked.
    r10 = ask(
        pd_hr,
        "A01-140321-0001",
        "养老保险待遇资格认证",
        fields=["id_number", "name"],
        legal_basis="《社会保险法》第七十五条",
    )
    pd_police = _principal(session, "pd_police")
    service.decide(session, actor=pd_police, request_id=r10.id, action="approve", reason="同意")
    _backdate(r10, 30, decided_after_hours=70)
    g10 = service.grant_for_request(session, r10.id)
    assert g10 is not None
    service.read_records(session, actor=pd_hr, code="A01-140321-0001", limit=20, purpose="资格认证抽查")
    service.revoke_grant(
        session, actor=pd_police, grant_id=g10.id, reason="认证工作已结束，按最小必要原则收回"
    )
    # Gateway calls through live grants.
    for _ in range(3):
        service.read_records(session, actor=nh_civil, code="A01-410527-0001", limit=50, purpose="低保复核")
    service.read_records(session, actor=nh_hr, code="A02-410527-0001", limit=100)
    service.read_records(session, actor=pd_hr, code="A03-430611-0001", limit=80)
    ctx.printed.append(
        "数据共享 exchange: /exchange (catalog), /exchange/requests, /exchange/matrix; CKAN at /ckan; "
        "DCAT at /catalog.ttl and /catalog.jsonld. Try nh_civil (consumer) and nh_police (provider)."
    )
