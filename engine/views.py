"""The bundled selection pages (``engine.urls``): a tenant's selections, and a user's own.

Both are thin: ``SelectionsForm`` decides what is offered, validated and saved, so what it
learns (sets, configuration, dependent choices) shows here unchanged. They refuse the public
schema (there is no tenant to choose for), need a signed-in user, and are CSRF-protected
whatever the project's middleware. Override ``template_name`` (or the templates themselves,
``engine/selections.html``, ``engine/user_selections.html``, ``engine/base.html``) to restyle.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseBase,
    HttpResponseRedirect,
)
from django.template.response import TemplateResponse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from conditions.naming import echo
from engine import tenancy
from engine.context_processors import request_context
from engine.forms import SelectionsForm
from engine.permissions import can_change_selections, refusal
from engine.registry import Registry, get_registry

# The POST field of the per-user page that drops the user's own choice of a registry.
RESET = "reset"


@method_decorator([csrf_protect, never_cache], name="dispatch")
class SelectionsView(View):
    """A tenant's selections: GET shows the form, POST validates and saves it; users holding
    ``engine.change_selection`` only (anyone else: 403)."""

    http_method_names: ClassVar[list[str]] = ["get", "post", "head"]  # type: ignore[misc]
    form_class: ClassVar[type[SelectionsForm]] = SelectionsForm
    template_name: ClassVar[str] = "engine/selections.html"
    # None: every registry (for_user: every user_selectable one), else these keys.
    registries: ClassVar[Sequence[str] | None] = None
    for_user: ClassVar[bool] = False
    via: ClassVar[str] = "form"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if tenancy.on_public_schema(getattr(request, "tenant", None)):
            raise Http404(
                _("Strategy selections belong to a tenant: open this page on a tenant's site.")
            )
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        self.check_permission(request)
        return super().dispatch(request, *args, **kwargs)

    def check_permission(self, request: HttpRequest) -> None:
        """Raise ``PermissionDenied`` unless the user may change the tenant's selections."""
        if not can_change_selections(request_context(request)):
            raise PermissionDenied(refusal(request.user))

    def get_form(self, data: Any = None) -> SelectionsForm:
        """Return the form for the request's context (bound to ``data`` on POST)."""
        return self.form_class(
            request_context(self.request), data, for_user=self.for_user, registries=self.registries
        )

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render(self.get_form())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = self.get_form(request.POST)
        if form.is_valid():
            try:
                saved = form.save(changed_by=request.user, via=self.via)
            except ValidationError:
                pass  # availability changed since the form was checked: shown on the form
            else:
                self.report(form, saved)
                return HttpResponseRedirect(request.path)
        return self.render(form, status=400)

    def report(self, form: SelectionsForm, saved: Sequence[Any]) -> None:
        """Tell the user what was saved (when ``django.contrib.messages`` is installed)."""
        changed = form.changed_registries
        if not changed:
            messages.info(self.request, _("Nothing changed."), fail_silently=True)
            return
        changes = ", ".join(_change(form, key) for key in changed)
        messages.success(self.request, _("Saved %s.") % changes, fail_silently=True)

    def get_context_data(self, form: SelectionsForm) -> dict[str, Any]:
        request = self.request
        return {
            "form": form,
            "entries": form.entries,
            "for_user": self.for_user,
            "tenant": getattr(request, "tenant", None),
            "can_change_selections": can_change_selections(request_context(request)),
        }

    def render(self, form: SelectionsForm, status: int = 200) -> HttpResponse:
        context = self.get_context_data(form)
        return TemplateResponse(self.request, self.template_name, context, status=status)


class UserSelectionsView(SelectionsView):
    """A user's own choices of the ``user_selectable`` registries; any signed-in user.

    A POST with ``reset=<registry key>`` removes the user's own choice of that registry, so
    the tenant's applies to them again.
    """

    template_name = "engine/user_selections.html"
    for_user = True

    def check_permission(self, request: HttpRequest) -> None:
        """A user's own choice affects only them: signed in is enough."""

    def post(self, request: HttpRequest) -> HttpResponse:
        if RESET not in request.POST:
            return super().post(request)
        form = self.get_form()
        key = request.POST[RESET]
        registry = next((r for r in form.registries if r.key == key), None)
        if registry is None:
            return HttpResponseBadRequest(
                _("%(key)s is no registry you can choose for yourself here.") % {"key": echo(key)}
            )
        registry.deselect(form.context, request.user, changed_by=request.user, via=self.via)
        messages.success(
            self.request,
            _("%(registry)s: the site's choice applies to you again.")
            % {"registry": registry.label},
            fail_silently=True,
        )
        return HttpResponseRedirect(request.path)


def _change(form: SelectionsForm, key: str) -> str:
    """Return ``Label → chosen label(s)`` for a registry the form changed (or configured)."""
    registry: type[Registry] = get_registry(key)
    if key not in form.changed_data:
        return _("%(registry)s (configuration)") % {"registry": registry.label}
    value = form.cleaned_data.get(key)
    chosen = value if isinstance(value, list | tuple) else [value]
    labels = ", ".join(_label(registry, item) for item in chosen if item is not None)
    return f"{registry.label} → {labels}"


def _label(registry: type[Registry], item: Any) -> str:
    """Return the label of a cleaned value: a strategy, a ``MissingStrategy`` or a slug."""
    if isinstance(item, str):
        return str(registry.get(item).label) if item in registry else item
    return str(item.label)
