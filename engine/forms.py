"""Form fields and forms for choosing strategies, validated like every other write.

``StrategyChoiceField`` / ``StrategyMultipleChoiceField`` offer the strategies available to
their context, in priority order, and re-check on submit through
``Registry.validate_selection``: a crafted value that is unknown, of another registry or not
available is a form error naming it. The value the form started with (its initial, e.g. the
stored one) may be submitted unchanged even when it is no longer available: keeping a value is
not choosing it. ``StrategySetChoiceField`` edits the set of a ``multiple`` registry.
``SelectionsForm`` edits a tenant's (or a user's) selections and saves through
``Registry.select``.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest

from conditions import Context
from engine import config_forms, sets
from engine.config_forms import ConfigEntry
from engine.context_processors import request_context
from engine.exceptions import NoStrategyAvailable
from engine.namespace import StrategyNamespace
from engine.platform.load import platform_state
from engine.registry import Registry, get_registry, registries
from engine.resolution import SkipReason, platform_policy, platform_skip
from engine.storage import writes
from engine.strategy import Strategy
from engine.values import MissingStrategy, slug_of
from engine.widgets import (
    StrategyCheckboxSelectMultiple,
    StrategyLabel,
    StrategyRadioSelect,
    StrategySetWidget,
)

if TYPE_CHECKING:
    from django.forms import BoundField

    from engine.explain import RegistryExplanation, StrategyExplanation

Chosen = type[Strategy] | MissingStrategy

# Hides a child registry's choices that do not serve the parent chosen beside them.
DEPENDENT_CHOICES_SCRIPT = "engine/dependent_choices.js"

NOTE_UNAVAILABLE = "current choice, not available now"
NOTE_UNREGISTERED = "current choice, no longer registered"


class StrategyChoicesMixin:
    """The registry, the context and the choices the single and multiple fields share."""

    widget: Any
    required: bool
    _choices: Any
    # True in a SelectionsForm, which configures a strategy and selects it in one step: the
    # strategies whose configuration is missing are offered too (the form checks it).
    configure_here: bool = False

    def _setup(self, registry: str | type[Registry], context: Context | None, user: Any) -> None:
        self.registry_ref = registry
        # None: evaluated against an empty Context (no request, user or tenant): fail closed.
        self.context = context
        # Whose own selection this is (user_selectable registries); None: the tenant's.
        self.user = user
        # The slugs the form started with: they may be submitted unchanged.
        self.current: tuple[str, ...] = ()
        # A child registry's field whose form also offers the parent (``SelectionsForm``): the
        # parent field's HTML name, and what returns the parent slug the form is setting (None:
        # the parent in force). Its choices then depend on the parent chosen beside it.
        self.parent_field: str | None = None
        self.parent_slug: Callable[[], str | None] | None = None

    @property
    def registry(self) -> type[Registry]:
        return get_registry(self.registry_ref)

    def evaluation_context(self) -> Context:
        """Return the context availability is checked against."""
        return self.context if self.context is not None else Context()

    def strategies(self) -> list[type[Strategy]]:
        """Return the strategies offered: those available in the context, by priority (a
        dependent child field: under any parent strategy, the parent being chosen beside it)."""
        namespace = StrategyNamespace(self.evaluation_context())
        return namespace.available(
            self.registry,
            configured=not self.configure_here,
            any_parent=self.parent_field is not None,
        )

    def kept(self) -> list[str]:
        """Return the current slugs that are offered only because they are current."""
        offered = {strategy.slug for strategy in self.strategies()}
        return [slug for slug in self.current if slug not in offered]

    def _choice_list(self) -> list[tuple[str, str]]:
        registry = self.registry
        dependent = self.parent_field is not None
        choices: list[tuple[str, str]] = [
            (strategy.slug, _label(strategy, parents=_serves(strategy) if dependent else ""))
            for strategy in self.strategies()
        ]
        for slug in self.kept():
            if slug in registry:
                choices.append((slug, _label(registry.get(slug), self._kept_note(slug))))
            else:
                choices.append((slug, StrategyLabel(slug, note=NOTE_UNREGISTERED)))
        return choices

    def _kept_note(self, slug: str) -> str:
        """Why a current choice is not offered: the platform's word first, if it has one."""
        context = self.evaluation_context()
        registry = self.registry
        policy = platform_policy(registry, context, platform_state(context))
        held = platform_skip(policy, slug, context)
        if held is None:
            return NOTE_UNAVAILABLE
        why, note = held
        if why is SkipReason.DISABLED_BY_PLATFORM:
            return "current choice, disabled by the platform" + (f": {note}" if note else "")
        return "current choice, held in reserve by the platform"

    def check_slug(self, slug: str) -> None:
        """Raise ``ValidationError`` unless ``slug`` may be chosen here (or is kept unchanged)."""
        if slug in self.current:
            return
        parent = self.parent_slug() if self.parent_slug is not None else None
        self.registry.validate_selection(
            slug,
            self.evaluation_context(),
            self.user,
            configured=not self.configure_here,
            parent=parent,
        )

    def strategy_for(self, slug: str) -> Chosen:
        registry = self.registry
        return registry.get(slug) if slug in registry else MissingStrategy(registry.key, slug)

    def get_bound_field(self, form: forms.BaseForm, field_name: str) -> BoundField:
        self.current = _slugs(form.get_initial_for_field(self, field_name))  # type: ignore[arg-type]
        return super().get_bound_field(form, field_name)  # type: ignore[misc]

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        result = super().__deepcopy__(memo)  # type: ignore[misc]
        # The copy's widget must list the copy's choices (its own context and current value).
        result.choices = result._choice_list
        return result


