"""engine.forms: choices are what the context may use; submits are validated like selects."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django import forms
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.test import override_settings
from django_tenants.utils import tenant_context

from conditions import Context, Never
from engine import Registry, Strategy
from engine.fields import MissingStrategy
from engine.forms import (
    SelectionsForm,
    StrategyChoiceField,
    StrategyFormMixin,
    StrategyMultipleChoiceField,
)
from engine.models import Selection, SelectionHistory
from engine.storage.writes import write_selection
from engine.testing import isolated_registries, override_condition
from tenants.models import Tenant
from tests.engine.surfaces_app.models import Parcel
from tests.engine.surfaces_app.strategies import (
    Contrast,
    Dark,
    Drone,
    Email,
    Express,
    Freight,
    Pager,
    Post,
    Sms,
)
from tests.engine.surfaces_support import drones_for, request_for, rows
from tests.helpers import make_user
from tests.transactions import settled

OURS = ["surface_couriers", "surface_alerts", "surface_looks"]


class CourierForm(forms.Form):
    courier = StrategyChoiceField("surface_couriers")


def courier_form(context: Context | None, data: Any = None, **kwargs: Any) -> CourierForm:
    form = CourierForm(data, **kwargs)
    form.fields["courier"].context = context  # type: ignore[attr-defined]
    return form


def offered(form: forms.Form, name: str) -> list[str]:
    return [value for value, _label in form.fields[name].choices]  # type: ignore[attr-defined]


@pytest.fixture
def globex(pro_tenant: Tenant) -> Iterator[Tenant]:
    with tenant_context(pro_tenant):
        yield pro_tenant


# StrategyChoiceField ---------------------------------------------------------------------


def test_choices_are_the_available_strategies_by_priority(
    free_tenant: Tenant, pro_tenant: Tenant, enterprise_tenant: Tenant
) -> None:
    assert offered(courier_form(Context(tenant=free_tenant)), "courier") == ["post"]
    assert offered(courier_form(Context(tenant=pro_tenant)), "courier") == ["post", "express"]
    drones_for("initech")
    enterprise = courier_form(Context(tenant=enterprise_tenant))
    assert offered(enterprise, "courier") == ["post", "express", "drone", "freight"]


def test_the_widget_shows_labels_icons_and_descriptions(pro_tenant: Tenant) -> None:
    drones_for("globex")
    html = str(courier_form(Context(tenant=pro_tenant))["courier"])
    assert 'type="radio" name="courier" value="post"' in html
    assert '<span class="switchyard-icon" aria-hidden="true">📮</span> Postal service' in html
    assert 'aria-describedby="id_courier_0_description"' in html
    assert '<div class="help switchyard-description" id="id_courier_0_description">' in html
    assert "Ships by post, in three to five days." in html
    assert "Drone &lt;beta&gt;" in html and "<beta>" not in html  # labels are escaped
    assert 'value="freight"' not in html


def test_a_valid_submit_cleans_to_the_strategy_class(pro_tenant: Tenant) -> None:
    form = courier_form(Context(tenant=pro_tenant), {"courier": "express"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["courier"] is Express


@pytest.mark.parametrize(
    ("posted", "code", "message"),
    [
        (
            "freight",
            "unavailable",
            "Strategy 'freight' of 'surface_couriers' is not available here: "
            "plan:enterprise is not met.",
        ),
        (
            "expres",
            "unknown_strategy",
            "Unknown strategy 'expres' in 'surface_couriers'. Did you mean 'express'? "
            "Choose one of: post, express, drone, freight.",
        ),
        ("email", "unknown_strategy", "Unknown strategy 'email' in 'surface_couriers'."),
    ],
)
def test_a_crafted_submit_is_an_error_naming_the_slug(
    pro_tenant: Tenant, posted: str, code: str, message: str
) -> None:
    form = courier_form(Context(tenant=pro_tenant), {"courier": posted})
    assert not form.is_valid()
    (error,) = form.errors.as_data()["courier"]
    assert error.code == code
    assert error.messages[0].startswith(message)


def test_without_a_context_the_field_fails_closed(pro_tenant: Tenant) -> None:
    form = courier_form(None, {"courier": "express"})
    assert offered(form, "courier") == ["post"]  # what a request without tenant or user may use
    assert not form.is_valid()
    assert "not available here" in form.errors["courier"][0]


def test_the_initial_value_may_be_kept_unchanged_even_when_unavailable(pro_tenant: Tenant) -> None:
    context = Context(tenant=pro_tenant)
    form = courier_form(context, initial={"courier": Freight})
    html = str(form["courier"])
    assert re.search(r'value="freight"[^>]* checked', html)
    assert "(current choice, not available now)" in html
    kept = courier_form(context, {"courier": "freight"}, initial={"courier": Freight})
    assert kept.is_valid(), kept.errors
    assert kept.cleaned_data["courier"] is Freight and not kept.has_changed()
    # Keeping is not choosing: another unavailable one is refused.
    assert not courier_form(
        context, {"courier": "drone"}, initial={"courier": "freight"}
    ).is_valid()


def test_a_slug_no_longer_registered_is_kept_as_a_missing_strategy(pro_tenant: Tenant) -> None:
    context = Context(tenant=pro_tenant)
    form = courier_form(context, initial={"courier": "teleport"})
    assert "(current choice, no longer registered)" in str(form["courier"])
    kept = courier_form(context, {"courier": "teleport"}, initial={"courier": "teleport"})
    assert kept.is_valid()
    assert kept.cleaned_data["courier"] == MissingStrategy("surface_couriers", "teleport")
    changed = courier_form(context, {"courier": "post"}, initial={"courier": "teleport"})
    assert changed.is_valid() and changed.has_changed()


def test_an_optional_field_offers_none(pro_tenant: Tenant) -> None:
    field = StrategyChoiceField(
        "surface_couriers", context=Context(tenant=pro_tenant), required=False
    )
    assert field.choices[0] == ("", "None")
    assert field.clean("") is None


def test_fields_of_one_form_class_keep_their_own_context(
    free_tenant: Tenant, pro_tenant: Tenant
) -> None:
    acme, globex = (
        courier_form(Context(tenant=free_tenant)),
        courier_form(Context(tenant=pro_tenant)),
    )
    assert "express" not in str(acme["courier"]) and "express" in str(globex["courier"])
    assert CourierForm.base_fields["courier"].context is None  # type: ignore[attr-defined]


# StrategyMultipleChoiceField ---------------------------------------------------------------


def test_the_multiple_field_validates_every_slug(pro_tenant: Tenant) -> None:
    context = Context(tenant=pro_tenant)
    field = StrategyMultipleChoiceField("surface_alerts", context=context, required=False)
    assert [value for value, _label in field.choices] == ["email", "sms"]
    assert field.clean(["sms", "email"]) == [Sms, Email]
    with pytest.raises(ValidationError, match="'pager' of 'surface_alerts' is not available"):
        field.clean(["email", "pager"])
    with pytest.raises(ValidationError, match="Strategy 'sms' is listed twice"):
        field.clean(["sms", "sms"])
    with override_settings(SURFACE_PAGER=True):
        assert StrategyMultipleChoiceField(
            "surface_alerts", context=Context(tenant=pro_tenant)
        ).clean(["pager"]) == [Pager]
    assert field.has_changed((Sms, Email), ["email", "sms"]) is False
    assert field.has_changed((Sms,), ["email"]) is True


# Model forms -------------------------------------------------------------------------------


class ParcelForm(StrategyFormMixin, forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Parcel
        fields = ["name", "courier", "backup", "alerts"]


def test_a_model_form_gets_the_request_context(globex: Tenant) -> None:
    request = request_for(globex)
    form = ParcelForm({"name": "box", "courier": "express", "alerts": ["sms"]}, request=request)
    assert form.fields["courier"].context.tenant is globex  # type: ignore[attr-defined]
    assert form.is_valid(), form.errors
    parcel = form.save()
    assert (parcel.courier, parcel.backup, parcel.alerts) == (Express, None, (Sms,))
    assert Parcel.objects.filter(courier="express").count() == 1
    refused = ParcelForm({"name": "crate", "courier": "freight"}, request=request)
    assert not refused.is_valid()
    assert "'freight' of 'surface_couriers' is not available here" in refused.errors["courier"][0]
    assert Parcel.objects.count() == 1


def test_editing_a_row_keeps_values_no_longer_offered(globex: Tenant) -> None:
    parcel = Parcel.objects.create(name="box", courier=Freight, alerts=[Email])
    Parcel.objects.filter(pk=parcel.pk).update(alerts=["email", "pigeon"])
    parcel.refresh_from_db()
    data = {"name": "renamed", "courier": "freight", "alerts": ["email", "pigeon"]}
    form = ParcelForm(data, instance=parcel, context=Context(tenant=globex))
    assert form.is_valid(), form.errors
    assert form.changed_data == ["name"]
    form.save()
    assert Parcel.objects.filter(courier="freight", alerts=["email", "pigeon"]).count() == 1
    swap = ParcelForm({**data, "courier": "drone"}, instance=parcel, context=Context(tenant=globex))
    assert not swap.is_valid()


# SelectionsForm -----------------------------------------------------------------------------


@pytest.fixture
def owner(pro_tenant: Tenant) -> Any:
    return make_user(pro_tenant, "owner", superuser=True)


def context_of(tenant: Tenant, user: Any = None) -> Context:
    return Context(request=request_for(tenant, user), user=user, tenant=tenant)


def data_of(form: SelectionsForm, **changes: str) -> dict[str, Any]:
    """What a browser posts: every field's initial value, with ``changes``."""
    data = {name: form[name].value() for name in form.fields if not form.fields[name].disabled}
    return {**data, **changes}


