"""The platform admin of strategies: status, priority and notes, by registry, with history.

On the public (platform) site only under django-tenants (a tenant's admin shows neither model),
on the one admin site without it. Rows come from ``switchyard_sync``: none is added here.
The bulk actions (enable, reserve, disable, priority up/down) take the note typed next to the
action menu and go through ``engine.platform.changes``, validated and recorded like the
commands' changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME, ActionForm
from django.core.exceptions import BadRequest, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from conditions.naming import echo
from engine import tenancy
from engine.platform.changes import move_priority, set_status
from engine.platform.models import StrategyState, StrategyStateChange
from engine.platform.state import Status
from engine.platform.validation import NOTE_MAX_LENGTH
from engine.validators import CONTROL_CHARACTERS

# How many changes a state's page shows.
HISTORY_SHOWN = 20


def platform_site(request: HttpRequest) -> bool:
    """Return whether ``request`` is served by the platform's admin (public schema, or the
    only schema without django-tenants)."""
    if not tenancy.tenants_installed():
        return True
    return tenancy.on_public_schema(getattr(request, "tenant", None))


class PlatformOnly(admin.ModelAdmin):  # type: ignore[type-arg]
    """Grants nothing on a tenant's site, whatever the user's permissions there."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return platform_site(request) and super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return platform_site(request) and super().has_view_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return platform_site(request) and super().has_change_permission(request, obj)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False  # rows come from switchyard_sync

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # switchyard_sync --prune deletes stale rows, recorded

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        _refuse_control_characters(request)  # ?q=%00 would be a DataError: a 500
        if request.method == "POST":
            _refuse_bad_selection(request)
        return super().changelist_view(request, extra_context)


def _refuse_control_characters(request: HttpRequest) -> None:
    for name, values in request.GET.lists():
        if any(CONTROL_CHARACTERS.search(text) for text in (name, *values)):
            raise BadRequest(f"The query parameter {echo(name)} contains control characters.")


def _refuse_bad_selection(request: HttpRequest) -> None:
    # Django casts the selected rows' ids itself: "x" or a NUL would be a 500.
    if not all(value.isdigit() for value in request.POST.getlist(ACTION_CHECKBOX_NAME)):
        raise BadRequest("The selected rows must be given by their numeric ids.")


class NoteActionForm(ActionForm):
    """The action menu, with the note a status action records."""

    # A plain Field: the actions validate the note themselves and say what was wrong (a
    # CharField would refuse a NUL or an overlong note by silently running no action).
    note = forms.Field(
        required=False,
        label="Note",
        widget=forms.TextInput(
            attrs={"placeholder": "Note (e.g. provider outage)", "maxlength": NOTE_MAX_LENGTH}
        ),
    )


def _actor(request: HttpRequest) -> str:
    return f"admin:{request.user.get_username()}"[:150]


def _status_action(status: Status, description: str) -> Callable[..., None]:
    def action(
        model_admin: StrategyStateAdmin, request: HttpRequest, queryset: QuerySet[Any]
    ) -> None:
        note = request.POST.get("note", "")
        done, errors = [], []
        for state in queryset.order_by("registry", "slug"):
            try:
                set_status(
                    state.dotted,
                    status.value,
                    note=note,
                    changed_by=_actor(request),
                    via="admin",
                )
            except ValidationError as error:
                errors.append(f"Not changed: {state.dotted}: {'; '.join(error.messages)}")
            else:
                done.append(state.dotted)
        if done:
            model_admin.message_user(request, f"Now {status.value}: {', '.join(done)}.")
        for refusal in errors:
            model_admin.message_user(request, refusal, level=messages.ERROR)

    action.__name__ = f"make_{status.value}"
    return admin.action(description=description, permissions=["change"])(action)


def _priority_action(steps: int, description: str) -> Callable[..., None]:
    def action(
        model_admin: StrategyStateAdmin, request: HttpRequest, queryset: QuerySet[Any]
    ) -> None:
        for state in queryset.order_by("registry", "slug"):
            try:
                move_priority(state, steps, changed_by=_actor(request))
            except ValidationError as refused:
                model_admin.message_user(request, "; ".join(refused.messages), messages.ERROR)
        model_admin.message_user(request, "Priorities changed.")

    action.__name__ = "priority_up" if steps < 0 else "priority_down"
    return admin.action(description=description, permissions=["change"])(action)


class StrategyStateForm(forms.ModelForm):  # type: ignore[type-arg]
    """The editable fields of a state, validated by the model's validators."""

    class Meta:
        model = StrategyState
        fields = ["status", "priority", "note", "scope"]


@admin.register(StrategyState)
class StrategyStateAdmin(PlatformOnly):
    """Every strategy's platform state, by registry: bulk status actions, priorities, history."""

    form = StrategyStateForm
    action_form = NoteActionForm
    actions = [
        _status_action(Status.ACTIVE, "Enable (active)"),
        _status_action(Status.RESERVE, "Hold in reserve"),
        _status_action(Status.DISABLED, "Disable (kill switch)"),
        _priority_action(-1, "Priority up (earlier fallback)"),
        _priority_action(1, "Priority down (later fallback)"),
    ]
    list_display = [
        "registry",
        "slug",
        "label",
        "status",
        "effective_priority",
        "class_loads",
        "scope",
        "note",
        "changed_by",
        "changed_at",
    ]
    list_display_links = ["slug"]
    list_filter = ["registry", "status"]
    search_fields = ["registry", "slug", "label", "note"]
    ordering = ["registry", "slug"]
    readonly_fields = [
        "registry",
        "slug",
        "label",
        "class_loads",
        "changed_by",
        "changed_at",
        "history",
    ]
    fields = [*readonly_fields[:4], "status", "priority", "note", "scope", *readonly_fields[4:]]

    @admin.display(description="priority")
    def effective_priority(self, state: StrategyState) -> str:
        if state.priority is not None:
            return f"{state.priority} (override)"
        from engine.catalogue import registries

        registry = registries().get(state.registry)
        if registry is None or state.slug not in registry:
            return "—"
        return str(registry.get(state.slug).priority)

    @admin.display(description="class loads", boolean=True)
    def class_loads(self, state: StrategyState) -> bool:
        return state.loads()

    @admin.display(description="history")
    def history(self, state: StrategyState) -> SafeString:
        changes = StrategyStateChange.objects.filter(registry=state.registry, slug=state.slug)[
            :HISTORY_SHOWN
        ]
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (c.changed_at.strftime("%Y-%m-%d %H:%M:%S"), c.changed_by, c.via, c.summary, c.note)
                for c in changes
            ),
        )
        head = "<tr><th>when</th><th>who</th><th>via</th><th>change</th><th>note</th></tr>"
        return format_html("<table>{}{}</table>", SafeString(head), rows)

    def save_model(self, request: HttpRequest, obj: StrategyState, form: Any, change: bool) -> None:
        obj.changed_by = _actor(request)
        obj.save(via="admin")


@admin.register(StrategyStateChange)
class StrategyStateChangeAdmin(PlatformOnly):
    """The history of the platform state: read-only."""

    list_display = ["changed_at", "registry", "slug", "summary", "note", "changed_by", "via"]
    list_filter = ["registry", "via"]
    search_fields = ["registry", "slug", "note", "changed_by"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
