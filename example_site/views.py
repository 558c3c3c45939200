"""The demo's pages: each tenant's dashboard, checkout, orders, export and outbox, and the
platform's home page. The settings pages are Switchyard's own (``engine.urls``), restyled by
the templates in ``example_site/templates/engine/``.

Every page reads the strategies in force from ``request.strategy``; none decides by itself
which gateway, channel, format or price rule a tenant may use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods

from conditions.users import user_groups
from engine import RegistryExplanation, StrategyNamespace
from engine.permissions import can_change_selections
from example_site import orders
from example_site.forms import CheckoutForm
from example_site.models import Order, OutboxMessage
from example_site.registries.exports import order_rows
from tenants.models import Tenant


@dataclass(frozen=True)
class Section:
    """How the dashboard shows one registry: its key, a DOM id prefix and what it picks."""

    key: str
    prefix: str
    noun: str


SECTIONS = (
    Section("payments", "payment", "payment method"),
    Section("card_networks", "card-network", "card network"),
    Section("notifications", "notification", "set of notification channels"),
    Section("exports", "export", "export format"),
    Section("pricing", "pricing", "pricing rule"),
)


def strategies(request: HttpRequest) -> StrategyNamespace:
    """Return ``request.strategy`` (set by ``engine.middleware.StrategyMiddleware``)."""
    namespace: StrategyNamespace = request.strategy  # type: ignore[attr-defined]
    return namespace


def tenant_of(request: HttpRequest) -> Tenant:
    tenant: Tenant = request.tenant  # type: ignore[attr-defined]
    return tenant


def can_change_selections_of(request: HttpRequest) -> bool:
    """Return whether the request's user may choose the tenant's strategies: Switchyard's one
    policy (``engine.change_selection``; owners are superusers), as in the admin and the API.
    Judged on the request's context, so the permissions the dashboard's conditions loaded
    answer it without another query."""
    return can_change_selections(strategies(request).context)


def page(request: HttpRequest, template: str, **context: Any) -> HttpResponse:
    """Render a tenant page with what every page's navigation needs."""
    context.setdefault("tenant", tenant_of(request))
    # The name the bundled selection views give it too: the navigation reads it on every page.
    context["can_change_selections"] = can_change_selections_of(request)
    return render(request, f"example_site/{template}", context)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The dashboard, for the tenant's logged-in users: per registry, the strategy in force,
    why, and why not the others.

    An anonymous visitor gets the public page: the tenant's name and a way to log in. A
    tenant's plan, stored choices and conditions are its own business.
    """
    user = request.user
    if not user.is_authenticated:
        return page(request, "public_home.html")
    namespace = strategies(request)
    explained: list[tuple[Section, RegistryExplanation]] = [
        (section, namespace.explain(section.key)) for section in SECTIONS
    ]
    groups = sorted(user_groups(user).values())
    return page(request, "home.html", sections=explained, groups=groups)


@login_required
@require_http_methods(["GET", "POST"])
def checkout(request: HttpRequest) -> HttpResponse:
    """Order an add-on: priced, charged and announced by the strategies in force."""
    namespace = strategies(request)
    form = CheckoutForm(request.POST if request.method == "POST" else None)
    quote = None
    if request.method == "POST" and form.is_valid():
        product, quantity = form.order()
        if "preview" in request.POST:
            quote = orders.quote(namespace, product, quantity)
        else:
            order = orders.place_order(namespace, product, quantity, placed_by=request.user)
            messages.success(request, f"Order {order.number} placed.")
            return redirect("order", pk=order.pk)
    in_force = [namespace.resolution(key) for key in ("pricing", "payments", "notifications")]
    return page(request, "checkout.html", form=form, quote=quote, in_force=in_force)


@login_required
@require_GET
def order_list(request: HttpRequest) -> HttpResponse:
    """The tenant's orders, and the export format in force."""
    found = Order.objects.select_related("placed_by")[:100]
    export = strategies(request).resolution("exports")
    return page(request, "orders.html", orders=found, export=export)


@login_required
@require_GET
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One order: its price lines, the gateway's receipt and the notifications it sent."""
    order = get_object_or_404(Order.objects.select_related("placed_by"), pk=pk)
    notifications = order.notifications.all()
    return page(request, "order.html", order=order, notifications=notifications)


@login_required
@require_GET
def export_orders(request: HttpRequest) -> HttpResponse:
    """Download the tenant's orders in the export format in force."""
    exporter = orders.exporter(strategies(request))
    rows = order_rows(Order.objects.select_related("placed_by"))
    stem = f"{tenant_of(request).schema_name}-orders-{timezone.localdate():%Y-%m-%d}"
    filename = exporter.filename(stem)
    response = HttpResponse(exporter.render(rows), content_type=exporter.content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


@login_required
@require_GET
def outbox(request: HttpRequest) -> HttpResponse:
    """Every notification the tenant's channels wrote, newest first."""
    found = OutboxMessage.objects.select_related("order")[:100]
    return page(request, "outbox.html", outbox=found)


@require_GET
def platform_home(request: HttpRequest) -> HttpResponse:
    """The platform's home page: every tenant with its plan, address and demo logins."""
    tenants = Tenant.objects.exclude(schema_name="public").prefetch_related("domains")
    return render(request, "example_site/platform_home.html", {"tenants": tenants})
