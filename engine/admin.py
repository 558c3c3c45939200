"""The admin: a tenant's selections edited through ``SelectionsForm``, and a read-only history.

Under django-tenants each tenant's admin (``/admin/`` on the tenant's host) edits that tenant's
own selections; the public (platform) site's admin shows neither model, so no admin offers the
selections of another schema. ``StrategyFieldAdminMixin`` makes the strategy fields of any
model offer and accept only what the admin user's request may use.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import BadRequest, FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import connection
from django.db.models import Model
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from conditions.naming import echo
from engine import tenancy
from engine.context_processors import request_context
from engine.fields import MultipleStrategyField, StrategyField
from engine.forms import SelectionsForm
from engine.models import (
    ConfigurationHistory,
    Selection,
    SelectionHistory,
    StrategyConfiguration,
)
from engine.permissions import can_change_selections
from engine.tenancy import tenants_installed
from engine.validators import CONTROL_CHARACTERS
from engine.values import MissingStrategy

# How many users' own choices the selections page lists.
USER_SELECTIONS_SHOWN = 100


def on_public_schema(request: HttpRequest) -> bool:
    """Return whether ``request`` is served by django-tenants' public schema."""
    return tenancy.on_public_schema(getattr(request, "tenant", None))


class TenantSchemaOnly(admin.ModelAdmin):  # type: ignore[type-arg]
    """Grants nothing on the public site: selections are edited on each tenant's own admin."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return not on_public_schema(request) and super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not on_public_schema(request) and super().has_view_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not on_public_schema(request) and super().has_change_permission(request, obj)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return not on_public_schema(request) and super().has_add_permission(request, *args)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not on_public_schema(request) and super().has_delete_permission(request, obj)


class ReadOnlyRows:
    """No row is added or deleted from the admin (selections change only through the form)."""

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Selection)
class SelectionAdmin(ReadOnlyRows, TenantSchemaOnly):
    """The tenant's selections as one form (the changelist's place), saved with ``via="admin"``."""

    form_class = SelectionsForm
    selections_template = "engine/admin/selections.html"

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The one policy of every surface (engine.permissions), not ModelAdmin's own check.
        return not on_public_schema(request) and can_change_selections(request_context(request))

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name
        view = self.admin_site.admin_view(self.selections_view)
        # Rows are not edited one by one: every change goes through the validating form.
        return [path("", view, name="{}_{}_changelist".format(*info))]

    def selections_view(self, request: HttpRequest) -> HttpResponse:
        """Show the form (GET) or validate and save it (POST)."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        can_change = self.has_change_permission(request)
        context = request_context(request)
        if request.method == "POST":
            if not can_change:
                raise PermissionDenied
            form = self.form_class(context, request.POST)
            if form.is_valid():
                try:
                    saved = form.save(changed_by=request.user, via="admin")
                except ValidationError:
                    pass  # availability changed since the form was checked: shown on the form
                else:
                    self._report(request, form, saved)
                    return HttpResponseRedirect(request.path)
        else:
            form = self.form_class(context)
        if not can_change:
            _disable(form)
        return TemplateResponse(
            request, self.selections_template, self._page(request, form, can_change)
        )

    def _page(self, request: HttpRequest, form: SelectionsForm, can_change: bool) -> dict[str, Any]:
        history = SelectionHistory._meta
        history_admin = self.admin_site._registry.get(SelectionHistory)
        history_url = None
        if history_admin is not None and history_admin.has_view_permission(request):
            history_url = reverse(
                f"{self.admin_site.name}:{history.app_label}_{history.model_name}_changelist"
            )
        user_selections = Selection.objects.filter(user__isnull=False).select_related("user")[
            :USER_SELECTIONS_SHOWN
        ]
        return {
            **self.admin_site.each_context(request),
            "title": _("Strategy selections"),
            "opts": self.opts,
            "form": form,
            "entries": form.entries,
            "can_change": can_change,
            "history_url": history_url,
            "schema": getattr(connection, "schema_name", None) if tenants_installed() else None,
            "user_selections": user_selections,
            "media": self.media + form.media,
        }

    def _report(self, request: HttpRequest, form: SelectionsForm, saved: Sequence[Any]) -> None:
        if not saved:
            messages.info(request, _("No selection changed."))
            return
        changes = ", ".join(
            f"{row.registry} → {row.slug}{_(' (configured)') if _is_config(row) else ''}"
            for row in saved
        )
        text = ngettext(
            "Saved %(count)d selection: %(changes)s.",
            "Saved %(count)d selections: %(changes)s.",
            len(saved),
        )
        messages.success(request, text % {"count": len(saved), "changes": changes})


