"""GB 32100 check digit: codes built here from the standard's facts, published valid codes, and broken
ones."""

import pytest

from govgrid.market import creditcode

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def reference_check(first17: str) -> str:
    """The standard's formula written out again: W_i = 3^(i-1) mod 31, C = 31 - (sum mod 31), 31 -> 0."""
    total = 0
    for i, ch in enumerate(first17, start=1):
        total += ALPHABET.index(ch) * (3 ** (i - 1) % 31)
    return ALPHABET[(31 - total % 31) % 31]


def test_weights_are_powers_of_three_mod_31():
    assert creditcode.WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


@pytest.mark.parametrize(
    "first17",
    [
        "91410527MA1234567",  # enterprise registered in 内黄县
        "92140321000000012",  # individual business in 平定县
        "93430611ABCDEFGHJ",  # cooperative in 君山区, letters only after position 8
        "12410000000000000",  # an organ (机关), all zeros
        "Y1000000YYYYYYYYY",  # the highest letters
    ],
)
def test_constructed_codes_are_valid_and_match_the_reference(first17):
    full = first17 + reference_check(first17)
    assert creditcode.make(first17) == full
    assert creditcode.is_valid(full)


def test_check_character_zero_when_sum_is_a_multiple_of_31():
    # Find a prefix whose sum is 0 mod 31 by adjusting the last character: then the check is '0', not 31.
    base = "9141052700000000"
    for ch in ALPHABET:
        if reference_check(base + ch) == "0":
            assert creditcode.check_char(base + ch) == "0"
            return
    pytest.fail("no prefix found")


@pytest.mark.parametrize("code", ["91310110666007217T", "91310115591693856A", "91440300708461136T"])
def test_published_valid_codes(code):
    assert creditcode.problem(code) is None


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("914403001922038217", "校验位错误"),  # check digit off by one
        ("91410527MA123456", "18 位"),  # too short
        ("91410527MA12345678X", "18 位"),  # too long
        ("91410527IA1234567X", "非法字符"),  # I is not in the alphabet
        ("914105O7MA1234567X", "非法字符"),  # letter in the division positions
    ],
)
def test_invalid_codes_are_explained(code, fragment):
    assert fragment in (creditcode.problem(code) or "")
    assert not creditcode.is_valid(code)


def test_every_single_character_change_is_caught():
    good = creditcode.make("91410527MA1234567")
    for pos in range(18):
        for ch in ALPHABET:
            if ch == good[pos] or (2 <= pos < 8 and not ch.isdigit()):
                continue
            changed = good[:pos] + ch + good[pos + 1 :]
            assert not creditcode.is_valid(changed), changed


def test_kind_division_and_normalise():
    code = creditcode.make("92140321000000012")
    assert creditcode.kind_of(code) == "individual"
    assert creditcode.division_of(code) == "140321"
    assert creditcode.normalise(f"  {code.lower()} ") == code


def test_organisation_code_check():
    # GB 11714: weights 3 7 9 10 5 8 4 2; 11 - (sum mod 11); 10 -> X, 11 -> 0
    assert creditcode.org_check_char("00000000") == "0"
    assert creditcode.org_check_char("00000001") == "9"  # 11 - 2
    assert creditcode.org_check_char("10000000") == "8"  # 11 - 3
