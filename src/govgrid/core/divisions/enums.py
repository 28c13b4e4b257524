"""Division levels."""

from __future__ import annotations

from enum import StrEnum


class Level(StrEnum):
    """Administrative level of a division, from the nation down to a grid cell."""

    national = "national"
    province = "province"
    city = "city"
    county = "county"
    township = "township"
    village = "village"
    grid = "grid"


LEVEL_ORDER = [
    Level.national, Level.province, Level.city, Level.county, Level.township, Level.village, Level.grid
]
LEVEL_ZH = {
    Level.national: "国家",
    Level.province: "省级",
    Level.city: "地级",
    Level.county: "县级",
    Level.township: "乡级",
    Level.village: "村级",
    Level.grid: "网格",
}
CODE_LENGTH = {Level.township: 9, Level.village: 12}
NATIONAL_CODE = "000000"