def test_one_field_per_registry_starting_at_the_stored_or_in_force_slug(
    globex: Tenant, owner: Any
) -> None:
    write_selection("surface_couriers", "express", via="test")
    form = SelectionsForm(context_of(globex, owner), registries=OURS)
    assert list(form.fields) == OURS
    assert form.fields["surface_couriers"].label == "Couriers"
    assert form.fields["surface_couriers"].help_text == "How parcels are shipped."
    assert form["surface_couriers"].value() == "express"  # stored
    assert form["surface_looks"].value() == "light"  # nothing stored: the default in force
    assert form.stored == {
        "surface_couriers": "express",
        "surface_alerts": None,
        "surface_looks": None,
    }
    everything = SelectionsForm(context_of(globex, owner))
    assert set(OURS) <= set(everything.fields) and "payments" in everything.fields


def test_a_registry_with_nothing_to_choose_is_shown_disabled(globex: Tenant, owner: Any) -> None:
    form = SelectionsForm(context_of(globex, owner), registries=OURS)
    alerts = form.fields["surface_alerts"]  # no default; email is available: not disabled
    assert not alerts.disabled and form["surface_alerts"].value() == "email"
    with isolated_registries():

        class Vault(Registry):
            key = "surface_vault"

        class Locked(Strategy):
            registry = Vault
            slug = "locked"
            condition = Never()

        form = SelectionsForm(context_of(globex, owner), {}, registries=["surface_vault"])
        assert form.fields["surface_vault"].disabled and form.is_valid()
        assert form.entries[0].explanation.error is not None
        assert form.save() == []


