"""The algebra: value semantics, flattening, short-circuit, three-valued fail-closed evaluation."""

from __future__ import annotations

import copy
import logging
import pickle

import pytest

from conditions import All, Always, Any, Context, Never, Not
from tests.conditions.leaves import F, Fixed, R, T


@pytest.fixture(autouse=True)
def _reset_calls() -> None:
    Fixed.calls.clear()


def test_and_or_flatten_into_one_composite() -> None:
    a, b, c = Fixed("true.a"), Fixed("true.b"), Fixed("true.c")
    assert a & b & c == All(a, b, c)
    assert (a & b) & (c & a) == All(a, b, c)  # flattened and de-duplicated, order kept
    assert (a | b) | c == Any(a, b, c)
    assert type(a & (b | c)) is All
    assert (a & (b | c)).conditions == (a, Any(b, c))


def test_single_operand_and_double_negation_collapse() -> None:
    assert All(T) is T
    assert Any(T, T) is T
    assert T & T == T
    assert Not(Not(T)) is T
    assert ~~T is T


def test_equal_values_compare_and_hash_equal() -> None:
    assert Fixed("true") == Fixed("true")
    assert hash(Fixed("true") & F) == hash(Fixed("true") & Fixed("false"))
    assert T & F != F & T  # operand order is part of the value (it decides evaluation order)
    assert Always() != T
    assert len({T & F, Fixed("true") & Fixed("false"), ~T, Not(Fixed("true"))}) == 2


def test_conditions_are_immutable() -> None:
    with pytest.raises(AttributeError, match="immutable"):
        T.args = ("false",)  # type: ignore[misc]
    with pytest.raises(AttributeError, match="immutable"):
        (T & F).conditions = ()  # type: ignore[misc]


def test_copy_and_pickle_keep_the_value() -> None:
    condition = (T | ~F) & Always() & Fixed("raise.x")
    assert copy.deepcopy(condition) is condition
    assert copy.copy(condition) is condition
    assert pickle.loads(pickle.dumps(condition)) == condition
    assert pickle.loads(pickle.dumps(Never())) == Never()


def test_repr_reads_like_the_python_that_built_it() -> None:
    assert repr(T & ~(F | R)) == ("All(Fixed('true'), Not(Any(Fixed('false'), Fixed('raise'))))")
    assert repr(Always()) == "Always()" and repr(Never()) == "Never()"


def test_truth_value_and_bad_operands_are_errors() -> None:
    with pytest.raises(TypeError, match=r"use &, \|, ~"):
        bool(T)
    with pytest.raises(TypeError, match="expected another Condition"):
        T & True  # type: ignore[operator]
    with pytest.raises(TypeError, match="expected another Condition"):
        "x" | T  # type: ignore[operator]
    with pytest.raises(TypeError, match="at least one"):
        All()


def test_evaluation_short_circuits() -> None:
    context = Context()
    assert (Fixed("false.1") & Fixed("true.2")).evaluate(context) is False
    assert (Fixed("true.3") | Fixed("true.4")).evaluate(context) is True
    assert Fixed.calls == ["false.1", "true.3"]


def test_each_leaf_is_evaluated_once_per_context() -> None:
    context = Context()
    for _ in range(3):
        assert (T & ~F).evaluate(context)
        assert T.evaluate(context)
    assert Fixed.calls == ["true", "false"]
    assert (T & ~F).evaluate(Context())
    assert Fixed.calls == ["true", "false", "true", "false"]


def test_a_raising_leaf_fails_closed_even_under_not() -> None:
    context = Context(strict=False)
    assert R.truth(context) is None
    assert (~R).truth(context) is None
    assert (~R).evaluate(context) is False
    assert (R | ~R).evaluate(context) is False
    assert (R | T).evaluate(context) is True  # another operand decides
    assert (R & F).truth(context) is False
    assert (~(R & F)).evaluate(context) is True
    assert Fixed.calls == ["raise", "true", "false"]  # the error was memoised too


def test_a_raising_leaf_is_logged_once_per_context(caplog: pytest.LogCaptureFixture) -> None:
    context = Context(strict=False)
    with caplog.at_level(logging.WARNING, logger="switchyard.conditions"):
        (R | ~R).evaluate(context)
        R.explain(context)
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["Condition test:raise raised Boom: test:raise failed; counted as not met"]


def test_strict_context_re_raises() -> None:
    from tests.conditions.leaves import Boom

    with pytest.raises(Boom):
        (T & R).evaluate(Context(strict=True))


def test_explain_shows_every_operand_memo_and_error() -> None:
    context = Context(strict=False)
    T.evaluate(context)
    explanation = (T & ~R | F).explain(context)
    assert explanation.result is False
    assert str(explanation) == "\n".join(
        [
            "✗ test:true & ~test:raise | test:false  [unknown: an operand raised]",
            "  ✗ test:true & ~test:raise  [unknown: an operand raised]",
            "    ✓ test:true  [memo; fixed true]",
            "    ✗ ~test:raise  [unknown: the operand raised]",
            "      ! test:raise  [fixed raise; error: Boom: test:raise failed]",
            "  ✗ test:false  [fixed false]",
        ]
    )
    data = explanation.as_dict()
    assert data["children"][0]["children"][1]["children"][0]["error"] == ("Boom: test:raise failed")
