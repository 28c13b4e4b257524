"""Masking rules as practised (GB/T 37964): what a consumer sees of personal fields."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govgrid.core.privacy import mask_records, mask_value, valid_id_number
from tests.exchange.conftest import id_number


@pytest.mark.parametrize(
    ("rule", "value", "expected"),
    [
        ("id_number", "510105198001011234", "510***********1234"),
        ("phone", "13812345678", "138****5678"),
        ("name", "张三", "张*"),
        ("name", "张三丰", "张**"),
        ("name", "欧阳明", "欧阳*"),
        ("name", "欧阳娜娜", "欧阳**"),
        ("address", "内黄县城关镇解放路12号院3号", "内黄县城关镇****"),
        ("address", "君山区柳林洲街道洞庭路1号", "君山区柳林洲街道****"),
        ("address", "东风路8号", "****"),
        ("full", "4200", "****"),
        ("none", "keep", "keep"),
    ],
)
def test_mask_rules(rule, value, expected):
    assert mask_value(rule, value) == expected


def test_id_number_mask_always_hides_the_birth_date():
    masked = mask_value("id_number", "410527198001011235")
    assert "19800101" not in masked and masked[6:14] == "********"


def test_empty_values_stay_empty():
    assert mask_value("phone", None) is None and mask_value("name", "") == ""


def test_id_number_check_digit():
    good = id_number("410527", "19800101", 123)
    assert valid_id_number(good)
    wrong = good[:-1] + ("0" if good[-1] != "0" else "1")
    assert not valid_id_number(wrong)
    assert not valid_id_number("41052719800101")


# The gateway masks a page column by column (mask_records); it must agree with mask_value on every value.
ODD_VALUES = [
    None,
    "",
    "张",
    "欧阳",
    "欧阳娜",
    "司马相如",
    "欧",
    "1234567",
    "12345678",
    "x" * 80,
    "欧阳" + "x" * 80,
    "内黄县城关镇",
    "某市某区某乡某村",
    "13800138000",
    "1３８００１３８０００",  # a "1" then full-width digits: 11 digits for str.isdigit, masked as normalised  # noqa: RUF001
    "1²345678901",
    0,
    12345678901,
    1.5,
    True,
    False,
]


@pytest.mark.parametrize("rule", ["id_number", "phone", "name", "address", "full", "none"])
def test_mask_records_matches_mask_value_on_odd_values(rule):
    records = [{"v": value, "other": value} for value in ODD_VALUES]
    mask_records(records, {"v": rule})
    assert [r["v"] for r in records] == [mask_value(rule, value) for value in ODD_VALUES]
    assert [r["other"] for r in records] == ODD_VALUES


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.text(max_size=90),
            st.text(alphabet="欧阳司马张三镇乡街道县区市旗12", max_size=12),
            st.integers(),
            st.booleans(),
        ),
        max_size=8,
    ),
    st.sampled_from(["id_number", "phone", "name", "address", "full"]),
)
def test_mask_records_matches_mask_value(values, rule):
    records = [{"a": value} for value in values]
    mask_records(records, {"a": rule})
    assert [r["a"] for r in records] == [mask_value(rule, value) for value in values]
