"""What the API reads and writes: a registry as the request sees it, and one stored selection."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.urls import NoReverseMatch
from rest_framework import serializers
from rest_framework.reverse import reverse
from rest_framework.settings import api_settings

from conditions import Context
from conditions.naming import ECHO_LIMIT
from engine import fields as model_fields
from engine import sets
from engine.exceptions import NoStrategyAvailable
from engine.registry import Registry
from engine.resolution import Skipped
from engine.rest_framework.context import request_context
from engine.rest_framework.fields import (
    CONTEXT_KEY,
    MultipleStrategyField,
    StrategyField,
    StrategySetField,
)
from engine.set_resolution import AnyResolution
from engine.storage.reads import stored_selections

# Sent by the browsable API's forms along with the data; not a field.
IGNORED_INPUT = frozenset({"csrfmiddlewaretoken"})
# How many fields a body may not name are listed one by one in an error.
OTHER_FIELDS_LISTED = 10
# What a strategy serializer field keeps of the arguments ModelSerializer derives from a model
# field (max_length and the model's validators are about slugs; the registry checks those).
KEPT_FIELD_ARGUMENTS = frozenset(
    {"required", "allow_null", "default", "label", "help_text", "read_only", "allow_empty"}
)


def in_force_data(resolution: AnyResolution | None) -> dict[str, Any] | None:
    """Return the strategy in force and why, as the API shows it (None: nothing available).

    For a set: ``slugs`` and ``strategies`` (each with its own reason) too; ``slug`` and
    ``label`` join them with commas.
    """
    if resolution is None:
        return None
    data: dict[str, Any] = {
        "slug": resolution.slug,
        "label": ", ".join(str(cls.label) for cls in resolution.strategy_classes),
        "reason": resolution.reason.value,
        "reason_text": resolution.reason.description,
    }
    if resolution.multiple:
        reasons = resolution.reasons  # type: ignore[union-attr]
        data["slugs"] = list(resolution.slugs)
        data["strategies"] = [
            {"slug": cls.slug, "label": str(cls.label), "reason": why.value}
            for cls, why in zip(resolution.strategy_classes, reasons, strict=True)
        ]
    return data


def stored_value(registry: type[Registry], value: str | None) -> str | list[str] | None:
    """Return a stored selection as the API shows it: a slug, or a set's list of slugs."""
    if registry.multiple:
        return list(sets.split(value)) if value is not None else None
    return value


def skipped_data(skipped: tuple[Skipped, ...]) -> list[dict[str, Any]]:
    """Return the candidates passed over (stored selections, the default), each with its why."""
    return [{**skip.as_dict(), "text": str(skip)} for skip in skipped]


def resolve_or_none(registry: type[Registry], context: Context) -> AnyResolution | None:
    """Return the resolution of ``registry``, or None when no strategy is available."""
    try:
        return registry.resolve(context)
    except NoStrategyAvailable:
        return None


