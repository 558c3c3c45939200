"""The project's tenant model as Switchyard reads it: the plan hook, a display name, its fields.

Switchyard works with any django-tenants ``TENANT_MODEL`` (``get_tenant_model()``): the
ready-made ``tenants.models.Tenant`` or a project's own. Beyond ``schema_name`` it reads only
what goes through here: the tenant's plan through the hook ``SWITCHYARD["TENANT_PLAN"]`` (an
attribute name, ``"plan"`` by default, or the dotted path of a function ``(tenant) -> plan``),
and a name to show (the model's ``name`` field when it has one). Every plan consumer (the plan
conditions, platform flags, provisioning, reports, the platform page, the checks) calls
``plan_of``; the system check ``switchyard.E105`` reports a hook that cannot work.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.utils.module_loading import import_string
from django_tenants.utils import get_tenant_model

from engine.conf import SETTING_NAME, settings

logger = logging.getLogger("switchyard.tenants")

PLAN_HOOK_HINT = (
    'Set SWITCHYARD["TENANT_PLAN"] to the name of the tenant model\'s attribute that holds the '
    'plan (a field or a property, e.g. "tier"), or to the dotted path of a function '
    '(tenant) -> plan name, e.g. "billing.plans.plan_of". It must give one of '
    'SWITCHYARD["PLANS"], or None for "no plan".'
)

PlanHook = str | Callable[[Any], Any]


# The resolved hook, kept until SWITCHYARD changes: platform flags ask for it on every
# evaluation, and reading the setting costs more than the rest of plan_of.
_resolved: PlanHook | None = None


def plan_hook() -> PlanHook:
    """Return the plan hook: an attribute name, or the function the setting names."""
    global _resolved
    if _resolved is None:
        _resolved = _resolve(settings.TENANT_PLAN)
    return _resolved


def _resolve(value: object) -> PlanHook:
    if callable(value):
        return value
    if not isinstance(value, str) or not value.strip():
        raise ImproperlyConfigured(
            f'SWITCHYARD["TENANT_PLAN"] is {value!r}: expected an attribute name or the dotted '
            "path of a function."
        )
    if "." in value:
        return _function(value)
    return value


def _forget_hook(*, setting: str, **kwargs: Any) -> None:
    global _resolved
    if setting == SETTING_NAME:
        _resolved = None


setting_changed.connect(_forget_hook)


@lru_cache(maxsize=8)
def _function(path: str) -> Callable[[Any], Any]:
    try:
        function = import_string(path)
    except ImportError as error:
        raise ImproperlyConfigured(
            f'SWITCHYARD["TENANT_PLAN"] names {path!r}, which cannot be imported: {error}'
        ) from None
    if not callable(function):
        raise ImproperlyConfigured(
            f'SWITCHYARD["TENANT_PLAN"] names {path!r}, a {type(function).__name__}, '
            "not a function (tenant) -> plan name."
        )
    return function


def plan_field() -> str | None:
    """Return the tenant model field the plan hook reads (None for a function or a property)."""
    hook = plan_hook()
    if isinstance(hook, str) and hook in field_names():
        return hook
    return None


def plan_of(tenant: Any) -> Any:
    """Return what the plan hook gives for ``tenant``: a plan name, or None for no plan."""
    hook = plan_hook()
    if isinstance(hook, str):
        return getattr(tenant, hook, None)
    return hook(tenant)


_warned: set[str] = set()


def plan_or_none(tenant: Any) -> Any:
    """Return ``plan_of(tenant)``, or None (logged once per kind of error) when the hook fails.

    For surfaces that show or target plans without deciding access by them (platform flags'
    plan targeting, reports): a broken hook (``switchyard.E105``) means "no plan" there,
    never a 500. The plan conditions call ``plan_of`` and fail closed with the error shown.
    """
    try:
        return plan_of(tenant)
    except Exception as error:
        kind = f"{type(error).__name__}: {error}"
        if kind not in _warned:
            _warned.add(kind)
            logger.warning('SWITCHYARD["TENANT_PLAN"] failed for %r: %s', tenant, kind)
        return None


def tenant_name(tenant: Any) -> str:
    """Return the name to show for ``tenant``: its ``name`` when it has one, else ``str()``."""
    name = getattr(tenant, "name", None)
    return name if isinstance(name, str) else str(tenant)


def field_names(model: Any = None) -> frozenset[str]:
    """Return the names of the concrete fields of ``model`` (default: the tenant model)."""
    model = get_tenant_model() if model is None else model
    return frozenset(field.name for field in model._meta.concrete_fields)


def hook_problem() -> str | None:
    """Return why the plan hook cannot work with the tenant model (None when it can)."""
    try:
        hook = plan_hook()
    except ImproperlyConfigured as error:
        return str(error)
    model = get_tenant_model()
    if isinstance(hook, str) and not hasattr(model, hook):
        return (
            f'SWITCHYARD["TENANT_PLAN"] is {hook!r}, but the tenant model '
            f"{model._meta.label} has no attribute {hook!r}."
        )
    return None
