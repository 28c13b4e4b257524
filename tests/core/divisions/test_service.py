"""Division services used by onboarding: the template county a new county starts from, and moving a
template's codes and names to the new county."""

from __future__ import annotations

from govgrid.core.departments.models import Department
from govgrid.core.divisions import service as divisions


def test_the_template_is_the_county_of_the_same_city_with_the_most_rows(db):
    # 内黄县 (410527) holds the demo's departments in 安阳市; 滑县 (410526) is its neighbour with none
    hua = divisions.get(db, "410526")
    peer = divisions.richest_peer(db, hua, Department.division_code, Department.id)
    assert peer is not None and peer.code == "410527"


def test_a_county_is_never_its_own_template_and_provinces_are_not_crossed(db):
    neihuang = divisions.get(db, "410527")
    peer = divisions.richest_peer(db, neihuang, Department.division_code, Department.id)
    assert peer is None or (peer.code != "410527" and peer.code.startswith("41"))
    # no county of 宁夏 holds demo departments: nothing to copy from, never 内黄 in another province
    ningxia = divisions.get(db, "640522")
    assert divisions.richest_peer(db, ningxia, Department.division_code, Department.id) is None


def test_codes_and_names_move_to_the_new_county(db):
    template, new = divisions.get(db, "410527"), divisions.get(db, "410526")
    assert divisions.moved_text("A01-410527-0001", template, new) == "A01-410526-0001"
    assert divisions.moved_text("内黄县人口基础信息", template, new) == "滑县人口基础信息"
    assert divisions.moved_text("410527", template, new) == "410527"  # a bare code is not a -CODE- part
    # only a leading name moves, and never a two-character one (城区 is also the word "urban area")
    assert divisions.moved_text("全省内黄县试点清单", template, new) == "全省内黄县试点清单"
    chengqu = divisions.get(db, "140302")  # 阳泉市城区
    assert chengqu.name == "城区"
    assert divisions.moved_text("城区道路挖掘许可", chengqu, new) == "城区道路挖掘许可"