class RegistrySerializer(serializers.BaseSerializer):
    """A registry for the request: its strategies (available, why), selections, what is in force.

    Read-only; needs the request (or a ``conditions.Context`` under ``"switchyard_context"``)
    in its context.
    """

    def to_representation(self, registry: type[Registry]) -> dict[str, Any]:
        request = self.context.get("request")
        context = self.context.get(CONTEXT_KEY)
        if not isinstance(context, Context):
            if request is None:
                raise ImproperlyConfigured(
                    f"{type(self).__name__} needs the request in its context "
                    f"(context={{'request': request}}), or a conditions.Context under "
                    f"{CONTEXT_KEY!r}."
                )
            context = request_context(request)
        explanation = registry.explain(context)
        stored = stored_selections(context)
        own = registry.user_selectable and bool(getattr(context.user, "is_authenticated", False))
        descriptions = {strategy.slug: strategy for strategy in registry.strategies()}
        return {
            "key": registry.key,
            "label": str(registry.label),
            "description": str(registry.description),
            "default": list(registry.defaults()) if registry.multiple else registry.default,
            "user_selectable": registry.user_selectable,
            "multiple": registry.multiple,
            **(_set_declaration(registry) if registry.multiple else {}),
            "url": _url(request, "detail", registry),
            "selection_url": _url(request, "selection", registry),
            "my_selection_url": _url(request, "my-selection", registry)
            if registry.user_selectable
            else None,
            "selection": {
                "tenant": stored_value(registry, stored.tenant_choice(registry.key)),
                "user": stored_value(registry, stored.user_choice(registry.key)) if own else None,
            },
            "in_force": in_force_data(explanation.resolution),
            "error": str(explanation.error) if explanation.error is not None else None,
            # A child registry: the parent strategy it was judged under (docs/guide/hierarchy.md).
            "parent": (
                {"registry": explanation.parent.key, "slug": explanation.parent.slug}
                if explanation.parent is not None
                else None
            ),
            "skipped": skipped_data(explanation.skipped),
            "strategies": [
                {
                    **entry.as_dict(),
                    "description": str(descriptions[entry.slug].description),
                    "icon": descriptions[entry.slug].icon,
                }
                for entry in explanation.strategies
            ],
        }


def _set_declaration(registry: type[Registry]) -> dict[str, Any]:
    return {
        "min_selected": registry.min_selected,
        "max_selected": registry.max_selected,
        "mandatory": list(registry.mandatory),
    }


@dataclass(frozen=True)
class SelectionState:
    """One stored selection (the tenant's, or a user's) and what is in force for the request."""

    registry: type[Registry]
    owner: str  # "tenant" or "user"
    slug: str | None
    changed_by: str | None
    changed_at: datetime | None
    resolution: AnyResolution | None

    @property
    def slugs(self) -> list[str] | None:
        """The stored set as a list (a ``multiple`` registry), None when nothing is stored."""
        return list(sets.split(self.slug)) if self.slug is not None else None


class SelectionSerializer(serializers.Serializer):
    """``{"slug": ...}`` for one registry, validated exactly like ``Registry.select``.

    A ``multiple`` registry takes ``{"slugs": [...]}`` instead: the whole set, which replaces
    the stored one (PUT and PATCH alike; an empty list clears it when the registry allows).

    ``user`` (a user, or None for the tenant's choice) is whose selection it writes. Fields
    other than ``slug`` are read-only; input naming any field but ``slug`` (read-only or
    unknown) is refused with ``unknown_field``, so ``{"slug": "card", "user": 7}`` or
    ``{"slug": "card", "owner": "user"}`` cannot be mistaken for something it does not do.
    """

    registry = serializers.SerializerMethodField()
    owner = serializers.CharField(read_only=True)
    changed_by = serializers.CharField(read_only=True, allow_null=True)
    changed_at = serializers.DateTimeField(read_only=True, allow_null=True)
    in_force = serializers.SerializerMethodField()
    skipped = serializers.SerializerMethodField()

    default_error_messages = {
        "unknown_field": "Unknown field; this resource accepts only: {accepted}.",
        "read_only_field": "Read-only field; this resource accepts only: {accepted}.",
        "more_fields": "{count} more fields this resource does not accept; it accepts only: "
        "{accepted}.",
    }

    def __init__(
        self, *args: Any, registry: type[Registry], user: Any = None, **kwargs: Any
    ) -> None:
        self.target_registry = registry
        self.target_user = user
        super().__init__(*args, **kwargs)

    def get_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = super().get_fields()
        own = self.target_user is not None
        registry = fields.pop("registry")
        if self.target_registry.multiple:
            return {
                "registry": registry,
                "slugs": StrategySetField(self.target_registry, user_selection=own),
                **fields,
            }
        slug = StrategyField(self.target_registry, user_selection=own)
        return {"registry": registry, "slug": slug, **fields}

    def get_registry(self, state: SelectionState) -> str:
        return state.registry.key

    def get_in_force(self, state: SelectionState) -> dict[str, Any] | None:
        return in_force_data(state.resolution)

    def get_skipped(self, state: SelectionState) -> list[dict[str, Any]]:
        return skipped_data(state.resolution.skipped if state.resolution is not None else ())

    def to_internal_value(self, data: Any) -> Any:
        if hasattr(data, "keys"):
            self.refuse_other_fields(data.keys())
        return super().to_internal_value(data)

    def refuse_other_fields(self, names: Any) -> None:
        """Raise a 400 ``unknown_field`` naming each field of the input but the writable ones."""
        writable = [name for name, field in self.fields.items() if not field.read_only]
        other = sorted({str(name) for name in names} - set(writable) - IGNORED_INPUT)
        if not other:
            return
        accepted = ", ".join(writable)
        errors: dict[str, list[serializers.ErrorDetail]] = {}
        for name in other[:OTHER_FIELDS_LISTED]:
            message = "read_only_field" if name in self.fields else "unknown_field"
            text = self.error_messages[message].format(accepted=accepted)
            errors.setdefault(_field_key(name), []).append(
                serializers.ErrorDetail(text, code="unknown_field")
            )
        if len(other) > OTHER_FIELDS_LISTED:
            text = self.error_messages["more_fields"].format(
                count=len(other) - OTHER_FIELDS_LISTED, accepted=accepted
            )
            errors[api_settings.NON_FIELD_ERRORS_KEY] = [
                serializers.ErrorDetail(text, code="unknown_field")
            ]
        raise serializers.ValidationError(errors)

    def create(self, validated_data: dict[str, Any]) -> Any:
        name = "slugs" if self.target_registry.multiple else "slug"
        field: StrategyField = self.fields[name]
        context = field.switchyard_context()
        value = validated_data[name]
        return self.target_registry.select(
            list(value) if self.target_registry.multiple else value.slug,
            context,
            self.target_user,
            changed_by=_author(context),
            via="api",
        )


