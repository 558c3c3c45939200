"""The waffle snapshot: one query, reloaded when the stamp changes, fresh within a bound always."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from django.contrib.auth.models import Group as AuthGroup
from django.db import connection, transaction
from django.db.models import QuerySet
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from waffle import admin as waffle_admin
from waffle.models import Sample as WaffleSample
from waffle.models import Switch as WaffleSwitch

from conditions import Context, Flag, Sample, Switch
from conditions.cache import cache
from conditions.prefetch import prefetch, required_keys
from conditions.snapshot import STAMP_KEY, flags_changed, snapshot, snapshot_stamp_key
from tests.conditions.conftest import switchyard_cache
from tests.conditions.flags_app.models import UserFlag


def queries(function: Any) -> int:
    """Run ``function`` and return how many SQL queries (not counting SET) it made."""
    with CaptureQueriesContext(connection) as captured:
        function()
    return len([q for q in captured.captured_queries if not q["sql"].startswith("SET ")])


def on(name: str, **extra: Any) -> bool:
    return Flag(name).evaluate(Context(strict=True, **extra))


def test_the_stamp_key_is_prefetched_with_every_request() -> None:
    assert snapshot_stamp_key() == STAMP_KEY
    assert STAMP_KEY in required_keys()


def test_loaded_once_then_free_while_the_stamp_holds(user_flags: type[UserFlag]) -> None:
    UserFlag.objects.create(name="beta", everyone=True)
    assert queries(lambda: on("beta")) == 1  # flags, users, groups, switches, samples: one query
    assert cache().get(STAMP_KEY)
    assert queries(lambda: [on("beta") for _ in range(10)]) == 0


def test_a_missing_stamp_reloads_and_writes_a_new_one(user_flags: type[UserFlag]) -> None:
    UserFlag.objects.create(name="beta", everyone=True)
    on("beta")
    first = cache().get(STAMP_KEY)
    cache().clear()  # evicted, or another deployment flushed the cache
    assert queries(lambda: on("beta")) == 1
    assert cache().get(STAMP_KEY) not in (None, first)


def test_saving_a_flag_bumps_the_stamp_now_and_after_commit(
    user_flags: type[UserFlag], django_capture_on_commit_callbacks: Any
) -> None:
    flag = UserFlag.objects.create(name="beta", everyone=False)
    assert not on("beta")
    before = cache().get(STAMP_KEY)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        flag.everyone = True
        flag.save()
        during = cache().get(STAMP_KEY)
    after = cache().get(STAMP_KEY)
    assert len({before, during, after}) == 3  # bumped at once, and again on commit
    assert any(getattr(c, "switchyard_snapshot", False) for c in callbacks)
    assert on("beta")


def test_every_kind_of_change_reaches_the_snapshot(
    user_flags: type[UserFlag], make_user: Any
) -> None:
    alice = make_user("alice")
    staff = AuthGroup.objects.create(name="staffers")
    flag = UserFlag.objects.create(name="beta")
    assert not on("beta", user=alice)

    flag.users.add(alice)
    assert on("beta", user=alice)
    flag.users.remove(alice)
    assert not on("beta", user=alice)
    alice.userflag_set.add(flag)  # from the user's side of the relation
    assert on("beta", user=alice)
    flag.users.clear()
    assert not on("beta", user=alice)

    alice.groups.add(staff)
    flag.groups.add(staff)
    fresh_alice = type(alice).objects.get(pk=alice.pk)  # group cache lives on the user object
    assert on("beta", user=fresh_alice)
    flag.delete()
    assert not on("beta", user=fresh_alice)
    assert Flag("beta").explain(Context(user=fresh_alice)).detail.startswith("no such flag")


def test_switches_and_samples_changes_reach_the_snapshot(db: None) -> None:
    switch = WaffleSwitch.objects.create(name="maintenance", active=False)
    sample = WaffleSample.objects.create(name="all", percent="0.0")
    assert not Switch("maintenance").evaluate(Context())
    assert not Sample("all").evaluate(Context())
    switch.active = True
    switch.save()
    sample.percent = "100.0"
    sample.save()
    assert Switch("maintenance").evaluate(Context())
    assert Sample("all").evaluate(Context())
    switch.delete()
    assert not Switch("maintenance").evaluate(Context())


def test_waffles_admin_bulk_actions_reach_the_snapshot(
    user_flags: type[UserFlag], make_user: Any
) -> None:
    # waffle 5's admin actions save() each object (so signals fire): the path is covered.
    request = RequestFactory().post("/admin/")
    request.user = make_user("admin", is_staff=True, is_superuser=True)
    UserFlag.objects.create(name="a", everyone=False)
    UserFlag.objects.create(name="b", everyone=False)
    WaffleSwitch.objects.create(name="s", active=False)
    assert not on("a") and not on("b") and not Switch("s").evaluate(Context())

    waffle_admin.enable_for_all(None, request, UserFlag.objects.all())
    assert on("a") and on("b")
    waffle_admin.disable_for_all(None, request, UserFlag.objects.filter(name="a"))
    assert not on("a") and on("b")
    waffle_admin.enable_switches(None, request, WaffleSwitch.objects.all())
    assert Switch("s").evaluate(Context())
    waffle_admin.delete_individually(None, request, UserFlag.objects.filter(name="b"))
    assert Flag("b").explain(Context()).detail.startswith("no such flag")


def test_queryset_update_needs_flags_changed(user_flags: type[UserFlag]) -> None:
    UserFlag.objects.create(name="beta", everyone=False)
    assert not on("beta")
    UserFlag.objects.filter(name="beta").update(everyone=True)
    assert not on("beta")  # no signal: stale, as the module documents
    flags_changed()
    assert on("beta")


def test_another_process_changing_the_stamp_makes_this_one_reload(
    user_flags: type[UserFlag],
) -> None:
    UserFlag.objects.create(name="beta", everyone=False)
    assert not on("beta")
    # What another process's signal handler does after it changed the row (the update()
    # stands for that process's write, which this one cannot observe by signal).
    UserFlag.objects.filter(name="beta").update(everyone=True)
    cache().set(STAMP_KEY, "written-by-another-process")
    assert on("beta")
    assert queries(lambda: on("beta")) == 0


def test_a_rolled_back_change_does_not_linger(user_flags: type[UserFlag]) -> None:
    UserFlag.objects.create(name="beta", everyone=False)
    assert not on("beta")
    with pytest.raises(RuntimeError), transaction.atomic():
        UserFlag.objects.filter(name="beta").get().__class__.objects.create(name="ghost")
        flag = UserFlag.objects.get(name="beta")
        flag.everyone = True
        flag.save()
        assert on("beta") and on("ghost") is False  # seen inside the transaction...
        raise RuntimeError("roll back")
    assert not on("beta")  # ...and gone after its rollback, with no new stamp written
    assert Flag("ghost").explain(Context()).detail.startswith("no such flag")


def test_prefetched_context_makes_no_cache_call(
    user_flags: type[UserFlag], monkeypatch: pytest.MonkeyPatch
) -> None:
    UserFlag.objects.create(name="beta", everyone=True)
    on("beta")
    store = cache()
    calls: list[str] = []
    inside: list[str] = []  # locmem's get_many calls get: count round trips, not inner calls
    for method in ("get", "get_many", "set", "add"):
        original = getattr(store, method)

        def counted(*args: Any, _method: str = method, _original: Any = original, **kw: Any) -> Any:
            if not inside:
                calls.append(_method)
            inside.append(_method)
            try:
                return _original(*args, **kw)
            finally:
                inside.pop()

        monkeypatch.setattr(store, method, counted)

    context = Context()
    prefetch(context, ("engine:key",))
    assert calls == ["get_many"]
    assert queries(lambda: [Flag("beta").evaluate(context) for _ in range(3)]) == 0
    assert calls == ["get_many"]
    # Not prefetched: the context reads the stamp itself, once.
    other = Context()
    Flag("beta").evaluate(other)
    Flag("x").evaluate(other)
    assert calls == ["get_many", "get"]


def test_the_one_query_load_builds_what_the_orm_builds(
    user_flags: type[UserFlag], make_user: Any
) -> None:
    # Every kind of field waffle's models have, through the JSON of the one query.
    alice = make_user("alice")
    testers = AuthGroup.objects.create(name="testers")
    flag = UserFlag.objects.create(
        name="rich", everyone=None, percent="12.5", testing=True, languages="de, fr", note="é"
    )
    flag.users.add(alice)
    flag.groups.add(testers)
    UserFlag.objects.create(name="bare")
    WaffleSwitch.objects.create(name="s", active=True)
    WaffleSample.objects.create(name="half", percent="50.0")
    loaded = snapshot(Context())

    def fields(instance: Any) -> dict[str, Any]:
        return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.fields}

    for row in UserFlag.objects.all():
        entry = loaded.flags[row.name]
        assert fields(entry.flag) == fields(row)
        assert entry.flag._state.adding is False and entry.flag._state.db == "default"
        assert entry.user_ids == set(row.users.values_list("pk", flat=True))
        assert entry.group_ids == set(row.groups.values_list("pk", flat=True))
        assert type(entry.flag.percent) is type(row.percent)
    assert fields(loaded.switches["s"]) == fields(WaffleSwitch.objects.get())
    assert fields(loaded.samples["half"]) == fields(WaffleSample.objects.get())


def test_waffles_methods_are_not_patched(user_flags: type[UserFlag], make_user: Any) -> None:
    flag = UserFlag.objects.create(name="beta")
    flag.users.add(make_user("alice"))
    entry = snapshot(Context()).flags["beta"]
    assert not {"_get_user_ids", "_get_group_ids", "is_active_for_user"} & set(vars(entry.flag))


# The cache is an accelerator: faults never turn flags off, and staleness is bounded ---------


def test_a_dead_cache_keeps_the_last_good_flags(
    user_flags: type[UserFlag], django_assert_num_queries: Any
) -> None:
    UserFlag.objects.create(name="beta", everyone=True)
    WaffleSwitch.objects.create(name="maintenance", active=True)
    assert on("beta") and Switch("maintenance").evaluate(Context())
    with switchyard_cache(), django_assert_num_queries(0):
        for _ in range(3):  # the last good copy, within the bound: no query
            assert on("beta")
            assert Switch("maintenance").evaluate(Context())


def test_a_process_starting_while_the_cache_is_down_loads_the_flags(
    user_flags: type[UserFlag], django_assert_num_queries: Any
) -> None:
    UserFlag.objects.create(name="beta", everyone=True)
    with switchyard_cache():
        with django_assert_num_queries(1):
            assert on("beta")  # never "everything off"
        with django_assert_num_queries(0):
            assert on("beta")


def test_a_flag_saved_while_the_cache_is_down_commits_and_is_served(
    user_flags: type[UserFlag],
    django_capture_on_commit_callbacks: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    flag = UserFlag.objects.create(name="beta", everyone=True)
    # Only Switchyard's alias is dead: waffle's own flush on commit is waffle's code.
    with switchyard_cache(WAFFLE_CACHE_NAME="default"), caplog.at_level(logging.WARNING):
        assert on("beta")  # loaded (the WAFFLE_* override dropped the copy)
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            flag.everyone = False
            flag.save()  # no exception, before or after the commit
        assert any(getattr(c, "switchyard_snapshot", False) for c in callbacks)
        assert UserFlag.objects.get(name="beta").everyone is False
        assert not on("beta")  # this process reloads at once
        flags_changed()
    # Logged once (the first failure), however many calls failed or were skipped since.
    warnings = [r for r in caplog.records if r.name == "switchyard.cache"]
    assert len(warnings) == 1 and "Connection refused" in warnings[0].getMessage()


def test_a_change_whose_stamp_never_reached_the_cache_is_served_within_the_bound(
    user_flags: type[UserFlag], django_assert_num_queries: Any
) -> None:
    UserFlag.objects.create(name="beta", everyone=False)
    with switchyard_cache(bound=0.5):
        with django_assert_num_queries(1):
            assert not on("beta")
        # Another process's write: its stamp never reached the cache (it was down).
        QuerySet(UserFlag).filter(name="beta").update(everyone=True)
        with django_assert_num_queries(0):
            assert not on("beta")  # within the bound: the last good copy
        time.sleep(0.6)
        with django_assert_num_queries(2):  # the digest differs: one reload
            assert on("beta")
        time.sleep(0.6)
        with django_assert_num_queries(1):  # nothing changed: the digest alone
            assert on("beta")


def test_a_cache_restarted_from_an_old_snapshot_is_overruled_within_the_bound(
    user_flags: type[UserFlag],
    live_switchyard_cache: Any,
    django_capture_on_commit_callbacks: Any,
    django_assert_num_queries: Any,
) -> None:
    flag = UserFlag.objects.create(name="beta", everyone=False)
    assert not on("beta")
    old = live_switchyard_cache.get(STAMP_KEY)
    assert old is not None
    with django_capture_on_commit_callbacks(execute=True):
        flag.everyone = True
        flag.save()  # its new stamp reaches Redis...
    assert live_switchyard_cache.get(STAMP_KEY) != old
    live_switchyard_cache.set(STAMP_KEY, old, None)  # ...which restarts from an older snapshot
    with django_assert_num_queries(0):
        assert not on("beta")  # the old stamp matches this process's copy: within the bound
    time.sleep(1.05)
    assert on("beta")  # revalidated against the database
    fresh = live_switchyard_cache.get(STAMP_KEY)
    assert fresh not in (None, old)  # and a new stamp makes every other process reload now
    with django_assert_num_queries(0):
        assert on("beta")


def test_an_evicted_stamp_in_redis_means_reload(
    user_flags: type[UserFlag], live_switchyard_cache: Any
) -> None:
    UserFlag.objects.create(name="beta", everyone=False)
    assert not on("beta")
    QuerySet(UserFlag).filter(name="beta").update(everyone=True)
    live_switchyard_cache.delete(STAMP_KEY)  # evicted
    assert on("beta")
    assert live_switchyard_cache.get(STAMP_KEY) is not None
