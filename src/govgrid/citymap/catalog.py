"""GB/T 30428.2 classes of city parts (部件) and events (事件), with handling deadlines and the handling line.

Major classes follow the standard (parts 01-06, events 01-06). The minor numbering below is this deployment's
catalogue in the standard's layout (2-digit major + 2-digit minor); a county replaces it as data when its own
catalogue differs. Deadlines are office hours on the working-day calendar (`core.workdays`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class CaseClass:
    """One class of part or event: code (4 digits), names, deadline (working hours), handling line, skill."""

    kind: str  # "part" or "event"
    code: str
    name_zh: str
    name_en: str
    deadline_hours: float
    line: str  # the line (条) whose department handles it at county level
    skill: str  # what a field unit must be able to do


PART_MAJOR = {
    "01": "公用设施",
    "02": "道路交通",
    "03": "市容环境",
    "04": "园林绿化",
    "05": "房屋土地",
    "06": "其他设施",
}
EVENT_MAJOR = {
    "01": "市容环境",
    "02": "宣传广告",
    "03": "施工管理",
    "04": "街面秩序",
    "05": "突发事件",
    "06": "其他事件",
}

_PARTS = [
    ("0101", "上水井盖", "water supply manhole cover", 8, "housing", "repair"),
    ("0102", "污水井盖", "sewage manhole cover", 8, "housing", "repair"),
    ("0103", "雨水井盖", "storm drain cover", 8, "housing", "repair"),
    ("0104", "电力井盖", "power manhole cover", 8, "housing", "repair"),
    ("0109", "消防栓", "fire hydrant", 16, "emergency", "repair"),
    ("0115", "路灯", "street lamp", 16, "urban_management", "repair"),
    ("0201", "交通信号灯", "traffic light", 8, "transport", "repair"),
    ("0205", "护栏", "guard rail", 24, "transport", "repair"),
    ("0301", "垃圾箱", "litter bin", 8, "urban_management", "sanitation"),
    ("0302", "公共厕所", "public toilet", 16, "urban_management", "sanitation"),
    ("0401", "行道树", "street tree", 24, "urban_management", "greening"),
    ("0402", "绿地", "green space", 24, "urban_management", "greening"),
    ("0601", "监控电子眼", "surveillance camera", 24, "public_security", "repair"),
]
_EVENTS = [
    ("0101", "暴露垃圾", "exposed garbage", 2, "urban_management", "sanitation"),
    ("0102", "积存垃圾渣土", "accumulated waste and muck", 4, "urban_management", "sanitation"),
    ("0103", "道路不洁", "dirty road", 2, "urban_management", "sanitation"),
    ("0106", "废弃家具设备", "dumped furniture", 8, "urban_management", "sanitation"),
    ("0108", "私搭乱建", "illegal structure", 40, "urban_management", "enforcement"),
    ("0109", "露天烧烤", "open-air barbecue", 2, "urban_management", "enforcement"),
    ("0201", "非法小广告", "illegal flyers", 8, "urban_management", "sanitation"),
    ("0202", "违章张贴悬挂广告", "unauthorised banners", 8, "urban_management", "enforcement"),
    ("0302", "施工扬尘", "construction dust", 4, "housing", "enforcement"),
    ("0303", "道路遗撒", "spillage on road", 2, "urban_management", "sanitation"),
    ("0304", "施工占道", "construction blocking road", 8, "housing", "enforcement"),
    ("0404", "店外经营", "business outside shop", 2, "urban_management", "enforcement"),
    ("0405", "机动车乱停放", "illegal car parking", 2, "public_security", "enforcement"),
    ("0406", "非机动车乱停放", "illegal bicycle parking", 2, "urban_management", "enforcement"),
    ("0409", "占道经营", "street vending on road", 2, "urban_management", "enforcement"),
    ("0501", "路面塌陷", "road collapse", 1, "emergency", "repair"),
    ("0502", "自来水管破裂", "burst water main", 1, "housing", "repair"),
    ("0504", "下水道堵塞", "blocked sewer", 4, "housing", "repair"),
    ("0506", "道路积水", "flooded road", 2, "emergency", "repair"),
    ("0699", "其他事件", "other event", 16, "urban_management", "enforcement"),
]

CLASSES: dict[tuple[str, str], CaseClass] = {}
for _kind, _rows in (("part", _PARTS), ("event", _EVENTS)):
    for _code, _zh, _en, _hours, _line, _skill in _rows:
        CLASSES[(_kind, _code)] = CaseClass(_kind, _code, _zh, _en, float(_hours), _line, _skill)

SKILLS = ("sanitation", "enforcement", "repair", "greening")
DEADLINE_HOURS = (0.5, 720.0)  # the range a county may set for a class's deadline (working hours)
KIND_ZH = {"part": "部件", "event": "事件"}
OTHER_EVENT = ("event", "0699")  # 其他事件: the class of last resort

# Source categories of other modules (appeals ticket categories) -> event class. Unknown ones fall back to
# keyword matching on the category and description, then to 0699 其他事件.
SOURCE_CATEGORY_MAP = {
    "city_appearance": ("event", "0101"),
    "garbage": ("event", "0101"),
    "sanitation": ("event", "0103"),
    "street_vending": ("event", "0409"),
    "street_vendor": ("event", "0409"),
    "illegal_parking": ("event", "0405"),
    "illegal_construction": ("event", "0108"),
    "construction_dust": ("event", "0302"),
    "advertising": ("event", "0202"),
    "road_damage": ("event", "0501"),
    "water_leak": ("event", "0502"),
    "flooding": ("event", "0506"),
    "manhole": ("part", "0102"),
    "street_light": ("part", "0115"),
    "urban_management": ("event", "0699"),
}
_KEYWORDS = [
    ("井盖", ("part", "0102")),
    ("路灯", ("part", "0115")),
    ("垃圾", ("event", "0101")),
    ("占道", ("event", "0409")),
    ("摆摊", ("event", "0409")),
    ("停车", ("event", "0405")),
    ("违建", ("event", "0108")),
    ("私搭", ("event", "0108")),
    ("扬尘", ("event", "0302")),
    ("广告", ("event", "0202")),
    ("塌陷", ("event", "0501")),
    ("积水", ("event", "0506")),
    ("水管", ("event", "0502")),
    ("下水道", ("event", "0504")),
    ("烧烤", ("event", "0109")),
]


def get_class(kind: str, code: str) -> CaseClass | None:
    """The class of a part or event by its 4-digit code, or None."""
    return CLASSES.get((kind, code))


def class_or_other(kind: str, code: str) -> CaseClass:
    """The class of a part or event, or 0699 其他事件 for an unknown code (a case's deadline, line, skill)."""
    return CLASSES.get((kind, code)) or CLASSES[OTHER_EVENT]


def map_source_category(category: str, description: str = "") -> CaseClass:
    """The GB/T 30428 class for another module's category (e.g. an appeals ticket category)."""
    key = SOURCE_CATEGORY_MAP.get((category or "").strip().lower())
    if key is None:
        text = f"{category} {description}"
        key = next((k for word, k in _KEYWORDS if word in text), OTHER_EVENT)
    return CLASSES[key]


def catalogue() -> list[CaseClass]:
    """Every class, parts first, by code."""
    return sorted(CLASSES.values(), key=lambda c: (c.kind != "part", c.code))


def class_key(kind: str, code: str) -> str:
    """The key of a class in a county's settings and in solution packs: ``event-0101``."""
    return f"{kind}-{code}"


def parse_key(key: str) -> tuple[str, str] | None:
    """The (kind, code) of a class key, or None when it names no class of the catalogue."""
    kind, _sep, code = key.partition("-")
    return (kind, code) if (kind, code) in CLASSES else None


def with_county_settings(klass: CaseClass, *, deadline_hours: float | None, line: str | None) -> CaseClass:
    """The class as a county runs it: its own deadline and handling line where it set them (the standard's
    otherwise)."""
    return replace(
        klass,
        deadline_hours=klass.deadline_hours if deadline_hours is None else float(deadline_hours),
        line=line or klass.line,
    )
