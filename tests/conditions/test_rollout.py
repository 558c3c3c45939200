"""Rollout: deterministic, monotone, hashed percentage of tenants or users."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conditions import Context, Rollout, parse
from conditions.rollout import bucket


def tenant(schema: str) -> SimpleNamespace:
    return SimpleNamespace(schema_name=schema, pk=1)


def user(pk: int) -> SimpleNamespace:
    return SimpleNamespace(pk=pk, is_authenticated=True)


def members(percent: float, salt: str = "s") -> set[str]:
    schemas = [f"t{i}" for i in range(1000)]
    return {s for s in schemas if Rollout(percent, salt=salt).evaluate(Context(tenant=tenant(s)))}


def test_bounds_and_proportion() -> None:
    assert members(0) == set()
    assert len(members(100)) == 1000
    assert 200 < len(members(25)) < 300


@given(st.floats(0, 100), st.floats(0, 100), st.text(max_size=5), st.text(max_size=8))
def test_monotone(a: float, b: float, salt: str, identifier: str) -> None:
    low, high = sorted((a, b))
    value = bucket(salt, identifier)
    assert 0 <= value < 100
    assert (value < low) <= (value < high)


def test_salt_picks_other_members_and_is_deterministic() -> None:
    assert members(30, "a") == members(30, "a")
    assert members(30, "a") != members(30, "b")


def test_by_user_is_qualified_by_the_tenant() -> None:
    rollout = Rollout(50, by="user", salt="x")
    outcomes = {rollout.evaluate(Context(user=user(1), tenant=tenant(f"t{i}"))) for i in range(40)}
    assert outcomes == {True, False}  # user pk 1 of each tenant is its own member
    assert rollout.explain(Context(user=user(1))).detail.startswith("user 1: bucket ")


def test_missing_target_is_not_met_and_explained() -> None:
    assert not Rollout(100).evaluate(Context())
    assert Rollout(100).explain(Context()).detail == "no tenant"
    anonymous = SimpleNamespace(pk=None, is_authenticated=False)
    assert Rollout(100, by="user").explain(Context(user=anonymous)).detail == (
        "no authenticated user"
    )


def test_explanation_shows_the_bucket() -> None:
    value = bucket("s", "acme")
    detail = Rollout(50, salt="s").explain(Context(tenant=tenant("acme"))).detail
    relation = "<" if value < 50 else ">="
    assert detail == f"tenant acme: bucket {value:g} {relation} 50"


def test_text_form() -> None:
    assert str(Rollout(25)) == "rollout:25"
    assert str(Rollout(12.5, by="user", salt="checkout")) == "rollout:12.5,by=user,salt=checkout"
    assert parse("rollout:25.0") == Rollout(25)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((101,), {}, "from 0 to 100"),
        ((-1,), {}, "from 0 to 100"),
        ((True,), {}, "must be a number"),
        (("50",), {}, "must be a number"),
        ((50,), {"by": "group"}, "by= must be 'tenant' or 'user'"),
        ((50,), {"salt": "a b"}, "salt must be"),
    ],
)
def test_bad_arguments(args: tuple[object, ...], kwargs: dict[str, object], message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        Rollout(*args, **kwargs)  # type: ignore[arg-type]


def test_bad_text() -> None:
    with pytest.raises(ValueError, match="expected options by=tenant"):
        parse("rollout:10,by=user,by=tenant")
    with pytest.raises(ValueError, match="expected a percentage"):
        parse("rollout:lots")