@admin.register(SelectionHistory)
class SelectionHistoryAdmin(ReadOnlyRows, TenantSchemaOnly):
    """Every change of a selection, newest first; read-only: nothing is added, edited, deleted."""

    list_display = ["changed_at", "registry", "owner", "before_slug", "after_slug", "author", "via"]
    list_filter = ["registry", "via"]
    search_fields = ["registry", "before_slug", "after_slug"]
    date_hierarchy = "changed_at"
    list_select_related = ["user", "changed_by"]
    actions = None

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        refuse_control_characters(request.GET)  # ?via=%00 would be a DataError: a 500
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("whose choice"))
    def owner(self, entry: SelectionHistory) -> str:
        return _user_text(entry, "user") or _("the tenant")

    @admin.display(description=_("changed by"))
    def author(self, entry: SelectionHistory) -> str:
        return _user_text(entry, "changed_by") or "-"


@admin.register(ConfigurationHistory)
class ConfigurationHistoryAdmin(ReadOnlyRows, TenantSchemaOnly):
    """Every change of a strategy's configuration, newest first; secrets appear masked."""

    list_display = ["changed_at", "registry", "slug", "owner", "before", "after", "author", "via"]
    list_filter = ["registry", "via"]
    search_fields = ["registry", "slug"]
    date_hierarchy = "changed_at"
    list_select_related = ["user", "changed_by"]
    actions = None

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        refuse_control_characters(request.GET)
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("whose configuration"))
    def owner(self, entry: ConfigurationHistory) -> str:
        return _user_text(entry, "user") or _("the tenant")

    @admin.display(description=_("changed by"))
    def author(self, entry: ConfigurationHistory) -> str:
        return _user_text(entry, "changed_by") or "-"


def _disable(form: SelectionsForm) -> None:
    """Show ``form`` read-only: its choices and its strategies' configurations."""
    fields = [*form.fields.values()]
    for entries in form.configs.values():
        for entry in entries.values():
            fields.extend(entry.form.fields.values())
    for field in fields:
        field.disabled = True


def _is_config(row: Any) -> bool:
    return isinstance(row, StrategyConfiguration)


def refuse_control_characters(query: QueryDict) -> None:
    """Raise ``BadRequest`` (a 400) when a parameter of ``query`` (a filter, the search) holds
    control characters: none is in a registry key, slug or via, and PostgreSQL refuses NUL."""
    for name, values in query.lists():
        if any(CONTROL_CHARACTERS.search(text) for text in (name, *values)):
            raise BadRequest(f"The query parameter {echo(name)} contains control characters.")


def _user_text(entry: SelectionHistory | ConfigurationHistory, name: str) -> str:
    """Return the user ``name`` of a history entry; ids outlive deleted users (no foreign key)."""
    user_id = getattr(entry, f"{name}_id")
    if user_id is None:
        return ""
    user = getattr(entry, name)  # selected with the row: None when the user was deleted
    return str(user) if user is not None else _("user #%(id)s (deleted)") % {"id": user_id}


class StrategyFieldAdminMixin:
    """Makes the ``StrategyField``/``MultipleStrategyField``s of a ``ModelAdmin`` context-aware.

    Their form fields offer only the strategies the admin user's request may use (the stored
    value may be kept unchanged) and reject anything else that is posted; the changelist shows
    labels, and marks slugs that are no longer registered.
    """

    model: type[Model]

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if isinstance(db_field, StrategyField | MultipleStrategyField):
            return db_field.formfield(context=request_context(request), **kwargs)
        return super().formfield_for_dbfield(db_field, request, **kwargs)  # type: ignore[misc]

    def get_list_display(self, request: HttpRequest) -> Sequence[Any]:
        shown = super().get_list_display(request)  # type: ignore[misc]
        return [self._strategy_column(name) for name in shown]

    def get_list_display_links(self, request: HttpRequest, list_display: Sequence[Any]) -> Any:
        links = super().get_list_display_links(request, list_display)  # type: ignore[misc]
        if links is None:
            return None
        return [self._strategy_column(name) for name in links]

    def _strategy_column(self, name: Any) -> Any:
        if not isinstance(name, str):
            return name
        try:
            field = self.model._meta.get_field(name)
        except FieldDoesNotExist:
            return name
        if not isinstance(field, StrategyField | MultipleStrategyField):
            return name
        columns: dict[str, Callable[[Model], str]] = self.__dict__.setdefault(
            "_strategy_columns", {}
        )
        if name not in columns:
            columns[name] = _column(name, field)
        return columns[name]


def _column(name: str, field: StrategyField | MultipleStrategyField) -> Callable[[Model], str]:
    def display(obj: Model) -> str:
        value = getattr(obj, name)
        values = value if isinstance(field, MultipleStrategyField) else (value,)
        return ", ".join(_display(item) for item in values or () if item is not None) or "-"

    display.short_description = field.verbose_name  # type: ignore[attr-defined]
    display.admin_order_field = name  # type: ignore[attr-defined]
    display.__name__ = name
    return display


def _display(value: Any) -> str:
    if isinstance(value, MissingStrategy):
        return value.label
    return str(value.label)
