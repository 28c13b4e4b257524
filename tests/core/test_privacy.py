"""One masking policy (core.privacy), the same result wherever a number shows: in a field the exchange gateway
masks, in a ticket's text as staff who may not see the reporter read it, and in every public view (tracking
page, Open311, public map), which shows none of its digits."""

from __future__ import annotations

import re

import pytest

from govgrid.appeals import privacy as appeals_privacy
from govgrid.appeals.models import Ticket
from govgrid.core import privacy

# (what the resident typed, the kind, what staff and a granted consumer see)
FORMATS = [
    ("13800138000", "phone", "138****8000"),
    ("138 0013 8000", "phone", "138****8000"),
    ("138-0013-8000", "phone", "138****8000"),
    ("+86 138 0013 8000", "phone", "138****8000"),
    ("".join(chr(0xFF10 + int(d)) for d in "13800138000"), "phone", "138****8000"),  # full-width digits
    ("幺三八零零幺三八零零零", "phone", "138****8000"),  # read out on the hotline
    ("0372-5561234", "phone", "0372-*****34"),  # county landline with area code
    ("010-62345678", "phone", "010-******78"),  # 3-digit area code
    ("5561234", "phone", "*****34"),  # a bare 7-digit local number
    ("55612345", "phone", "******45"),  # a bare 8-digit local number
    ("41052719800101123X", "id_number", "410***********123X"),
    ("410527800101123", "id_number", "410********1123"),  # the old 15-digit card
]


def _ticket() -> Ticket:
    return Ticket(reporter_name="王小明", reporter_phone=None, reporter_email=None,
                  address="城关镇解放路12号")


IDS = [f"{i}-{privacy.normalise_digits(f[0])}" for i, f in enumerate(FORMATS)]


@pytest.mark.parametrize(("typed", "kind", "masked"), FORMATS, ids=IDS)
def test_the_same_number_is_masked_the_same_way_everywhere(typed, kind, masked):
    digits = "".join(ch for ch in privacy.normalise_digits(typed) if ch.isdigit() or ch in "Xx")
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    # the exchange gateway: a personal field under a grant with a masking rule
    rows = [{"v": digits}]
    privacy.mask_records(rows, {"v": kind})
    assert rows[0]["v"] == masked
    # appeals: the same number inside a resident's text, as staff read it
    staff = appeals_privacy.staff_text(_ticket(), f"联系电话{typed}，请回电")
    assert masked in staff and digits not in staff
    # every public view: no digit of it at all
    public = appeals_privacy.public_text(_ticket(), f"联系电话{typed}，请回电")
    assert public is not None and not re.search(r"\d{2}", public)  # \d: full-width too
    assert "联系电话" in public and "请回电" in public


def test_the_reporter_name_and_address_never_show_in_a_public_text():
    text = "我是王小明，住城关镇解放路12号，门口路灯坏了"
    public = appeals_privacy.public_text(_ticket(), text)
    assert public is not None and "王小明" not in public and "解放路12号" not in public
    assert "路灯坏了" in public


def test_short_numbers_and_amounts_stay_readable():
    # house numbers, years and amounts are not personal data: masking them would make reports unreadable
    text = "2026年路灯坏了3个，损失约1200元，解放路12号"
    assert appeals_privacy.public_text(_ticket(), text) == text
