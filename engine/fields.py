"""Model fields storing strategies: ``StrategyField`` (one), ``MultipleStrategyField`` (a list).

The database holds slugs only (``varchar(100)``, ``text[]``); the attribute reads as strategy
classes. Nothing about a registry's strategies goes into ``deconstruct()``, so adding or
removing a strategy never creates a migration. A stored slug that is no longer registered reads
as a ``MissingStrategy`` (falsy, carrying the slug), is logged once per process, and is written
back unchanged by a ``save()`` that did not touch it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from functools import partialmethod
from typing import TYPE_CHECKING, Any

from django.contrib.postgres.fields import ArrayField
from django.core import checks, exceptions
from django.db import models
from django.db.models.query_utils import DeferredAttribute
from django.forms import TextInput

from conditions import Context
from conditions.naming import echo, suggestion
from engine.exceptions import UnknownStrategy, unknown_strategy_error
from engine.registry import Registry, RegistryMeta, get_registry, registries
from engine.strategy import SLUG_MAX_LENGTH, Strategy
from engine.values import MissingStrategy, RegistryRef, registry_key_of, slug_of

if TYPE_CHECKING:
    from django.forms import Field as FormField

logger = logging.getLogger("switchyard.engine")

# (model label, field name, slug) of the missing slugs already logged by this process.
_logged: set[tuple[str, str, str]] = set()
_logged_lock = threading.Lock()


class _StrategyFieldBase:
    """What both model fields share: the lazily resolved registry and reading stored slugs."""

    _registry_ref: RegistryRef
    name: str
    model: type[models.Model]

    @property
    def registry(self) -> type[Registry]:
        """The registry (resolved on use, so a key may name a registry discovered later)."""
        return get_registry(self._registry_ref)

    @property
    def registry_key(self) -> str:
        return registry_key_of(self._registry_ref)

    def strategy_for(self, slug: str | None) -> type[Strategy] | MissingStrategy | None:
        """Return the strategy class stored as ``slug`` (a ``MissingStrategy`` if unknown)."""
        if not slug:
            return None
        ref = self._registry_ref
        registry = ref if isinstance(ref, RegistryMeta) else get_registry(ref)
        # The registry's own immutable map (what Registry.get reads): one lookup per read.
        strategy = registry._members.by_slug.get(slug)
        if strategy is not None:
            return strategy
        self._log_missing(slug)
        return MissingStrategy(registry.key, slug)

    def _log_missing(self, slug: str) -> None:
        key = (self.model._meta.label, self.name, slug)
        with _logged_lock:
            if key in _logged:
                return
            _logged.add(key)
        logger.warning(
            "%s.%s holds %s, which is not a strategy of %r: it reads as a MissingStrategy and "
            "is kept as it is when the row is saved",
            self.model._meta.label,
            self.name,
            echo(slug),
            self.registry_key,
        )

    def _check_registry(self) -> list[checks.CheckMessage]:
        key = self.registry_key
        if key in registries():
            return []
        known = sorted(registries())
        return [
            checks.Error(
                f"{type(self).__name__} {self.model._meta.label}.{self.name} stores strategies "
                f"of registry {key!r}, which is not registered.{suggestion(key, known)}",
                hint="Define a Registry with this key in an installed app's strategies module, "
                f"or fix the key. Registered keys: {', '.join(known) or 'none'}.",
                obj=self,
                id="switchyard.E020",
            )
        ]

    def _stored_value(self, instance: models.Model | None) -> Any:
        """Return the value of this field in ``instance``'s row (one query), or None if new."""
        if instance is None or instance._state.adding or instance.pk is None:
            return None
        manager = type(instance)._base_manager.using(instance._state.db)
        return manager.filter(pk=instance.pk).values_list(self.name, flat=True).first()


class StrategyDescriptor(DeferredAttribute):
    """Reads a ``StrategyField`` as the strategy class; accepts a class, instance or slug."""

    field: StrategyField

    def __get__(self, instance: Any, cls: Any = None) -> Any:
        if instance is None:
            return self
        try:
            slug = instance.__dict__[self.field.attname]
        except KeyError:  # deferred: Django loads it
            slug = super().__get__(instance, cls)
        return self.field.strategy_for(slug)

    def __set__(self, instance: Any, value: Any) -> None:
        slug = self.field.to_python(value)
        # "No strategy" reads as None; a column without NULL stores it as "".
        instance.__dict__[self.field.attname] = "" if slug is None and not self.field.null else slug

    def raw(self, instance: Any) -> str | None:
        """Return the stored slug itself (loading a deferred field)."""
        return super().__get__(instance, type(instance))


