"""Job placement across compute pools (东数西算), pure: the cheapest pool with room that residency allows.

A pool lists the divisions whose data may be placed on it (数据出域规则: a code covers its subtree). A job
names the division its data belongs to (by its materialised path) and the units it needs. Placement keeps the
pools that allow the data and have room, and picks the cheapest (ties: the most free room, then the code);
when none is left, it returns every pool's reason for refusing, so a person can see what to change.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PoolView:
    """What placement needs of a pool."""

    code: str
    name: str
    cost_per_unit: float
    free_units: int
    residency: tuple[str, ...]  # division codes whose subtrees' data may come here


@dataclass(frozen=True)
class Placement:
    """The chosen pool (None when refused) and, per pool, why it was not chosen."""

    pool_code: str | None
    cost: float | None
    refusals: dict[str, str]


def allows(pool: PoolView, data_path: str) -> bool:
    """True if the pool's residency rules let data of the division at `data_path` be placed on it."""
    codes = set(data_path.strip("/").split("/"))
    return any(code in codes for code in pool.residency)


def place(pools: list[PoolView], *, data_path: str, units: int) -> Placement:
    """The cheapest pool that allows the data and has `units` free, or the reasons every pool refused."""
    refusals: dict[str, str] = {}
    fitting: list[PoolView] = []
    for pool in pools:
        if not allows(pool, data_path):
            refusals[pool.code] = (
                "数据出域规则不允许该区划的数据进入此算力池 (data residency forbids this pool)"
            )
        elif pool.free_units < units:
            refusals[pool.code] = (
                f"剩余算力不足：需要 {units}，剩余 {pool.free_units} (not enough free capacity)"
            )
        else:
            fitting.append(pool)
    if not fitting:
        return Placement(None, None, refusals)
    best = min(fitting, key=lambda p: (p.cost_per_unit, -p.free_units, p.code))
    for pool in fitting:
        if pool is not best:
            refusals[pool.code] = f"费用更高：{pool.cost_per_unit:g} 元/单位 (more expensive)"
    return Placement(best.code, best.cost_per_unit * units, refusals)
