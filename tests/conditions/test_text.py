"""The text form: str() and parse() are inverse; bad input gets a located, helpful error."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from conditions import (
    All,
    Always,
    Any,
    Between,
    ConditionSyntaxError,
    Flag,
    Group,
    Leaf,
    Never,
    Not,
    Permission,
    Rollout,
    Setting,
    Staff,
    UserAttribute,
    parse,
    register_kind,
)
from conditions.kinds import _kinds
from conditions.text import MAX_DEPTH, quote


def test_the_design_example_round_trips() -> None:
    text = (
        "(setting:PLAN_PRO | setting:PLAN_ENTERPRISE) & flag:crypto_beta"
        " & ~setting:PAYMENTS_LOCKDOWN"
    )
    condition = parse(text)
    assert condition == All(
        Any(Setting("PLAN_PRO"), Setting("PLAN_ENTERPRISE")),
        Flag("crypto_beta"),
        Not(Setting("PAYMENTS_LOCKDOWN")),
    )
    assert str(condition) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("always", Always()),
        ("never", Never()),
        ("a:b", None),
        ("flag:x & flag:y | flag:z", Any(All(Flag("x"), Flag("y")), Flag("z"))),
        ("flag:x & (flag:y | flag:z)", All(Flag("x"), Any(Flag("y"), Flag("z")))),
        ("~flag:x & flag:y", All(Not(Flag("x")), Flag("y"))),
        ("~(flag:x & flag:y)", Not(All(Flag("x"), Flag("y")))),
        ("~~flag:x", Flag("x")),
        ("  flag:x&perm:a.b  ", All(Flag("x"), Permission("a.b"))),
        ('group:"Support team"', Group("Support team")),
        (r'flag:"say \"hi\" \\ bye"', Flag('say "hi" \\ bye')),
        ("user:is_staff", Staff()),
        ("user:is_active", UserAttribute("is_active")),
        ("setting:MODE=live", Setting("MODE", "live")),
        ("setting:RETRIES=3", Setting("RETRIES", 3)),
        ("setting:\"MODE='3'\"", Setting("MODE", "3")),
        ("rollout:25,by=user,salt=checkout", Rollout(25, by="user", salt="checkout")),
        (
            "between:2025-01-01T00:00:00+00:00/",
            Between(datetime(2025, 1, 1, tzinfo=UTC)),
        ),
    ],
)
def test_parse(text: str, expected: object) -> None:
    if expected is None:
        with pytest.raises(ConditionSyntaxError):
            parse(text)
        return
    assert parse(text) == expected
    assert parse(str(expected)) == expected


def test_str_parenthesises_only_where_needed() -> None:
    x, y, z = Flag("x"), Flag("y"), Flag("z")
    assert str((x | y) & z) == "(flag:x | flag:y) & flag:z"
    assert str(x | y & z) == "flag:x | flag:y & flag:z"
    assert str(~(x | y)) == "~(flag:x | flag:y)"
    assert str(~x & ~y) == "~flag:x & ~flag:y"


def test_quote_helper() -> None:
    assert quote("crypto_beta") == "crypto_beta"
    assert quote("a b") == '"a b"'
    assert quote('say "hi"') == r'"say \"hi\""'
    assert quote("") == '""'
    assert quote("a&b") == '"a&b"'


def _error(text: str) -> ConditionSyntaxError:
    with pytest.raises(ConditionSyntaxError) as info:
        parse(text)
    assert isinstance(info.value, ValueError)
    return info.value


def test_unknown_kind_points_at_it_and_suggests() -> None:
    error = _error("flag:a & flg:b")
    assert str(error) == (
        "Unknown condition kind 'flg'. Did you mean 'flag'? "
        f"Known kinds: {', '.join(sorted(_kinds))}.\n"
        "  flag:a & flg:b\n"
        "           ^"
    )
    assert error.position == 9


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("", "Empty condition", 0),
        ("flag:a &", "Unexpected end of text", 8),
        ("flag:a flag:b", "Unexpected 'flag': expected '&', '|' or the end", 7),
        ("(flag:a", "expected ')' to close the '(' at position 0", 7),
        ("flag:a)", "unopened ')'", 6),
        ("flag:a $", "Unexpected '$'", 7),
        ("flag", "Expected ':' and an argument after 'flag'", 4),
        ("flag:", "Expected an argument after 'flag:'", 5),
        ("alwys", "Unknown word 'alwys'", 0),
        ('flag:"open', "Unterminated quoted argument", 5),
        ("perm:nodot", "Permission needs 'app_label.codename'", 5),
        ("rollout:150", "from 0 to 100", 8),
        ("predicate:is_weekand", "Unknown predicate 'is_weekand'", 10),
    ],
)
def test_errors_say_what_and_where(text: str, message: str, position: int) -> None:
    error = _error(text)
    assert message in error.message
    assert error.position == position
    assert str(error).endswith(f"  {text}\n  {' ' * position}^")


def test_unknown_word_suggests_always() -> None:
    assert "Did you mean 'always'?" in _error("alwys").message


def test_other_apps_register_kinds_with_their_own_arguments() -> None:
    @register_kind
    class Tier(Leaf):
        """Met never; parses 'tier:>=2' into (">=", 2)."""

        __slots__ = ()
        kind = "tier_test"

        def __init__(self, op: str, level: int) -> None:
            super().__init__(op, level)

        def check(self, context: object) -> bool:
            return False

        def argument(self) -> str:
            return f"{self.args[0]}{self.args[1]}"

        @classmethod
        def from_argument(cls, argument: str) -> Leaf:
            op = ">=" if argument.startswith(">=") else "=="
            return cls(op, int(argument.removeprefix(">=")))

    try:
        condition = parse("tier_test:>=2 | flag:x")
        assert condition == Any(Tier(">=", 2), Flag("x"))
        assert str(condition) == "tier_test:>=2 | flag:x"
        assert "invalid literal for int()" in _error("tier_test:>=x").message
        with pytest.raises(ValueError, match="already registered"):

            @register_kind
            class Clash(Tier):
                __slots__ = ()

            register_kind(type("Other", (Leaf,), {"kind": "tier_test", "__slots__": ()}))
    finally:
        _kinds.pop("tier_test")


def test_kinds_must_be_words() -> None:
    for kind in ("always", "two words", ""):
        with pytest.raises(ValueError, match="kind must be a word"):
            register_kind(type("Bad", (Leaf,), {"kind": kind, "__slots__": ()}))


def test_parse_needs_text() -> None:
    with pytest.raises(TypeError, match="needs the text"):
        parse(Flag("x"))  # type: ignore[arg-type]


# Hostile text: every failure is a ConditionSyntaxError with a short message ------------------


def test_nesting_up_to_the_limit_reads_and_beyond_it_is_a_syntax_error() -> None:
    deepest = "(" * MAX_DEPTH + "flag:x" + ")" * MAX_DEPTH
    assert parse(deepest) == Flag("x")
    assert parse("~" * MAX_DEPTH + "flag:x") == Flag("x")  # an even number of "~"
    error = _error("(" * (MAX_DEPTH + 1) + "flag:x" + ")" * (MAX_DEPTH + 1))
    assert error.message == (
        f"Nested too deeply: more than {MAX_DEPTH} levels of '(' and '~' "
        "(conditions.text.MAX_DEPTH)"
    )
    assert error.position == MAX_DEPTH


@pytest.mark.parametrize(
    "text",
    [
        "(" * 10000,
        "~" * 10000 + "always",
        "(~" * 5000 + "always" + ")" * 5000,
        "flag:x & " * 5000 + "(" * 5000,
    ],
    ids=["parentheses", "negations", "both", "after-a-long-start"],
)
def test_deep_text_is_a_syntax_error_with_a_short_message(text: str) -> None:
    error = _error(text)
    assert error.message.startswith("Nested too deeply")
    assert len(str(error)) < 300
    assert f"({len(text)} characters)" in str(error)


def test_a_long_text_is_shown_around_the_spot_at_fault() -> None:
    text = "flag:a & " * 100 + "flg:b" + " & flag:c" * 100
    error = _error(text)
    assert error.position == 900 and error.text == text
    _, shown, caret = str(error).split("\n")
    assert shown == f"  …{text[870:930]}… ({len(text)} characters)"
    assert caret.index("^") - 2 == shown.index("flg:b") - 2


@pytest.mark.parametrize("sign", ["-", "+"])
def test_setting_values_of_thousands_of_signs_read_as_text(sign: str) -> None:
    text = f"setting:MODE={sign * 5000}1"
    condition = parse(text)
    assert condition == Setting("MODE", sign * 5000 + "1")
    assert str(condition) == text


def test_a_huge_argument_is_echoed_shortened() -> None:
    error = _error("flag:" + "a" * 5000)
    assert error.message.startswith(
        "Invalid flag 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa…' (5000 characters): "
    )
    assert len(str(error)) < 600


def test_a_huge_unknown_word_is_echoed_shortened() -> None:
    error = _error("x" * 10000)
    assert error.message.startswith(f"Unknown word {'x' * 40 + '…'!r} (10000 characters)")
    assert len(str(error)) < 400
