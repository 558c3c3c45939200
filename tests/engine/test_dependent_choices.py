"""SelectionsForm with a parent and a child registry: the child's choices depend on the parent
chosen beside it, validated as a pair and saved parent first."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from django_tenants.utils import tenant_context

from conditions import Context, Setting
from engine import Registry, Strategy
from engine.forms import DEPENDENT_CHOICES_SCRIPT, SelectionsForm
from engine.models import Selection
from engine.storage.writes import write_selection
from tenants.models import Tenant
from tests.engine.surfaces_support import client_for
from tests.helpers import make_user

pytestmark = [
    pytest.mark.usefixtures("switchyard_isolated_registries"),
    pytest.mark.usefixtures("hierarchy"),
    # The demo's payments/card_networks are a hierarchy too: keep these tests to their own.
]
KEYS = ["networks", "gateways"]  # given child first: the form puts the parent first


@pytest.fixture
def hierarchy() -> None:
    class Gateways(Registry):
        key = "gateways"
        default = "card"

    type("Card", (Strategy,), {"registry": Gateways, "slug": "card", "priority": 10})
    type(
        "Invoice",
        (Strategy,),
        {"registry": Gateways, "slug": "invoice", "priority": 20, "condition": Setting("INV")},
    )

    class Networks(Registry):
        key = "networks"
        parent = "gateways"

    type("Visa", (Strategy,), {"registry": Networks, "slug": "visa", "parents": {"card"}})
    type("Amex", (Strategy,), {"registry": Networks, "slug": "amex", "parents": {"card"}})
    type("Any", (Strategy,), {"registry": Networks, "slug": "any", "priority": 200})


@pytest.fixture
def acme(free_tenant: Tenant) -> Iterator[Tenant]:
    with tenant_context(free_tenant), override_settings(INV=True):
        yield free_tenant


@pytest.fixture
def context(acme: Tenant) -> Context:
    return Context(user=make_user(acme, "owner", superuser=True), tenant=acme)


def stored() -> dict[str, str]:
    return dict(Selection.objects.filter(user=None).values_list("registry", "slug"))


def test_the_parent_comes_first_and_the_child_depends_on_it(context: Context) -> None:
    write_selection("gateways", "invoice", via="api", tenant=context.tenant)
    form = SelectionsForm(context, registries=KEYS)
    assert list(form.fields) == ["gateways", "networks"]
    child = form.fields["networks"]
    assert (child.parent_field, child.required) == ("gateways", False)
    # Offered under any parent (the parent may change beside it), each saying whom it serves.
    html = str(form["networks"])
    assert 'data-switchyard-parent="gateways"' in html
    assert re.search(r'value="amex"[^>]* data-switchyard-parents="card"', html)
    assert re.search(r'value="any"[^>]* data-switchyard-parents="\*"', html)
    assert 'value=""' not in html  # no "None" to pick
    assert DEPENDENT_CHOICES_SCRIPT in str(form.media)
    # Under invoice only "any" is in force; visa and amex are explained.
    networks = next(entry for entry in form.entries if entry.key == "networks")
    assert form["networks"].initial == "any"
    assert [u.slug for u in networks.unavailable] == ["amex", "visa"]
    assert networks.unavailable[0].explanation.text == "not valid under gateways=invoice"


def test_alone_the_child_offers_what_serves_the_parent_in_force(context: Context) -> None:
    write_selection("gateways", "invoice", via="api", tenant=context.tenant)
    form = SelectionsForm(context, registries=["networks"])
    assert form.fields["networks"].parent_field is None
    assert [slug for slug, _ in form.fields["networks"].choices] == ["any"]
    assert DEPENDENT_CHOICES_SCRIPT not in str(form.media)


def test_parent_and_child_change_together(context: Context) -> None:
    write_selection("gateways", "invoice", via="api", tenant=context.tenant)
    form = SelectionsForm(context, {"gateways": "card", "networks": "amex"}, registries=KEYS)
    assert form.is_valid(), form.errors
    form.save()
    assert stored() == {"gateways": "card", "networks": "amex"}


def test_a_child_that_does_not_serve_the_new_parent_is_refused(context: Context) -> None:
    form = SelectionsForm(context, {"gateways": "invoice", "networks": "visa"}, registries=KEYS)
    assert not form.is_valid()
    assert form.errors["networks"] == [
        "Strategy 'visa' of 'networks' is not valid under gateways=invoice; it serves "
        "gateways=card."
    ]
    assert stored() == {}


def test_the_stored_child_is_kept_when_the_parent_changes(context: Context) -> None:
    write_selection("networks", "amex", via="api", tenant=context.tenant)
    form = SelectionsForm(context, {"gateways": "invoice", "networks": "amex"}, registries=KEYS)
    assert form.is_valid(), form.errors
    assert form.changed_data == ["gateways"]
    form.save()
    assert stored() == {"gateways": "invoice", "networks": "amex"}  # kept, not in force
    # Back under card, the kept choice is in force again and the form starts at it.
    write_selection("gateways", "card", via="api", tenant=context.tenant)
    assert SelectionsForm(context, registries=KEYS)["networks"].initial == "amex"


def test_a_blank_child_keeps_what_is_stored(context: Context) -> None:
    write_selection("networks", "visa", via="api", tenant=context.tenant)
    form = SelectionsForm(context, {"gateways": "invoice"}, registries=KEYS)
    assert form.is_valid(), form.errors
    assert form.changed_data == ["gateways"]


def test_saving_checks_the_child_again_under_the_parent_just_written(
    context: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_selection("gateways", "invoice", via="api", tenant=context.tenant)
    form = SelectionsForm(context, {"gateways": "card", "networks": "visa"}, registries=KEYS)
    assert form.is_valid(), form.errors
    # Between validation and saving the parent's choice becomes invoice (a race): refused.
    monkeypatch.setattr(form, "cleaned_data", {**form.cleaned_data, "gateways": "invoice"})
    with pytest.raises(ValidationError, match="not valid under gateways=invoice"):
        form.save()
    assert stored() == {"gateways": "invoice"}  # all or nothing


def test_rendered_with_a_prefix_the_child_names_the_prefixed_parent(context: Context) -> None:
    form: Any = SelectionsForm(context, registries=KEYS, prefix="mine")
    assert 'data-switchyard-parent="mine-gateways"' in str(form["networks"])


def test_the_admin_offers_the_dependent_choices(acme: Tenant) -> None:
    owner = make_user(acme, "admin-owner", superuser=True, is_staff=True)
    html = client_for(acme, owner).get("/admin/engine/selection/").content.decode()
    assert 'data-switchyard-parent="gateways"' in html
    assert f'<script src="/static/{DEPENDENT_CHOICES_SCRIPT}"></script>' in html
