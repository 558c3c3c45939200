"""conditions.kinds: the kind registry's message helpers, suggestion() and echo()."""

from __future__ import annotations

import time

import pytest

from conditions.naming import ECHO_LIMIT, echo, suggestion


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("card", "'card'"),
        ("a" * ECHO_LIMIT, repr("a" * ECHO_LIMIT)),
        ("a" * 10000, f"{'a' * ECHO_LIMIT + '…'!r} (10000 characters)"),
        ("Ev\x00il\x1b[31m", repr("Ev\x00il\x1b[31m")),
        ("\x1b" * 100, f"{chr(27) * ECHO_LIMIT + '…'!r} (100 characters)"),
        (5, "5"),
        (None, "None"),
    ],
    ids=["short", "at-the-limit", "long", "control", "long-control", "int", "none"],
)
def test_echo_repeats_short_values_and_the_start_and_length_of_long_ones(
    value: object, expected: str
) -> None:
    assert echo(value) == expected


def test_echo_never_prints_control_characters() -> None:
    shown = echo("\x1b]0;pwned\x07" + "x" * 100)
    assert shown.isprintable() and "\\x1b" in shown


@pytest.mark.parametrize(
    "value",
    [list(range(1_000_000)), {str(n): n for n in range(100_000)}, b"x" * 2_000_000],
    ids=["list", "dict", "bytes"],
)
def test_echo_of_big_containers_is_short(value: object) -> None:
    assert len(echo(value)) <= 3 * ECHO_LIMIT


def test_echo_of_deep_containers_does_not_recurse() -> None:
    value: list[object] = []
    for _ in range(100_000):
        value = [value]
    assert echo(value) == "[[[[...]]]]"


def test_suggestion_finds_the_closest_name() -> None:
    assert suggestion("strpe", ["stripe", "card"]) == " Did you mean 'stripe'?"
    assert suggestion("zzz", ["stripe", "card"]) == ""


def test_suggestion_of_a_huge_or_non_text_name_is_nothing_and_quick() -> None:
    started = time.perf_counter()
    assert suggestion("stripe" * 400_000, ["stripe", "card"]) == ""
    assert time.perf_counter() - started < 0.05
    assert suggestion(5, ["stripe"]) == ""  # type: ignore[arg-type]
    assert suggestion("x", []) == ""
