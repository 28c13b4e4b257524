"""The password policy: long enough, not leaked, not guessable, not the user name.

Leaked passwords come as data: the 30,000 passwords of public leaks that zxcvbn ships, and the passwords that
top the lists of leaked Chinese accounts (`core/data/breached_passwords_zh.txt`). Guessability is zxcvbn's
score (0-4); the policy asks for 3 ("safely unguessable"), with the user name as a known input."""

from __future__ import annotations

from functools import cache
from importlib import resources

MIN_LENGTH = 12
MAX_LENGTH = 128
MIN_SCORE = 3


@cache
def breached() -> frozenset[str]:
    """Every leaked password the policy refuses, lower-cased."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    text = resources.files("govgrid.core").joinpath("data/breached_passwords_zh.txt").read_text("utf-8")
    local = {line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#")}
    return frozenset(local | {p.lower() for p in FREQUENCY_LISTS["passwords"]})


def problems(password: str, *, username: str = "") -> list[str]:
    """What is wrong with `password` as a new password for `username` (empty when it is acceptable)."""
    from zxcvbn import zxcvbn

    if len(password) < MIN_LENGTH:
        return [f"密码至少 {MIN_LENGTH} 个字符；可以用几个词加数字组成一句容易记的话"]
    if len(password) > MAX_LENGTH:
        return [f"密码最多 {MAX_LENGTH} 个字符"]
    found = []
    if password.lower() in breached():
        found.append("这个密码出现在公开泄露的密码库中，请换一个")
    if len(username) >= 3 and username.lower() in password.lower():
        found.append("密码不能包含用户名")
    if not found and zxcvbn(password, user_inputs=[username] if username else [])["score"] < MIN_SCORE:
        found.append("密码太容易被猜到（如键盘顺序、常见词加年份）；请加长或换成不相关的几个词")
    return found
