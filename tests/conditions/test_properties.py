"""Properties over random condition trees: laws of the algebra, fail-closed, text round trip."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from conditions import (
    All,
    Always,
    Any,
    Authenticated,
    Between,
    Condition,
    Context,
    Flag,
    Group,
    Never,
    Not,
    Permission,
    Predicate,
    Rollout,
    Sample,
    Setting,
    Staff,
    Superuser,
    Switch,
    UserAttribute,
    parse,
    register_predicate,
)
from conditions.text import MAX_DEPTH, ConditionSyntaxError
from tests.conditions.leaves import Fixed

# Simple leaves with fixed outcomes; suffixes make distinct leaves with the same outcome.
fixed = st.builds(
    lambda outcome, suffix: Fixed(f"{outcome}.{suffix}" if suffix else outcome),
    st.sampled_from(["true", "false", "raise"]),
    st.sampled_from(["", "a", "b"]),
)
constants = st.sampled_from([Always(), Never()])


def trees(leaves: st.SearchStrategy[Condition]) -> st.SearchStrategy[Condition]:
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.builds(Not, children),
            st.lists(children, min_size=1, max_size=4).map(lambda cs: All(*cs)),
            st.lists(children, min_size=1, max_size=4).map(lambda cs: Any(*cs)),
            st.tuples(children, children).map(lambda ab: ab[0] & ab[1]),
            st.tuples(children, children).map(lambda ab: ab[0] | ab[1]),
        ),
        max_leaves=12,
    )


fixed_trees = trees(st.one_of(fixed, constants))


def truth(condition: Condition) -> bool | None:
    return condition.truth(Context(strict=False))


@given(fixed_trees, fixed_trees)
def test_de_morgan(a: Condition, b: Condition) -> None:
    assert truth(~(a & b)) == truth(~a | ~b)
    assert truth(~(a | b)) == truth(~a & ~b)


@given(fixed_trees)
def test_double_negation_and_idempotence(a: Condition) -> None:
    assert ~~a == a
    assert truth(Not(Not(a))) == truth(a)
    assert a & a == a and a | a == a
    assert truth(All(a, a)) == truth(a) == truth(Any(a, a))


@given(fixed_trees, fixed_trees, fixed_trees)
def test_flattening_and_associativity(a: Condition, b: Condition, c: Condition) -> None:
    assert (a & b) & c == a & (b & c)
    assert (a | b) | c == a | (b | c)
    for composite in ((a & b) & c, (a | b) | c):
        for operand in getattr(composite, "conditions", ()):
            assert type(operand) is not type(composite)
    assert truth((a & b) & c) == truth(a & (b & c))


@given(fixed_trees)
def test_fail_closed(a: Condition) -> None:
    # Unknown never becomes "met", whatever wraps it; evaluate() is truth() is True.
    context = Context(strict=False)
    value = a.truth(context)
    assert a.evaluate(context) is (value is True)
    assert (~a).evaluate(Context(strict=False)) is (value is False)


@given(fixed_trees)
def test_equal_values_hash_equal_and_round_trip(a: Condition) -> None:
    again = parse(str(a))
    assert again == a
    assert hash(again) == hash(a)
    assert parse(repr(a) and str(a)) == a


@given(fixed_trees)
def test_explanation_agrees_with_evaluation(a: Condition) -> None:
    assert a.explain(Context(strict=False)).result is a.evaluate(Context(strict=False))


# Every real leaf kind, with random (valid) arguments ----------------------------------

register_predicate("property_test_predicate", lambda context: True)
register_predicate("property.test-predicate_2", lambda context: False)

names = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=20
).filter(lambda s: s == s.strip())
setting_names = st.from_regex(r"[A-Z][A-Z0-9_]{0,12}", fullmatch=True)
literals = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=12),
    ),
    lambda inner: st.lists(inner, max_size=3).map(tuple),
    max_leaves=4,
)
moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
real_leaves = st.one_of(
    st.builds(Flag, names),
    st.builds(Switch, names),
    st.builds(Sample, names),
    st.builds(Group, names),
    st.builds(lambda a, b: Permission(f"{a}.{b}"), setting_names, names),
    st.builds(Setting, setting_names),
    st.builds(Setting, setting_names, literals),
    st.builds(
        Rollout,
        st.one_of(st.integers(0, 100), st.floats(0, 100)),
        st.sampled_from(["tenant", "user"]),
        st.from_regex(r"[A-Za-z0-9_.\-+@/*:]{0,10}", fullmatch=True),
    ),
    st.builds(Between, moments, st.none()),
    st.builds(Between, st.none(), moments),
    st.builds(
        lambda start, length: Between(start, start + length),
        moments,
        st.timedeltas(timedelta(microseconds=1), timedelta(days=3650)),
    ),
    st.builds(UserAttribute, st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,12}", fullmatch=True)),
    st.sampled_from([Authenticated(), Staff(), Superuser()]),
    st.sampled_from([Predicate("property_test_predicate"), Predicate("property.test-predicate_2")]),
    constants,
)


@settings(max_examples=300)
@given(trees(real_leaves))
def test_every_real_kind_round_trips_through_text(condition: Condition) -> None:
    text = str(condition)
    assert parse(text) == condition, text
    assert str(parse(text)) == text


# Any text at all: a condition or a ConditionSyntaxError, never another exception ---------

pieces = st.sampled_from(
    [
        "(",
        ")",
        "~",
        "&",
        "|",
        " ",
        "always",
        "never",
        "flag:x",
        "setting:X=",
        "setting:",
        "-",
        "+",
        "1",
        '"',
        "\\",
        ":",
        "perm:a.b",
        "plan:",
        "rollout:",
        "\x00",
        "\x1b",
        "é",
    ]
)
texts = st.lists(pieces, max_size=60).map("".join)


@settings(max_examples=500)
@given(texts)
def test_any_text_parses_or_is_a_syntax_error(text: str) -> None:
    try:
        condition = parse(text)
    except ConditionSyntaxError as error:
        assert error.text == text and 0 <= error.position <= len(text)
        assert len(str(error)) < 1000
    else:
        assert parse(str(condition)) == condition


@settings(max_examples=100)
@given(st.lists(st.sampled_from(["(", "~"]), max_size=3 * MAX_DEPTH))
def test_nesting_reads_up_to_the_limit_and_is_a_syntax_error_beyond(openers: list[str]) -> None:
    text = "".join(openers) + "flag:x" + ")" * openers.count("(")
    if len(openers) <= MAX_DEPTH:
        expected = Not(Flag("x")) if openers.count("~") % 2 else Flag("x")
        assert parse(text) == expected
    else:
        try:
            parse(text)
        except ConditionSyntaxError as error:
            assert error.message.startswith("Nested too deeply")
            assert error.position == len("".join(openers[:MAX_DEPTH]))
        else:
            raise AssertionError("text nested beyond MAX_DEPTH was read")


@settings(max_examples=200)
@given(
    st.one_of(
        st.text(st.sampled_from("-+~()[]1.eE_x"), min_size=1, max_size=30),
        st.builds(
            lambda sign, count, tail: sign * count + tail,
            st.sampled_from("-+~"),
            st.integers(1, 20000),
            st.sampled_from(["1", "1.5", "x", "", "()"]),
        ),
    )
)
def test_every_setting_value_prints_and_round_trips(value: str) -> None:
    condition = Setting("MODE", value)
    text = str(condition)
    assert parse(text) == condition
