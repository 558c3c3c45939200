"""Provisioning creates the project's own clients: its fields, its plan field, its domain model."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client as HttpClient
from django.test import override_settings
from django_tenants.utils import schema_exists

from tenants.provisioning import ensure_public_tenant, provision_tenant
from tests.owntenant.customers.models import Client, Domain
from tests.owntenant.test_routing import CALLABLE_HOOK


def errors(**arguments: Any) -> dict[str, list[str]]:
    arguments = {"domain": "initech.localhost", "title": "Initech", **arguments}
    with pytest.raises(ValidationError) as caught:
        provision_tenant("initech", **arguments)
    assert not schema_exists("initech")
    assert not Client.objects.filter(schema_name="initech").exists()
    return caught.value.message_dict


def test_a_client_is_provisioned_with_its_plan_field_and_routes(db: None) -> None:
    client = provision_tenant(
        "initech",
        domain="initech.localhost",
        plan="pro",
        title="Initech",
        selections={"support": "phone"},
    )
    assert isinstance(client, Client)
    assert (client.schema_name, client.title, client.tier) == ("initech", "Initech", "pro")
    assert Domain.objects.get(domain="initech.localhost").tenant_id == client.pk
    body = HttpClient(HTTP_HOST="initech.localhost").get("/support/").json()
    assert body == {"tenant": "initech", "plan": "pro", "support": "phone"}


def test_fields_the_model_lacks_are_refused_by_name(db: None) -> None:
    found = errors(name="Initech", created_by_team="ops")
    assert found["name"] == ["The tenant model customers.Client has no field 'name'."]
    assert "has no field 'created_by_team'" in found["created_by_team"][0]


def test_the_plan_is_validated_and_the_models_own_validation_runs(db: None) -> None:
    found = errors(plan="gold", title="")
    assert "Unknown plan 'gold'" in found["plan"][0]
    assert found["title"] == ["This field cannot be blank."]


def test_a_selection_is_checked_against_the_plan_to_be(db: None) -> None:
    found = errors(plan="free", selections={"support": "concierge"})
    assert "concierge" in found["selections"][0]


def test_with_a_function_hook_the_plan_is_not_set_but_checked(db: None) -> None:
    with override_settings(SWITCHYARD=CALLABLE_HOOK):
        (message,) = errors(plan="pro")["plan"]
        assert "is not a field of customers.Client" in message
        (message,) = errors(tier="gold")["plan"]
        assert "Unknown plan 'gold'" in message
        client = provision_tenant("initech", domain="initech.localhost", title="I", vip=True)
    assert client.tier == "free" and client.vip


def test_the_command_sets_the_models_fields(db: None) -> None:
    call_command(
        "provision_tenant", "initech", "--plan=pro", "--field=title=Initech", "--domain=i.localhost"
    )
    assert Client.objects.get(schema_name="initech").tier == "pro"
    with pytest.raises(CommandError, match="title: This field cannot be blank"):
        call_command("provision_tenant", "globex", "--domain=g.localhost")


def test_the_public_row_refuses_fields_the_model_lacks(db: None) -> None:
    Client.objects.filter(schema_name="public").delete()
    with pytest.raises(ValidationError) as caught:
        ensure_public_tenant("localhost", title="Platform", name="Platform")
    assert caught.value.message_dict == {
        "name": ["The tenant model customers.Client has no field 'name' to set."]
    }
    public = ensure_public_tenant("localhost", title="Platform")
    assert (public.schema_name, public.tier) == ("public", "enterprise")
