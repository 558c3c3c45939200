"""PlatformFlag: targeting tenants, plans and kinds of users; waffle's API; its cache."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import waffle
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import QuerySet
from django.template import engines
from django.test import RequestFactory
from django_tenants.utils import schema_context, tenant_context
from waffle.models import AbstractBaseFlag
from waffle.utils import get_cache, get_setting

from conditions import Context, Flag, cache
from conditions.snapshot import forget
from tenants.flags import PlatformFlag, tenant_bucket, waffle_keys
from tenants.models import Tenant
from tests.conditions.conftest import switchyard_cache
from tests.helpers import make_user


def request_for(tenant: Tenant, user: Any = None, path: str = "/") -> Any:
    """A request as the tenant middleware and auth leave it."""
    request = RequestFactory().get(path)
    request.tenant = tenant
    request.user = user if user is not None else AnonymousUser()
    return request


@pytest.fixture
def flag(db: None) -> PlatformFlag:
    return PlatformFlag.objects.create(name="beta")


def on_for(flag: PlatformFlag, tenant: Tenant, user: Any = None) -> bool:
    return flag.is_active_for_context(Context(tenant=tenant, user=user))


# Targeting --------------------------------------------------------------------------------


def test_a_new_flag_is_off_for_everybody(flag: PlatformFlag, free_tenant: Tenant) -> None:
    owner = make_user(free_tenant, "owner", is_staff=True, is_superuser=True)
    assert not on_for(flag, free_tenant, owner)
    assert not flag.superusers  # waffle's default (on for superusers) would reach every owner


def test_everyone_overrides_every_other_rule(flag: PlatformFlag, pro_tenant: Tenant) -> None:
    flag.plans = ["pro"]
    assert on_for(flag, pro_tenant)
    flag.everyone = False
    assert not on_for(flag, pro_tenant)
    flag.everyone = True
    flag.plans = []
    assert on_for(flag, pro_tenant)


def test_listed_tenants_and_plans_are_targeted(
    flag: PlatformFlag, free_tenant: Tenant, pro_tenant: Tenant, enterprise_tenant: Tenant
) -> None:
    flag.tenants = ["acme"]
    flag.plans = ["enterprise"]
    assert on_for(flag, free_tenant)
    assert not on_for(flag, pro_tenant)
    assert on_for(flag, enterprise_tenant)
    assert not on_for(flag, None)  # no tenant: nothing targeted


def test_explanations_name_the_rule_that_decides(
    flag: PlatformFlag, free_tenant: Tenant, pro_tenant: Tenant, enterprise_tenant: Tenant
) -> None:
    flag.tenants = ["acme"]
    flag.plans = ["enterprise"]
    flag.save()
    assert flag.describe_for_context(Context(tenant=free_tenant)) == "tenant acme is listed"
    assert flag.describe_for_context(Context(tenant=enterprise_tenant)) == (
        "plan enterprise is targeted"
    )
    assert flag.describe_for_context(Context(tenant=pro_tenant)) == "no rule targets this tenant"
    flag.tenant_percent = 100
    assert "bucket" in flag.describe_for_context(Context(tenant=pro_tenant))
    flag.everyone = False
    assert flag.describe_for_context(Context(tenant=free_tenant)) == "everyone=off"

    # The Flag condition's explanation shows it, from the snapshot of the saved flag.
    explanation = Flag("beta").explain(Context(tenant=enterprise_tenant))
    assert explanation.result
    assert explanation.detail == "plan enterprise is targeted"


def test_a_flag_without_user_rules_skips_waffles_request_rules(
    flag: PlatformFlag, pro_tenant: Tenant
) -> None:
    owner = make_user(pro_tenant, "owner", is_staff=True, is_superuser=True)
    assert not flag.is_active(request_for(pro_tenant, owner))
    flag.staff = True  # now waffle's user rules can switch it on
    assert flag.is_active(request_for(pro_tenant, owner))


def test_waffles_user_rules_decide_for_the_requests_tenant_not_the_connections(
    flag: PlatformFlag, pro_tenant: Tenant, public_tenant: Tenant
) -> None:
    # The connection is on the public schema (the platform, on the largest plan); the
    # request is globex's. Only globex's plan may count, also once waffle's rules run.
    assert public_tenant.plan == "enterprise"
    flag.plans = ["enterprise"]
    flag.staff = True
    flag.save()
    member = make_user(pro_tenant, "member")
    assert not flag.is_active(request_for(pro_tenant, member))
    assert not Flag("beta").evaluate(Context.from_request(request_for(pro_tenant, member)))
    flag.languages = "de"  # waffle's full request rules run too
    flag.save()
    assert not flag.is_active(request_for(pro_tenant, member))


def test_percent_of_tenants_is_a_stable_hash_that_only_grows() -> None:
    schemas = [f"tenant_{number}" for number in range(400)]
    flag = PlatformFlag(pk=1, name="rollout")
    previously_in: set[str] = set()
    for percent in (0, 10, 20, 50, 100):
        flag.tenant_percent = percent
        now_in = {s for s in schemas if flag.is_active_for_tenant(Tenant(schema_name=s))}
        assert previously_in <= now_in  # whoever was in stays in
        assert abs(len(now_in) - percent * 4) <= 40  # about percent % of 400
        previously_in = now_in
    assert len(previously_in) == 400
    assert tenant_bucket("rollout", "tenant_7") == tenant_bucket("rollout", "tenant_7")
    assert flag.is_active_for_tenant(Tenant(schema_name="tenant_7")) is True


def test_the_bucket_depends_on_the_flag_name() -> None:
    buckets = {tenant_bucket(f"flag_{n}", "acme") for n in range(50)}
    assert len(buckets) > 20  # not the same tenants first for every flag


def test_kinds_of_users_of_any_tenant(flag: PlatformFlag, free_tenant: Tenant) -> None:
    member = make_user(free_tenant, "member")
    staff = make_user(free_tenant, "staffer", is_staff=True)
    owner = make_user(free_tenant, "boss", is_superuser=True)
    flag.staff = True
    assert on_for(flag, free_tenant, staff)
    assert not on_for(flag, free_tenant, member)
    assert not on_for(flag, free_tenant, owner)
    flag.staff, flag.superusers = False, True
    assert on_for(flag, free_tenant, owner)
    flag.superusers, flag.authenticated = False, True
    assert on_for(flag, free_tenant, member)
    assert not on_for(flag, free_tenant, AnonymousUser())


def test_on_a_request_the_user_rules_are_waffles_for_every_kind_of_user(
    flag: PlatformFlag, free_tenant: Tenant
) -> None:
    users = [
        AnonymousUser(),
        make_user(free_tenant, "member"),
        make_user(free_tenant, "staffer", is_staff=True),
        make_user(free_tenant, "boss", is_superuser=True),
        make_user(free_tenant, "both", is_staff=True, is_superuser=True),
    ]
    for rules in itertools.product((False, True), repeat=3):
        flag.authenticated, flag.staff, flag.superusers = rules
        for user in users:
            context = Context(tenant=free_tenant, request=request_for(free_tenant, user))
            expected = bool(AbstractBaseFlag.is_active_for_user(flag, user))
            assert flag.is_active_for_context(context) is expected, (rules, user)
        userless = request_for(free_tenant)
        del userless.user  # no authentication middleware: waffle says off
        assert not flag.is_active_for_context(Context(tenant=free_tenant, request=userless))


def test_a_request_context_decides_as_waffles_api_for_every_targeting(
    flag: PlatformFlag, free_tenant: Tenant, pro_tenant: Tenant
) -> None:
    # The snapshot's rule (context_rule, fields read once) against is_active(request), which
    # decides through _decide; the percent cut-offs straddle both tenants' buckets.
    users = [
        AnonymousUser(),
        make_user(free_tenant, "member"),
        make_user(free_tenant, "staffer", is_staff=True),
    ]
    buckets = sorted(tenant_bucket(flag.name, t.schema_name) for t in (free_tenant, pro_tenant))
    targetings: list[dict[str, Any]] = [
        {},
        {"tenants": [pro_tenant.schema_name]},
        {"plans": ["pro"]},
        {"plans": ["enterprise"], "staff": True},
        *({"tenant_percent": cut} for cut in (0, buckets[0], buckets[0] + 1, buckets[1] + 1, 100)),
        {"tenant_percent": buckets[1], "authenticated": True},
    ]
    for targeting in targetings:
        candidate = PlatformFlag(name=flag.name, pk=flag.pk, **targeting)
        candidate._state.adding = False
        for tenant in (free_tenant, pro_tenant):
            for user in users:
                request = request_for(tenant, user)
                expected = bool(candidate.is_active(request))
                got = candidate.context_rule()(Context(tenant=tenant, request=request))
                assert got is expected, (targeting, tenant.schema_name, user)


def test_is_active_for_context_needs_no_query_and_no_cache(
    flag: PlatformFlag, pro_tenant: Tenant, django_assert_num_queries: Any
) -> None:
    flag.plans = ["pro"]
    flag.tenant_percent = 30
    cache = get_cache()
    calls = []
    original = cache.get
    cache.get = lambda *args, **kwargs: calls.append(args) or original(*args, **kwargs)  # type: ignore[method-assign]
    try:
        with django_assert_num_queries(0):
            assert flag.is_active_for_context(Context(tenant=pro_tenant))
            assert flag.is_active_for_context(
                Context(tenant=pro_tenant, request=request_for(pro_tenant))
            )
    finally:
        del cache.get
    assert calls == []


def test_clean_rejects_unknown_tenants_and_plans(flag: PlatformFlag) -> None:
    flag.tenants = ["acmee", "globex", "globex"]
    flag.plans = ["prro"]
    flag.tenant_percent = 101
    with pytest.raises(ValidationError) as caught:
        flag.full_clean()
    errors = caught.value.message_dict
    assert errors["tenants"] == ["Unknown tenant 'acmee'. Did you mean 'acme'?"]
    assert "Did you mean 'pro'?" in errors["plans"][0]
    assert "less than or equal to 100" in errors["tenant_percent"][0]


def test_clean_sorts_and_deduplicates(flag: PlatformFlag) -> None:
    flag.tenants = ["globex", "acme", "globex"]
    flag.plans = ["pro", "free", "pro"]
    flag.full_clean()
    assert (flag.tenants, flag.plans) == (["acme", "globex"], ["free", "pro"])


def test_deleting_a_tenant_drops_it_from_flags(flag: PlatformFlag, db: None) -> None:
    doomed = Tenant(schema_name="doomed", name="Doomed", plan="free")
    doomed.auto_create_schema = False
    doomed.save()
    flag.tenants = ["acme", "doomed"]
    flag.save()
    doomed.delete()
    flag.refresh_from_db()
    assert flag.tenants == ["acme"]


# waffle's own API ------------------------------------------------------------------------


def test_flag_is_active_and_the_flag_tag_decide_for_the_requests_tenant(
    flag: PlatformFlag, free_tenant: Tenant, pro_tenant: Tenant
) -> None:
    flag.plans = ["pro"]
    flag.save()
    template = engines["django"].from_string(
        "{% load waffle_tags %}{% flag 'beta' %}on{% else %}off{% endflag %}"
    )
    for tenant, expected in ((pro_tenant, True), (free_tenant, False)):
        with tenant_context(tenant):
            request = request_for(tenant)
            assert waffle.flag_is_active(request, "beta") is expected
            assert template.render(request=request) == ("on" if expected else "off")


def test_waffle_request_rules_still_apply(flag: PlatformFlag, free_tenant: Tenant) -> None:
    flag.testing = True
    flag.save()
    request = request_for(free_tenant, path="/?dwft_beta=1")
    assert waffle.flag_is_active(request, "beta") is True
    assert not waffle.flag_is_active(request_for(free_tenant), "beta")


def test_a_missing_flag_follows_waffles_default(db: None, free_tenant: Tenant) -> None:
    assert waffle.flag_is_active(request_for(free_tenant), "nowhere") is False
    assert PlatformFlag(name="nowhere").is_active_for_context(Context(tenant=free_tenant)) is False


def test_is_active_for_user_decides_for_the_connections_tenant(
    flag: PlatformFlag, free_tenant: Tenant, enterprise_tenant: Tenant
) -> None:
    flag.plans = ["enterprise"]
    user = make_user(enterprise_tenant, "someone")
    with tenant_context(enterprise_tenant):
        assert flag.is_active_for_user(user)
    with schema_context("initech"):  # only a schema name: the tenant is looked up
        assert flag.is_active_for_user(user)
    with tenant_context(free_tenant):
        assert not flag.is_active_for_user(user)


def test_the_flag_condition_uses_platform_flags_unchanged(
    flag: PlatformFlag, free_tenant: Tenant, pro_tenant: Tenant, django_assert_num_queries: Any
) -> None:
    flag.tenants = ["globex"]
    flag.save()
    condition = Flag("beta")
    assert condition.evaluate(Context(tenant=pro_tenant))
    assert not condition.evaluate(Context(tenant=free_tenant))
    with django_assert_num_queries(0):  # the snapshot is loaded: evaluation is in memory
        assert condition.evaluate(Context(tenant=pro_tenant))
    assert condition.explain(Context(tenant=pro_tenant)).detail == "tenant globex is listed"


# The traps of TESTING.md -------------------------------------------------------------------


@pytest.fixture
def committing(django_capture_on_commit_callbacks: Any) -> Callable[[], Any]:
    """``with committing():`` runs the block's on_commit callbacks at its end, like a commit."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def test_one_global_cache_entry_is_never_one_tenants_answer_for_another(
    flag: PlatformFlag,
    free_tenant: Tenant,
    pro_tenant: Tenant,
    django_assert_num_queries: Any,
) -> None:
    flag.tenants = ["acme"]
    flag.save()
    with tenant_context(free_tenant):
        assert waffle.flag_is_active(request_for(free_tenant), "beta") is True  # warms the cache
    assert get_cache().get(PlatformFlag._cache_key("beta")) is not None
    with tenant_context(pro_tenant), django_assert_num_queries(0):
        # Served from the same cache entry, decided for globex.
        assert waffle.flag_is_active(request_for(pro_tenant), "beta") is False


