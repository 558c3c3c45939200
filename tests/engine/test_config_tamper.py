"""Configuration on every write surface x hostile input, and the configuration API.

Surfaces: ``Registry.configure``, ``SelectionsForm``, the demo's settings page, the REST API
(session), ``switchyard_configure``. Inputs: wrong types, huge values, NUL bytes, unknown
fields; and for the pages and the API another tenant's host with this tenant's cookies, a
member without ``engine.change_selection``, anonymous visitors. Each refusal leaves every
schema's configurations, their history and the selections exactly as they were.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client
from django_tenants.utils import tenant_context

from conditions import Context
from engine.forms import SelectionsForm
from engine.models import ConfigurationHistory, StrategyConfiguration
from example_site.registries.payments import PaymentGateways
from example_site.views import SECTIONS
from tenants.models import Tenant
from tests.engine.surfaces_support import client_for, rows
from tests.helpers import make_user

API = "/api/switchyard/registries/payments/configuration/stripe/"
SECRET = "sk_test_globex_0123456789"
VALID = {"publishable_key": "pk_test_1", "secret_key": SECRET, "statement_descriptor": "GLOBEX"}
MESSAGE_LIMIT = 500
PAGE_REGISTRIES = [section.key for section in SECTIONS]
# A complete post of the settings page (what globex's owner would send).
DATA = {
    "payments": "stripe",
    "notifications": "email",
    "exports": "csv",
    "pricing": "flat",
    **{f"payments-stripe-{k}": v for k, v in VALID.items()},
}


def every_schema() -> dict[str, Any]:
    """Each schema's configurations, their history, and its selections."""
    state = {}
    for tenant in Tenant.objects.order_by("schema_name"):
        with tenant_context(tenant):
            configs = list(StrategyConfiguration.objects.values_list("registry", "slug", "values"))
            history = list(ConfigurationHistory.objects.values_list("slug", "after"))
        state[tenant.schema_name] = (configs, history, rows(tenant))
    return state


@pytest.fixture
def owner(pro_tenant: Tenant) -> Any:
    return make_user(pro_tenant, "owner", superuser=True)


# Hostile values of publishable_key (the API also sends non-strings), and what the refusal says.
HOSTILE: dict[str, tuple[Any, str]] = {
    "huge": ("pk_" + "x" * 1_000_000, "at most"),
    "nul": ("pk_\x00live", "Null characters are not allowed"),
    "too-long-for-the-field": ("pk_" + "x" * 300, "at most 200"),
    "wrong-prefix": ("sk_oops", "starts with pk_"),
}
WRONG_TYPES: dict[str, Any] = {"list": ["pk_1"], "object": {"pk": 1}, "number": 12}


