"""Setting: truthy or equal to a value, read at evaluation time."""

from __future__ import annotations

import pytest
from django.test.utils import override_settings

from conditions import Context, Setting, parse


def test_truthy_and_equal_are_read_at_evaluation_time() -> None:
    lockdown = Setting("PAYMENTS_LOCKDOWN")
    live = Setting("PAYMENTS_MODE", "live")
    assert not lockdown.evaluate(Context())  # not set at all
    assert lockdown.explain(Context()).detail == "PAYMENTS_LOCKDOWN is not set"
    with override_settings(PAYMENTS_LOCKDOWN=True, PAYMENTS_MODE="live"):
        assert lockdown.evaluate(Context()) and live.evaluate(Context())
        assert live.explain(Context()).detail == "PAYMENTS_MODE='live', expected 'live'"
    with override_settings(PAYMENTS_LOCKDOWN=0, PAYMENTS_MODE="test"):
        assert not lockdown.evaluate(Context()) and not live.evaluate(Context())
        assert lockdown.explain(Context()).detail == "PAYMENTS_LOCKDOWN=0 (falsy)"


def test_text_form_of_values() -> None:
    assert str(Setting("MODE", "live")) == "setting:MODE=live"
    assert str(Setting("RETRIES", 3)) == "setting:RETRIES=3"
    assert str(Setting("MODE", "3")) == "setting:\"MODE='3'\""
    assert str(Setting("FLAG", None)) == "setting:FLAG=None"
    assert parse("setting:FLAG=None") == Setting("FLAG", None) != Setting("FLAG")


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (("payments_lockdown",), ValueError, "name of a Django setting in capitals"),
        (("",), ValueError, "name of a Django setting"),
        (("MODE", object()), TypeError, "compares with a Python literal"),
        (("MODE", float("nan")), TypeError, "compares with a Python literal"),
        (("MODE", 1, 2), TypeError, "at most one value"),
    ],
)
def test_bad_arguments(args: tuple[object, ...], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        Setting(*args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value",
    ["-" * 5000 + "1", "+" * 100000, "(" * 10000 + "1", "[" * 300 + "]" * 300],
    ids=["minus-chain", "plus-chain", "parentheses", "brackets"],
)
def test_values_python_cannot_parse_print_and_round_trip_as_text(value: str) -> None:
    # ast.literal_eval raises RecursionError, MemoryError or SyntaxError on these: they are
    # no literals, so they are compared as the strings they are.
    condition = Setting("MODE", value)
    text = str(condition)
    assert parse(text) == condition
    with override_settings(MODE=value):
        assert condition.evaluate(Context())


def test_a_deeply_nested_tuple_is_no_literal() -> None:
    value: tuple[object, ...] = ()
    for _ in range(5000):
        value = (value,)
    with pytest.raises(TypeError, match="compares with a Python literal"):
        Setting("MODE", value)


def test_a_huge_name_is_echoed_shortened() -> None:
    with pytest.raises(ValueError, match=r"got 'a{40}…' \(10000 characters\)$"):
        Setting("a" * 10000)
