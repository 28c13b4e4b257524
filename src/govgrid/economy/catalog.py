"""The built-in indicator registry (指标目录) and the pairs of series that should move together (交叉校验).

Definitions follow the statistical system's usage (国家统计局 monthly releases, 财政部 revenue releases, 国家
能源局 power figures); county figures here are monthly values for the month (当月值), not year-to-date
cumulative figures; cumulative growth (累计增速) is derived from them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class IndicatorDef:
    """One registry entry."""

    code: str
    name_zh: str
    name_en: str
    unit: str
    line_code: str  # the department line (条) that reports the figure and answers its alerts
    definition: str
    frequency: str = "monthly"
    division_level: str = "county"


INDICATORS: tuple[IndicatorDef, ...] = (
    IndicatorDef(
        "IND_VA",
        "规模以上工业增加值",
        "Value added of industry above designated size",
        "亿元",
        "statistics",
        "年主营业务收入2000万元及以上工业法人单位的工业增加值，当月值，现价。",
    ),
    IndicatorDef(
        "ELEC_IND",
        "工业用电量",
        "Industrial electricity use",
        "万千瓦时",
        "development_reform",
        "辖区内工业用户当月用电量，由供电企业报发展改革（能源）部门。",
    ),
    IndicatorDef(
        "TAX_REV",
        "税收收入",
        "Tax revenue",
        "亿元",
        "tax",
        "税务部门组织的辖区当月税收收入（不含海关代征），现价。",
    ),
    IndicatorDef(
        "BUDGET_REV",
        "一般公共预算收入",
        "General public budget revenue",
        "亿元",
        "finance",
        "辖区当月一般公共预算收入，含税收收入和非税收入。",
    ),
    IndicatorDef(
        "RETAIL",
        "社会消费品零售总额",
        "Retail sales of consumer goods",
        "亿元",
        "statistics",
        "当月社会消费品零售总额，名义值；限额以上单位全面调查，限额以下抽样推算。",
    ),
    IndicatorDef(
        "FAI",
        "固定资产投资（不含农户）",
        "Fixed-asset investment (excl. rural households)",
        "亿元",
        "development_reform",
        "计划总投资500万元及以上项目和房地产开发投资的当月完成额。",
    ),
    IndicatorDef(
        "NEW_ENT",
        "新登记市场主体",
        "Newly registered market entities",
        "户",
        "market_regulation",
        "当月新设立登记的企业、个体工商户和农民专业合作社户数。",
    ),
    IndicatorDef(
        "NEW_TAXPAYER",
        "新办涉税市场主体",
        "New taxpayers registered",
        "户",
        "tax",
        "当月首次办理涉税事项（税务登记/信息确认）的市场主体户数。",
    ),
)


@dataclass(frozen=True)
class CrossCheck:
    """Two series that should move together: the YoY growth of ``indicator`` is checked against
    ``partner``."""

    indicator: str  # the series whose department is asked to check (the task goes to its line)
    partner: str
    name_zh: str
    name_en: str
    # a divergence is flagged only when the YoY gap is also at least this many percentage points
    min_gap_pp: float = 10.0


CROSS_CHECKS: tuple[CrossCheck, ...] = (
    CrossCheck("TAX_REV", "IND_VA", "税收收入与工业增加值", "tax revenue vs industrial value added"),
    CrossCheck("ELEC_IND", "IND_VA", "工业用电量与工业增加值", "electricity use vs industrial value added"),
    CrossCheck("NEW_TAXPAYER", "NEW_ENT", "新办涉税主体与新登记主体", "new taxpayers vs new registrations"),
)
