"""The platform page's grids, rendered in Python: the markup the template had, escaped alike."""

from __future__ import annotations

from django.template import Context as TemplateContext
from django.template import Template

from engine import Reason
from tenants.reports import FlagState, RegistryState, TenantStrategies
from tenants.templatetags.switchyard_platform import (
    flag_cells,
    strategy_cell,
    tenant_headers,
    tenant_row,
)

HOSTILE = "<b>\"x\" & 'y'</b>"


def _as_template_escapes(value: str) -> str:
    return Template("{{ value }}").render(TemplateContext({"value": value}))


def test_the_tenants_own_choice_is_bold() -> None:
    state = RegistryState("payments", "invoice", Reason.TENANT_SELECTION, "invoice")
    assert strategy_cell(state) == (
        '<td data-registry="payments"><span class="own">invoice</span></td>'
    )


def test_any_other_strategy_says_why_and_what_was_passed_over() -> None:
    state = RegistryState(
        "payments", "card", Reason.DEFAULT, "invoice", skipped=("stored 'invoice' is off",)
    )
    assert strategy_cell(state) == (
        '<td data-registry="payments"><span class="fallback">card</span> '
        '<span class="muted">(the registry&#x27;s default)</span>'
        '<div class="muted">not in force: stored &#x27;invoice&#x27; is off</div></td>'
    )


def test_nothing_available_is_shown_as_such() -> None:
    state = RegistryState("premium", None, None, None, error="No strategy of 'premium'")
    assert strategy_cell(state) == (
        '<td data-registry="premium"><span class="error">nothing available</span></td>'
    )


def test_every_value_is_escaped_as_the_template_language_escapes_it() -> None:
    state = RegistryState(HOSTILE, HOSTILE, Reason.FALLBACK, None, skipped=(HOSTILE,))
    tenant = TenantStrategies(HOSTILE, HOSTILE, HOSTILE, (state,))
    escaped = _as_template_escapes(HOSTILE)
    row = tenant_row(tenant)
    assert HOSTILE not in row
    # The row's id, the name, the schema, the plan, the registry key, the slug, the skip.
    assert row.count(escaped) == 7
    flag = FlagState("f", "", (), ((HOSTILE, "on"),))
    assert flag_cells(flag) == f'<td data-tenant="{escaped}" class="own">on</td>'
    assert tenant_headers([tenant]) == f"<th>{escaped}</th>"


def test_a_tenant_without_a_plan_shows_a_dash() -> None:
    tenant = TenantStrategies("acme", "Acme", None, ())
    assert tenant_row(tenant) == (
        '<tr id="tenant-acme"><td>Acme <span class="muted">(acme)</span></td><td>\u2013</td></tr>'
    )


def test_flag_cells_are_classed_by_state() -> None:
    flag = FlagState("f", "", (), (("a", "on"), ("b", "off"), ("c", "per user")))
    assert flag_cells(flag) == (
        '<td data-tenant="a" class="own">on</td><td data-tenant="b" class="muted">off</td>'
        '<td data-tenant="c" class="">per user</td>'
    )