def test_save_writes_the_changed_fields_through_select(globex: Tenant, owner: Any) -> None:
    form = SelectionsForm(context_of(globex, owner), registries=OURS)
    form = SelectionsForm(
        context_of(globex, owner), data_of(form, surface_couriers="express"), registries=OURS
    )
    assert form.is_valid(), form.errors
    assert form.changed_data == ["surface_couriers"]
    (row,) = form.save()
    assert isinstance(row, Selection) and (row.registry, row.slug) == (
        "surface_couriers",
        "express",
    )
    history = SelectionHistory.objects.get()
    assert (history.after_slug, history.via, history.changed_by_id) == ("express", "form", owner.pk)
    again = SelectionsForm(context_of(globex, owner), registries=OURS)
    assert again["surface_couriers"].value() == "express"
    unchanged = SelectionsForm(context_of(globex, owner), data_of(again), registries=OURS)
    assert unchanged.is_valid() and unchanged.save() == []
    assert SelectionHistory.objects.count() == 1


@pytest.mark.parametrize(
    ("posted", "expected"),
    [
        ("freight", "Strategy 'freight' of 'surface_couriers' is not available here"),
        ("email", "Unknown strategy 'email' in 'surface_couriers'"),
        ("teleport", "Unknown strategy 'teleport' in 'surface_couriers'"),
        ("", "This field is required."),
    ],
)
def test_tampered_submits_store_nothing(
    globex: Tenant, owner: Any, posted: str, expected: str
) -> None:
    before = rows(globex)
    blank = SelectionsForm(context_of(globex, owner), registries=OURS)
    data = data_of(blank, surface_couriers=posted, surface_looks="dark")
    form = SelectionsForm(context_of(globex, owner), data, registries=OURS)
    assert not form.is_valid()
    assert form.errors["surface_couriers"][0].startswith(expected)
    with pytest.raises(ValueError, match="cannot be saved: it has errors"):
        form.save()
    assert rows(globex) == before  # not even the valid surface_looks change


