"""Flag, Switch and Sample on real waffle rows: the same answers as waffle, no query when warm."""

from __future__ import annotations

import itertools
import logging
from typing import Any

import pytest
import waffle
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.models import Group as AuthGroup
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pytest_django.fixtures import Settings as SettingsWrapper
from waffle.models import Sample as WaffleSample
from waffle.models import Switch as WaffleSwitch

from conditions import Context, Flag, Sample, Switch
from conditions.snapshot import snapshot
from conditions.waffle_rules import decide
from tests.conditions.conftest import make_request
from tests.conditions.flags_app.models import ContextFlag, UserFlag

FLAG_ROWS: list[dict[str, Any]] = [
    {"name": "on", "everyone": True},
    {"name": "off", "everyone": False, "superusers": True},
    {"name": "unset"},
    {"name": "nobody", "superusers": False},
    {"name": "staff", "staff": True, "superusers": False},
    {"name": "authenticated", "authenticated": True},
    {"name": "users"},
    {"name": "groups"},
    {"name": "testing", "testing": True, "superusers": False},
    {"name": "german", "languages": "fr, de", "superusers": False},
    {"name": "percent", "percent": "50.0", "superusers": False},
    {"name": "rollout", "percent": "30.0", "rollout": True, "superusers": False},
    {"name": "all_percent", "percent": "99.9", "superusers": False, "staff": True},
    # Off for everyone; waffle's is_active_for_user (no request) still matches listed users.
    {"name": "off_listed", "everyone": False},
]


@pytest.fixture
def matrix(user_flags: type[UserFlag], make_user: Any) -> dict[str, Any]:
    testers = AuthGroup.objects.create(name="testers")
    users = {
        "anonymous": AnonymousUser(),
        "plain": make_user("plain"),
        "staff": make_user("staffer", is_staff=True),
        "superuser": make_user("root", is_superuser=True),
        "listed": make_user("listed"),
        "grouped": make_user("grouped"),
    }
    users["grouped"].groups.add(testers)
    for row in FLAG_ROWS:
        flag = UserFlag.objects.create(**row)
        if row["name"] in ("users", "off_listed"):
            flag.users.add(users["listed"])
        if row["name"] == "groups":
            flag.groups.add(testers)
    return users


def _requests(user: Any, name: str) -> dict[str, Any]:
    variants = {
        "plain": make_request(user),
        "cookie-on": make_request(user),
        "cookie-off": make_request(user),
        "test-query-on": make_request(user, **{f"dwft_{name}": "1"}),
        "test-query-off": make_request(user, **{f"dwft_{name}": "0"}),
        "test-cookie": make_request(user),
        "german": make_request(user),
    }
    variants["cookie-on"].COOKIES[f"dwf_{name}"] = "True"
    variants["cookie-off"].COOKIES[f"dwf_{name}"] = "False"
    variants["test-cookie"].COOKIES[f"dwft_{name}"] = "True"
    variants["german"].LANGUAGE_CODE = "de"
    return variants


def test_flag_equals_waffle_flag_is_active(matrix: dict[str, Any]) -> None:
    mismatches, results = [], set()
    for row, (who, user) in itertools.product(FLAG_ROWS, matrix.items()):
        name = row["name"]
        for variant, request in _requests(user, name).items():
            twin = _requests(user, name)[variant]
            # Switchyard first on one request, waffle first on its twin: request-bound
            # randomness (request.waffles) must be honoured both ways.
            ours = Flag(name).evaluate(Context.from_request(request, strict=True))
            theirs = bool(waffle.flag_is_active(request, name))
            theirs_first = bool(waffle.flag_is_active(twin, name))
            ours_second = Flag(name).evaluate(Context.from_request(twin, strict=True))
            results.add(ours)
            if ours != theirs or ours_second != theirs_first:
                mismatches.append((name, who, variant, ours, theirs, ours_second, theirs_first))
            assert getattr(request, "waffles", None) == getattr(twin, "waffles", None) or (
                name in ("percent", "rollout", "all_percent")
            )
    assert mismatches == []
    assert results == {True, False}


def test_with_override_flag_equals_waffle_flag_is_active(
    matrix: dict[str, Any], settings: SettingsWrapper
) -> None:
    settings.WAFFLE_OVERRIDE = True
    mismatches = []
    for row, (who, user) in itertools.product(FLAG_ROWS, matrix.items()):
        name = row["name"]
        for query in ({name: "1"}, {name: "0"}, {}):
            ours = Flag(name).evaluate(Context.from_request(make_request(user, **query)))
            theirs = bool(waffle.flag_is_active(make_request(user, **query), name))
            # Drawn at random for anonymous or unlisted users (all_percent: 99.9 % of draws).
            if ours != theirs and name not in ("percent", "rollout", "all_percent"):
                mismatches.append((name, who, query, ours, theirs))
    assert mismatches == []


