"""Platform flags target the project's clients: by schema, by plan (through the hook), by share."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from conditions import Context, Flag
from tenants.flags import PlatformFlag
from tests.owntenant.customers.models import Client
from tests.owntenant.test_routing import CALLABLE_HOOK


def test_a_flag_on_a_plan_is_on_for_the_clients_on_it(acme: Client, hooli: Client) -> None:
    PlatformFlag.objects.create(name="beta", plans=["enterprise"])
    assert not Flag("beta").evaluate(Context(tenant=acme))
    assert Flag("beta").evaluate(Context(tenant=hooli))
    flag = PlatformFlag.objects.get(name="beta")
    assert flag.describe_for_context(Context(tenant=hooli)) == "plan enterprise is targeted"


def test_a_flag_on_a_plan_follows_a_function_hook(acme: Client) -> None:
    flag = PlatformFlag.objects.create(name="beta", plans=["enterprise"])
    acme.vip = True
    assert not flag.is_active_for_tenant(acme)
    with override_settings(SWITCHYARD=CALLABLE_HOOK):
        assert flag.is_active_for_tenant(acme)


def test_a_flag_on_listed_clients(acme: Client, hooli: Client) -> None:
    PlatformFlag.objects.create(name="beta", tenants=["acme"])
    assert Flag("beta").evaluate(Context(tenant=acme))
    assert not Flag("beta").evaluate(Context(tenant=hooli))


def test_a_flag_names_only_existing_clients(db: None) -> None:
    flag = PlatformFlag(name="beta", tenants=["acmee"])
    with pytest.raises(ValidationError) as caught:
        flag.full_clean()
    assert caught.value.message_dict["tenants"] == ["Unknown tenant 'acmee'. Did you mean 'acme'?"]


def test_deleting_a_client_drops_it_from_the_flags(acme: Client) -> None:
    PlatformFlag.objects.create(name="beta", tenants=["acme", "hooli"])
    acme.auto_drop_schema = False  # the rolled-back test transaction keeps the schema
    acme.delete()
    assert PlatformFlag.objects.get(name="beta").tenants == ["hooli"]