def test_availability_is_checked_again_when_saving(globex: Tenant, owner: Any) -> None:
    blank = SelectionsForm(context_of(globex, owner), registries=OURS)
    form = SelectionsForm(
        context_of(globex, owner),
        data_of(blank, surface_couriers="express", surface_looks="dark"),
        registries=OURS,
    )
    assert form.is_valid()
    before = rows(globex)
    with override_condition(Express, False), pytest.raises(ValidationError):
        form.save()
    assert rows(globex) == before  # surface_looks was rolled back too
    assert (
        "'express' of 'surface_couriers' is not available here"
        in form.errors["surface_couriers"][0]
    )


def test_unbound_forms_are_not_saved(globex: Tenant, owner: Any) -> None:
    with pytest.raises(ValueError, match="it is not bound to data"):
        SelectionsForm(context_of(globex, owner)).save()


def test_a_user_edits_their_own_choices(globex: Tenant) -> None:
    member = make_user(globex, "member")
    Group.objects.create(name="Accessibility").user_set.add(member)
    write_selection("surface_looks", "dark", via="test")  # the tenant's choice
    form = SelectionsForm(context_of(globex, member), for_user=True)
    # Only user_selectable registries: these and the demo's exports.
    assert list(form.fields) == ["exports", "surface_looks"]
    assert form["surface_looks"].value() == "dark"  # in force for them: the tenant's choice
    assert "contrast" in [value for value, _ in form.fields["surface_looks"].choices]
    data = {"surface_looks": "contrast", "exports": form["exports"].value()}
    posted = SelectionsForm(context_of(globex, member), data, for_user=True)
    assert posted.is_valid(), posted.errors
    (row,) = posted.save()
    assert (row.user_id, row.slug, row.changed_by_id) == (member.pk, "contrast", member.pk)
    assert Selection.objects.get(user=None).slug == "dark"  # the tenant's is untouched
    tenant_form = SelectionsForm(context_of(globex, member), registries=["surface_looks"])
    assert tenant_form["surface_looks"].value() == "dark"
    assert Contrast.registry is not None and Dark.slug == "dark"


def test_the_tenant_form_starts_at_the_tenant_level_not_the_users_choice(globex: Tenant) -> None:
    member = make_user(globex, "member")
    write_selection("surface_looks", "dark", user=member, via="test")
    form = SelectionsForm(context_of(globex, member), registries=["surface_looks"])
    assert form["surface_looks"].value() == "light"  # the default, not the member's dark


def test_for_user_needs_a_signed_in_user_and_user_selectable_registries(globex: Tenant) -> None:
    with pytest.raises(ValueError, match="needs a context with a signed-in user"):
        SelectionsForm(context_of(globex), for_user=True)
    member = make_user(globex, "member")
    with pytest.raises(
        ValueError, match=r"do not allow them .*: 'surface_couriers', 'surface_alerts'\.$"
    ):
        SelectionsForm(context_of(globex, member), for_user=True, registries=OURS)


def test_unknown_registry_keys_are_refused_with_a_suggestion(globex: Tenant) -> None:
    with pytest.raises(KeyError, match="Did you mean 'surface_couriers'"):
        SelectionsForm(context_of(globex), registries=["surface_courier"])


def test_entries_pair_each_field_with_its_explanation(globex: Tenant, owner: Any) -> None:
    drones_for()
    form = SelectionsForm(context_of(globex, owner), registries=["surface_couriers"])
    (entry,) = form.entries
    assert entry.key == "surface_couriers" and entry.field.name == "surface_couriers"
    assert entry.stored is None
    assert entry.explanation.resolution is not None and entry.explanation.resolution.slug == "post"
    assert [item.slug for item in entry.unavailable] == ["drone", "freight"]


def test_building_the_form_is_query_free_when_warm(
    pro_tenant: Tenant, django_assert_num_queries: Any
) -> None:
    with settled(), tenant_context(pro_tenant):
        write_selection("surface_couriers", "express", via="test")
    SelectionsForm(Context(tenant=pro_tenant), registries=OURS).as_div()  # warms the cache
    with django_assert_num_queries(0):
        form = SelectionsForm(Context(tenant=pro_tenant), registries=OURS)
        html = form.as_div()
    assert re.search(r'value="express"[^>]* checked', html)
    assert Drone.slug in [e.slug for e in form.entries[0].unavailable]
    assert Post.slug == "post"
