"""Personal data: the one masking policy of the platform (GB/T 37964-2019 practice), for structured fields and
for free text, and value checks for the personal types.

Structured fields (exchange gateway, staff views) keep a little of each value so a person can tell
records apart:
- mobile 138****8000 (first 3, last 4); landline 0372-*****34 (area code and last 2); short numbers all stars;
- ID card 410***********1234 (first 3, last 4: the birth date is always hidden);
- name 张*, 欧阳** (the surname); address down to the township (镇/乡/街道), the rest ****.
Free text (descriptions, titles, answers) has every phone number, ID number and e-mail address found in it
replaced: written with spaces, dashes or dots (138.0013.8000), in Chinese numerals (一三八零零一三八零零零) or
full-width digits. Public views blank them entirely; staff views keep the same parts as the field rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

# Two-character surnames (复姓) keep both characters.
COMPOUND_SURNAMES = frozenset([
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒", "夏侯",
    "令狐", "轩辕", "端木", "独孤", "南宫", "西门", "百里", "呼延", "万俟", "司空", "澹台", "公冶", "太史",
    "申屠", "钟离", "闻人", "赫连", "第五", "拓跋", "完颜", "左丘", "东郭", "公羊", "濮阳", "淳于", "单于",
    "太叔", "仲孙",
])
_TOWNSHIP_MARKS = ("街道", "镇", "乡")
_COUNTY_MARKS = ("县", "区", "市", "旗")
_TOWNSHIP_RE = re.compile("|".join(_TOWNSHIP_MARKS))
_COUNTY_RE = re.compile("[" + "".join(_COUNTY_MARKS) + "]")
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
ID_RE = re.compile(r"^\d{17}[\dX]$")
PHONE_RE = re.compile(r"^1[3-9]\d{9}$")


def mask_id_number(value: str) -> str:
    """Keep the first 3 and last 4 characters; the birth date (digits 7-14) is always hidden."""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_phone(value: str) -> str:
    """Mobile 138****5678; landline 0372-*****34 (area code and last 2); a bare local number *****34."""
    digits = "".join(ch for ch in normalise_digits(value) if ch.isdigit())
    if len(digits) == 13 and digits.startswith("861"):  # +86 before a mobile number: the same mobile
        digits = digits[2:]
    if len(digits) == 11 and digits[0] == "1":
        return digits[:3] + "****" + digits[-4:]
    if digits.startswith("0") and 10 <= len(digits) <= 12:
        area = 3 if digits[1] in "12" else 4  # 010, 02x are 3 digits; others 4
        return digits[:area] + "-" + "*" * (len(digits) - area - 2) + digits[-2:]
    if 7 <= len(digits) <= 8:
        return "*" * (len(digits) - 2) + digits[-2:]
    return "*" * max(len(digits), 4)


def mask_name(value: str) -> str:
    """Keep the surname: 张*, 欧阳**."""
    keep = 2 if value[:2] in COMPOUND_SURNAMES and len(value) > 2 else 1
    return value[:keep] + "*" * (len(value) - keep)


def mask_address(value: str) -> str:
    """Keep the address down to the township (镇/乡/街道); hide the rest."""
    # The leftmost marker found by the precompiled patterns is also the one that ends first (markers are
    # one or two characters), so this equals cutting at the earliest end of any marker.
    m = _TOWNSHIP_RE.search(value) or _COUNTY_RE.search(value)
    return (value[: m.end()] + "****") if m is not None else "****"


def mask_full(value: str) -> str:
    """Hide everything."""
    return "****"


MASKERS: dict[str, Callable[[str], str]] = {
    "id_number": mask_id_number,
    "phone": mask_phone,
    "name": mask_name,
    "address": mask_address,
    "full": mask_full,
}


def mask_value(rule: str, value: Any) -> Any:
    """Apply a named rule to a value (None and empty values stay as they are)."""
    if value is None or value == "" or rule == "none":
        return value
    return MASKERS[rule](str(value))


def mask_records(records: list[dict[str, Any]], masks: dict[str, str]) -> None:
    """Mask a page of records in place, one field at a time: the same result as `mask_value` on every value.

    The gateway's hot path: string values of the common rules are masked inline (no call per value);
    everything else (other rules, non-string values) goes through `mask_value`'s rules.
    Every record must hold every field.
    """
    for field, rule in masks.items():
        if rule == "none":
            continue
        fn = MASKERS[rule]
        if rule == "id_number":
            for rec in records:
                v = rec[field]
                if v.__class__ is str:
                    n = len(v)
                    if n > 7:
                        rec[field] = v[:3] + _STARS[n - 7] + v[-4:] if n < _STAR_CACHE else fn(v)
                    elif n:
                        rec[field] = "*" * n
                elif v is not None and v != "":
                    rec[field] = fn(str(v))
        elif rule == "phone":
            for rec in records:
                v = rec[field]
                if v.__class__ is str and len(v) == 11 and v[0] == "1" and v.isascii() and v.isdigit():
                    # the common case, inline: a mobile number in ASCII digits (full-width are normalised)
                    rec[field] = v[:3] + "****" + v[-4:]
                elif v is not None and v != "":
                    rec[field] = fn(str(v))
        elif rule == "name":
            for rec in records:
                v = rec[field]
                if v.__class__ is str:
                    n = len(v)
                    if n > 2 and v[:2] in COMPOUND_SURNAMES:
                        rec[field] = v[:2] + _STARS[n - 2] if n < _STAR_CACHE else fn(v)
                    elif n:
                        rec[field] = v[0] + _STARS[n - 1] if n < _STAR_CACHE else fn(v)
                elif v is not None and v != "":
                    rec[field] = fn(str(v))
        elif rule == "full":
            for rec in records:
                v = rec[field]
                if v is not None and v != "":
                    rec[field] = "****"
        else:
            for rec in records:
                v = rec[field]
                if v.__class__ is str:
                    if v:
                        rec[field] = fn(v)
                elif v is not None and v != "":
                    rec[field] = fn(str(v))


_STAR_CACHE = 64
_STARS = tuple("*" * i for i in range(_STAR_CACHE))


def id_number_checksum(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits."""
    return ID_CHECK[sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def valid_id_number(value: str) -> bool:
    """An 18-character 公民身份号码 with a correct check character."""
    return bool(ID_RE.match(value)) and id_number_checksum(value[:17]) == value[17]


def valid_phone(value: str) -> bool:
    """An 11-digit mainland mobile number."""
    return bool(PHONE_RE.match(value))


# ---- free text ---------------------------------------------------------------------------------------------

# The full-width and ideographic characters below are the ones the patterns must match (RUF001 on purpose).
_CN_DIGITS = {
    "零": "0", "〇": "0", "○": "0", "一": "1", "幺": "1", "二": "2", "两": "2",  # noqa: RUF001
    "三": "3", "四": "4", "五": "5", "六": "6", "七": "7", "八": "8", "九": "9",
}
_FULLWIDTH = {chr(0xFF10 + i): str(i) for i in range(10)}
_DIGIT_CLASS = "0-9０-９零〇○一幺二两三四五六七八九"  # noqa: RUF001
# A run of digits (Arabic, full-width or Chinese) with optional single separators between them.
_NUMBER_RUN = re.compile(
    rf"(?<![{_DIGIT_CLASS}])[+＋]?[{_DIGIT_CLASS}]"  # noqa: RUF001
    rf"(?:[ \-.·．－—_]?[{_DIGIT_CLASS}Xx]){{6,}}"  # noqa: RUF001
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


def normalise_digits(text: str) -> str:
    """Chinese numerals and full-width digits as ASCII digits (other characters unchanged)."""
    return "".join(_CN_DIGITS.get(ch) or _FULLWIDTH.get(ch) or ch for ch in text)


def _classify(run: str) -> str | None:
    """'phone', 'id_number' or None for a run of digits found in text."""
    digits = "".join(ch for ch in normalise_digits(run) if ch.isdigit() or ch in "Xx")
    if len(digits) in (15, 18) and digits[:-1].isdigit():
        return "id_number"
    plain = digits.lstrip("+")
    if plain.startswith("86") and len(plain) == 13:
        plain = plain[2:]
    if plain.isdigit() and 7 <= len(plain) <= 12:
        return "phone"
    return None


def scrub_text(text: str | None, *, public: bool = True, known: tuple[str | None, ...] = ()) -> str | None:
    """Text with phone numbers, ID numbers and e-mail addresses replaced (all stars in public, partly in staff
    views), and the given known secrets (a reporter's name, address) blanked out."""
    if text is None:
        return None

    def repl(m: re.Match[str]) -> str:
        run = m.group(0)
        kind = _classify(run)
        if kind is None:
            return run
        if public:
            return "*" * min(len(run), 11)
        digits = "".join(ch for ch in normalise_digits(run) if ch.isdigit() or ch in "Xx")
        return mask_id_number(digits) if kind == "id_number" else mask_phone(digits)

    out = _NUMBER_RUN.sub(repl, text)
    out = _EMAIL.sub("***@***", out)
    for secret in known:
        if secret and len(secret.strip()) >= 2:
            out = out.replace(secret.strip(), "***")
    return out


def shorten(text: str | None, limit: int) -> str | None:
    """Cut a text that is already scrubbed (cutting first could leave half a number readable)."""
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "…"
