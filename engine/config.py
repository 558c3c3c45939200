"""A strategy's own configuration: ``class Config(StrategyConfig)`` with Django form fields.

``StrategyConfig`` is a form; its fields are the schema. Every write surface (forms, admin,
API, commands, ``Registry.configure``) validates through ``clean_config``, so a value is
refused the same way everywhere. What is stored is JSON: the cleaned values of the plain fields
and, for each ``SecretField``, a Fernet token (``engine.secrets``). A strategy whose required
fields are not all stored (or no longer valid) is not available: ``missing`` names them.
``ConfigValues`` is what ``strategy.config`` holds at run time: values cleaned once, secrets
decrypted on first read (at most once per request).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_variables

from conditions import Context
from conditions.naming import echo, suggestion
from engine import secrets

if TYPE_CHECKING:
    from engine.strategy import Strategy

# The longest value any field accepts, whatever its own max_length: configuration is keys,
# URLs and short texts, and a megabyte posted into a field must not reach the database.
MAX_VALUE_LENGTH = 4096
logger = logging.getLogger("switchyard.engine")

# Functions holding secrets in clear are marked ``sensitive_variables``: Django's error reports
# (the debug page, the admins' e-mails) show their local variables as stars.
# Where a context keeps the secrets it decrypted: each token is decrypted once per request.
DECRYPTED_MEMO = "_switchyard_decrypted"
_SCALARS = (str, int, float, bool, type(None))
# How many names that are not fields an error lists one by one.
UNKNOWN_LISTED = 3


class SecretField(forms.CharField):
    """A secret (an API key, a signing secret): encrypted at rest, never shown back in clear.

    Rendered as a password input that stays empty; submitting it blank keeps the stored secret.
    """

    widget = forms.PasswordInput(render_value=False)

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("strip", False)  # a secret is kept exactly as given
        super().__init__(**kwargs)


class StrategyConfig(forms.Form):
    """A strategy's configuration; declare Django form fields, and ``validate`` for more checks.

    Required fields (the default) must be stored before the strategy is available.
    """

    def __init__(self, *args: Any, context: Context | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.context = context if context is not None else Context()

    def validate(self, context: Context) -> None:
        """Check the cleaned values together (``self.cleaned_data``); raise ``ValidationError``.

        Runs on every write after the fields are valid, with secrets in clear; e.g. ask the
        provider whether the key works.
        """


def config_class(strategy: type[Strategy] | type) -> type[StrategyConfig] | None:
    """Return the ``Config`` class ``strategy`` declares, or None."""
    config = getattr(strategy, "Config", None)
    if isinstance(config, type) and issubclass(config, StrategyConfig):
        return config
    return None


def is_secret(form_field: forms.Field) -> bool:
    """Return whether ``form_field`` holds a secret."""
    return isinstance(form_field, SecretField)


def secret_names(config: type[StrategyConfig]) -> tuple[str, ...]:
    """Return the names of ``config``'s secret fields."""
    return tuple(name for name, f in config.base_fields.items() if is_secret(f))


@dataclass(frozen=True)
class StoredConfig:
    """One stored configuration: the plain values and the secrets' tokens (never clear text)."""

    values: Mapping[str, Any] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict)


def missing(config: type[StrategyConfig], stored: StoredConfig | None) -> tuple[str, ...]:
    """Return the fields of ``config`` that keep the strategy unavailable: required and not
    stored, or stored but no longer valid (the schema changed since)."""
    return judge(config, stored)[0]


def judge(
    config: type[StrategyConfig], stored: StoredConfig | None
) -> tuple[tuple[str, ...], dict[str, Any]]:
    """Return ``missing(config, stored)`` and the plain values cleaned by their fields."""
    stored = stored or StoredConfig()
    absent = []
    cleaned: dict[str, Any] = {}
    for name, form_field in config.base_fields.items():
        if is_secret(form_field):
            if form_field.required and not stored.secrets.get(name):
                absent.append(name)
            continue
        if name not in stored.values:
            if form_field.required:
                absent.append(name)
            continue
        try:
            cleaned[name] = form_field.clean(stored.values[name])
        except ValidationError:
            absent.append(name)
            cleaned[name] = None  # not available then: nothing reads it in force
    return tuple(absent), cleaned


def needs_text(slug: str, names: tuple[str, ...]) -> str:
    """Return "stripe needs secret_key, publishable_key"."""
    return f"{slug} needs {', '.join(names)}"


