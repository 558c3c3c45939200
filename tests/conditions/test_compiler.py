"""The compiled evaluation of composites (conditions.compiler) against an interpreter written
here from the documented semantics: same truth, same leaves called in the same order."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conditions import All, Always, Any, Condition, Context, Leaf, Never, Not, Setting
from conditions.compiler import MAX_INLINE_DEPTH
from tests.conditions.leaves import Boom, F, Fixed, R, T

_leaves = st.builds(
    lambda outcome, suffix: Fixed(f"{outcome}.{suffix}" if suffix else outcome),
    st.sampled_from(["true", "false", "raise"]),
    st.sampled_from(["", "a", "b", "c"]),
)
_trees = st.recursive(
    st.one_of(_leaves, st.sampled_from([Always(), Never()])),
    lambda children: st.one_of(
        st.builds(Not, children),
        st.lists(children, min_size=2, max_size=4).map(lambda cs: All(*cs)),
        st.lists(children, min_size=2, max_size=4).map(lambda cs: Any(*cs)),
    ),
    max_leaves=16,
)


def _interpret(condition: Condition, memo: dict[Condition, bool | None]) -> bool | None:
    """The semantics as documented in conditions.base, evaluated node by node."""
    if isinstance(condition, Fixed):
        if condition not in memo:
            Fixed.calls.append(condition.args[0])
            outcome = condition.args[0].split(".")[0]
            memo[condition] = None if outcome == "raise" else outcome == "true"
        return memo[condition]
    if isinstance(condition, Always | Never):
        return isinstance(condition, Always)
    if isinstance(condition, Not):
        value = _interpret(condition.condition, memo)
        return None if value is None else not value
    assert isinstance(condition, All | Any)
    decisive = isinstance(condition, Any)
    unknown = False
    for operand in condition.conditions:
        value = _interpret(operand, memo)
        if value is decisive:
            return decisive
        unknown = unknown or value is None
    return None if unknown else not decisive


def _calls(evaluate: object) -> list[str]:
    Fixed.calls.clear()
    assert callable(evaluate)
    evaluate()
    return list(Fixed.calls)


@given(_trees)
def test_compiled_truth_is_the_documented_semantics(condition: Condition) -> None:
    expected: list[bool | None] = []
    expected_calls = _calls(lambda: expected.append(_interpret(condition, {})))
    context = Context(strict=False)
    got: list[bool | None] = []
    assert _calls(lambda: got.append(condition.truth(context))) == expected_calls
    assert got == expected
    # Memoised: the second evaluation in the same context calls no leaf again.
    assert _calls(lambda: condition.truth(context)) == []
    assert condition.truth(context) == expected[0]


def test_a_composite_compiles_on_its_first_evaluation_and_keeps_the_function() -> None:
    condition = (T & F) | T
    first = condition.truth
    assert condition.truth(Context()) is True
    compiled = condition.truth
    assert compiled is not first
    assert condition.truth(Context()) is True
    assert condition.truth is compiled


def test_intermediate_composites_are_never_compiled() -> None:
    inner = T & F
    outer = inner & Fixed("true.a")  # flattened: inner is not an operand
    before = inner.truth
    assert outer.truth(Context()) is False
    assert inner.truth is before


def test_deep_nesting_beyond_the_inline_depth_still_evaluates() -> None:
    condition: Condition = Fixed("true")
    for level in range(MAX_INLINE_DEPTH * 3):
        condition = Not(condition) if level % 2 else (condition & Fixed("true.a"))
    expected = _interpret(condition, {})
    assert condition.truth(Context()) is expected


def test_a_raising_leaf_is_unknown_memoised_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    context = Context(strict=False)
    condition = (R & T) | ~R
    with caplog.at_level(logging.WARNING, logger="switchyard.conditions"):
        assert condition.truth(context) is None
        assert condition.truth(context) is None
    assert isinstance(context.memo[R.memo_key()], Boom)
    assert len([r for r in caplog.records if "test:raise" in r.getMessage()]) == 1


def test_a_raising_leaf_reraises_in_strict_mode() -> None:
    with pytest.raises(Boom):
        (T & R).truth(Context(strict=True))


def test_a_leaf_with_its_own_truth_is_called_not_inlined() -> None:
    class Inverted(Leaf):
        __slots__ = ()
        kind = "inverted_for_test"

        def check(self, context: Context) -> bool:
            return True

        def truth(self, context: Context) -> bool | None:
            return False

    assert (Inverted("x") | F).truth(Context()) is False
    assert (Inverted("x") & T).truth(Context()) is False


def test_a_check_returning_a_non_bool_is_normalised() -> None:
    class Truthy(Leaf):
        __slots__ = ()
        kind = "truthy_for_test"

        def check(self, context: Context) -> bool:
            return "yes"  # type: ignore[return-value]

    context = Context()
    assert (Truthy("x") & T).truth(context) is True
    assert context.memo[Truthy("x").memo_key()] is True


def test_settings_are_read_each_time_not_memoised(settings: object) -> None:
    context = Context()
    condition = Setting("COMPILER_TEST_FLAG") & T
    setattr(settings, "COMPILER_TEST_FLAG", True)  # noqa: B010
    assert condition.truth(context) is True
    setattr(settings, "COMPILER_TEST_FLAG", False)  # noqa: B010
    assert condition.truth(context) is False
    assert Setting("COMPILER_TEST_FLAG").memo_key() not in context.memo


def test_no_text_of_a_condition_becomes_code(settings: object) -> None:
    # A compared value that reads like Python is data: only names and numbers are generated.
    hostile = "'); import os; os._exit(1); ('"
    setattr(settings, "COMPILER_TEST_MODE", hostile)  # noqa: B010
    condition = Setting("COMPILER_TEST_MODE", hostile) & ~Setting("COMPILER_TEST_MODE", "x")
    assert condition.truth(Context()) is True
    function = condition.truth  # compiled by the first call
    assert hostile not in repr(function.__code__.co_consts)


def test_a_leaf_whose_text_is_unprintable_or_broken_still_compiles() -> None:
    class Odd(Leaf):
        __slots__ = ()
        kind = "odd_for_test"

        def check(self, context: Context) -> bool:
            return True

        def argument(self) -> str:
            if self.args[0] == "broken":
                raise RuntimeError("no text")
            return "nul\x00and\nnewline"

    assert (Odd("x") & T).truth(Context()) is True
    assert (Odd("broken") & T).truth(Context()) is True
