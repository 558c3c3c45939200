"""Conditions benchmark: 20 ``(Permission & Setting) | Flag`` for one fresh request context.

Compared, in the same run, with the same logic as plain Python lambdas over inputs already in
memory (a set of permissions, a dict of settings, a dict of flag booleans). ``make bench``
prints each ratio. Three shapes:

- the mixed case: half of the ``&`` short-circuits (target: at most 10x the floor; measured
  7.1-8.5x since composites compile to one function, 10-12x before; asserted at most 10x);
- the worst case: every leaf evaluated (every permission held, every setting off), with
  waffle's stock flag model (target: at most 8x; measured 7.8-8.0x, 12.2x before; asserted
  at most 8.8x);
- the worst case with the flag model the example site ships, ``tenants.PlatformFlag``,
  targeting the request's tenant (target: at most 10x; measured 9.7x with the row's rule
  built once per snapshot load, 15.3x before; asserted at most 11x).

The assertions allow the target plus 10 % (this machine is shared and noisy); the printed line
shows both. No SQL query once warm, in every case.
"""

from __future__ import annotations

import timeit
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import waffle
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission as AuthPermission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import RequestFactory
from django.test.utils import override_settings

from conditions import Condition, Context, Flag, Permission, Setting
from conditions.prefetch import prefetch
from tenants.flags import PlatformFlag
from tenants.models import Tenant
from tests.conditions.flags_app.models import UserFlag

COUNT = 20
# (target, asserted) ratios to the floor; see the module docstring.
MIXED_RATIOS = (10, 10)
WORST_CASE_RATIOS = (8, 8.8)
PLATFORM_FLAG_RATIOS = (10, 11)


