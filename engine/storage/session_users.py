"""Which user a session cookie belonged to, per schema: a guess that saves a round trip.

A signed-in user's own selections are a key of their own (``cache.key_for(schema, pk)``), and
the routing that fetches a request's keys ahead runs before the session says who the user is.
Each process remembers, per schema and session cookie, the user the last request with that
cookie turned out to be, so the routing can fetch that user's key too. The guess only decides
what to fetch: ``reads`` uses the value fetched ahead only when the request's real user is the
guessed one, and re-learns the guess whenever it is wrong (another user behind the cookie, a
signed-out session), so being wrong costs a round trip, never another user's selections.

The cookie itself is never kept: an entry is keyed by a BLAKE2b digest of the schema and the
cookie under a random key of this process, so the table cannot be used to recover or check a
cookie. The schema is part of the digest: the same cookie on another tenant's host is another
entry (and its keys are that tenant's anyway).
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.conf import settings

from engine.guesses import Guesses

# At most this many (schema, cookie) guesses per process, about 0.1 KiB each (a 16-byte
# digest and a user pk), so at most about 0.5 MiB; past it the oldest guess is forgotten, which
# costs that user one more round trip on their next request, nothing else.
PREDICTED_SESSIONS = 4096

# Per process: a digest means nothing outside it, and a cookie cannot be tested against one.
_KEY = secrets.token_bytes(16)
_users: Guesses[bytes, Any] = Guesses(PREDICTED_SESSIONS)


def cookie_of(request: Any) -> str | None:
    """Return the session cookie ``request`` carries (``SESSION_COOKIE_NAME``), or None."""
    cookies = getattr(request, "COOKIES", None)
    return cookies.get(settings.SESSION_COOKIE_NAME) if cookies else None


def predicted_user(schema: str, cookie: str | None) -> Any:
    """Return the pk of the user last behind ``cookie`` on ``schema`` (a guess), or None."""
    return None if not cookie else _users.get(_digest(schema, cookie))


def learn(schema: str, cookie: str | None, user_pk: Any) -> None:
    """Remember that ``cookie`` on ``schema`` is ``user_pk``'s (None: no one's: forget it)."""
    if not cookie:
        return
    _users.remember(_digest(schema, cookie), user_pk)


def forget_all() -> None:
    """Forget every guess of this process (tests)."""
    _users.clear()


def _digest(schema: str, cookie: str) -> bytes:
    # The NUL cannot occur in a schema name, so no two (schema, cookie) pairs share an input.
    data = f"{schema}\0{cookie}".encode(errors="surrogatepass")
    return hashlib.blake2b(data, digest_size=16, key=_KEY).digest()
