"""Between: an aware time window against timezone.now() or the context's now=."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from conditions import Between, Context, parse

START = datetime(2025, 1, 1, tzinfo=UTC)
END = datetime(2025, 2, 1, tzinfo=UTC)


def test_window_is_half_open() -> None:
    window = Between(START, END)
    assert window.evaluate(Context(now=START))
    assert not window.evaluate(Context(now=END))
    assert not window.evaluate(Context(now=START - timedelta(seconds=1)))
    assert window.explain(Context(now=END)).detail == (
        "now 2025-02-01T00:00:00+00:00 is at or after the end"
    )


def test_open_ends_and_the_real_clock() -> None:
    assert Between(START).evaluate(Context())  # from 2025 on: now is after it
    assert not Between(None, START).evaluate(Context())


def test_other_time_zones_compare_by_instant() -> None:
    paris = datetime(2025, 1, 1, 1, tzinfo=ZoneInfo("Europe/Paris"))  # = START
    assert Between(paris, END) == Between(START, END)
    assert parse(str(Between(paris, END))) == Between(START, END)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((datetime(2025, 1, 1), END), "must be timezone-aware, got naive 2025-01-01T00:00:00"),
        ((END, START), "start must be before end"),
        ((None, None), "needs a start, an end or both"),
        (("2025-01-01", None), "must be a timezone-aware datetime or None"),
    ],
)
def test_bad_arguments(args: tuple[object, object], message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        Between(*args)  # type: ignore[arg-type]


def test_a_naive_now_fails_closed() -> None:
    explanation = Between(START).explain(Context(now=datetime(2025, 3, 1), strict=False))
    assert not explanation.result and "timezone-aware" in str(explanation.error)


def test_bad_text() -> None:
    with pytest.raises(ValueError, match="expected start/end"):
        parse("between:2025-01-01T00:00:00+00:00")
    with pytest.raises(ValueError, match="expected ISO 8601"):
        parse("between:yesterday/")
