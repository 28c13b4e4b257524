"""Job placement (pure): residency first, then room, then the lowest cost; every refusal has a reason."""

from __future__ import annotations

from govgrid.coordination.placement import PoolView, place

EAST = PoolView("HN-ZZ", "郑州", 1.2, 64, ("410000",))
WEST = PoolView("NX-ZW", "中卫", 0.45, 512, ("410000", "640000"))
SHANXI_ONLY = PoolView("SX-TY", "太原", 0.1, 512, ("140000",))
NH_PATH = "/000000/410000/410500/410527/"


def test_the_cheapest_allowed_pool_with_room_is_chosen():
    chosen = place([EAST, WEST, SHANXI_ONLY], data_path=NH_PATH, units=8)
    assert chosen.pool_code == "NX-ZW"
    assert chosen.cost == 0.45 * 8
    assert "出域" in chosen.refusals["SX-TY"] and "费用更高" in chosen.refusals["HN-ZZ"]


def test_a_full_pool_is_skipped_for_the_next_cheapest():
    chosen = place([EAST, WEST], data_path=NH_PATH, units=600)
    assert chosen.pool_code is None
    chosen = place([EAST, PoolView("NX-ZW", "中卫", 0.45, 4, ("410000",))], data_path=NH_PATH, units=8)
    assert chosen.pool_code == "HN-ZZ"
    assert "不足" in chosen.refusals["NX-ZW"]


def test_residency_refuses_with_a_reason_when_nothing_fits():
    chosen = place([SHANXI_ONLY], data_path=NH_PATH, units=1)
    assert chosen.pool_code is None and chosen.cost is None
    assert "出域" in chosen.refusals["SX-TY"]
    assert place([], data_path=NH_PATH, units=1).refusals == {}
