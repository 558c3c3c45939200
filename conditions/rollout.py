"""``Rollout``: a deterministic, hashed percentage of tenants or users."""

from __future__ import annotations

import hashlib
import re
from typing import Any, ClassVar

from conditions.base import Leaf
from conditions.context import Context
from conditions.kinds import register_kind

_SALT = re.compile(r"[A-Za-z0-9_.\-+@/*:]*")


def bucket(salt: str, identifier: str) -> float:
    """Return the stable bucket of ``identifier`` under ``salt``: a number in [0, 100)."""
    digest = hashlib.sha256(f"{salt}:{identifier}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 10_000 / 100


@register_kind
class Rollout(Leaf):
    """Met for ``percent`` % of tenants (or users), chosen by a stable hash of salt and id.

    0 is nobody and 100 everybody; raising the percentage only adds members (whoever is in
    at 10 stays in at 20). Give each rollout its own ``salt`` so they pick different members.
    ``by="user"`` hashes the user's pk, qualified by the tenant's schema when there is a
    tenant (user pks repeat across tenant schemas).
    """

    __slots__ = ()
    kind = "rollout"
    targets: ClassVar[tuple[str, ...]] = ("tenant", "user")

    def __init__(self, percent: float, by: str = "tenant", salt: str = "") -> None:
        if isinstance(percent, bool) or not isinstance(percent, int | float):
            raise TypeError(f"Rollout percent must be a number from 0 to 100, got {percent!r}")
        if not 0 <= percent <= 100:
            raise ValueError(f"Rollout percent must be from 0 to 100, got {percent!r}")
        if isinstance(percent, float) and percent.is_integer():
            percent = int(percent)
        if by not in self.targets:
            raise ValueError(f"Rollout by= must be 'tenant' or 'user', got {by!r}")
        if not isinstance(salt, str) or not _SALT.fullmatch(salt):
            raise ValueError(
                "Rollout salt must be letters, digits and _.-+@/*: (no spaces, ',' or '='), "
                f"got {salt!r}"
            )
        super().__init__(percent, by, salt)

    def _identifier(self, context: Context) -> str | None:
        tenant = context.tenant
        if self.args[1] == "tenant":
            if tenant is None:
                return None
            return str(getattr(tenant, "schema_name", None) or tenant.pk)
        user = context.user
        if user is None or not user.is_authenticated:
            return None
        schema = getattr(tenant, "schema_name", None) if tenant is not None else None
        return f"{schema}:{user.pk}" if schema else str(user.pk)

    def check(self, context: Context) -> bool:
        identifier = self._identifier(context)
        if identifier is None:
            return False
        return bucket(self.args[2], identifier) < self.args[0]

    def detail(self, context: Context) -> str:
        identifier = self._identifier(context)
        if identifier is None:
            return f"no {'authenticated user' if self.args[1] == 'user' else 'tenant'}"
        value = bucket(self.args[2], identifier)
        relation = "<" if value < self.args[0] else ">="
        return f"{self.args[1]} {identifier}: bucket {value:g} {relation} {self.args[0]:g}"

    def argument(self) -> str:
        percent, by, salt = self.args
        parts = [repr(percent)]
        if by != "tenant":
            parts.append(f"by={by}")
        if salt:
            parts.append(f"salt={salt}")
        return ",".join(parts)

    @classmethod
    def from_argument(cls, argument: str) -> Leaf:
        first, *options = argument.split(",")
        try:
            percent: float = int(first) if first.isdigit() else float(first)
        except ValueError:
            raise ValueError(f"expected a percentage from 0 to 100 first, got {first!r}") from None
        keywords: dict[str, Any] = {}
        for option in options:
            key, equals, value = option.partition("=")
            if not equals or key not in ("by", "salt") or key in keywords:
                raise ValueError(f"expected options by=tenant|user and salt=..., got {option!r}")
            keywords[key] = value
        return cls(percent, **keywords)