def _field_key(name: str) -> str:
    """Return how an error names the input field ``name`` (a long name is shortened)."""
    if len(name) <= ECHO_LIMIT:
        return name
    return f"{name[:ECHO_LIMIT]}… ({len(name)} characters)"


def _author(context: Context) -> Any:
    user = context.user
    return user if user is not None and getattr(user, "is_authenticated", False) else None


def _url(request: Any, name: str, registry: type[Registry]) -> str | None:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return None
    namespace = f"{match.namespace}:" if match.namespace else ""
    try:
        url = reverse(f"{namespace}registry-{name}", kwargs={"key": registry.key}, request=request)
    except NoReverseMatch:
        return None  # serialized outside the API's own URLs
    return str(url)


class StrategyModelSerializerMixin:
    """Maps the model fields ``engine.fields.StrategyField`` / ``MultipleStrategyField`` to the
    serializer fields that validate against the request (a plain ``ModelSerializer`` would make
    them ``CharField`` / ``ListField`` and accept any slug)."""

    def build_standard_field(self, field_name: str, model_field: Any) -> tuple[type[Any], Any]:
        field_class, kwargs = super().build_standard_field(field_name, model_field)  # type: ignore[misc]
        if isinstance(model_field, model_fields.StrategyField):
            kept = {name: kwargs[name] for name in KEPT_FIELD_ARGUMENTS if name in kwargs}
            return StrategyField, {
                **kept,
                "registry": model_field.registry_key,
                "allow_blank": model_field.blank,
            }
        if isinstance(model_field, model_fields.MultipleStrategyField):
            kept = {name: kwargs[name] for name in KEPT_FIELD_ARGUMENTS if name in kwargs}
            kept.setdefault("allow_empty", model_field.blank)
            return MultipleStrategyField, {**kept, "registry": model_field.registry_key}
        return field_class, kwargs


class StrategyModelSerializer(StrategyModelSerializerMixin, serializers.ModelSerializer):
    """A ``ModelSerializer`` whose strategy model fields are validated against the request."""
