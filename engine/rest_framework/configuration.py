"""The configuration API: read (masked) and write one strategy's configuration.

``GET`` shows the stored values with every secret masked (the API never returns one),
``PUT`` stores the body (an object of field values; a blank or absent secret keeps the stored
one), ``PATCH`` does the same over the stored plain values, ``DELETE`` removes it. Writes go
through ``Registry.configure``: the validation every surface shares.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from conditions import Context
from conditions.naming import echo
from engine.config import config_class, is_secret
from engine.exceptions import UnknownStrategy
from engine.models import StrategyConfiguration
from engine.registry import Registry
from engine.tenancy import tenant_scope


def configuration_response(
    registry: type[Registry], slug: str, request: Request, context: Context, user: Any
) -> Response:
    """Answer one request on ``slug``'s configuration (the tenant's, or ``user``'s)."""
    strategy = _strategy(registry, slug)
    author = request.user if request.user.is_authenticated else None
    try:
        if request.method in ("PUT", "PATCH"):
            values = _body(request.data)
            if request.method == "PATCH":
                stored = _row(registry, slug, context, user)
                values = {**(stored.values if stored is not None else {}), **values}
            registry.configure(slug, values, context, user, changed_by=author, via="api")
        elif request.method == "DELETE":
            registry.clear_configuration(slug, context, user, changed_by=author, via="api")
    except ValidationError as error:
        raise serializers.ValidationError(serializers.as_serializer_error(error)) from None
    return Response(configuration_data(registry, strategy, context, user))


def configuration_data(
    registry: type[Registry], strategy: Any, context: Context, user: Any
) -> dict[str, Any]:
    """Return the stored configuration as the API shows it: secrets masked, what is missing."""
    config = config_class(strategy)
    assert config is not None
    found = registry.configuration(strategy.slug, context, tenant_level=user is None)
    row = _row(registry, strategy.slug, context, user)
    values = found.values.masked(tails=True) if found.values is not None else {}
    return {
        "registry": registry.key,
        "slug": strategy.slug,
        "owner": "tenant" if user is None else "user",
        "fields": [
            {
                "name": name,
                "label": str(form_field.label or name),
                "required": form_field.required,
                "secret": is_secret(form_field),
                "help_text": str(form_field.help_text),
            }
            for name, form_field in config.base_fields.items()
        ],
        "values": values,
        "missing": list(found.missing),
        "not_configured": (
            f"{strategy.slug} needs {', '.join(found.missing)}" if found.missing else None
        ),
        "changed_by": row.changed_by.get_username() if row and row.changed_by else None,
        "changed_at": row.changed_at if row is not None else None,
    }


def _strategy(registry: type[Registry], slug: str) -> Any:
    try:
        strategy = registry.get(slug)
    except UnknownStrategy as error:
        raise NotFound(str(error), code="unknown_strategy") from None
    if config_class(strategy) is None:
        raise NotFound(
            f"Strategy {echo(slug)} of {registry.key!r} declares no configuration.",
            code="no_config",
        )
    return strategy


def _body(data: Any) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise serializers.ValidationError(
            {"non_field_errors": ["Expected an object of configuration field values."]},
            code="invalid_config",
        )
    return {str(name): value for name, value in data.items() if name != "csrfmiddlewaretoken"}


def _row(registry: type[Registry], slug: str, context: Context, user: Any) -> Any:
    with tenant_scope(context.tenant):
        return (
            StrategyConfiguration.objects.filter(registry=registry.key, slug=slug, user=user)
            .select_related("changed_by")
            .first()
        )