class StrategyChoiceField(StrategyChoicesMixin, forms.ChoiceField):
    """One strategy of ``registry`` available to ``context``; cleans to the strategy class."""

    widget = StrategyRadioSelect

    def __init__(
        self,
        registry: str | type[Registry],
        *,
        context: Context | None = None,
        user: Any = None,
        empty_label: str = "None",
        **kwargs: Any,
    ) -> None:
        super().__init__(choices=(), **kwargs)
        self.empty_label = empty_label
        self._setup(registry, context, user)
        self.choices = self._choice_list

    def _choice_list(self) -> list[tuple[str, str]]:
        choices = super()._choice_list()
        # A dependent field left blank keeps what is stored: no "None" choice to pick.
        if not self.required and self.parent_field is None:
            choices.insert(0, ("", self.empty_label))
        return choices

    def to_python(self, value: Any) -> str:
        return super().to_python(_display_slug(value))

    def validate(self, value: Any) -> None:
        forms.Field.validate(self, value)  # required; choices are checked below
        if value not in self.empty_values:
            self.check_slug(value)

    def clean(self, value: Any) -> Chosen | None:
        slug = super().clean(value)
        return self.strategy_for(slug) if slug else None

    def prepare_value(self, value: Any) -> Any:
        return _display_slug(value)

    def has_changed(self, initial: Any, data: Any) -> bool:
        if self.disabled:
            return False
        submitted = self.to_python(data)
        if not submitted and self.parent_field is not None:
            return False  # nothing valid under the chosen parent was picked: keep the stored
        return (_display_slug(initial) or "") != submitted


