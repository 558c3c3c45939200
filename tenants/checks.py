"""System checks of the tenants app (``switchyard.E101``-``E105``, ``W101``, ``W102``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings as django_settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError

from engine.conf import settings

PLANS_HINT = 'Set SWITCHYARD["PLANS"] to a list of unique plan names, smallest first.'
TENANT_ENGINE = "django_tenants.postgresql_backend"


def _configured_plans() -> Any:
    try:
        return settings.PLANS
    except ImproperlyConfigured:
        return None  # unknown SWITCHYARD keys: the engine's own check reports them


@register()
def check_plans_setting(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[Error]:
    """E101: ``SWITCHYARD["PLANS"]`` is a non-empty list of unique, well-formed plan names."""
    from tenants.plans import plans_problems

    value = _configured_plans()
    if value is None:
        return []
    return [
        Error(f'SWITCHYARD["PLANS"] {problem}.', hint=PLANS_HINT, id="switchyard.E101")
        for problem in plans_problems(value)
    ]


@register()
def check_database_engine(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """E104: the default database runs on django-tenants' backend (or a subclass of it)."""
    from django.db.utils import load_backend
    from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper

    engine = django_settings.DATABASES.get("default", {}).get("ENGINE", "")
    try:
        wrapper = load_backend(engine).DatabaseWrapper
    except (ImproperlyConfigured, ImportError, AttributeError):
        return []  # not a loadable backend at all: Django's own error says so first
    if isinstance(wrapper, type) and issubclass(wrapper, TenantDatabaseWrapper):
        return []
    return [
        Error(
            f'DATABASES["default"]["ENGINE"] is {engine!r}, but the tenants app needs '
            "django-tenants' backend, which puts each request on its tenant's schema (without "
            "it, migrate_schemas and the tenant middleware fail: 'DatabaseWrapper' object has "
            "no attribute 'set_schema').",
            hint=(
                f'Set DATABASES["default"]["ENGINE"] = "{TENANT_ENGINE}" (or a backend '
                "subclassing its DatabaseWrapper); it wraps Django's PostgreSQL backend, or "
                "the one named by ORIGINAL_BACKEND."
            ),
            id="switchyard.E104",
        )
    ]


