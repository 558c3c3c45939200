"""What a condition is evaluated against: a request, a user, a tenant, and a per-context memo."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings

from conditions.conf import settings as switchyard_settings

if TYPE_CHECKING:
    from django.http import HttpRequest


class Context:
    """The request (optional), user, tenant and extra values a condition is evaluated against.

    It carries a memo so that every leaf (a flag, a permission, a group, ...) is evaluated at
    most once per context however many conditions mention it. Build one per request with
    ``Context.from_request(request)``, or directly for background jobs and commands:
    ``Context(user=user, tenant=tenant)``.
    """

    __slots__ = (
        "_logged",
        "extra",
        "lookups",
        "memo",
        "prefetched",
        "request",
        "strict",
        "tenant",
        "user",
    )

    def __init__(
        self,
        *,
        request: HttpRequest | None = None,
        user: Any = None,
        tenant: Any = None,
        strict: bool | None = None,
        **extra: Any,
    ) -> None:
        self.request = request
        self.user = user
        self.tenant = tenant
        # strict: a condition that raises re-raises instead of counting as "not met" (tests).
        # Unset, it follows SWITCHYARD["STRICT_CONDITIONS"], read now so override_settings works.
        self.strict = strict_default() if strict is None else strict
        self.extra = extra
        # leaf.memo_key() -> bool, or the exception the leaf raised (which counts as False).
        self.memo: dict[Any, bool | BaseException] = {}
        self._logged: set[Any] | None = None  # leaves that failed (made on the first failure)
        # Per-context lookups leaves share (the flag snapshot in force, ...), by private keys.
        self.lookups: dict[Any, Any] = {}
        # Cache values fetched ahead, in the request's single cache round trip (see
        # conditions.prefetch); None means nothing was prefetched and leaves fetch their own.
        self.prefetched: dict[str, Any] | None = None

    @classmethod
    def from_request(
        cls, request: HttpRequest, *, strict: bool | None = None, **extra: Any
    ) -> Context:
        """Build the context of ``request``: its user and, under django-tenants, its tenant."""
        if extra or cls is not Context:
            return cls(
                request=request,
                user=getattr(request, "user", None),
                tenant=getattr(request, "tenant", None),
                strict=strict,
                **extra,
            )
        # Once per request: the same as Context(...) without the keyword-argument packing.
        self = object.__new__(Context)
        self.request = request
        self.user = getattr(request, "user", None)
        self.tenant = getattr(request, "tenant", None)
        self.strict = strict_default() if strict is None else strict
        self.extra = {}
        self.memo = {}
        self._logged = None
        self.lookups = {}
        self.prefetched = None
        return self

    def __getattr__(self, name: str) -> Any:
        # Only reached for names that are not slots: the extra values.
        try:
            return self.extra[name]
        except KeyError:
            raise AttributeError(
                f"Context has no attribute {name!r}; extra values are: "
                f"{', '.join(sorted(self.extra)) or 'none'}"
            ) from None

    def first_failure(self, leaf: Any) -> bool:
        """Return True the first time ``leaf`` fails in this context (so it is logged once)."""
        if self._logged is None:
            self._logged = set()
        elif leaf in self._logged:
            return False
        self._logged.add(leaf)
        return True

    def __repr__(self) -> str:
        parts = [f"user={self.user!r}", f"tenant={self.tenant!r}"]
        if self.request is not None:
            parts.insert(0, f"request={self.request!r}")
        parts.extend(f"{key}={value!r}" for key, value in sorted(self.extra.items()))
        return f"Context({', '.join(parts)})"


# LazySettings keeps every setting it has served in its own __dict__ and clears that dict
# whenever the settings change (override_settings included). Reading it directly skips
# LazyObject.__getattribute__, a Python call per read that dominates a Setting leaf's cost.
served: dict[str, Any] = object.__getattribute__(settings, "__dict__")
_MISSING = object()


def read_setting(name: str, default: Any = None) -> Any:
    """Return ``settings.<name>``, or ``default`` when it is not defined; fast when warm."""
    value = served.get(name, _MISSING)
    if value is _MISSING:
        value = getattr(settings, name, default)
    return value


def strict_default() -> bool:
    """Return ``SWITCHYARD["STRICT_CONDITIONS"]`` (False when unset)."""
    return bool(switchyard_settings.STRICT_CONDITIONS)