@dataclass(frozen=True)
class CleanConfig:
    """What ``clean_config`` accepted: what to store, and the masks the history shows."""

    stored: StoredConfig
    masked: dict[str, Any]


@sensitive_variables()
def clean_config(
    config: type[StrategyConfig],
    data: Mapping[str, Any],
    *,
    stored: StoredConfig | None = None,
    context: Context | None = None,
) -> CleanConfig:
    """Validate ``data`` for ``config``; return what to store, else raise ``ValidationError``.

    Every surface calls this. A blank secret keeps the stored one; names that are not fields,
    values that are not scalars, longer than ``MAX_VALUE_LENGTH`` or holding NUL are refused.
    """
    stored = stored or StoredConfig()
    context = context if context is not None else Context()
    _check_shape(config, data)
    kept = {
        name
        for name in secret_names(config)
        if data.get(name) in (None, "") and stored.secrets.get(name)
    }
    form = config(
        {name: value for name, value in data.items() if name not in kept}, context=context
    )
    for name in kept:
        form.fields[name].required = False
    if not form.is_valid():
        raise ValidationError(form.errors.as_data())
    cleaned = dict(form.cleaned_data)
    for name in kept:
        cleaned[name] = secrets.decrypt(stored.secrets[name])
    form.cleaned_data = cleaned
    _run_validate(form, context)
    return _to_store(config, cleaned, kept, stored)


def _run_validate(form: StrategyConfig, context: Context) -> None:
    try:
        form.validate(context)
    except ValidationError as error:
        if hasattr(error, "error_dict"):
            raise
        raise ValidationError({"__all__": error.error_list}) from None
    except Exception as error:
        # A provider that cannot be reached must not become a 500; its message may hold what
        # was submitted, so only the exception's type is logged and shown.
        name = type(form).__qualname__
        logger.warning("%s.validate() raised %s", name, type(error).__name__)
        raise ValidationError(
            {
                "__all__": ValidationError(
                    "The configuration could not be checked (%(error)s); try again later.",
                    code="check_failed",
                    params={"error": type(error).__name__},
                )
            }
        ) from None


@sensitive_variables()
def _to_store(
    config: type[StrategyConfig], cleaned: dict[str, Any], kept: set[str], stored: StoredConfig
) -> CleanConfig:
    values: dict[str, Any] = {}
    tokens: dict[str, str] = {}
    masked: dict[str, Any] = {}
    for name, form_field in config.base_fields.items():
        value = cleaned.get(name)
        if not is_secret(form_field):
            values[name] = masked[name] = _json_safe(value)
        elif name in kept:
            tokens[name] = stored.secrets[name]
            masked[name] = secrets.mask(value)
        elif value:
            old = stored.secrets.get(name)
            # The same secret submitted again keeps its token: no change to record.
            same = old is not None and _opens_to(old, value)
            tokens[name] = old if same and old is not None else secrets.encrypt(value)
            masked[name] = secrets.mask(value)
    return CleanConfig(StoredConfig(values, tokens), masked)


@sensitive_variables()
def _opens_to(token: str, clear: str) -> bool:
    try:
        return secrets.decrypt(token) == clear
    except secrets.SecretError:
        return False


def masked_of(config: type[StrategyConfig], stored: StoredConfig | None) -> dict[str, Any] | None:
    """Return ``stored`` as the history and the surfaces show it (secrets masked), or None."""
    if stored is None:
        return None
    try:
        return ConfigValues(config, stored).masked(tails=True)
    except secrets.SecretError:  # a key was dropped too early: show the mask alone
        return ConfigValues(config, stored).masked()


def _check_shape(config: type[StrategyConfig], data: Mapping[str, Any]) -> None:
    if not isinstance(data, Mapping):
        raise ValidationError(
            "A configuration must be a mapping of field names to values, got %(type)s.",
            code="invalid_config",
            params={"type": type(data).__name__},
        )
    fields = config.base_fields
    errors: dict[str, list[ValidationError]] = {}
    unknown = [name for name in data if name not in fields]
    if unknown:
        errors["__all__"] = _unknown_fields(unknown, [str(known) for known in fields])
    for name, value in data.items():
        problem = _value_problem(fields[name], value) if name in fields else ""
        if problem:
            errors[name] = [ValidationError(problem, code="invalid_value")]
    if errors:
        raise ValidationError(errors)