class StrategyMultipleChoiceField(StrategyChoicesMixin, forms.MultipleChoiceField):
    """Strategies of ``registry`` available to ``context``; cleans to a list of classes."""

    widget = StrategyCheckboxSelectMultiple

    def __init__(
        self,
        registry: str | type[Registry],
        *,
        context: Context | None = None,
        user: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(choices=(), **kwargs)
        self._setup(registry, context, user)
        self.choices = self._choice_list

    def to_python(self, value: Any) -> list[str]:
        if isinstance(value, list | tuple):
            value = [_display_slug(item) for item in value]
        return super().to_python(value)

    def validate(self, value: Any) -> None:
        if self.required and not value:
            raise ValidationError(self.error_messages["required"], code="required")
        seen: set[str] = set()
        for slug in value:
            if slug in seen:
                raise ValidationError(
                    "Strategy %(slug)s is listed twice.",
                    code="duplicate",
                    params={"slug": repr(slug)},
                )
            seen.add(slug)
            self.check_slug(slug)

    def clean(self, value: Any) -> list[Chosen]:
        return [self.strategy_for(slug) for slug in super().clean(value)]

    def prepare_value(self, value: Any) -> Any:
        return list(_slugs(value))

    def has_changed(self, initial: Any, data: Any) -> bool:
        if self.disabled:
            return False
        return set(_slugs(initial)) != set(self.to_python(data))


class StrategySetChoiceField(StrategyMultipleChoiceField):
    """The set of a ``multiple`` registry: checkboxes in the set's order, with positions.

    Cleans to the tuple of slugs in their submitted order, validated as a whole like
    ``Registry.select`` (``engine.storage.writes.validate_set``): the mandatory strategies,
    ``min_selected``/``max_selected``, no duplicates, each new slug available. Slugs of the
    set the form started with may stay even if no longer available.
    """

    widget = StrategySetWidget

    def __init__(self, registry: str | type[Registry], **kwargs: Any) -> None:
        kwargs.setdefault("required", False)  # the registry's counts decide, with their codes
        super().__init__(registry, **kwargs)
        self.current = _slugs(kwargs.get("initial"))  # the order shown before any binding
        self.widget.mandatory = frozenset(self.registry.mandatory)

    def strategies(self) -> list[type[Strategy]]:
        offered = super().strategies()
        # The set's own order first (the stored one), then the rest by priority.
        order = {slug: index for index, slug in enumerate(self.current)}
        return sorted(offered, key=lambda s: order.get(s.slug, len(order)))

    def kept(self) -> list[str]:
        kept = super().kept()
        offered = {strategy.slug for strategy in self.strategies()}
        # A mandatory strategy is always listed (and posted), available or not.
        missing = [s for s in self.registry.mandatory if s not in offered and s not in kept]
        return [*missing, *kept]

    def validate(self, value: Any) -> None:
        writes.validate_set(
            self.registry, list(value), self.evaluation_context(), self.user, keep=self.current
        )

    def clean(self, value: Any) -> Any:
        return tuple(forms.MultipleChoiceField.clean(self, value))

    def has_changed(self, initial: Any, data: Any) -> bool:
        if self.disabled:
            return False
        return list(_slugs(initial)) != list(self.to_python(data))


class StrategyFormMixin:
    """Gives every strategy field of a form or ModelForm its context (``context=``/``request=``).

    ``class ParcelForm(StrategyFormMixin, forms.ModelForm)``, then
    ``ParcelForm(request.POST, instance=parcel, request=request)``.
    """

    fields: dict[str, forms.Field]

    def __init__(
        self,
        *args: Any,
        context: Context | None = None,
        request: HttpRequest | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if context is None and request is not None:
            context = request_context(request)
        self.strategy_context = context
        for field in self.fields.values():
            if isinstance(field, StrategyChoicesMixin):
                field.context = context


@dataclass(frozen=True)
class RegistryEntry:
    """One registry of a ``SelectionsForm``: its field, what is stored, and the explanation."""

    registry: type[Registry]
    field: BoundField
    stored: str | None
    explanation: RegistryExplanation
    # The configuration form of each offered strategy that declares a Config.
    configs: list[ConfigEntry] = dataclasses.field(default_factory=list)

    @property
    def key(self) -> str:
        return self.registry.key

    @property
    def unavailable(self) -> list[StrategyExplanation]:
        """The strategies not available here, each with why."""
        return [entry for entry in self.explanation.strategies if not entry.available]


class SelectionsForm(forms.Form):
    """One ``StrategyChoiceField`` per registry (a ``StrategySetChoiceField`` for a set): the
    tenant's choices of ``context``, or with ``for_user=True`` its user's own
    (``user_selectable`` registries only).

    A field starts at the stored selection, else at the strategy in force. A child registry
    comes right after its parent; with both in the form its choices depend on the parent's field
    (``engine/dependent_choices.js``) and the pair is validated together. ``save()`` writes the
    changed fields through ``Registry.select``, parents first, all or nothing.
    """

    def __init__(
        self,
        context: Context,
        data: Any = None,
        files: Any = None,
        *,
        for_user: bool = False,
        registries: Iterable[str | type[Registry]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(data, files, **kwargs)
        self.context = context
        self.for_user = for_user
        self.user = context.user if for_user else None
        if for_user and not getattr(self.user, "is_authenticated", False):
            raise ValueError("SelectionsForm(for_user=True) needs a context with a signed-in user.")
        self.registries = _parents_first(self._registries(registries))
        self.namespace = StrategyNamespace(context)
        stored = self.namespace.stored()
        self.stored: dict[str, str | None] = {}
        keys = {registry.key for registry in self.registries}
        self.configs: dict[str, dict[str, ConfigEntry]] = {}
        # What save() configures: registry key -> [(slug, the values posted)] (several in a set).
        self.to_configure: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for registry in self.registries:
            key = registry.key
            slug = stored.user_choice(key) if for_user else stored.tenant_choice(key)
            self.stored[key] = slug
            parent = registry.parent if registry.parent in keys else None
            self.fields[key] = chooser = self._field(registry, slug, parent)
            self.configs[key] = config_forms.config_entries(
                registry,
                chooser.strategies(),
                self.namespace,
                self.data if self.is_bound else None,
                for_user=for_user,
            )

    def _registries(self, chosen: Iterable[str | type[Registry]] | None) -> list[type[Registry]]:
        if chosen is None:
            found = [registries()[key] for key in sorted(registries())]
            return [registry for registry in found if registry.user_selectable or not self.for_user]
        found = [get_registry(key) for key in chosen]
        if self.for_user:
            refused = ", ".join(repr(r.key) for r in found if not r.user_selectable)
            if refused:
                raise ValueError(
                    "SelectionsForm(for_user=True) edits users' own choices; these registries "
                    f"do not allow them (user_selectable is False): {refused}."
                )
        return found

    def _field(
        self, registry: type[Registry], stored: str | None, parent: str | None = None
    ) -> StrategyChoiceField | StrategySetChoiceField:
        initial: Any = stored if stored is not None else self._in_force(registry)
        field_class: type[StrategyChoiceField | StrategySetChoiceField] = StrategyChoiceField
        if registry.multiple:
            field_class = StrategySetChoiceField
            initial = list(sets.split(initial))
        field = field_class(
            registry,
            context=self.context,
            user=self.user,
            label=registry.label,
            help_text=registry.description,
            initial=initial,
        )
        field.configure_here = True
        if parent is not None and isinstance(field, StrategyChoiceField):
            self._depend(field, parent)
        if not initial and not field.strategies():
            # Nothing to choose and nothing stored: the registry is shown, not edited.
            field.disabled = True
            field.required = False
        return field

    def _depend(self, field: StrategyChoiceField, parent: str) -> None:
        """Make a child registry's ``field`` depend on its parent's field in this form."""
        name = self.add_prefix(parent)
        field.parent_field = name
        field.parent_slug = lambda: self._chosen(parent)
        # Blank is allowed: under a parent nothing serves, there is nothing to pick.
        field.required = False
        field.widget.attrs["data-switchyard-parent"] = name

    def _chosen(self, parent: str) -> str | None:
        """Return the parent slug this form is setting (None: unchanged, the one in force)."""
        if parent not in self.changed_data:
            return None
        value = getattr(self, "cleaned_data", {}).get(parent)
        slug = _display_slug(value) if value is not None else None
        return slug if isinstance(slug, str) else None

    @property
    def media(self) -> forms.Media:
        """The form's media, and the script re-offering child choices when a parent changes."""
        media = super().media
        if any(getattr(field, "parent_field", None) for field in self.fields.values()):
            media += forms.Media(js=[DEPENDENT_CHOICES_SCRIPT])
        return media

    def _in_force(self, registry: type[Registry]) -> str | None:
        """Return the slug in force for this form's level (the tenant's, or the user's)."""
        try:
            return self.namespace.resolution(registry, tenant_level=not self.for_user).slug
        except NoStrategyAvailable:
            return None

    @cached_property
    def entries(self) -> list[RegistryEntry]:
        """Each registry with its bound field, stored slug and explanation (for templates)."""
        return [
            RegistryEntry(
                registry,
                self[registry.key],
                self.stored[registry.key],
                self.namespace.explain(registry),
                list(self.configs[registry.key].values()),
            )
            for registry in self.registries
        ]

    def clean(self) -> dict[str, Any]:
        """Validate the chosen strategies' configuration (when posted) with the shared code."""
        cleaned = super().clean() or {}
        self.to_configure = {}
        for registry in self.registries:
            for slug in self._chosen_slugs(registry, cleaned):
                self._clean_config(registry, slug)
        return cleaned

    def _chosen_slugs(self, registry: type[Registry], cleaned: dict[str, Any]) -> list[str]:
        """Return the slugs chosen in the field (one, or a set's), as posted."""
        return [slug for slug in _slugs(cleaned.get(registry.key)) if isinstance(slug, str)]

    def _clean_config(self, registry: type[Registry], slug: str) -> None:
        key = registry.key
        entry = self.configs[key].get(slug)
        if entry is None:
            return
        values = config_forms.submitted(entry, self.data, self.files)
        if values is not None:
            errors = config_forms.check(registry, entry, values, self.context, self.user)
            if errors:
                message = f"{entry.strategy_class.label}: " + " ".join(errors)
                self.add_error(key, ValidationError(message, code="invalid_config"))
            else:
                self.to_configure.setdefault(key, []).append((slug, values))
        elif entry.missing and self._newly_chosen(registry, slug):
            self.add_error(
                key,
                ValidationError(
                    f"{entry.strategy_class.label} is not configured: {entry.needs}.",
                    code="not_configured",
                ),
            )

    def _newly_chosen(self, registry: type[Registry], slug: str) -> bool:
        """Return whether saving chooses ``slug`` anew (a set's slugs stored already are kept)."""
        if registry.multiple:
            return slug not in sets.split(self.stored[registry.key])
        return registry.key in self.changed_data

    @property
    def changed_registries(self) -> list[str]:
        """The keys of the registries a save changes: selected or configured."""
        changed = {*self.changed_data, *self.to_configure}
        return [registry.key for registry in self.registries if registry.key in changed]

    def save(self, *, changed_by: Any = None, via: str = "form") -> list[Any]:
        """Store the changed selections through ``Registry.select``; return the stored rows.

        ``changed_by`` defaults to the context's user. Availability is checked again as each
        is written; a ``ValidationError`` then rolls every write back and is added to the form.
        """
        if not self.is_bound or self.errors:
            raise ValueError(
                f"{type(self).__name__} cannot be saved: "
                + ("it has errors." if self.is_bound else "it is not bound to data.")
            )
        if changed_by is None and getattr(self.context.user, "is_authenticated", False):
            changed_by = self.context.user
        saved = []
        name = ""
        try:
            with transaction.atomic():
                for name in self.changed_registries:
                    row = self._save_one(name, changed_by, via)
                    if row is not None:  # None: an empty set cleared the selection
                        saved.append(row)
        except ValidationError as error:
            self.add_error(name, copy.copy(error))
            raise
        return saved

    def _save_one(self, name: str, changed_by: Any, via: str) -> Any:
        """Configure what was posted for ``name``, then store its selection if it changed."""
        registry = get_registry(name)
        chosen = name in self.changed_data
        row = None
        for slug, values in self.to_configure.get(name, ()):
            # A set is selected as a whole below; a single choice is configured and selected
            # in one step (the selection then passes the configuration check).
            select = chosen and not registry.multiple
            row = registry.configure(
                slug, values, self.context, self.user, changed_by=changed_by, via=via, select=select
            )
        if not chosen or (row is not None and not registry.multiple):
            return row
        value = self.cleaned_data[name]
        selected = list(_slugs(value)) if registry.multiple else str(slug_of(value, registry))
        return registry.select(selected, self.context, self.user, changed_by=changed_by, via=via)


def _label(strategy: type[Strategy], note: str = "", parents: str = "") -> StrategyLabel:
    return StrategyLabel(
        str(strategy.label), str(strategy.description), str(strategy.icon), note, parents
    )


def _serves(strategy: type[Strategy]) -> str:
    """Return the parent slugs ``strategy`` serves, as the widget's data attribute holds them."""
    return "*" if strategy.parents is None else " ".join(sorted(strategy.parents))


def _parents_first(found: list[type[Registry]]) -> list[type[Registry]]:
    """Return ``found`` with each child right after its parent (when both are there)."""
    keys = {registry.key for registry in found}
    children: dict[str, list[type[Registry]]] = {}
    roots = []
    for registry in found:
        if registry.parent in keys and registry.parent != registry.key:
            children.setdefault(registry.parent, []).append(registry)
        else:
            roots.append(registry)
    ordered: list[type[Registry]] = []
    pending = list(reversed(roots))
    while pending:
        registry = pending.pop()
        if registry in ordered:
            continue  # a cycle (switchyard.E042) must not loop for ever
        ordered.append(registry)
        pending.extend(reversed(children.get(registry.key, [])))
    # Registries caught in a cycle have no root: keep them, in their order.
    return ordered + [registry for registry in found if registry not in ordered]


def _display_slug(value: Any) -> Any:
    try:
        return slug_of(value)
    except TypeError:
        return value


def _slugs(value: Any) -> tuple[str, ...]:
    """Return the slugs of a form value: one strategy or slug, a list of them, or None."""
    if value is None or value == "":
        return ()
    if isinstance(value, str) or not isinstance(value, Iterable):
        value = (value,)
    return tuple(
        slug for slug in (_display_slug(item) for item in value) if isinstance(slug, str) and slug
    )
