"""``engine.storage.session_users``: the per-process guess of the user behind a session cookie.

What the guess saves and why a wrong one is harmless is tested through requests in
tests/tenants/test_round_trip_signed_in.py; here, the table itself: per schema, bounded,
re-learned, and never holding a cookie.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import RequestFactory

from engine.storage import session_users


@pytest.fixture(autouse=True)
def _no_guesses() -> Iterator[None]:
    session_users.forget_all()
    yield
    session_users.forget_all()


def test_a_guess_is_per_schema_and_per_cookie() -> None:
    session_users.learn("acme", "cookie-1", 7)
    assert session_users.predicted_user("acme", "cookie-1") == 7
    assert session_users.predicted_user("globex", "cookie-1") is None  # another tenant's host
    assert session_users.predicted_user("acme", "cookie-2") is None


def test_another_user_behind_the_cookie_replaces_the_guess_and_no_one_forgets_it() -> None:
    session_users.learn("acme", "cookie-1", 7)
    session_users.learn("acme", "cookie-1", 8)
    assert session_users.predicted_user("acme", "cookie-1") == 8
    session_users.learn("acme", "cookie-1", None)  # signed out: the session is no one's
    assert session_users.predicted_user("acme", "cookie-1") is None


def test_no_cookie_is_no_guess() -> None:
    session_users.learn("acme", None, 7)
    session_users.learn("acme", "", 7)
    assert session_users.predicted_user("acme", None) is None
    assert session_users.predicted_user("acme", "") is None
    assert len(session_users._users) == 0


def test_guesses_are_bounded_oldest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(session_users._users, "size", 3)
    for n in range(5):
        session_users.learn("acme", f"cookie-{n}", n + 100)
    assert [session_users.predicted_user("acme", f"cookie-{n}") for n in range(5)] == [
        None,
        None,
        102,
        103,
        104,
    ]
    session_users.learn("acme", "cookie-2", 200)  # changed: now the newest
    session_users.learn("acme", "cookie-5", 105)
    assert session_users.predicted_user("acme", "cookie-3") is None
    assert session_users.predicted_user("acme", "cookie-2") == 200


def test_the_table_holds_keyed_digests_never_a_cookie() -> None:
    cookie = "k9x2secretsessionkeyvalue0123456"
    session_users.learn("acme", cookie, 7)
    (digest,) = session_users._users
    assert len(digest) == 16
    assert cookie.encode() not in digest and b"acme" not in digest
    # Keyed with this process' random key: not the plain hash anyone could compute.
    assert digest != hashlib.blake2b(f"acme\0{cookie}".encode(), digest_size=16).digest()


def test_a_full_table_stays_small() -> None:
    for n in range(session_users.PREDICTED_SESSIONS + 10):
        session_users.learn("acme", f"cookie-{n}", n)
    assert len(session_users._users) == session_users.PREDICTED_SESSIONS
    table = session_users._users._values
    entries = sum(sys.getsizeof(k) + sys.getsizeof(v) for k, v in table.items())
    size = sys.getsizeof(table) + entries
    assert size < 1024 * 1024, size  # about 0.1 KiB a guess


def test_the_cookie_is_read_by_its_setting(settings: Any) -> None:
    settings.SESSION_COOKIE_NAME = "custom_session"
    request = RequestFactory().get("/")
    request.COOKIES = {"sessionid": "other", "custom_session": "mine"}
    assert session_users.cookie_of(request) == "mine"
    request.COOKIES = {}
    assert session_users.cookie_of(request) is None