def _unknown_fields(names: list[Any], known: list[str]) -> list[ValidationError]:
    listed = [
        ValidationError(
            "%(name)s is not a configuration field.%(hint)s Fields: %(fields)s.",
            code="unknown_field",
            params={
                "name": echo(name),
                "hint": suggestion(str(name), known),
                "fields": ", ".join(known) or "none",
            },
        )
        for name in names[:UNKNOWN_LISTED]
    ]
    if len(names) > UNKNOWN_LISTED:
        listed.append(
            ValidationError(
                "%(count)s more names are not configuration fields.",
                code="unknown_field",
                params={"count": len(names) - UNKNOWN_LISTED},
            )
        )
    return listed


def _value_problem(form_field: forms.Field, value: Any) -> str:
    items = value if isinstance(value, list | tuple) else None
    if items is not None and not isinstance(form_field, forms.MultipleChoiceField):
        return f"Expected a single value, got a {type(value).__name__}."
    for item in items if items is not None else (value,):
        if not isinstance(item, _SCALARS):
            return f"Expected text, a number or a boolean, got {type(item).__name__}."
        if isinstance(form_field, forms.CharField) and not isinstance(item, str | None):
            return f"Expected text, got {type(item).__name__}."
        if isinstance(item, str) and len(item) > MAX_VALUE_LENGTH:
            return (
                f"Ensure this value has at most {MAX_VALUE_LENGTH} characters (it has {len(item)})."
            )
        if isinstance(item, str) and "\x00" in item:
            return "Null characters are not allowed."
    return ""


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


class ConfigValues:
    """A strategy's configuration as the code in force reads it: ``config.secret_key``.

    Plain values are cleaned by their fields when first read; a secret is decrypted when first
    read, once per context. ``repr`` and ``masked()`` never show a secret in clear.
    """

    __slots__ = ("_cleaned", "_config", "_context", "_stored")

    def __init__(
        self,
        config: type[StrategyConfig] | None,
        stored: StoredConfig | None = None,
        context: Context | None = None,
        cleaned: dict[str, Any] | None = None,
    ) -> None:
        """``cleaned``: the plain values already cleaned (by ``judge``), if at hand."""
        self._config = config
        self._stored = stored or StoredConfig()
        self._context = context
        self._cleaned = cleaned

    @property
    def names(self) -> tuple[str, ...]:
        """The names of the declared fields."""
        return tuple(self._config.base_fields) if self._config is not None else ()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self._get(name)

    def __getitem__(self, name: str) -> Any:
        return self._get(name)

    def _get(self, name: str) -> Any:
        if self._config is None or name not in self._config.base_fields:
            raise AttributeError(
                f"The configuration has no field {name!r}.{suggestion(name, self.names)} "
                f"Fields: {', '.join(self.names) or 'none (the strategy declares no Config)'}."
            )
        if is_secret(self._config.base_fields[name]):
            token = self._stored.secrets.get(name)
            return self._decrypt(token) if token else None
        if self._cleaned is None:
            self._cleaned = self._clean_values()
        return self._cleaned.get(name)

    def _clean_values(self) -> dict[str, Any]:
        assert self._config is not None
        return judge(self._config, self._stored)[1]

    @method_decorator(sensitive_variables())
    def _decrypt(self, token: str) -> str:
        memo: dict[str, str] = (
            self._context.extra.setdefault(DECRYPTED_MEMO, {}) if self._context else {}
        )
        clear = memo.get(token)
        if clear is None:
            clear = memo[token] = secrets.decrypt(token)
        return clear

    def masked(self, *, tails: bool = False) -> dict[str, Any]:
        """Return every stored field, each secret masked (``tails``: with its last characters)."""
        shown: dict[str, Any] = {}
        for name in self.names:
            assert self._config is not None
            if is_secret(self._config.base_fields[name]):
                token = self._stored.secrets.get(name)
                if token:
                    shown[name] = secrets.mask(self._decrypt(token)) if tails else secrets.MASK
            elif name in self._stored.values:
                shown[name] = self._stored.values[name]
        return shown

    def __contains__(self, name: object) -> bool:
        return name in self._stored.values or name in self._stored.secrets

    def __repr__(self) -> str:
        return f"<ConfigValues {self.masked()!r}>"