class StrategyField(_StrategyFieldBase, models.CharField):  # type: ignore[type-arg]
    """Stores one strategy of ``registry`` (a class or its key) as its slug in a ``varchar``.

    ``obj.field`` is the strategy class (``None`` when blank, a ``MissingStrategy`` when the
    slug is no longer registered); ``obj.get_<field>_strategy(context)`` builds an instance.
    """

    descriptor_class = StrategyDescriptor
    description = "A strategy of a Switchyard registry, stored as its slug"

    def __init__(self, registry: RegistryRef, *args: Any, **kwargs: Any) -> None:
        self._registry_ref = registry
        registry_key_of(registry)  # fail early on a wrong type
        if kwargs.get("choices") is not None:
            raise TypeError(
                "StrategyField takes no choices: they are the registry's strategies, "
                "offered per request by the form field."
            )
        kwargs.setdefault("max_length", SLUG_MAX_LENGTH)
        default = kwargs.get("default")
        if _is_strategy(default) or isinstance(default, Strategy | MissingStrategy):
            # Django would call a class default, and serialise it into migrations: store slugs.
            kwargs["default"] = slug_of(default)
        super().__init__(*args, **kwargs)

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        return [*super().check(**kwargs), *self._check_registry()]

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["registry"] = self.registry_key
        if kwargs.get("max_length") == SLUG_MAX_LENGTH:
            del kwargs["max_length"]
        return name, path, args, kwargs

    def contribute_to_class(
        self, cls: type[models.Model], name: str, *args: Any, **kwargs: Any
    ) -> None:
        super().contribute_to_class(cls, name, *args, **kwargs)
        method = f"get_{self.name}_strategy"
        if method not in cls.__dict__:
            setattr(cls, method, partialmethod(_build_strategy, field=self))

    def to_python(self, value: Any) -> str | None:
        if value is None or isinstance(value, str):
            return value  # a slug needs no registry (migrations run without it)
        return slug_of(value, self.registry)

    def value_from_object(self, obj: models.Model) -> str | None:
        descriptor: StrategyDescriptor = getattr(type(obj), self.attname)
        return descriptor.raw(obj)

    def pre_save(self, model_instance: models.Model, add: bool) -> str | None:
        return self.value_from_object(model_instance)  # the slug itself: "" stays ""

    def validate(self, value: Any, model_instance: models.Model | None) -> None:
        super().validate(value, model_instance)
        if value in self.empty_values or value in self.registry:
            return
        # A slug no longer registered may stay as it was stored; it may not be newly written.
        if value != self._stored_value(model_instance):
            raise unknown_strategy_error(self.registry, value)

    @property
    def flatchoices(self) -> list[tuple[Any, str]]:
        """Every strategy and its label: how the admin displays a stored value."""
        return [(strategy, str(strategy.label)) for strategy in self.registry.strategies()]

    def formfield(self, **kwargs: Any) -> FormField | None:
        from engine.forms import StrategyChoiceField

        widget = kwargs.get("widget")
        if widget is not None and (
            isinstance(widget, TextInput)
            or (isinstance(widget, type) and issubclass(widget, TextInput))
        ):
            del kwargs["widget"]  # the admin's CharField default cannot offer choices
        kwargs.setdefault("form_class", StrategyChoiceField)
        kwargs.setdefault("registry", self._registry_ref)
        return models.Field.formfield(self, **kwargs)


