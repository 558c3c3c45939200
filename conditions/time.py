"""``Between``: a time window, timezone-aware, against ``django.utils.timezone.now()``."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from conditions.base import Leaf
from conditions.context import Context
from conditions.kinds import register_kind


def _aware(value: object, what: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise TypeError(f"{what} must be a timezone-aware datetime or None, got {value!r}")
    if timezone.is_naive(value):
        raise ValueError(
            f"{what} must be timezone-aware, got naive {value.isoformat()}: pass "
            "tzinfo= (e.g. datetime.UTC) or use django.utils.timezone.make_aware()"
        )
    return value


def _now(context: Context) -> datetime:
    # A context may carry now= (tests, background jobs replaying a moment); else the clock.
    now = context.extra.get("now")
    if now is None:
        return timezone.now()
    checked = _aware(now, "The context's now=")
    assert checked is not None
    return checked


@register_kind
class Between(Leaf):
    """Met from ``start`` (inclusive) until ``end`` (exclusive); either end may be None (open).

    Text form: ``between:2025-01-01T00:00:00+00:00/2025-02-01T00:00:00+00:00`` (ISO 8601,
    an empty side is open). "Now" is ``timezone.now()``, or the context's ``now=`` extra.
    """

    __slots__ = ()
    kind = "between"

    def __init__(self, start: datetime | None = None, end: datetime | None = None) -> None:
        start, end = _aware(start, "Between start"), _aware(end, "Between end")
        if start is None and end is None:
            raise ValueError("Between needs a start, an end or both (got neither)")
        if start is not None and end is not None and not start < end:
            raise ValueError(
                f"Between start must be before end, got {start.isoformat()} >= {end.isoformat()}"
            )
        super().__init__(start, end)

    def check(self, context: Context) -> bool:
        now = _now(context)
        start, end = self.args
        return (start is None or start <= now) and (end is None or now < end)

    def detail(self, context: Context) -> str:
        now = _now(context)
        start, end = self.args
        if start is not None and now < start:
            return f"now {now.isoformat()} is before the start"
        if end is not None and now >= end:
            return f"now {now.isoformat()} is at or after the end"
        return f"now {now.isoformat()} is within"

    def argument(self) -> str:
        start, end = self.args
        return f"{start.isoformat() if start else ''}/{end.isoformat() if end else ''}"

    @classmethod
    def from_argument(cls, argument: str) -> Leaf:
        start_text, slash, end_text = argument.partition("/")
        if not slash:
            raise ValueError("expected start/end in ISO 8601 (either side may be empty)")
        try:
            start = datetime.fromisoformat(start_text) if start_text else None
            end = datetime.fromisoformat(end_text) if end_text else None
        except ValueError as problem:
            raise ValueError(f"expected ISO 8601 datetimes: {problem}") from None
        return cls(start, end)
