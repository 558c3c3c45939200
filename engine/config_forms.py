"""The configuration part of ``SelectionsForm``: configure and select a strategy in one step.

Each offered strategy that declares a ``Config`` gets a bound copy of it (prefix
``<registry>-<slug>``), starting at the stored values; secret inputs start empty and say what is
stored, masked. On submit only the chosen strategy's configuration is validated (through
``Registry.validate_configuration``: the code every surface shares) and saved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.forms.utils import ErrorDict

from conditions import Context
from engine import secrets
from engine.config import (
    MAX_VALUE_LENGTH,
    ConfigValues,
    StrategyConfig,
    config_class,
    is_secret,
)

if TYPE_CHECKING:
    from engine.namespace import StrategyNamespace
    from engine.registry import Registry
    from engine.strategy import Strategy


@dataclass
class ConfigEntry:
    """One strategy's configuration form in a ``SelectionsForm``, and what it still needs."""

    strategy_class: type[Strategy]
    form: StrategyConfig
    missing: tuple[str, ...] = ()
    errors: list[str] = field(default_factory=list)

    @property
    def slug(self) -> str:
        return self.strategy_class.slug

    @property
    def needs(self) -> str:
        """Return "stripe needs secret_key" while configuration is missing, else ''."""
        return f"{self.slug} needs {', '.join(self.missing)}" if self.missing else ""


def config_entries(
    registry: type[Registry],
    strategies: list[type[Strategy]],
    namespace: StrategyNamespace,
    data: Any,
    *,
    for_user: bool,
) -> dict[str, ConfigEntry]:
    """Return a bound configuration form for each of ``strategies`` that declares a Config."""
    entries = {}
    for strategy in strategies:
        config = config_class(strategy)
        if config is None:
            continue
        found = namespace.configuration(registry, strategy.slug, tenant_level=not for_user)
        # The form edits its owner's own row (a blank secret keeps that row's secret only).
        own = namespace.stored().config(registry.key, strategy.slug, user=for_user)
        values = ConfigValues(config, own, namespace.context)
        form = config(data, prefix=f"{registry.key}-{strategy.slug}", context=namespace.context)
        # Only the chosen strategy's configuration is required: the browser must not insist.
        form.use_required_attribute = False
        _start_at_stored(form, values)
        entries[strategy.slug] = ConfigEntry(strategy, form, found.missing)
    return entries


def _start_at_stored(form: StrategyConfig, values: ConfigValues) -> None:
    shown = values.masked(tails=True) if values.names else {}
    for name, form_field in form.fields.items():
        if is_secret(form_field):
            if name in shown:
                form_field.required = False  # blank keeps the stored secret
                note = f"Stored: {shown[name]}. Leave blank to keep it."
                form_field.help_text = f"{form_field.help_text} {note}".strip()
        elif name in shown:
            form.initial[name] = shown[name]


def submitted(entry: ConfigEntry, data: Any, files: Any = None) -> dict[str, Any] | None:
    """Return the values posted for ``entry`` (None when none of its inputs was posted)."""
    form = entry.form
    names = [form.add_prefix(name) for name in form.fields]
    if data is None or not any(name in data for name in names):
        return None
    return {
        name: form_field.widget.value_from_datadict(data, files, form.add_prefix(name))
        for name, form_field in form.fields.items()
    }


def check(
    registry: type[Registry],
    entry: ConfigEntry,
    values: dict[str, Any],
    context: Context,
    user: Any,
) -> list[str]:
    """Validate ``values`` for ``entry``; put the errors on its form and return them as text."""
    try:
        registry.validate_configuration(entry.slug, values, context, user)
    except ValidationError as error:
        return _show(entry, error)
    except secrets.SecretError as error:  # no key configured: say so instead of a 500
        return _show(entry, ValidationError(str(error), code="no_secret_key"))
    return []


def _show(entry: ConfigEntry, error: ValidationError) -> list[str]:
    form = entry.form
    # A value refused for its size is not sent back into the page's inputs.
    oversized = [
        key
        for key in (form.add_prefix(name) for name in form.fields)
        if isinstance(form.data.get(key), str) and len(form.data[key]) > MAX_VALUE_LENGTH
    ]
    if oversized:
        data = form.data.copy()  # type: ignore[attr-defined]  # a QueryDict or a dict
        for key in oversized:
            data[key] = ""
        form.data = data
    form._errors = ErrorDict()  # type: ignore[attr-defined]
    form.cleaned_data = {}
    texts: list[str] = []
    by_field = error.error_dict if hasattr(error, "error_dict") else {"__all__": error.error_list}
    for name, errors in by_field.items():
        known = name in form.fields
        form.add_error(name if known else None, errors)
        label = f"{name}: " if known else ""
        texts.extend(f"{label}{message}" for e in errors for message in e.messages)
    entry.errors = texts
    return texts