def _interleaved_best(*functions: Callable[[], Any], rounds: int = 300) -> list[float]:
    """Best seconds per call of each function, timed in short alternating batches.

    Short batches, many times, in alternation: when other processes share the machine, each
    function still gets quiet slices, and the best of each is what the code costs.
    """
    timers = [timeit.Timer(function) for function in functions]
    numbers = [max(1, timer.autorange()[0] // 20) for timer in timers]
    best = [float("inf")] * len(functions)
    for _ in range(rounds):
        for index, (timer, number) in enumerate(zip(timers, numbers, strict=True)):
            best[index] = min(best[index], timer.timeit(number) / number)
    return best


def _as_committed() -> None:
    # As if the set-up had committed: the snapshot must not be the provisional kind that is
    # re-checked against this (never-committing) test transaction on every context.
    connection.run_on_commit[:] = [
        entry for entry in connection.run_on_commit if not hasattr(entry[1], "switchyard_snapshot")
    ]


@pytest.fixture
def scenario(db: None, settings: Any) -> Iterator[dict[str, Any]]:
    settings.WAFFLE_FLAG_MODEL = "conditions_flags.UserFlag"
    content_type = ContentType.objects.get_for_model(UserFlag)
    user = get_user_model().objects.create_user("bench")
    for i in range(COUNT):
        permission = AuthPermission.objects.create(
            codename=f"p{i}", name=f"p{i}", content_type=content_type
        )
        if i % 2 == 0:
            user.user_permissions.add(permission)
        # A mix of waffle rules: on, off, staff-only (this user is not staff), unset.
        UserFlag.objects.create(
            name=f"bench_f{i}",
            everyone=(True, False, None, None)[i % 4],
            staff=i % 4 == 2,
            superusers=True,
        )
    values = {f"BENCH_S{i}": i % 3 == 0 for i in range(COUNT)}
    _as_committed()
    with override_settings(**values):
        request = RequestFactory().get("/")
        request.user = get_user_model().objects.get(pk=user.pk)
        yield {"request": request, "settings": values}


def _measure(
    label: str,
    conditions: list[Condition],
    request: Any,
    floor: Callable[[], list[bool]],
    target: str,
    benchmark: Any,
    django_assert_num_queries: Any,
) -> float | None:
    """Check the conditions against the floor, time both, print and return the ratio."""
    # Warm: the snapshot, the user's permissions; then the stamp as the engine prefetches it.
    warm = Context.from_request(request)
    expected = [c.evaluate(warm) for c in conditions]
    prefetched = prefetch(Context())
    stamp = {key: prefetched.get(key) for key in prefetched}

    def switchyard() -> list[bool]:
        context = Context.from_request(request)
        context.prefetched = dict(stamp)
        return [condition.evaluate(context) for condition in conditions]

    assert switchyard() == floor() == expected
    assert any(expected) and not all(expected)
    with django_assert_num_queries(0):
        for _ in range(5):
            switchyard()

    result = benchmark(switchyard)
    assert result == expected
    if benchmark.disabled:
        return None
    # The ratio compares best times measured in alternation (the least noisy pair when other
    # processes share the machine); the benchmark table above has the full distribution.
    ours, plain_python = _interleaved_best(switchyard, floor)
    ratio = ours / plain_python
    print(
        f"\n{label}: {ours * 1e6:.1f} us; plain Python floor {plain_python * 1e6:.2f} us; "
        f"ratio {ratio:.1f}x ({target})",
        end="",
    )
    return ratio


def _floor(
    perms: frozenset[str], settings: dict[str, bool], flags: dict[str, bool], names: list[tuple]
) -> Callable[[], list[bool]]:
    """The same decisions as plain Python over inputs already in memory."""
    plain = [(lambda p=p, s=s, f=f: (p in perms and settings[s]) or flags[f]) for p, s, f in names]

    def floor() -> list[bool]:
        return [bool(rule()) for rule in plain]

    return floor


def test_conditions_against_plain_python(
    scenario: dict[str, Any], benchmark: Any, django_assert_num_queries: Any
) -> None:
    request = scenario["request"]
    conditions: list[Condition] = [
        (Permission(f"conditions_flags.p{i}") & Setting(f"BENCH_S{i}")) | Flag(f"bench_f{i}")
        for i in range(COUNT)
    ]
    flag_values = {f"bench_f{i}": (True, False, False, False)[i % 4] for i in range(COUNT)}
    for i in range(COUNT):  # waffle itself agrees on every flag
        assert bool(waffle.flag_is_active(request, f"bench_f{i}")) is flag_values[f"bench_f{i}"]
    names = [(f"conditions_flags.p{i}", f"BENCH_S{i}", f"bench_f{i}") for i in range(COUNT)]
    perms = frozenset(f"conditions_flags.p{i}" for i in range(0, COUNT, 2))
    floor = _floor(perms, dict(scenario["settings"]), flag_values, names)
    label = "conditions: 20 x (Permission & Setting) | Flag per fresh context"
    target, asserted = MIXED_RATIOS
    ratio = _measure(
        label,
        conditions,
        request,
        floor,
        f"target <= {target}x, asserted <= {asserted}x",
        benchmark,
        django_assert_num_queries,
    )
    if ratio is None:
        return
    waffle_alone = (
        min(
            timeit.repeat(
                lambda: [waffle.flag_is_active(request, f"bench_f{i}") for i in range(COUNT)],
                number=20,
                repeat=5,
            )
        )
        / 20
    )
    print(f"; 20 x waffle.flag_is_active alone: {waffle_alone * 1e6:.0f} us")
    assert ratio <= asserted


# The worst case: every leaf evaluated ---------------------------------------------------


def _worst_case(request: Any, flag_values: dict[str, bool]) -> tuple[list[Condition], Any]:
    """Conditions whose every leaf is evaluated: every permission held, every setting off."""
    content_type = ContentType.objects.get_for_model(UserFlag)
    user = request.user
    for i in range(COUNT):
        user.user_permissions.add(
            AuthPermission.objects.create(codename=f"w{i}", name=f"w{i}", content_type=content_type)
        )
    request.user = get_user_model().objects.get(pk=user.pk)  # no permission cache yet
    names = [(f"conditions_flags.w{i}", f"BENCH_W{i}", f"worst_f{i}") for i in range(COUNT)]
    conditions: list[Condition] = [(Permission(p) & Setting(s)) | Flag(f) for p, s, f in names]
    perms = frozenset(p for p, _, _ in names)
    settings = {s: False for _, s, _ in names}
    return conditions, _floor(perms, settings, flag_values, names)


def test_worst_case_with_waffles_stock_flags(
    scenario: dict[str, Any], benchmark: Any, django_assert_num_queries: Any
) -> None:
    request = scenario["request"]
    # waffle's rules decide every flag: on, off, staff (this user is not), superusers (nor
    # that), authenticated (this user is).
    rules: list[dict[str, Any]] = [
        {"everyone": True},
        {"everyone": False},
        {"staff": True, "superusers": False},
        {"superusers": True},
        {"authenticated": True, "superusers": False},
    ]
    for i in range(COUNT):
        UserFlag.objects.create(name=f"worst_f{i}", **rules[i % len(rules)])
    _as_committed()
    flag_values = {f"worst_f{i}": i % 5 in (0, 4) for i in range(COUNT)}
    for name, value in flag_values.items():
        assert bool(waffle.flag_is_active(request, name)) is value
    conditions, floor = _worst_case(request, flag_values)
    _measure_worst_case(
        "worst case, stock waffle flags: 20 x (Permission & Setting) | Flag, every leaf",
        WORST_CASE_RATIOS,
        (conditions, request, floor),
        benchmark,
        django_assert_num_queries,
    )


def test_worst_case_with_platform_flags(
    scenario: dict[str, Any],
    pro_tenant: Tenant,
    settings: Any,
    benchmark: Any,
    django_assert_num_queries: Any,
) -> None:
    settings.WAFFLE_FLAG_MODEL = "switchyard_tenants.PlatformFlag"
    request = scenario["request"]
    request.tenant = pro_tenant  # globex, on the pro plan
    # The shipped flag model's rules: on, off, a plan (not this tenant's) or staff (this user
    # is not), this tenant listed, a percentage of tenants.
    rules: list[dict[str, Any]] = [
        {"everyone": True},
        {"everyone": False},
        {"plans": ["enterprise"], "staff": True},
        {"tenants": [pro_tenant.schema_name]},
        {"tenant_percent": 50},
    ]
    for i in range(COUNT):
        PlatformFlag.objects.create(name=f"worst_f{i}", **rules[i % len(rules)])
    _as_committed()
    flag_values = {
        name: bool(waffle.flag_is_active(request, name))
        for name in (f"worst_f{i}" for i in range(COUNT))
    }
    # Decided for the request's tenant (globex, pro), not the connection's (public, enterprise).
    assert flag_values["worst_f0"] and flag_values["worst_f3"] and not flag_values["worst_f2"]
    conditions, floor = _worst_case(request, flag_values)
    _measure_worst_case(
        "worst case, tenants.PlatformFlag: 20 x (Permission & Setting) | Flag, every leaf",
        PLATFORM_FLAG_RATIOS,
        (conditions, request, floor),
        benchmark,
        django_assert_num_queries,
    )


def _measure_worst_case(
    label: str,
    ratios: tuple[float, float],
    case: tuple[Any, Any, Any],
    benchmark: Any,
    django_assert_num_queries: Any,
) -> None:
    """Measure a worst case (every ``BENCH_W*`` setting off: every leaf is evaluated)."""
    conditions, request, floor = case
    target, asserted = ratios
    with override_settings(**{f"BENCH_W{i}": False for i in range(COUNT)}):
        ratio = _measure(
            label,
            conditions,
            request,
            floor,
            f"target <= {target}x, asserted <= {asserted}x",
            benchmark,
            django_assert_num_queries,
        )
    if ratio is not None:
        print()
        assert ratio <= asserted
