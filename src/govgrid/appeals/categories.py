"""Appeal categories (诉求类别): names, keywords for cold-start routing, the responsible line, clocks, Open311
codes.

`line=None` means the territorial unit answers (属地: village committee, else township government:
最小服务节点). Clocks: sign-for and first contact in working hours, resolution in working days (the deployment
may override them through the `appeals.deadlines` configuration key)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Category:
    """One appeal category."""

    code: str
    name_zh: str
    name_en: str
    keywords: tuple[str, ...]
    line: str | None  # None: the territorial unit (village/township) is responsible
    sign_hours: float = 4
    contact_hours: float = 8
    resolve_days: int = 5
    city_event: bool = False  # forwarded to the city map as a city-management event


CATEGORIES: tuple[Category, ...] = (
    Category(
        "road_damage",
        "道路破损",
        "Road damage",
        ("路面", "坑", "破损", "塌陷", "井盖", "道路", "裂缝", "坑洼"),
        "urban_management",
        4,
        8,
        5,
        True,
    ),
    Category(
        "garbage",
        "垃圾清运",
        "Garbage collection",
        ("垃圾", "清运", "堆放", "垃圾桶", "脏乱", "异味", "保洁"),
        "urban_management",
        2,
        4,
        2,
        True,
    ),
    Category(
        "illegal_parking",
        "违章停车",
        "Illegal parking",
        ("停车", "占道", "堵门", "乱停", "车辆", "挡路"),
        "urban_management",
        2,
        4,
        1,
        True,
    ),
    Category(
        "street_vendor",
        "占道经营",
        "Street vendors",
        ("摊贩", "摆摊", "占道经营", "夜市", "流动摊", "小贩"),
        "urban_management",
        2,
        4,
        2,
        True,
    ),
    Category(
        "street_light",
        "路灯照明",
        "Street lights",
        ("路灯", "不亮", "照明", "灯坏"),
        "urban_management",
        4,
        8,
        3,
        True,
    ),
    Category(
        "noise",
        "噪声扰民",
        "Noise",
        ("噪音", "噪声", "扰民", "吵", "广场舞", "施工声"),
        "ecology_environment",
        2,
        4,
        3,
    ),
    Category(
        "pollution",
        "环境污染",
        "Pollution",
        ("污染", "排污", "黑烟", "污水", "臭", "焚烧", "烟尘"),
        "ecology_environment",
        2,
        4,
        5,
    ),
    Category(
        "water_supply",
        "供水问题",
        "Water supply",
        ("停水", "自来水", "水压", "水质", "供水", "漏水"),
        "water_resources",
        2,
        4,
        2,
    ),
    Category(
        "food_safety",
        "食品安全",
        "Food safety",
        ("食品", "过期", "变质", "餐馆", "卫生许可", "吃坏"),
        "market_regulation",
        4,
        8,
        5,
    ),
    Category(
        "consumer",
        "消费维权",
        "Consumer rights",
        ("退款", "假货", "商家", "消费", "价格", "欺诈", "维权"),
        "market_regulation",
        4,
        8,
        7,
    ),
    Category(
        "wage_arrears",
        "拖欠工资",
        "Wage arrears",
        ("工资", "拖欠", "欠薪", "工钱", "农民工"),
        "human_resources",
        4,
        8,
        10,
    ),
    Category(
        "social_assistance",
        "低保救助",
        "Social assistance",
        ("低保", "救助", "困难", "补助", "五保", "残疾"),
        "civil_affairs",
        8,
        16,
        10,
    ),
    Category(
        "housing",
        "住房物业",
        "Housing and property",
        ("物业", "房屋", "漏雨", "危房", "电梯", "小区"),
        "housing",
        8,
        16,
        10,
    ),
    Category(
        "education",
        "教育问题",
        "Education",
        ("学校", "学生", "入学", "老师", "校车", "收费"),
        "education",
        8,
        16,
        10,
    ),
    Category(
        "medical",
        "医疗卫生",
        "Health care",
        ("医院", "医保", "看病", "卫生院", "药", "医生"),
        "health",
        8,
        16,
        10,
    ),
    Category(
        "traffic", "交通出行", "Transport", ("公交", "班车", "客运", "红绿灯", "出行"), "transport", 8, 16, 7
    ),
    Category(
        "village_affairs",
        "村务管理",
        "Village affairs",
        ("村委", "村干部", "村务", "宅基地", "土地", "纠纷", "邻里", "修路", "水渠", "灌溉"),
        None,
        8,
        16,
        7,
    ),
    Category("other", "其他", "Other", (), None, 8, 16, 10),
)

BY_CODE: dict[str, Category] = {c.code: c for c in CATEGORIES}
DEFAULT_CATEGORY = "other"


def get(code: str) -> Category | None:
    """A category by code, or None."""
    return BY_CODE.get(code)


def keyword_scores(text: str) -> dict[str, int]:
    """How many of each category's keywords occur in the text (cold-start rules)."""
    scores: dict[str, int] = {}
    for c in CATEGORIES:
        n = sum(1 for k in c.keywords if k in text)
        if n:
            scores[c.code] = n
    return scores


def get_or_default(code: str) -> Category:
    """A category by code, or the default category ("other") for an unknown code."""
    return BY_CODE.get(code) or BY_CODE[DEFAULT_CATEGORY]