def test_without_a_request_flag_equals_waffles_is_active_for_user(
    matrix: dict[str, Any],
) -> None:
    mismatches = []
    for row, (who, user) in itertools.product(FLAG_ROWS, matrix.items()):
        name = row["name"]
        ours = Flag(name).evaluate(Context(user=user, strict=True))
        # waffle's own method on the database row (its cache, and a query for groups).
        theirs = bool(UserFlag.objects.get(name=name).is_active_for_user(user))
        if ours != theirs:
            mismatches.append((name, who, ours, theirs))
    assert mismatches == []
    assert Flag("off_listed").evaluate(Context(user=matrix["listed"]))
    assert not Flag("off_listed").evaluate(Context.from_request(make_request(matrix["listed"])))


def test_read_only_decisions_agree_with_waffle(matrix: dict[str, Any]) -> None:
    # decide(), the one copy of waffle's is_active (explanations use it read only), reaches
    # waffle's answer on every row, user and kind of request.
    mismatches = []
    for row, (who, user) in itertools.product(FLAG_ROWS, matrix.items()):
        name = row["name"]
        entry = snapshot(Context()).flags[name]
        for variant, request in _requests(user, name).items():
            twin = _requests(user, name)[variant]
            explained, reason = decide(entry.flag, request, True, entry.user_rule)
            theirs = bool(waffle.flag_is_active(twin, name, read_only=True))
            if explained != theirs:
                mismatches.append((name, who, variant, explained, theirs, reason))
            # What waffle leaves on the request, read only, is left the same.
            assert getattr(request, "waffles", None) == getattr(twin, "waffles", None)
            assert getattr(request, "waffle_tests", None) == getattr(twin, "waffle_tests", None)
    assert mismatches == []


def test_percent_draw_is_stored_on_the_request_like_waffle(matrix: dict[str, Any]) -> None:
    request = make_request(matrix["plain"])
    active = Flag("all_percent").evaluate(Context.from_request(request))
    assert request.waffles == {"all_percent": [active, False]}
    # A later context on the same request (or waffle itself) sees the same draw.
    assert Flag("all_percent").evaluate(Context.from_request(request)) is active
    assert bool(waffle.flag_is_active(request, "all_percent")) is active


def test_testing_mode_sets_the_test_cookie_like_waffle(matrix: dict[str, Any]) -> None:
    request = make_request(matrix["plain"], dwft_testing="1")
    assert Flag("testing").evaluate(Context.from_request(request))
    assert request.waffle_tests == {"testing": True}


def test_without_a_request_the_flag_is_for_the_user_and_says_so(matrix: dict[str, Any]) -> None:
    listed = Context(user=matrix["listed"])
    assert Flag("users").evaluate(listed)
    assert Flag("users").explain(listed).detail == "for user listed (no request): listed user"
    grouped = Context(user=matrix["grouped"])
    assert Flag("groups").evaluate(grouped)
    assert "listed group testers" in Flag("groups").explain(grouped).detail
    plain = Context(user=matrix["plain"])
    assert not Flag("users").evaluate(plain)
    assert Flag("users").explain(plain).detail == (
        "for user plain (no request): no user rule matched"
    )
    assert Flag("on").explain(Context()).detail == "everyone=on"
    nobody = Flag("staff").explain(Context())
    assert (nobody.result, nobody.detail) == (
        False,
        "no request and no user: only everyone=on could apply",
    )


def test_explanations_name_the_rule(matrix: dict[str, Any]) -> None:
    def detail(name: str, user: Any, **query: str) -> str:
        return Flag(name).explain(Context.from_request(make_request(user, **query))).detail

    assert detail("on", matrix["plain"]) == "everyone=on"
    assert detail("off", matrix["superuser"]) == "everyone=off"
    assert detail("staff", matrix["staff"]) == "staff"
    assert detail("unset", matrix["superuser"]) == "superusers"
    assert detail("nobody", matrix["plain"]) == "no rule matched"
    assert detail("testing", matrix["plain"], dwft_testing="1") == "testing mode (query/header)"
    assert detail("percent", matrix["plain"]).startswith("percent 50.0%: decided for this request")


