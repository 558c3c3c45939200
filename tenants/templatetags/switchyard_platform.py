"""Template tags of the platform page: its two grids, rendered in Python.

A page of 100 tenants has a row per tenant with a cell per registry, and a cell per tenant and
platform flag: thousands of cells. Through the template language, or even ``format_html``,
each costs tens of microseconds (most of the page's time), so they are written here as
strings, as the admin's changelist builds its cells in Python (``items_for_result``). Every
value is escaped as the template would (Django's ``escape`` is ``html.escape``), called
directly: the values are plain strings, and its lazy-string wrapper costs more than the
escaping.
"""

from __future__ import annotations

from html import escape

from django import template
from django.utils.safestring import SafeString, mark_safe

from tenants.reports import FlagState, RegistryState, TenantStrategies

register = template.Library()

NO_PLAN = "\u2013"  # an en dash, as the template showed
NOTHING_AVAILABLE = '<span class="error">nothing available</span>'
# The class of a flag's cell by its state ("per user" has none).
FLAG_CLASSES = {"on": "own", "off": "muted"}


@register.simple_tag
def tenant_row(tenant: TenantStrategies) -> SafeString:
    """Return the tenant's row: its name, plan, and a cell per registry."""
    schema = escape(tenant.schema_name)
    cells = "".join(strategy_cell(state) for state in tenant.registries)
    return mark_safe(
        f'<tr id="tenant-{schema}"><td>{escape(tenant.name)} <span class="muted">({schema})'
        f"</span></td><td>{escape(tenant.plan or NO_PLAN)}</td>{cells}</tr>"
    )


def strategy_cell(state: RegistryState) -> str:
    """Return one registry's cell: the slug, bold when it is the tenant's own choice."""
    if state.error:
        shown = NOTHING_AVAILABLE
    elif state.own_choice:
        shown = f'<span class="own">{escape(str(state.slug))}</span>'
    else:
        description = state.reason.description if state.reason is not None else ""
        shown = (
            f'<span class="fallback">{escape(str(state.slug))}</span> '
            f'<span class="muted">({escape(description)})</span>'
        )
    skipped = "".join(
        f'<div class="muted">not in force: {escape(skip)}</div>' for skip in state.skipped
    )
    return f'<td data-registry="{escape(state.registry)}">{shown}{skipped}</td>'


@register.simple_tag
def tenant_headers(report: list[TenantStrategies]) -> SafeString:
    """Return a header cell per tenant (its name), for the flags' table."""
    return mark_safe("".join(f"<th>{escape(tenant.name)}</th>" for tenant in report))


@register.simple_tag
def flag_cells(flag: FlagState) -> SafeString:
    """Return the flag's cells, one per tenant: on, off or per user."""
    return mark_safe(
        "".join(
            f'<td data-tenant="{escape(schema)}" class="{FLAG_CLASSES.get(state, "")}">'
            f"{escape(state)}</td>"
            for schema, state in flag.tenants
        )
    )
