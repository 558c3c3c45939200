"""Predicate: named callables of the context, with a text form and helpful errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conditions import Context, Predicate, parse, predicate, register_predicate
from conditions.predicates import UnknownPredicate, unregister_predicate


@pytest.fixture(autouse=True)
def _weekend() -> Iterator[None]:
    @predicate("is_weekend")
    def is_weekend(context: Context) -> bool:
        return bool(context.extra.get("weekend"))

    yield
    unregister_predicate("is_weekend")


def test_predicate_calls_the_registered_function() -> None:
    assert Predicate("is_weekend").evaluate(Context(weekend=True))
    assert not Predicate("is_weekend").evaluate(Context())
    assert parse("predicate:is_weekend") == Predicate("is_weekend")
    detail = Predicate("is_weekend").explain(Context()).detail
    assert detail.startswith("calls tests.conditions.test_predicates.")


def test_unknown_name_suggests_the_closest() -> None:
    with pytest.raises(
        UnknownPredicate, match=r"Unknown predicate 'is_weekand'\. Did you mean 'is_weekend'"
    ):
        Predicate("is_weekand")


def test_a_name_taken_by_another_function_is_an_error() -> None:
    with pytest.raises(ValueError, match="already registered by"):
        register_predicate("is_weekend", lambda context: True)
    with pytest.raises(ValueError, match="predicate name is a word"):
        register_predicate("two words", lambda context: True)
    with pytest.raises(TypeError, match="needs a callable"):
        register_predicate("not_callable", 3)  # type: ignore[arg-type]


def test_a_raising_predicate_fails_closed() -> None:
    register_predicate("broken", lambda context: 1 / 0)
    try:
        context = Context(strict=False)
        assert not (~Predicate("broken")).evaluate(context)
        assert "ZeroDivisionError" in str(Predicate("broken").explain(context))
        with pytest.raises(ZeroDivisionError):
            Predicate("broken").evaluate(Context(strict=True))
    finally:
        unregister_predicate("broken")


def test_unregistered_later_fails_closed() -> None:
    condition = Predicate("is_weekend")
    unregister_predicate("is_weekend")
    explanation = condition.explain(Context(strict=False))
    assert not explanation.result and isinstance(explanation.error, UnknownPredicate)