class _SlugText(models.TextField):  # type: ignore[type-arg]
    """The element of a ``MultipleStrategyField``: a slug, also given as a strategy."""

    def __init__(self, owner: MultipleStrategyField, **kwargs: Any) -> None:
        self.owner = owner
        super().__init__(**kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        return name, path, args, {**kwargs, "owner": self.owner}

    def to_python(self, value: Any) -> str | None:
        if value is None or isinstance(value, str):
            return value
        return slug_of(value, self.owner.registry)


class MultipleStrategyDescriptor(DeferredAttribute):
    """Reads a ``MultipleStrategyField`` as a tuple of strategy classes; accepts any iterable."""

    field: MultipleStrategyField

    def __get__(self, instance: Any, cls: Any = None) -> Any:
        if instance is None:
            return self
        raw = super().__get__(instance, cls)
        if raw is None:
            return None
        return tuple(self.field.strategy_for(slug) for slug in raw)

    def __set__(self, instance: Any, value: Any) -> None:
        slugs = self.field.slugs_of(value)
        instance.__dict__[self.field.attname] = (
            [] if slugs is None and not self.field.null else slugs
        )

    def raw(self, instance: Any) -> list[str] | None:
        """Return the stored slugs themselves (loading a deferred field)."""
        return super().__get__(instance, type(instance))


class MultipleStrategyField(_StrategyFieldBase, ArrayField):  # type: ignore[type-arg]
    """Stores strategies of ``registry`` as a PostgreSQL ``text[]`` of slugs, in the given order.

    ``obj.field`` is a tuple of strategy classes (``MissingStrategy`` for slugs no longer
    registered); ``obj.get_<field>_strategies(context)`` builds instances. No length limit.
    """

    descriptor_class = MultipleStrategyDescriptor
    description = "Strategies of a Switchyard registry, stored as a list of slugs"

    def __init__(self, registry: RegistryRef, **kwargs: Any) -> None:
        self._registry_ref = registry
        registry_key_of(registry)
        for unsupported in ("base_field", "size", "choices"):
            if kwargs.get(unsupported) is not None:
                raise TypeError(f"MultipleStrategyField takes no {unsupported}.")
            kwargs.pop(unsupported, None)
        kwargs.setdefault("default", list)
        super().__init__(base_field=_SlugText(self), **kwargs)

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        return [*super().check(**kwargs), *self._check_registry()]

    def deconstruct(self) -> Any:
        name, _path, args, kwargs = super().deconstruct()
        # Django 6 leaves out a size of None; Django 5.2 passes it.
        kwargs.pop("base_field", None)
        kwargs.pop("size", None)
        kwargs["registry"] = self.registry_key
        return name, "engine.fields.MultipleStrategyField", args, kwargs

    def contribute_to_class(
        self, cls: type[models.Model], name: str, *args: Any, **kwargs: Any
    ) -> None:
        super().contribute_to_class(cls, name, *args, **kwargs)
        method = f"get_{self.name}_strategies"
        if method not in cls.__dict__:
            setattr(cls, method, partialmethod(_build_strategies, field=self))

    def slugs_of(self, value: Any) -> list[str] | None:
        """Return the list of slugs that stores ``value`` (an iterable of strategies or slugs)."""
        if value is None:
            return None
        if isinstance(value, str) or not isinstance(value, Iterable):
            raise TypeError(
                f"{self.model._meta.label}.{self.name} expects a list of strategies or slugs, "
                f"got {echo(value)}."
            )
        registry = self.registry
        return [slug_of(item, registry) for item in value]  # type: ignore[misc]

    def to_python(self, value: Any) -> list[str] | None:
        if isinstance(value, str):
            value = super().to_python(value)  # a JSON list, when deserialising
        return self.slugs_of(value)

    def value_from_object(self, obj: models.Model) -> list[str] | None:
        descriptor: MultipleStrategyDescriptor = getattr(type(obj), self.attname)
        raw = descriptor.raw(obj)
        return None if raw is None else list(raw)

    def pre_save(self, model_instance: models.Model, add: bool) -> list[str] | None:
        return self.value_from_object(model_instance)

    def validate(self, value: Any, model_instance: models.Model | None) -> None:
        super().validate(value, model_instance)
        if not value:
            return
        seen: set[str] = set()
        for slug in value:
            if slug in seen:
                raise exceptions.ValidationError(
                    "Strategy %(slug)s is listed twice.",
                    code="duplicate",
                    params={"slug": echo(slug)},
                )
            seen.add(slug)
        registry = self.registry
        unknown = [slug for slug in value if slug not in registry]
        if unknown:
            stored = set(self._stored_value(model_instance) or ())
            for slug in unknown:
                if slug not in stored:
                    raise unknown_strategy_error(registry, slug)

    def formfield(self, **kwargs: Any) -> FormField | None:
        from engine.forms import StrategyMultipleChoiceField

        kwargs.setdefault("form_class", StrategyMultipleChoiceField)
        # The default (list) is callable, but needs no hidden initial to tell changes apart.
        kwargs.setdefault("show_hidden_initial", False)
        kwargs.setdefault("registry", self._registry_ref)
        return models.Field.formfield(self, **kwargs)


def _is_strategy(value: Any) -> bool:
    return isinstance(value, type) and isinstance(getattr(value, "registry", None), RegistryMeta)


def _build_strategy(
    instance: models.Model, context: Context | None = None, *, field: StrategyField
) -> Strategy | None:
    """Return an instance of the stored strategy built for ``context`` (None when blank)."""
    strategy = getattr(instance, field.attname)
    if strategy is None:
        return None
    if isinstance(strategy, MissingStrategy):
        registry = field.registry
        raise UnknownStrategy(registry.key, strategy.slug, registry.slugs())
    return field.registry.build(strategy, context)  # type: ignore[arg-type]  # None: no context


def _build_strategies(
    instance: models.Model, context: Context | None = None, *, field: MultipleStrategyField
) -> list[Strategy]:
    """Return instances of the stored strategies, in order, built for ``context``."""
    registry = field.registry
    built = []
    for strategy in getattr(instance, field.attname) or ():
        if isinstance(strategy, MissingStrategy):
            raise UnknownStrategy(registry.key, strategy.slug, registry.slugs())
        built.append(registry.build(strategy, context))  # type: ignore[arg-type]
    return built
