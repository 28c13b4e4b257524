"""Synthetic people and records for the demo catalog: seeded random names, ID numbers with valid check digits,
phones, addresses, and the rows of each table entry. Every person here is made up."""

from __future__ import annotations

import csv
import io
import random
from datetime import date, timedelta
from typing import Any

from govgrid.core.privacy import id_number_checksum
from govgrid.exchange.demo.catalogue import COUNTIES, TOWNSHIPS

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴"
    "莫孔向汤"
)
COMPOUND = ["欧阳", "司马", "诸葛", "上官"]
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍鹏辉建红晓燕宇浩然子涵欣怡梓轩雨泽思远佳琪俊杰"


def person_name(rng: random.Random) -> str:
    """A synthetic Chinese name (a few compound surnames)."""
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


def csv_bytes(rows: list[dict[str, Any]]) -> bytes:
    """Rows as CSV with a header (what a provider uploads)."""
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
                "name": person_name(rng),
                "gender": "女" if female else "男",
                "birth_date": born.isoformat(),
                "phone": _phone(rng),
                "address": f"{COUNTIES[county][1]}{town}{rng.randint(1, 99)}号院{rng.randint(1, 30)}号",
                "village_code": village,
                "household_no": f"{county}{k // 3:06d}",
            }
        )
    return rows


def table_rows(
    key: str, rng: random.Random, county: str, people: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The rows of one table entry of a county (population-based tables draw from `people`)."""
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
                "org_name": (
                    f"{COUNTIES[county][1]}{rng.choice(words)}{rng.choice(trades)}{rng.choice(kinds)}"
                ),
                "org_type": rng.choice(kinds),
                "legal_rep": person_name(rng),
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