def test_unknown_flag_is_waffles_default_and_says_so(
    user_flags: type[UserFlag], settings: SettingsWrapper, caplog: pytest.LogCaptureFixture
) -> None:
    context = Context.from_request(make_request())
    explanation = Flag("nope").explain(context)
    assert (explanation.result, explanation.detail) == (
        False,
        "no such flag: WAFFLE_FLAG_DEFAULT=False",
    )
    settings.WAFFLE_FLAG_DEFAULT = True
    settings.WAFFLE_LOG_MISSING_FLAGS = logging.WARNING
    with caplog.at_level(logging.WARNING, logger="waffle"):
        assert Flag("nope").evaluate(Context())
    assert "Flag nope not found" in caplog.text
    assert not UserFlag.objects.filter(name="nope").exists()


def test_unknown_flag_is_created_when_waffle_says_so(
    user_flags: type[UserFlag], settings: SettingsWrapper
) -> None:
    settings.WAFFLE_CREATE_MISSING_FLAGS = True
    settings.WAFFLE_FLAG_DEFAULT = True
    assert Flag("fresh").evaluate(Context())
    assert UserFlag.objects.get(name="fresh").everyone is True


def test_flag_model_with_is_active_for_context(context_flags: type[ContextFlag]) -> None:
    ContextFlag.objects.create(name="acme_only", note="acme")

    class Tenant:
        def __init__(self, schema_name: str) -> None:
            self.schema_name = schema_name

    assert Flag("acme_only").evaluate(Context(tenant=Tenant("acme")))
    assert not Flag("acme_only").evaluate(Context(tenant=Tenant("globex")))
    explanation = Flag("acme_only").explain(Context(tenant=Tenant("acme")))
    assert explanation.detail == "ContextFlag.is_active_for_context()"


def test_a_context_flag_model_may_describe_its_decision(
    context_flags: type[ContextFlag], settings: SettingsWrapper
) -> None:
    ContextFlag.objects.create(name="acme_only", note="acme")
    settings.WAFFLE_FLAG_MODEL = "conditions_flags.DescribedFlag"
    explanation = Flag("acme_only").explain(Context())
    assert (explanation.result, explanation.detail) == (False, "on for tenant acme only")


def test_warm_flags_cost_no_query_and_no_cache_call(
    matrix: dict[str, Any], django_assert_num_queries: Any
) -> None:
    user = matrix["grouped"]
    names = [row["name"] for row in FLAG_ROWS]
    with CaptureQueriesContext(connection) as cold:
        for name in names:
            Flag(name).evaluate(Context.from_request(make_request(user)))
    # The snapshot (flags, their users and groups, switches, samples: one query), the
    # user's groups.
    assert len([q for q in cold.captured_queries if not q["sql"].startswith("SET ")]) == 2
    with django_assert_num_queries(0):
        for _ in range(3):
            context = Context.from_request(make_request(user))
            context.prefetched = {"switchyard:conditions:waffle-stamp": _stamp()}
            for name in names:
                Flag(name).evaluate(context)


def _stamp() -> Any:
    from conditions.cache import cache
    from conditions.snapshot import snapshot_stamp_key

    return cache().get(snapshot_stamp_key())


def test_switch(db: None, settings: SettingsWrapper) -> None:
    WaffleSwitch.objects.create(name="maintenance", active=True)
    WaffleSwitch.objects.create(name="dark", active=False)
    context = Context()
    assert Switch("maintenance").evaluate(context)
    assert not Switch("dark").evaluate(context)
    assert not Switch("missing").evaluate(context)
    assert Switch("dark").explain(context).detail == "inactive"
    assert (
        Switch("missing").explain(context).detail == "no such switch: WAFFLE_SWITCH_DEFAULT applies"
    )
    settings.WAFFLE_SWITCH_DEFAULT = True
    assert Switch("missing").evaluate(Context())
    assert waffle.switch_is_active("maintenance") and not waffle.switch_is_active("dark")


def test_sample_is_drawn_once_per_context(db: None) -> None:
    WaffleSample.objects.create(name="always", percent="100.0")
    WaffleSample.objects.create(name="never", percent="0.0")
    WaffleSample.objects.create(name="half", percent="50.0")
    assert Sample("always").evaluate(Context())
    assert not Sample("never").evaluate(Context())
    outcomes = set()
    for _ in range(60):
        context = Context()
        first = Sample("half").evaluate(context)
        assert all(Sample("half").evaluate(context) is first for _ in range(5))
        outcomes.add(first)
    assert outcomes == {True, False}
    assert not Sample("missing").evaluate(Context())


@pytest.mark.parametrize("name", ["", " padded", "x" * 101, 3])
def test_bad_names_are_rejected(name: Any) -> None:
    for leaf in (Flag, Switch, Sample):
        with pytest.raises(ValueError, match=f"{leaf.__name__} needs the name of a waffle"):
            leaf(name)
