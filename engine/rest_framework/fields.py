"""``StrategyField``: a serializer field for a strategy the request may use."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.fields import get_attribute, get_error_detail, iter_options

from conditions import Context
from conditions.naming import echo
from engine import sets
from engine.registry import Registry, get_registry
from engine.rest_framework.context import request_context
from engine.storage import writes
from engine.storage.reads import stored_selections
from engine.strategy import Strategy
from engine.values import MissingStrategy

# A serializer context key for a conditions.Context, where there is no request (a task).
CONTEXT_KEY = "switchyard_context"


class StrategyField(serializers.Field):
    """A strategy of ``registry`` (a class or its key), written as its slug, read as its class.

    Input is validated exactly like ``Registry.select``: the slug must be registered and
    available to the request's context (the serializer context's ``request``, or a
    ``conditions.Context`` under ``"switchyard_context"``), else a 400 names it and suggests
    the closest slug. With ``user_selection=True`` it is validated as the request user's own
    choice (the registry must be ``user_selectable``). Its ``choices`` (OPTIONS, the browsable
    API) are only the strategies available to the request. When the serializer updates an
    instance, the value it holds may be sent back unchanged even if it is no longer available
    (keeping a value is not choosing it), as in the forms.
    """

    default_error_messages = {
        "invalid": "Expected a strategy slug (a string), got {type}.",
        "blank": "This field may not be blank.",
        "anonymous": "A user's own selection needs an authenticated user.",
    }

    def __init__(
        self,
        registry: type[Registry] | str,
        *,
        user_selection: bool = False,
        allow_blank: bool = False,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("style", {"base_template": "select.html"})
        super().__init__(**kwargs)
        self._registry = registry
        self.user_selection = user_selection
        self.allow_blank = allow_blank

    @property
    def registry(self) -> type[Registry]:
        """The registry, looked up now (a key given at class creation resolves late)."""
        return get_registry(self._registry)

    def switchyard_context(self) -> Context:
        """Return the context input is validated against; ``ImproperlyConfigured`` if none."""
        context = self.context.get(CONTEXT_KEY)
        if isinstance(context, Context):
            return context
        request = self.context.get("request")
        if request is None:
            raise ImproperlyConfigured(
                f"{type(self).__name__} {self.field_name!r} needs the request in the serializer "
                f"context (context={{'request': request}}), or a conditions.Context under "
                f"{CONTEXT_KEY!r}: it only accepts strategies that context may use."
            )
        return request_context(request)

    def current_slugs(self) -> frozenset[str]:
        """Return the slugs the instance being updated holds (none when creating)."""
        field = self.parent if isinstance(self.parent, serializers.ListField) else self
        instance = getattr(field.parent, "instance", None)
        if instance is None or field.source == "*" or isinstance(instance, list | tuple):
            return frozenset()
        try:
            value = get_attribute(instance, field.source_attrs)
        except (AttributeError, KeyError):
            return frozenset()
        values = value if isinstance(value, list | tuple) else [value]
        return frozenset(slug for item in values if (slug := self.to_representation(item)))

    def to_internal_value(self, data: Any) -> type[Strategy] | MissingStrategy | str:
        if not isinstance(data, str):
            self.fail("invalid", type=type(data).__name__)
        if data == "":
            if self.allow_blank:
                return ""
            self.fail("blank")
        registry = self.registry
        if data in self.current_slugs():
            return registry.get(data) if data in registry else MissingStrategy(registry.key, data)
        context = self.switchyard_context()
        user = None
        if self.user_selection:
            user = context.user
            if user is None or not getattr(user, "is_authenticated", False):
                self.fail("anonymous")
        try:
            return registry.validate_selection(data, context, user)
        except DjangoValidationError as error:
            raise serializers.ValidationError(get_error_detail(error)) from None

    def to_representation(self, value: Any) -> str | None:
        if value is None or isinstance(value, str):
            return value
        # A strategy class or instance, or a MissingStrategy (a slug no longer registered).
        slug = getattr(value, "slug", None)
        if not isinstance(slug, str):
            raise TypeError(f"{self.field_name}: {value!r} is not a strategy or a slug")
        return slug

    @property
    def choices(self) -> dict[str, str]:
        """``slug -> label`` of the strategies available to the request (none without one)."""
        if self.context.get(CONTEXT_KEY) is None and self.context.get("request") is None:
            return {}
        context = self.switchyard_context()
        if self.user_selection and not self.registry.user_selectable:
            return {}
        return dict(self.registry.choices(context))

    @property
    def grouped_choices(self) -> dict[str, str]:
        return self.choices

    def iter_options(self) -> Any:
        """Options for the browsable API's select box."""
        return iter_options(self.grouped_choices)


class MultipleStrategyField(serializers.ListField):
    """A list of strategies of ``registry``, each validated like a ``StrategyField``."""

    default_error_messages = {"duplicate": "Strategy {slug} is listed twice."}

    def __init__(self, registry: type[Registry] | str, **kwargs: Any) -> None:
        kwargs["child"] = StrategyField(registry)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> list[Any]:
        chosen: list[Any] = super().to_internal_value(data)
        seen: set[str] = set()
        for item in chosen:
            slug = self.child.to_representation(item)
            if slug in seen:
                self.fail("duplicate", slug=echo(slug))
            seen.add(slug)
        return chosen


class StrategySetField(StrategyField):
    """The set of a ``multiple`` registry: a list of slugs, validated like ``Registry.select``.

    The whole list is checked at once (``Registry.validate_set``: a list, no duplicates, the
    mandatory strategies, ``min_selected`` to ``max_selected``, each slug available); the
    slugs stored now may stay even when no longer available. Cleans to a tuple of slugs.
    """

    default_error_messages = {
        **StrategyField.default_error_messages,
        "invalid": "Expected a list of strategy slugs, got {type}.",
    }

    def __init__(self, registry: type[Registry] | str, **kwargs: Any) -> None:
        super().__init__(registry, **kwargs)
        self.style = {"base_template": "list_field.html"}

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, list | tuple):
            self.fail("invalid", type=type(data).__name__)
        context = self.switchyard_context()
        user = None
        if self.user_selection:
            user = context.user
            if user is None or not getattr(user, "is_authenticated", False):
                self.fail("anonymous")
        stored = stored_selections(context)
        key = self.registry.key
        keep = sets.split(
            stored.user_choice(key) if user is not None else stored.tenant_choice(key)
        )
        try:
            return writes.validate_set(self.registry, data, context, user, keep=keep)
        except DjangoValidationError as error:
            raise serializers.ValidationError(get_error_detail(error)) from None

    def to_representation(self, value: Any) -> list[str]:  # type: ignore[override]
        if isinstance(value, str):
            return list(sets.split(value))
        return [str(StrategyField.to_representation(self, item)) for item in value or ()]