@register()
def check_plan_hook(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[Error]:
    """E105: ``SWITCHYARD["TENANT_PLAN"]`` names an attribute of the tenant model or a function."""
    from tenants.tenant_model import PLAN_HOOK_HINT, hook_problem

    try:
        problem = hook_problem()
    except (ImproperlyConfigured, LookupError):
        return []  # no usable TENANT_MODEL or unknown SWITCHYARD keys: reported elsewhere
    if problem is None:
        return []
    return [Error(problem, hint=PLAN_HOOK_HINT, id="switchyard.E105")]


def _stored_plans() -> list[tuple[str, Any]]:
    """Return ``(schema name, plan)`` of every tenant, the plan read through the hook."""
    from django_tenants.utils import get_tenant_model

    from tenants.tenant_model import hook_problem, plan_field, plan_or_none

    if hook_problem() is not None:
        return []  # E105 says why
    tenants = get_tenant_model()._default_manager
    field = plan_field()
    if field is not None:  # one query for the plan column
        return list(tenants.values_list("schema_name", field))
    return [(tenant.schema_name, plan_or_none(tenant)) for tenant in tenants.iterator()]


@register(Tags.database)
def check_stored_plans(
    app_configs: Sequence[Any] | None = None, databases: Iterable[str] | None = None, **kwargs: Any
) -> list[Error]:
    """E102: every tenant's plan (via the hook) and every platform flag's plans are in ``PLANS``."""
    from tenants.models import PlatformFlag
    from tenants.plans import plans_problems, unknown_plan_message

    value = _configured_plans()
    if not databases or "default" not in databases or value is None or plans_problems(value):
        return []
    errors = []
    try:
        stored = _stored_plans()
        flagged = list(PlatformFlag.objects.values_list("name", "plans"))
    except DatabaseError:
        return []  # not migrated yet: migrate runs the checks before it creates the tables
    for schema_name, plan in stored:
        if plan is not None and plan not in value:
            errors.append(
                Error(
                    f"Tenant {schema_name!r} is on plan {plan!r}: {unknown_plan_message(plan)}",
                    hint="Change the tenant's plan, or add the plan to SWITCHYARD['PLANS'].",
                    id="switchyard.E102",
                )
            )
    for name, flag_plans in flagged:
        errors.extend(
            Error(
                f"Platform flag {name!r} targets plan {plan!r}: {unknown_plan_message(plan)}",
                hint="Edit the flag in the platform admin, or add the plan to SWITCHYARD['PLANS'].",
                id="switchyard.E102",
            )
            for plan in flag_plans
            if plan not in value
        )
    return errors


@register()
def check_waffle_cache(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """W101: platform flags need a waffle cache whose keys carry no schema."""
    if getattr(django_settings, "WAFFLE_FLAG_MODEL", "") != "switchyard_tenants.PlatformFlag":
        return []
    alias = getattr(django_settings, "WAFFLE_CACHE_NAME", "default")
    options = django_settings.CACHES.get(alias, {})
    if "django_tenants" not in str(options.get("KEY_FUNCTION", "")):
        return []
    return [
        Warning(
            f"WAFFLE_CACHE_NAME is {alias!r}, a cache whose keys carry the tenant schema: a "
            "platform flag saved in the public admin would stay stale in every tenant.",
            hint='Point WAFFLE_CACHE_NAME at a plain alias, e.g. SWITCHYARD["CACHE"].',
            id="switchyard.W101",
        )
    ]


APP_CONFIG_PATH = "tenants.apps.TenantsConfig"


@register()
def check_shared_apps_entry(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """W102: ``SHARED_APPS`` names the tenants app by its ``AppConfig`` path."""
    shared = list(getattr(django_settings, "SHARED_APPS", []))
    if "tenants" not in shared or APP_CONFIG_PATH in shared:
        return []
    return [
        Warning(
            "SHARED_APPS lists Switchyard's tenants app as \"tenants\": django-tenants' admin "
            "index finds its label (switchyard_tenants) only from the AppConfig path, and shows "
            'the platform flags as "Not available for this type of schema".',
            hint=f'Write "{APP_CONFIG_PATH}" instead of "tenants" in SHARED_APPS.',
            id="switchyard.W102",
        )
    ]


@register()
def check_condition_plans(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """E103: every ``Plan``/``PlanAtLeast`` of a registered strategy names a configured plan."""
    from conditions.naming import suggestion
    from engine.registry import registries
    from tenants.plans import plans_problems

    value = _configured_plans()
    if value is None or plans_problems(value):
        return []
    errors: list[CheckMessage] = []
    for key, registry in sorted(registries().items()):
        for strategy in registry.strategies():
            for name in sorted(plan_names(strategy.condition)):
                if name not in value:
                    errors.append(
                        Error(
                            f"Strategy {strategy.slug!r} of registry {key!r} has the condition "
                            f"{strategy.condition}, naming the unknown plan {name!r}."
                            f"{suggestion(name, value)}",
                            hint=f'Valid plans (SWITCHYARD["PLANS"]): {", ".join(value)}.',
                            obj=strategy,
                            id="switchyard.E103",
                        )
                    )
    return errors


def plan_names(condition: Any) -> set[str]:
    """Return every plan name the ``Plan``/``PlanAtLeast`` leaves of ``condition`` mention."""
    from tenants.conditions import Plan, PlanAtLeast

    if isinstance(condition, Plan | PlanAtLeast):
        return set(condition.args)
    found: set[str] = set()
    for child in getattr(condition, "conditions", ()):
        found |= plan_names(child)
    inner = getattr(condition, "condition", None)
    if inner is not None:
        found |= plan_names(inner)
    return found
