"""统一社会信用代码 (unified social credit code, GB 32100-2015): structure and check digit. Pure functions.

Eighteen characters over the alphabet ``0-9 A-H J-N P Q R T U W X Y`` (31 characters, no I O S V Z), each
worth its position in that alphabet (0-30):

- position 1: 登记管理部门 (registration authority: 1 机构编制, 5 民政, 9 工商/市场监管, Y 其他);
- position 2: 机构类别 (under 9: 1 企业, 2 个体工商户, 3 农民专业合作社);
- positions 3-8: the GB/T 2260 division code of the registering authority;
- positions 9-17: the GB 11714 organisation code (its own check character at position 17);
- position 18: the check character. With weights ``W_i = 3^(i-1) mod 31`` for i = 1..17,
  ``c = 31 - (sum(v_i * W_i) mod 31)``, and 31 becomes 0; the check character is the alphabet's c-th.
"""

from __future__ import annotations

import re

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
VALUES = {ch: i for i, ch in enumerate(ALPHABET)}
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))  # 1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28
PATTERN = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")

# (position 1, position 2) -> kind of market entity (市场主体类型)
KINDS = {("9", "1"): "enterprise", ("9", "2"): "individual", ("9", "3"): "cooperative"}


def check_char(first17: str) -> str:
    """The check character (position 18) of the first 17 characters of a code."""
    if len(first17) != 17 or any(ch not in VALUES for ch in first17):
        raise ValueError("需要 17 位有效字符 (17 characters of the code alphabet needed)")
    total = sum(VALUES[ch] * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def normalise(code: str) -> str:
    """Trimmed and upper-cased (codes are often typed in lower case or with spaces)."""
    return code.strip().upper()


def problem(code: str) -> str | None:
    """Why ``code`` is not a valid unified social credit code (zh-CN with English), or None when it is."""
    if len(code) != 18:
        return f"统一社会信用代码应为 18 位，实为 {len(code)} 位 (must be 18 characters)"
    if not PATTERN.match(code):
        return (
            "统一社会信用代码含非法字符（不使用 I、O、S、V、Z）或第 3-8 位不是区划代码 (invalid characters)"
        )
    expected = check_char(code[:17])
    if code[17] != expected:
        return f"统一社会信用代码校验位错误：应为 {expected} (check character should be {expected})"
    return None


def is_valid(code: str) -> bool:
    """True for a well-formed code whose check character is right."""
    return problem(code) is None


def kind_of(code: str) -> str:
    """The kind of market entity the code's first two positions name (enterprise, individual, cooperative,
    other)."""
    return KINDS.get((code[0], code[1]), "other")


def division_of(code: str) -> str:
    """The six-digit GB/T 2260 division code of the registering authority (positions 3-8)."""
    return code[2:8]


def make(prefix17: str) -> str:
    """A full code from its first 17 characters (demo data, tests)."""
    return prefix17 + check_char(prefix17)


ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def org_check_char(first8: str) -> str:
    """The check character of a GB 11714 organisation code (position 17 of a credit code)."""
    total = sum(
        (int(ch) if ch.isdigit() else ord(ch) - 55) * w for ch, w in zip(first8, ORG_WEIGHTS, strict=True)
    )
    c = 11 - total % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)