def via_python(tenant: Tenant, owner: Any, values: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as raised:
        PaymentGateways.configure(
            "stripe", values, Context(tenant=tenant, user=owner), select=True, via="test"
        )
    return raised.value.messages


def via_form(tenant: Tenant, owner: Any, values: dict[str, Any]) -> list[str]:
    data = {"payments": "stripe", **{f"payments-stripe-{k}": v for k, v in values.items()}}
    with tenant_context(tenant):
        form = SelectionsForm(Context(tenant=tenant, user=owner), data, registries=["payments"])
        assert not form.is_valid()
    return [str(message) for message in form.errors["payments"]]


def page_data(tenant: Tenant, owner: Any, values: dict[str, Any]) -> dict[str, Any]:
    """What the settings page posts: every registry as it is, payments = stripe, its values."""
    with tenant_context(tenant):
        # The bundled page (engine.urls) shows every registry, the tests' own included.
        shown = SelectionsForm(Context(tenant=tenant, user=owner))
        data = {
            key: shown[key].value()
            for key, field in shown.fields.items()
            if not field.disabled and shown[key].value() is not None
        }
    data["payments"] = "stripe"
    return {**data, **{f"payments-stripe-{k}": v for k, v in values.items()}}


def via_page(tenant: Tenant, owner: Any, values: dict[str, Any]) -> list[str]:
    data = page_data(tenant, owner, values)
    response = client_for(tenant, owner).post("/settings/", data)
    assert response.status_code == 400  # the form again, with its errors
    return [response.content.decode()]


def via_api(tenant: Tenant, owner: Any, values: dict[str, Any]) -> list[str]:
    response = client_for(tenant, owner).put(
        API, json.dumps(values), content_type="application/json"
    )
    assert response.status_code == 400, response.content[:300]
    return [json.dumps(response.json())]


def via_command(tenant: Tenant, owner: Any, values: dict[str, Any]) -> list[str]:
    pairs = [f"{name}={value}" for name, value in values.items()]
    with pytest.raises(CommandError) as raised:
        call_command(
            "switchyard_configure", "payments", "stripe", *pairs, "--tenant", "globex",
            "--as", "owner", "--select", stdout=StringIO(), stderr=StringIO(),
        )  # fmt: skip
    assert raised.value.returncode == 1
    return [str(raised.value)]


SURFACES: dict[str, Callable[[Tenant, Any, dict[str, Any]], list[str]]] = {
    "python": via_python,
    "form": via_form,
    "settings-page": via_page,
    "api": via_api,
    "command": via_command,
}


@pytest.mark.parametrize(
    ("surface", "case"),
    # A command line cannot carry NUL: the operating system refuses it before the command runs.
    [(s, c) for s in SURFACES for c in HOSTILE if (s, c) != ("command", "nul")],
)
def test_hostile_values_are_refused_everywhere_and_change_nothing(
    pro_tenant: Tenant, owner: Any, surface: str, case: str
) -> None:
    value, expected = HOSTILE[case]
    before = every_schema()
    messages = SURFACES[surface](pro_tenant, owner, {**VALID, "publishable_key": value})
    text = " ".join(messages)
    assert expected in text
    if surface == "settings-page":
        assert len(text) < 100_000  # the page shows its inputs again, a huge value not
    else:
        assert value not in text or len(value) < 100  # a huge value is never echoed back
        assert len(text) < MESSAGE_LIMIT
    assert every_schema() == before


@pytest.mark.parametrize("case", list(WRONG_TYPES))
@pytest.mark.parametrize("surface", ["python", "api"])
def test_wrong_types_are_refused(pro_tenant: Tenant, owner: Any, surface: str, case: str) -> None:
    before = every_schema()
    text = " ".join(
        SURFACES[surface](pro_tenant, owner, {**VALID, "publishable_key": WRONG_TYPES[case]})
    )
    assert "Expected" in text and len(text) < MESSAGE_LIMIT
    assert every_schema() == before


@pytest.mark.parametrize("surface", list(SURFACES))
def test_the_valid_configuration_goes_through_so_the_refusals_mean_something(
    pro_tenant: Tenant, owner: Any, surface: str
) -> None:
    data = {"payments": "stripe", **{f"payments-stripe-{k}": v for k, v in VALID.items()}}
    if surface == "python":
        PaymentGateways.configure("stripe", VALID, Context(tenant=pro_tenant, user=owner))
    elif surface == "form":
        with tenant_context(pro_tenant):
            form = SelectionsForm(
                Context(tenant=pro_tenant, user=owner), data, registries=["payments"]
            )
            assert form.is_valid(), form.errors
            form.save()
    elif surface == "settings-page":
        response = client_for(pro_tenant, owner).post(
            "/settings/", page_data(pro_tenant, owner, VALID)
        )
        assert response.status_code == 302, response.content.decode()[-3000:]
    elif surface == "api":
        response = client_for(pro_tenant, owner).put(
            API, json.dumps(VALID), content_type="application/json"
        )
        assert response.status_code == 200
        assert SECRET not in response.content.decode()
    else:
        call_command(
            "switchyard_configure", "payments", "stripe",
            *[f"{k}={v}" for k, v in VALID.items()], "--tenant", "globex", stdout=StringIO(),
        )  # fmt: skip
    with tenant_context(pro_tenant):
        assert StrategyConfiguration.objects.get().values["publishable_key"] == "pk_test_1"


# -- who sends it ------------------------------------------------------------------------------


def send(page: str, client: Client) -> Any:
    if page == "api":
        return client.put(API, json.dumps(VALID), content_type="application/json")
    return client.post("/settings/", DATA)


@pytest.mark.parametrize("who", ["other-tenants-cookies", "member", "anonymous"])
@pytest.mark.parametrize("page", ["settings-page", "api"])
def test_only_this_tenants_permitted_users_can_configure(
    free_tenant: Tenant, pro_tenant: Tenant, owner: Any, page: str, who: str
) -> None:
    if who == "other-tenants-cookies":
        acme_owner = make_user(free_tenant, "owner", superuser=True)
        client = Client(HTTP_HOST="globex.localhost")
        client.cookies = client_for(free_tenant, acme_owner).cookies
    elif who == "member":
        client = client_for(pro_tenant, make_user(pro_tenant, "member"))
    else:
        client = Client(HTTP_HOST="globex.localhost")
    before = every_schema()
    response = send(page, client)
    assert response.status_code in (302, 403), response.status_code
    if response.status_code == 302:
        assert response["Location"].startswith("/accounts/login/")
    assert every_schema() == before


# -- the configuration API ---------------------------------------------------------------------


def test_the_api_shows_configuration_masked_and_never_returns_a_secret(
    pro_tenant: Tenant, owner: Any
) -> None:
    client = client_for(pro_tenant, owner)
    shown = client.get(API).json()
    assert shown["not_configured"] == "stripe needs publishable_key, secret_key"
    assert [f["name"] for f in shown["fields"] if f["secret"]] == ["secret_key"]
    response = client.put(API, json.dumps(VALID), content_type="application/json")
    assert response.json()["values"]["secret_key"] == "••••6789"
    assert response.json()["missing"] == []
    patched = client.patch(
        API, json.dumps({"statement_descriptor": "NEW"}), content_type="application/json"
    )
    assert patched.status_code == 200, patched.content
    data = patched.json()
    assert data["values"] == {
        "publishable_key": "pk_test_1",
        "secret_key": "••••6789",
        "statement_descriptor": "NEW",
    }
    assert SECRET not in patched.content.decode()
    registry = client.get("/api/switchyard/registries/payments/").json()
    (stripe,) = [s for s in registry["strategies"] if s["slug"] == "stripe"]
    assert stripe["available"] and stripe["missing"] == []
    assert client.delete(API).json()["missing"] == ["publishable_key", "secret_key"]
    assert client.get(API.replace("stripe", "strpe")).status_code == 404
    assert client.get(API.replace("stripe", "card")).json()["code"] == "no_config"


def test_selecting_through_the_api_before_configuring_is_refused(
    pro_tenant: Tenant, owner: Any
) -> None:
    client = client_for(pro_tenant, owner)
    response = client.put(
        "/api/switchyard/registries/payments/selection/",
        json.dumps({"slug": "stripe"}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "stripe needs publishable_key, secret_key" in response.content.decode()


# -- the admin ---------------------------------------------------------------------------------

ADMIN = "/admin/engine/selection/"


def admin_post(client: Client, values: dict[str, str]) -> Any:
    page = client.get(ADMIN)
    form = page.context["form"]
    data = {name: form[name].value() for name, field in form.fields.items() if not field.disabled}
    data["payments"] = "stripe"
    return client.post(ADMIN, {**data, **{f"payments-stripe-{k}": v for k, v in values.items()}})


def test_the_admin_configures_and_selects_and_never_shows_the_secret(
    pro_tenant: Tenant, owner: Any
) -> None:
    client = client_for(pro_tenant, owner)
    before = every_schema()
    refused = admin_post(client, {**VALID, "publishable_key": "pk_\x00"})
    assert (
        refused.status_code == 200 and "Null characters are not allowed" in refused.content.decode()
    )
    assert every_schema() == before
    response = admin_post(client, VALID)
    assert response.status_code == 302
    with tenant_context(pro_tenant):
        assert ConfigurationHistory.objects.get().via == "admin"
        assert ConfigurationHistory.objects.get().after["secret_key"] == "••••6789"
    page = client.get(ADMIN).content.decode()
    assert SECRET not in page and "Stored: ••••6789. Leave blank to keep it." in page
    history = client.get("/admin/engine/configurationhistory/").content.decode()
    assert "••••6789" in history and SECRET not in history


def test_a_member_cannot_configure_through_the_admin(pro_tenant: Tenant) -> None:
    member = make_user(pro_tenant, "member", staff=True)
    before = every_schema()
    response = client_for(pro_tenant, member).post(ADMIN, DATA)
    assert response.status_code == 403
    assert every_schema() == before


def test_a_user_configures_their_own_through_the_api(
    pro_tenant: Tenant, switchyard_isolated_registries: None
) -> None:
    from django import forms

    from engine import Registry, SecretField, Strategy, StrategyConfig

    class Digest(Registry):
        key = "api_digest"
        default = "email"
        user_selectable = True

    class Email(Strategy):
        registry = Digest
        slug = "email"

    class Pager(Strategy):
        registry = Digest
        slug = "pager"

        class Config(StrategyConfig):
            number = forms.CharField(max_length=20)
            token = SecretField()

    member = make_user(pro_tenant, "member")  # no engine.change_selection: their own only
    client = client_for(pro_tenant, member)
    mine = "/api/switchyard/registries/api_digest/my-configuration/pager/"
    body = json.dumps({"number": "+15550100", "token": "pager-token-0123456789"})
    before = every_schema()
    tenant_route = mine.replace("my-configuration", "configuration")
    assert client.put(tenant_route, body, content_type="application/json").status_code == 403
    assert every_schema() == before
    response = client.put(mine, body, content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["owner"] == "user"
    assert response.json()["values"]["token"] == "••••6789"
    with tenant_context(pro_tenant):
        row = StrategyConfiguration.objects.get()
        assert row.user_id == member.pk and "pager-token" not in json.dumps(row.secrets)
    selected = client.put(
        "/api/switchyard/registries/api_digest/my-selection/",
        json.dumps({"slug": "pager"}),
        content_type="application/json",
    )
    assert selected.status_code == 200, selected.content
    with tenant_context(pro_tenant):
        context = Context(tenant=pro_tenant, user=member)
        assert Digest.resolve(context).strategy.config.number == "+15550100"
        assert Digest.resolve(Context(tenant=pro_tenant)).slug == "email"  # the tenant's


def test_without_a_secret_key_the_api_and_the_command_refuse_plainly(
    pro_tenant: Tenant, owner: Any, settings: Any
) -> None:
    before = every_schema()
    settings.SWITCHYARD = {**settings.SWITCHYARD, "SECRET_KEYS": []}
    response = client_for(pro_tenant, owner).put(
        API, json.dumps(VALID), content_type="application/json"
    )
    assert response.status_code == 503
    assert response.json()["detail"].startswith('SWITCHYARD["SECRET_KEYS"] is empty')
    with pytest.raises(CommandError, match="SECRET_KEYS") as raised:
        call_command(
            "switchyard_configure", "payments", "stripe",
            *(f"{name}={value}" for name, value in VALID.items()),
            "--tenant", pro_tenant.schema_name, stdout=StringIO(), stderr=StringIO(),
        )  # fmt: skip
    assert raised.value.returncode == 1
    assert every_schema() == before
