"""The password policy (length, leaked passwords, guessability, the user name), on create and on change."""

from __future__ import annotations

import pytest

from govgrid.core.identity import passwords
from tests.live import DEMO_PASSWORD


@pytest.mark.parametrize(("candidate", "reason"), [
    ("short-1", "至少 12"),
    ("x" * 129, "最多 128"),
    ("1qaz2wsx3edc", "泄露"),            # zxcvbn's leaked list
    ("woaini1314", "至少 12"),
    ("5201314520", "至少 12"),
    ("password1234", "泄露"),
    ("abcabcabcabc", "容易被猜到"),       # a repeated pattern
    ("aaaaaaaaaaaaaaa", "容易被猜到"),
    ("nh_clerk-secret-2026", "用户名"),
])
def test_refused_passwords_say_why(candidate, reason):
    found = passwords.problems(candidate, username="nh_clerk")
    assert found and reason in "".join(found)


GOOD = [DEMO_PASSWORD, "long-enough-1", "湖边 芦苇 候鸟 2026", "Str0ng-Pass-Go"]


@pytest.mark.parametrize("candidate", GOOD)
def test_accepted_passwords(candidate):
    assert passwords.problems(candidate, username="nh_clerk") == []


def test_the_chinese_leak_list_ships_with_the_package():
    assert {"woaini1314", "1qaz2wsx", "dearbook"} <= passwords.breached()
    assert len(passwords.breached()) > 30_000


def test_an_administrator_cannot_create_a_user_with_a_leaked_password(client, db, login):
    r = client.post("/api/v1/users", headers=login("nh_gov"),
                    json={"username": "nh_leaky", "password": "1qaz2wsx3edc"})
    assert r.status_code == 422
    body = r.json()["error"]
    assert body["details"][0]["loc"][-1] == "password" and "泄露" in body["details"][0]["msg"]


def test_a_user_cannot_change_to_a_guessable_password_and_keeps_the_old_one(client, db):
    login = {"username": "nh_viewer", "password": DEMO_PASSWORD}
    token = client.post("/api/v1/auth/token", data=login).json()
    auth = {"Authorization": f"Bearer {token['access_token']}"}
    r = client.post("/api/v1/me/password", headers=auth,
                    json={"current_password": DEMO_PASSWORD, "new_password": "abcabcabcabc"})
    assert r.status_code == 422 and "容易被猜到" in r.json()["error"]["message"]
    again = client.post("/api/v1/auth/token", data=login)
    assert again.status_code == 200
