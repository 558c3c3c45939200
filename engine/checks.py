"""System checks (``switchyard.E0xx`` errors, ``switchyard.W0xx`` warnings) for the engine.

Configuration mistakes surface through ``manage.py check`` (and ``runserver``/``migrate``),
each with a hint naming the setting or class to change; ``ready()`` never raises for them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings as django_settings
from django.core.checks import CheckMessage, Error, Warning, register
from django.utils.module_loading import import_string

from conditions.naming import suggestion
from engine import discovery, secrets, tenancy
from engine.conf import SETTING_NAME
from engine.conf import settings as switchyard_settings
from engine.config import config_class, secret_names
from engine.exceptions import RegistrationError
from engine.registry import created_registries, lineage, qualified_name, registries

TAG = "switchyard"
MIDDLEWARE_PATH = "engine.middleware.StrategyMiddleware"
TENANT_MIDDLEWARE_PATH = tenancy.TENANT_MIDDLEWARE_PATH
AUTH_MIDDLEWARE_PATH = "django.contrib.auth.middleware.AuthenticationMiddleware"
TENANT_KEY_FUNCTION_PATH = tenancy.TENANT_KEY_FUNCTION_PATH
PROCESS_LOCAL_BACKENDS = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
    "django.core.cache.backends.filebased.FileBasedCache",
)

AppConfigs = Sequence[Any] | None


@register(TAG)
def check_middleware(app_configs: AppConfigs = None, **kwargs: Any) -> list[CheckMessage]:
    """E001/E002: StrategyMiddleware after the tenant and auth middleware; W001: missing."""
    classes = [(path, _import(path)) for path in django_settings.MIDDLEWARE]
    ours = _first(classes, MIDDLEWARE_PATH)
    if ours is None:
        return [
            Warning(
                f"{MIDDLEWARE_PATH} is not in settings.MIDDLEWARE, so request.strategy is unset.",
                hint=f"Add {MIDDLEWARE_PATH!r} to settings.MIDDLEWARE after "
                "AuthenticationMiddleware (engine.resolve() works without it).",
                id="switchyard.W001",
            )
        ]
    errors: list[CheckMessage] = []
    for required, check_id, why in (
        (TENANT_MIDDLEWARE_PATH, "switchyard.E001", "the tenant is not known yet"),
        (AUTH_MIDDLEWARE_PATH, "switchyard.E002", "request.user is not set yet"),
    ):
        other = _first(classes, required)
        if other is None or other < ours:
            continue  # in order, or not installed (nothing to order against)
        errors.append(
            Error(
                f"{django_settings.MIDDLEWARE[ours]} comes before "
                f"{django_settings.MIDDLEWARE[other]} in settings.MIDDLEWARE: when a view "
                f"reads request.strategy, {why}.",
                hint=f"Move {django_settings.MIDDLEWARE[ours]!r} after "
                f"{django_settings.MIDDLEWARE[other]!r} in settings.MIDDLEWARE.",
                id=check_id,
            )
        )
    return errors


@register(TAG)
def check_caches(app_configs: AppConfigs = None, **kwargs: Any) -> list[CheckMessage]:
    """W002-W004, W007 and E007: cache aliases fit for tenants and for several processes."""
    messages: list[CheckMessage] = []
    caches = django_settings.CACHES
    alias = _switchyard_setting("CACHE")
    if tenancy.tenants_app_installed():
        default = caches.get("default", {})
        if not _tenant_aware(default.get("KEY_FUNCTION")):
            messages.append(
                Warning(
                    "django-tenants is installed but the 'default' cache's keys do not carry "
                    "the tenant schema: one tenant's cached values (waffle flags, sessions) "
                    "can be served to another.",
                    hint=f"Set CACHES['default']['KEY_FUNCTION'] = {TENANT_KEY_FUNCTION_PATH!r}.",
                    id="switchyard.W002",
                )
            )
    if alias not in caches:
        messages.append(
            Error(
                f"{SETTING_NAME}['CACHE'] is {alias!r}, which is not in settings.CACHES."
                f"{suggestion(str(alias), caches)}",
                hint=f"Set {SETTING_NAME}['CACHE'] to one of: {', '.join(sorted(caches))}.",
                id="switchyard.E007",
            )
        )
        return messages
    config = caches[alias]
    backend = _import(config.get("BACKEND", ""))
    local = [_import(path) for path in PROCESS_LOCAL_BACKENDS]
    if isinstance(backend, type) and any(
        isinstance(base, type) and issubclass(backend, base) for base in local
    ):
        messages.append(
            Warning(
                f"Switchyard's cache {alias!r} ({config['BACKEND']}) is local to one process: "
                "a selection or flag changed in one process is not seen by the others until "
                "their entries expire.",
                hint=f"Point {SETTING_NAME}['CACHE'] at a shared cache (Redis, Memcached), or "
                "silence switchyard.W003 when the site runs in one process.",
                id="switchyard.W003",
            )
        )
    if config.get("OPTIONS", {}).get("IGNORE_EXCEPTIONS"):
        messages.append(
            Warning(
                f"Switchyard's cache {alias!r} sets OPTIONS['IGNORE_EXCEPTIONS'] (django-redis): "
                "a dead Redis then answers every call as a miss after its socket timeout, so "
                "Switchyard cannot see the outage and back off; every request waits for the "
                "timeout.",
                hint="Remove IGNORE_EXCEPTIONS from that alias: Switchyard turns cache errors "
                "into misses itself and leaves the cache alone for CACHE_RETRY_AFTER seconds.",
                id="switchyard.W007",
            )
        )
    if _tenant_aware(config.get("KEY_FUNCTION")):
        messages.append(
            Warning(
                f"Switchyard's cache {alias!r} prefixes keys with the current schema: "
                "platform-wide entries (the flag snapshot's stamp) would become per tenant.",
                hint=f"Give {SETTING_NAME}['CACHE'] an alias without the tenant KEY_FUNCTION; "
                "Switchyard puts the schema in its own keys.",
                id="switchyard.W004",
            )
        )
    return messages


@register(TAG)
def check_registries(app_configs: AppConfigs = None, **kwargs: Any) -> list[CheckMessage]:
    """E003: a registry key held by two classes; E004: unknown default; W006: no strategies."""
    messages: list[CheckMessage] = []
    current = registries()
    for registry in created_registries():
        registered = current.get(registry.key)
        if registered is not None and registered is not registry and len(registry):
            messages.append(
                Error(
                    f"Registry key {registry.key!r} is held by two classes: "
                    f"{qualified_name(registered)} and a replaced {qualified_name(registry)} "
                    f"(its module was imported twice), which still has the strategies "
                    f"{', '.join(registry.slugs())}.",
                    hint="Import the strategies' base class from the registry's module once; "
                    "avoid importlib.reload() of strategies modules.",
                    obj=registry,
                    id="switchyard.E003",
                )
            )
    for key, registry in sorted(current.items()):
        # A set's default(s) are checked by engine.checks_sets (switchyard.E153).
        if (
            not registry.multiple
            and registry.default is not None
            and registry.default not in registry
        ):
            messages.append(
                Error(
                    f"{qualified_name(registry)}.default is {registry.default!r}, which is not "
                    f"a strategy of {key!r}.{suggestion(registry.default, registry.slugs())}",
                    hint=f"Set {registry.__name__}.default to one of: "
                    f"{', '.join(registry.slugs()) or 'no strategy yet'} (or None).",
                    obj=registry,
                    id="switchyard.E004",
                )
            )
        if not len(registry):
            messages.append(
                Warning(
                    f"Registry {key!r} ({qualified_name(registry)}) has no strategies: "
                    "resolving it raises NoStrategyAvailable.",
                    hint=f"Define a Strategy subclass with registry = {registry.__name__} and a "
                    "slug, in a module that is imported at start-up (an app's strategies.py).",
                    obj=registry,
                    id="switchyard.W006",
                )
            )
    return messages


@register(TAG)
def check_hierarchy(app_configs: AppConfigs = None, **kwargs: Any) -> list[CheckMessage]:
    """E040: unknown parent registry; E041: unknown parent slug; E042: a cycle; E043: parents
    declared in a registry without a parent; E044: a set in a hierarchy."""
    messages: list[CheckMessage] = []
    current = registries()
    for key, registry in sorted(current.items()):
        if registry.parent is not None and registry.parent not in current:
            messages.append(
                Error(
                    f"{qualified_name(registry)}.parent is {registry.parent!r}, which is no "
                    f"registered registry.{suggestion(registry.parent, current)}",
                    hint=f"Set {registry.__name__}.parent to one of: "
                    f"{', '.join(sorted(set(current) - {key}))} (or None).",
                    obj=registry,
                    id="switchyard.E040",
                )
            )
            continue
        try:
            lineage(registry)
        except RegistrationError as error:
            messages.append(
                Error(
                    str(error),
                    hint=f"Change {registry.__name__}.parent (or its parents') to break the cycle.",
                    obj=registry,
                    id="switchyard.E042",
                )
            )
            continue
        parent = current[registry.parent] if registry.parent is not None else None
        if parent is not None and (registry.multiple or parent.multiple):
            messages.append(
                Error(
                    f"{qualified_name(registry)} is a child of {parent.key!r}, and "
                    f"{'it' if registry.multiple else repr(parent.key)} holds a set "
                    "(multiple = True): a hierarchy of sets is not supported.",
                    hint=f"Remove {registry.__name__}.parent, or make both registries single.",
                    obj=registry,
                    id="switchyard.E044",
                )
            )
        messages.extend(_check_parent_slugs(registry, current))
    return messages


def _check_parent_slugs(registry: Any, current: Any) -> list[CheckMessage]:
    """E041/E043: each strategy's ``parents`` names slugs of its registry's parent."""
    messages: list[CheckMessage] = []
    parent = current.get(registry.parent) if registry.parent is not None else None
    for strategy in registry.strategies():
        declared = strategy.parents
        if declared is None:
            continue
        if parent is None:
            messages.append(
                Error(
                    f"{qualified_name(strategy)}.parents is {sorted(declared)!r}, but its "
                    f"registry {registry.key!r} has no parent registry.",
                    hint=f"Set {registry.__name__}.parent to the registry those slugs belong "
                    f"to, or remove {strategy.__name__}.parents.",
                    obj=strategy,
                    id="switchyard.E043",
                )
            )
            continue
        for slug in sorted(declared - set(parent.slugs())):
            messages.append(
                Error(
                    f"{qualified_name(strategy)}.parents names {slug!r}, which is not a strategy "
                    f"of the parent registry {parent.key!r}.{suggestion(slug, parent.slugs())}",
                    hint=f"Use slugs of {parent.key!r}: {', '.join(parent.slugs()) or 'none'}.",
                    obj=strategy,
                    id="switchyard.E041",
                )
            )
    return messages


@register(TAG)
def check_settings(app_configs: AppConfigs = None, **kwargs: Any) -> list[CheckMessage]:
    """E005: unknown SWITCHYARD keys; E006: malformed values; W005: unknown entry points."""
    messages: list[CheckMessage] = []
    try:
        unknown = switchyard_settings.unknown_keys()
    except Exception as error:  # SWITCHYARD is not even a dict
        return [Error(str(error), hint=f"Set {SETTING_NAME} to a dict.", id="switchyard.E006")]
    for key in unknown:
        messages.append(
            Error(
                switchyard_settings.unknown_key_message(key),
                hint=f"Remove or rename {SETTING_NAME}[{key!r}].",
                id="switchyard.E005",
            )
        )
    validators: list[tuple[str, Callable[[Any], bool], str]] = [
        ("STRATEGIES_MODULE", lambda v: isinstance(v, str) and bool(v), "a module name"),
        (
            "ENTRY_POINTS_ALLOW",
            lambda v: discovery.valid_names(v, allow_none=True),
            "None or a list of entry-point names",
        ),
        ("ENTRY_POINTS_DENY", discovery.valid_names, "a list of entry-point names"),
        (
            "CACHE_TIMEOUT",
            lambda v: v is None or (type(v) is int and v > 0),
            "a positive number of seconds, or None for no expiry",
        ),
        ("STRICT_CONDITIONS", lambda v: isinstance(v, bool), "True or False"),
        ("CACHE_RETRY_AFTER", _seconds, "a number of seconds (0 or more)"),
        ("CACHE_WARNING_INTERVAL", _seconds, "a number of seconds (0 or more)"),
        ("STALENESS_BOUND", lambda v: _seconds(v) and v > 0, "a positive number of seconds"),
    ]
    for name, valid, expected in validators:
        value = _switchyard_setting(name)
        if not valid(value):
            messages.append(
                Error(
                    f"{SETTING_NAME}[{name!r}] is {value!r}; expected {expected}.",
                    hint=f"Fix {SETTING_NAME}[{name!r}] in your settings.",
                    id="switchyard.E006",
                )
            )
    names = sorted({point.name for point in _all_entry_points()})
    for setting_name in ("ENTRY_POINTS_ALLOW", "ENTRY_POINTS_DENY"):
        value = _switchyard_setting(setting_name)
        if not discovery.valid_names(value):
            continue
        for name in value:
            if name not in names:
                messages.append(
                    Warning(
                        f"{SETTING_NAME}[{setting_name!r}] names {name!r}, which is no installed "
                        f"entry point of group {discovery.ENTRY_POINT_GROUP!r}."
                        f"{suggestion(name, names)}",
                        hint=f"Installed: {', '.join(names) or 'none'}.",
                        id="switchyard.W005",
                    )
                )
    return messages


def _seconds(value: object) -> bool:
    return type(value) in (int, float) and value >= 0  # type: ignore[operator]


def _all_entry_points() -> list[Any]:
    from importlib.metadata import entry_points

    return list(entry_points(group=discovery.ENTRY_POINT_GROUP))


def _switchyard_setting(name: str) -> Any:
    return getattr(switchyard_settings, name)


def _tenant_aware(key_function: Any) -> bool:
    """Return whether a cache KEY_FUNCTION puts the schema in keys (make_key, or marked so)."""
    if key_function is None:
        return False
    function = _import(key_function) if isinstance(key_function, str) else key_function
    if function is None:
        return False
    if getattr(function, "switchyard_tenant_aware", False):
        return True
    return f"{function.__module__}.{function.__qualname__}" == TENANT_KEY_FUNCTION_PATH


def _import(path: str) -> Any:
    try:
        return import_string(path)
    except ImportError:
        return None  # Django's own checks report unimportable paths


def _first(classes: list[tuple[str, Any]], path: str) -> int | None:
    """Return the index of the first middleware that is (a subclass of) ``path``'s class."""
    target = _import(path)
    if target is None:
        return None
    for index, (_, cls) in enumerate(classes):
        if isinstance(cls, type) and issubclass(cls, target):
            return index
    return None


@register(TAG)
def check_secret_keys(app_configs: AppConfigs = None, **kwargs: Any) -> list[CheckMessage]:
    """E050: a strategy declares secret fields and no key is set; E051: a key is not Fernet."""
    errors: list[CheckMessage] = [
        Error(
            f"{problem}",
            hint='Generate keys with: python -c "from cryptography.fernet import Fernet; '
            'print(Fernet.generate_key().decode())"',
            id="switchyard.E051",
        )
        for problem in secrets.key_errors()
    ]
    if secrets.configured_keys():
        return errors
    declaring = [
        qualified_name(strategy)
        for registry in registries().values()
        for strategy in registry.strategies()
        if (config := config_class(strategy)) is not None and secret_names(config)
    ]
    if declaring:
        errors.append(
            Error(
                f"{', '.join(declaring)} declare secret configuration fields, but "
                f'{SETTING_NAME}["SECRET_KEYS"] is empty: their secrets cannot be encrypted.',
                hint=f'Set {SETTING_NAME}["SECRET_KEYS"] to a list of Fernet keys (the first '
                "encrypts, all decrypt), read from the environment, never from the code.",
                id="switchyard.E050",
            )
        )
    return errors
