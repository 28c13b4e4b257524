"""The data items (信息项) of the demo catalog's entries: population, legal persons, social security, city
parts, wetland, relief lists, and the smaller tables."""

from __future__ import annotations

from govgrid.exchange.schemas import DataItemIn

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


def simple_items(*pairs: tuple[str, str, str]) -> list[DataItemIn]:
    """Plain (non-personal) items from (name, label, type) triples."""
    return [DataItemIn.model_validate({"name": n, "label": lab, "type": t}) for n, lab, t in pairs]


OTHER_ITEMS: dict[str, list[DataItemIn]] = {
    "estate": [
        I(name="parcel_no", label="不动产单元号", type="string", required=True),
        I(name="owner_id_number", label="权利人证件号", type="id_number", personal=True, sensitive=True),
        I(name="location", label="坐落", type="string", personal=True, mask="address"),
    ],
    "landuse": simple_items(
        ("township_code", "乡镇代码", "division"),
        ("land_class", "地类", "string"),
        ("area_ha", "面积（公顷）", "number"),
    ),
    "taxcredit": simple_items(
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
    "schools": simple_items(
        ("school_name", "学校名称", "string"),
        ("school_type", "学段", "string"),
        ("address", "地址", "string"),
        ("students", "在校生数", "integer"),
    ),
}
ITEMS_BY_KEY: dict[str, list[DataItemIn]] = {
    "population": POPULATION_ITEMS,
    "legal": LEGAL_ITEMS,
    "social": SOCIAL_ITEMS,
    "parts": CITY_PART_ITEMS,
    "wetland": WETLAND_ITEMS,
    "relief": RELIEF_ITEMS,
    **OTHER_ITEMS,
}