def test_a_flag_saved_in_the_public_schema_is_fresh_in_every_tenant(
    flag: PlatformFlag, free_tenant: Tenant, committing: Any
) -> None:
    flag.everyone = True
    flag.save()
    with tenant_context(free_tenant):
        assert waffle.flag_is_active(request_for(free_tenant), "beta") is True
    flag.everyone = False
    with committing():
        flag.save()  # in the public admin, say
    with tenant_context(free_tenant):
        assert waffle.flag_is_active(request_for(free_tenant), "beta") is False


def test_trap_a_schema_prefixed_waffle_cache_stays_stale_in_tenants(
    flag: PlatformFlag, free_tenant: Tenant, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.WAFFLE_CACHE_NAME = "default"  # tenant-prefixed keys: what we avoid
    flag.everyone = True
    flag.save()
    with tenant_context(free_tenant):
        assert waffle.flag_is_active(request_for(free_tenant), "beta") is True
    flag.everyone = False
    with django_capture_on_commit_callbacks(execute=True):
        flag.save()
    with tenant_context(free_tenant):
        assert waffle.flag_is_active(request_for(free_tenant), "beta") is True  # stale


def test_an_on_commit_flush_after_switching_schema_clears_the_right_key(
    flag: PlatformFlag, free_tenant: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    flag.everyone = True
    flag.save()
    with tenant_context(free_tenant):
        assert waffle.flag_is_active(request_for(free_tenant), "beta") is True
    with django_capture_on_commit_callbacks() as callbacks, tenant_context(free_tenant):
        flag.everyone = False
        flag.save()  # written while on acme's schema...
    for callback in callbacks:  # ...flushed after the connection went back to public
        callback()
    with tenant_context(free_tenant):
        assert waffle.flag_is_active(request_for(free_tenant), "beta") is False


def test_trap_an_on_commit_flush_on_a_schema_prefixed_cache_clears_the_wrong_key(
    flag: PlatformFlag, free_tenant: Tenant, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.WAFFLE_CACHE_NAME = "default"
    flag.everyone = True
    flag.save()
    with tenant_context(free_tenant):
        assert waffle.flag_is_active(request_for(free_tenant), "beta") is True
    with django_capture_on_commit_callbacks() as callbacks, tenant_context(free_tenant):
        flag.everyone = False
        flag.save()
    for callback in callbacks:
        callback()
    with tenant_context(free_tenant):
        assert waffle.flag_is_active(request_for(free_tenant), "beta") is True  # stale


def test_queryset_update_flushes_waffle_and_the_conditions_snapshot(
    flag: PlatformFlag, free_tenant: Tenant, committing: Any
) -> None:
    flag.everyone = True
    flag.save()
    assert waffle.flag_is_active(request_for(free_tenant), "beta") is True
    assert Flag("beta").evaluate(Context(tenant=free_tenant))
    with committing():
        assert PlatformFlag.objects.filter(name="beta").update(everyone=False) == 1
    assert waffle.flag_is_active(request_for(free_tenant), "beta") is False
    assert not Flag("beta").evaluate(Context(tenant=free_tenant))


def test_trap_a_plain_update_leaves_waffles_cache_stale(
    flag: PlatformFlag, free_tenant: Tenant, committing: Any
) -> None:
    flag.everyone = True
    flag.save()
    assert waffle.flag_is_active(request_for(free_tenant), "beta") is True
    with committing():
        # What an ordinary QuerySet (or raw SQL) does: no signal, no flush.
        QuerySet(PlatformFlag).filter(name="beta").update(everyone=False)
    assert waffle.flag_is_active(request_for(free_tenant), "beta") is True  # stale


def test_bulk_writes_and_renames_flush_and_announce(
    flag: PlatformFlag, free_tenant: Tenant, committing: Any
) -> None:
    with committing():
        created = PlatformFlag.objects.bulk_create([PlatformFlag(name="gamma", everyone=True)])
    assert Flag("gamma").evaluate(Context(tenant=free_tenant))
    assert waffle.flag_is_active(request_for(free_tenant), "gamma") is True
    created[0].everyone = False
    with committing():
        PlatformFlag.objects.bulk_update(created, ["everyone"])
    assert not Flag("gamma").evaluate(Context(tenant=free_tenant))
    assert waffle.flag_is_active(request_for(free_tenant), "gamma") is False

    renamed = PlatformFlag.objects.get(name="gamma")
    renamed.name = "delta"
    with committing():
        renamed.save()
    assert waffle.flag_is_active(request_for(free_tenant), "gamma") is False  # no stale copy
    assert set(waffle_keys(["gamma"])) <= set(renamed.get_flush_keys())


def test_queryset_delete_flushes_waffle(
    flag: PlatformFlag, free_tenant: Tenant, committing: Any
) -> None:
    flag.everyone = True
    flag.save()
    assert waffle.flag_is_active(request_for(free_tenant), "beta") is True
    with committing():
        PlatformFlag.objects.filter(name="beta").delete()
    assert waffle.flag_is_active(request_for(free_tenant), "beta") is False


def test_trap_user_pks_repeat_across_schemas_so_flags_never_target_users(
    flag: PlatformFlag, free_tenant: Tenant, public_tenant: Tenant
) -> None:
    User = get_user_model()
    with schema_context("public"):
        platform_staff = User.objects.create_user("platform-staff", is_staff=True)
    with tenant_context(free_tenant):
        same_pk = User.objects.create_user("acme-member", pk=platform_staff.pk)
    assert same_pk.pk == platform_staff.pk  # the trap's precondition: one pk, two people
    flag.staff = True
    assert on_for(flag, public_tenant, platform_staff)
    assert not on_for(flag, free_tenant, same_pk)  # decided on the user object, not its pk
    with pytest.raises(FieldDoesNotExist):
        PlatformFlag._meta.get_field("users")
    with pytest.raises(AttributeError, match="user pk 1 of every tenant would match"):
        PlatformFlag.users.all()


def test_no_public_schema_model_of_ours_points_at_users() -> None:
    from django.apps import apps

    User = get_user_model()
    for model in apps.get_app_config("switchyard_tenants").get_models():
        related = {field.related_model for field in model._meta.get_fields()}
        assert User not in related, f"{model.__name__} relates to users across schemas"


def test_without_a_request_the_explanation_says_so_like_stock_flags(
    flag: PlatformFlag, pro_tenant: Tenant
) -> None:
    flag.staff = True
    flag.save()
    staffer = make_user(pro_tenant, "staffer", is_staff=True)
    member = make_user(pro_tenant, "member")
    with tenant_context(pro_tenant):
        nobody = Flag("beta").explain(Context(tenant=pro_tenant))
        assert (nobody.result, nobody.detail) == (
            False,
            "no request and no user: only everyone=on or a tenant rule could apply",
        )
        staff = Flag("beta").explain(Context(tenant=pro_tenant, user=staffer))
        assert (staff.result, staff.detail) == (True, "for user staffer (no request): staff")
        plain = Flag("beta").explain(Context(tenant=pro_tenant, user=member))
        assert (plain.result, plain.detail) == (
            False,
            "for user member (no request): no user rule matched",
        )
        # With a request, waffle's request rules decide, as before.
        with_request = Context.from_request(request_for(pro_tenant, staffer))
        assert "(no request)" not in Flag("beta").explain(with_request).detail


# A dead cache -------------------------------------------------------------------------------


@pytest.fixture
def fresh_snapshot() -> Iterator[None]:
    forget()
    cache.reset()
    yield
    forget()
    cache.reset()


def test_platform_flags_keep_their_last_good_values_while_the_cache_is_down(
    flag: PlatformFlag,
    pro_tenant: Tenant,
    free_tenant: Tenant,
    fresh_snapshot: None,
    django_assert_num_queries: Any,
) -> None:
    flag.plans = ["pro"]
    flag.save()
    assert Flag("beta").evaluate(Context(tenant=pro_tenant))
    with switchyard_cache(), django_assert_num_queries(0):
        for _ in range(3):  # never "everything off"
            assert Flag("beta").evaluate(Context(tenant=pro_tenant))
            assert not Flag("beta").evaluate(Context(tenant=free_tenant))


def test_a_platform_flag_saved_while_the_cache_is_down_commits_and_is_served(
    flag: PlatformFlag, pro_tenant: Tenant, fresh_snapshot: None, committing: Any
) -> None:
    flag.plans = ["pro"]
    flag.save()
    # waffle's cache is Switchyard's alias here too (the recommended set-up): both are down.
    assert get_setting("CACHE_NAME") == "switchyard"
    with switchyard_cache(bound=0.5):
        assert Flag("beta").evaluate(Context(tenant=pro_tenant))
        with committing():
            flag.everyone = False
            flag.save()  # no exception: not in the save, not in its on-commit flushes
        with committing():
            PlatformFlag.objects.filter(name="beta").update(staff=True)
        assert PlatformFlag.objects.get(name="beta").everyone is False
        assert not Flag("beta").evaluate(Context(tenant=pro_tenant))  # served at once here
