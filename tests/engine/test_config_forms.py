"""SelectionsForm configures and selects a strategy in one step; secrets never shown back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django import forms
from django_tenants.utils import tenant_context

from conditions import Context
from engine import Registry, Strategy
from engine.config import SecretField, StrategyConfig
from engine.forms import SelectionsForm
from engine.models import ConfigurationHistory, Selection, StrategyConfiguration
from tenants.models import Tenant
from tests.helpers import make_user

pytestmark = pytest.mark.usefixtures("switchyard_isolated_registries")

SECRET = "sk_live_abcdefgh12345678"


@pytest.fixture
def gateways() -> type[Registry]:
    class Gateways(Registry):
        key = "gateways"
        default = "card"

    class Card(Strategy):
        registry = Gateways
        slug = "card"

    class Stripe(Strategy):
        registry = Gateways
        slug = "stripe"

        class Config(StrategyConfig):
            publishable_key = forms.CharField(max_length=60)
            secret_key = SecretField()

    return Gateways


@pytest.fixture
def acme(free_tenant: Tenant) -> Iterator[Tenant]:
    with tenant_context(free_tenant):
        yield free_tenant


def form(tenant: Tenant, data: dict[str, str] | None = None) -> SelectionsForm:
    owner = make_user(tenant, "owner") if data is None else None
    return SelectionsForm(Context(tenant=tenant, user=owner), data, registries=["gateways"])


def test_an_unconfigured_strategy_is_offered_with_its_configuration_form(
    gateways: type[Registry], acme: Tenant
) -> None:
    shown = form(acme)
    assert [slug for slug, _ in shown.fields["gateways"].choices] == ["card", "stripe"]
    (entry,) = shown.entries[0].configs
    assert entry.needs == "stripe needs publishable_key, secret_key"
    assert 'name="gateways-stripe-secret_key"' in str(entry.form)


def test_configure_and_select_in_one_post(gateways: type[Registry], acme: Tenant) -> None:
    data = {
        "gateways": "stripe",
        "gateways-stripe-publishable_key": "pk_live_1",
        "gateways-stripe-secret_key": SECRET,
    }
    bound = form(acme, data)
    assert bound.is_valid(), bound.errors
    bound.save(via="form")
    assert Selection.objects.get().slug == "stripe"
    assert StrategyConfiguration.objects.get().values == {"publishable_key": "pk_live_1"}
    assert ConfigurationHistory.objects.get().after["secret_key"] == "••••5678"
    again = form(acme)
    html = str(again.entries[0].configs[0].form)
    assert SECRET not in html and "Stored: ••••5678. Leave blank to keep it." in html
    assert 'value="pk_live_1"' in html
    # A blank secret keeps the stored one; the publishable key changes.
    data = {"gateways": "stripe", "gateways-stripe-publishable_key": "pk_live_2"}
    data["gateways-stripe-secret_key"] = ""
    bound = form(acme, data)
    assert bound.is_valid(), bound.errors
    bound.save(via="form")
    resolution = gateways.resolve(Context(tenant=acme))
    assert resolution.strategy.config.secret_key == SECRET
    assert resolution.strategy.config.publishable_key == "pk_live_2"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({}, "Stripe is not configured: stripe needs publishable_key, secret_key."),
        ({"gateways-stripe-publishable_key": "pk"}, "secret_key: This field is required."),
        ({"gateways-stripe-publishable_key": "p" * 61, "gateways-stripe-secret_key": "s"}, "60"),
        ({"gateways-stripe-publishable_key": "p\x00", "gateways-stripe-secret_key": "s"}, "Null"),
        (
            {"gateways-stripe-publishable_key": "p" * 10**5, "gateways-stripe-secret_key": "s"},
            "4096",
        ),
    ],
)
def test_bad_configuration_is_a_form_error_and_nothing_is_stored(
    gateways: type[Registry], acme: Tenant, data: dict[str, str], expected: str
) -> None:
    bound = form(acme, {"gateways": "stripe", **data})
    assert not bound.is_valid()
    assert expected in " ".join(bound.errors["gateways"])
    assert len(" ".join(bound.errors["gateways"])) < 1000
    assert not Selection.objects.exists() and not StrategyConfiguration.objects.exists()


def test_a_users_form_edits_the_users_own_configuration(acme: Tenant) -> None:
    class Digest(Registry):
        key = "form_digest"
        default = "email"
        user_selectable = True

    class Email(Strategy):
        registry = Digest
        slug = "email"

    class Pager(Strategy):
        registry = Digest
        slug = "pager"

        class Config(StrategyConfig):
            token = SecretField()

    alice = make_user(acme, "alice")
    Digest.configure("pager", {"token": "tenant-token-0000000"}, Context(tenant=acme))
    context = Context(tenant=acme, user=alice)
    shown = SelectionsForm(context, for_user=True, registries=["form_digest"])
    assert "Stored" not in str(shown.entries[0].configs[0].form)  # the tenant's is not hers
    data = {"form_digest": "pager", "form_digest-pager-token": "alice-token-11111111"}
    bound = SelectionsForm(context, data, for_user=True, registries=["form_digest"])
    assert bound.is_valid(), bound.errors
    bound.save()
    row = StrategyConfiguration.objects.get(user=alice)
    assert row.registry == "form_digest"
    assert Digest.resolve(context).strategy.config.token == "alice-token-11111111"
    assert Digest.configuration("pager", Context(tenant=acme)).values.token == (
        "tenant-token-0000000"
    )
