"""Secrets of strategy configurations: encrypted at rest with Fernet, masked everywhere else.

The keys come from ``SWITCHYARD["SECRET_KEYS"]``, a list of Fernet keys
(``cryptography.fernet.Fernet.generate_key()``): the first encrypts, every key decrypts, so a
new key is put first, ``switchyard_rotate_secrets`` re-encrypts what is stored, and the old key
is removed afterwards. Only tokens are stored, cached and logged; clear text exists in memory
of the request that reads it, and ``mask`` shows at most its last four characters.
"""

from __future__ import annotations

import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.core.exceptions import ImproperlyConfigured
from django.views.decorators.debug import sensitive_variables

from engine.conf import settings

# What every masked secret starts with; the last characters follow only for long secrets.
MASK = "••••"
# A secret shorter than this is masked whole: its last four characters would give most of it.
SHOWN_FROM_LENGTH = 12
SHOWN = 4


class SecretError(ImproperlyConfigured):
    """A secret cannot be encrypted or decrypted with the configured keys."""


def configured_keys() -> list[str]:
    """Return ``SWITCHYARD["SECRET_KEYS"]`` as a list (empty when unset)."""
    keys = settings.SECRET_KEYS
    if isinstance(keys, str | bytes):
        keys = [keys]
    return [key.decode() if isinstance(key, bytes) else str(key) for key in keys or ()]


def key_errors() -> list[str]:
    """Return what is wrong with each configured key (empty: all of them are Fernet keys)."""
    errors = []
    for index, key in enumerate(configured_keys()):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            errors.append(
                f"SECRET_KEYS[{index}] is not a Fernet key (32 url-safe base64-encoded bytes)."
            )
    return errors


@functools.lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def fernet() -> MultiFernet:
    """Return the ``MultiFernet`` of the configured keys; ``SecretError`` when there is none."""
    keys = tuple(configured_keys())
    if not keys:
        raise SecretError(
            'SWITCHYARD["SECRET_KEYS"] is empty: strategy secrets cannot be encrypted or '
            "decrypted. Add a key made by cryptography.fernet.Fernet.generate_key()."
        )
    try:
        return _fernet(keys)
    except (ValueError, TypeError):
        raise SecretError(" ".join(key_errors())) from None


@sensitive_variables()
def encrypt(clear: str) -> str:
    """Return the token of ``clear``, encrypted with the first key."""
    return fernet().encrypt(clear.encode()).decode("ascii")


@sensitive_variables()
def decrypt(token: str) -> str:
    """Return the clear text of ``token``; ``SecretError`` when no configured key opens it."""
    try:
        return fernet().decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError):
        raise SecretError(
            "A stored secret cannot be decrypted with any key of SWITCHYARD['SECRET_KEYS']: "
            "was the key it was encrypted with removed before switchyard_rotate_secrets ran?"
        ) from None


def rotate(token: str) -> str:
    """Return ``token`` re-encrypted with the first key (unchanged in meaning)."""
    try:
        return fernet().rotate(token.encode("ascii")).decode("ascii")
    except InvalidToken:
        raise SecretError("A stored secret cannot be decrypted with any configured key.") from None


def encrypted_with_first(token: str) -> bool:
    """Return whether ``token`` opens with the first key (no rotation needed)."""
    keys = configured_keys()
    try:
        Fernet(keys[0]).decrypt(token.encode("ascii"))
    except (InvalidToken, IndexError, ValueError):
        return False
    return True


@sensitive_variables()
def mask(clear: str | None) -> str:
    """Return how ``clear`` is shown: ``••••`` and, for a long secret, its last 4 characters."""
    if not clear:
        return ""
    if len(clear) < SHOWN_FROM_LENGTH:
        return MASK
    return MASK + clear[-SHOWN:]
