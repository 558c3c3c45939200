"""Every write surface x every class of hostile input.

Surfaces: ``Registry.select``, ``SelectionsForm``, the form, model and serializer fields, the
demo's settings page, the tenant admin, the REST API with session and with basic
authentication, ``switchyard_select``, and provisioning (``provision_tenant`` and its command).
Inputs: unavailable, unknown, another registry's slug, dotted and import paths, look-alikes,
control characters (NUL included), huge and malformed values; and, for the pages and the API,
another tenant's host with this tenant's cookies, members, anonymous visitors and missing CSRF
tokens.

Each case asserts the refusal (a status or an exception), a clear and short message, no row
changed in any schema (selections and history of every tenant) and no module imported.
"""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from io import StringIO
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client
from django_tenants.utils import schema_exists, tenant_context
from rest_framework import serializers

from conditions import Context
from conditions.naming import echo
from engine.forms import SelectionsForm, StrategyChoiceField
from engine.registry import get_registry
from engine.rest_framework import StrategyField as SerializerStrategyField
from tenants.models import Tenant
from tenants.provisioning import provision_tenant
from tests.engine.surfaces_app.models import Parcel
from tests.engine.surfaces_support import client_for, rows
from tests.helpers import PASSWORD, make_user

# A message may name what was wrong, the closest slug and the slugs to choose from: no more.
MESSAGE_LIMIT = 500
# Modules a dotted or import path would bring in if anything imported what a user typed.
NEVER_IMPORTED = ("antigravity", "this", "tests.engine.surfaces_app.admin_only")


@dataclass(frozen=True)
class Target:
    """What a surface writes on globex (plan pro): a registry and a slug of each kind."""

    registry: str
    valid: str
    unavailable: str  # registered, but its condition is not met on globex
    other: str  # a slug of another registry
    dotted: str  # the import path of a real strategy class


COURIERS = Target(
    "surface_couriers", "express", "freight", "sms", "tests.engine.surfaces_app.strategies.Freight"
)
# The demo's settings page edits the demo's registries only.
PRICING = Target(
    "pricing", "volume", "per_seat", "slack", "example_site.registries.pricing.PerSeat"
)


def unknown(value: str) -> str:
    """The start of the refusal of a slug the registry does not have (shortened, escaped)."""
    return f"Unknown strategy {echo(value)}"


# Each class of input: how to build it for a target, and what the refusal must say.
INPUTS: dict[str, tuple[Callable[[Target], str], Callable[[Target], str]]] = {
    "unavailable": (lambda t: t.unavailable, lambda t: "is not available here"),
    "unknown": (lambda t: "teleport", lambda t: "Unknown strategy 'teleport'"),
    "other-registry": (lambda t: t.other, lambda t: unknown(t.other)),
    "dotted-path": (lambda t: t.dotted, lambda t: unknown(t.dotted)),
    "import-path": (lambda t: "antigravity.fly", lambda t: "Unknown strategy 'antigravity.fly'"),
    "look-alike": (
        lambda t: t.valid.replace("e", "\u0435"),  # CYRILLIC SMALL LETTER IE
        lambda t: unknown(t.valid.replace("e", "\u0435")),
    ),
    "upper-case": (lambda t: t.valid.upper(), lambda t: unknown(t.valid.upper())),
    "zero-width": (
        lambda t: t.valid[:2] + "\u200b" + t.valid[2:],
        lambda t: unknown(t.valid[:2] + "\u200b" + t.valid[2:]),
    ),
    "nul": (lambda t: t.valid + "\x00", lambda t: f"Unknown strategy '{t.valid}\\x00'"),
    "escape": (
        lambda t: "\x1b[31m" + t.valid,
        lambda t: f"Unknown strategy '\\x1b[31m{t.valid}'",
    ),
    "huge": (
        lambda t: "x" * 10_000,
        lambda t: f"Unknown strategy {'x' * 40 + '…'!r} (10000 characters)",
    ),
}


@dataclass
class Refusal:
    """How a surface refused: a status code or exception name, and the messages it gave."""

    how: str
    messages: list[str]


Surface = Callable[[Tenant, Any, Target, Any], Refusal]


# -- the surfaces -------------------------------------------------------------------------


def via_select(tenant: Tenant, owner: Any, target: Target, value: Any) -> Refusal:
    registry = get_registry(target.registry)
    with pytest.raises(ValidationError) as raised:
        registry.select(value, Context(tenant=tenant, user=owner), changed_by=owner, via="test")
    return Refusal("ValidationError", raised.value.messages)


def via_form(tenant: Tenant, owner: Any, target: Target, value: Any) -> Refusal:
    context = Context(tenant=tenant, user=owner)
    form = SelectionsForm(context, {target.registry: value}, registries=[target.registry])
    assert not form.is_valid()
    with pytest.raises(ValueError, match="it has errors"):
        form.save(changed_by=owner)
    return Refusal("form error", [str(message) for message in form.errors[target.registry]])


def via_form_field(tenant: Tenant, owner: Any, target: Target, value: Any) -> Refusal:
    field = StrategyChoiceField(target.registry, context=Context(tenant=tenant, user=owner))
    with pytest.raises(ValidationError) as raised:
        field.clean(value)
    return Refusal("ValidationError", raised.value.messages)


def via_model_field(tenant: Tenant, owner: Any, target: Target, value: Any) -> Refusal:
    with tenant_context(tenant), pytest.raises((ValidationError, TypeError)) as raised:
        Parcel(name="box", courier=value).full_clean()
    error = raised.value
    if isinstance(error, ValidationError):
        return Refusal("ValidationError", error.message_dict["courier"])
    return Refusal(type(error).__name__, [str(error)])


class Checkout(serializers.Serializer):  # type: ignore[misc]
    courier = SerializerStrategyField("surface_couriers")


def via_serializer_field(tenant: Tenant, owner: Any, target: Target, value: Any) -> Refusal:
    context = {"switchyard_context": Context(tenant=tenant, user=owner)}
    serializer = Checkout(data={"courier": value}, context=context)
    assert not serializer.is_valid()
    return Refusal("400", [str(message) for message in serializer.errors["courier"]])


def _page_post(client: Client, path: str, target: Target, value: Any) -> Any:
    form = client.get(path).context["form"]
    data = {name: form[name].value() for name, field in form.fields.items() if not field.disabled}
    return client.post(path, {**data, target.registry: value})


def via_settings_page(tenant: Tenant, owner: Any, target: Target, value: Any) -> Refusal:
    response = _page_post(client_for(tenant, owner), "/settings/", target, value)
    assert response.status_code == 400  # engine.views: a refused form is a 400
    return Refusal("400 with errors", list(response.context["form"].errors[target.registry]))


def via_admin(tenant: Tenant, owner: Any, target: Target, value: Any) -> Refusal:
    response = _page_post(client_for(tenant, owner), "/admin/engine/selection/", target, value)
    assert response.status_code == 200
    return Refusal("200 with errors", list(response.context["form"].errors[target.registry]))


def _api_url(target: Target) -> str:
    return f"/api/switchyard/registries/{target.registry}/selection/"


def _api_refusal(response: Any) -> Refusal:
    assert response.status_code == 400, response.content[:300]
    data = response.json()
    messages = data.get("slug") or [data.get("detail", "")]
    return Refusal("400", [str(message) for message in messages])


def via_api_session(tenant: Tenant, owner: Any, target: Target, value: Any) -> Refusal:
    body = json.dumps({"slug": value})
    client = client_for(tenant, owner)
    return _api_refusal(client.put(_api_url(target), body, content_type="application/json"))


def basic(username: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{PASSWORD}".encode()).decode()


def via_api_basic(tenant: Tenant, owner: Any, target: Target, value: Any) -> Refusal:
    client = Client(HTTP_HOST=f"{tenant.schema_name}.localhost")
    response = client.put(
        _api_url(target),
        json.dumps({"slug": value}),
        content_type="application/json",
        HTTP_AUTHORIZATION=basic(owner.get_username()),
    )
    return _api_refusal(response)


def via_command(tenant: Tenant, owner: Any, target: Target, value: Any) -> Refusal:
    arguments = [target.registry, value, "--tenant", tenant.schema_name, "--as", "owner"]
    with pytest.raises(CommandError) as raised:
        call_command("switchyard_select", *arguments, stdout=StringIO(), stderr=StringIO())
    assert raised.value.returncode == 1
    return Refusal("exit 1", [str(raised.value)])


def via_provisioning(tenant: Tenant, owner: Any, target: Target, value: Any) -> Refusal:
    with pytest.raises(ValidationError) as raised:
        provision_tenant(
            "hooli",
            name="Hooli",
            plan=tenant.plan,
            domain="hooli.localhost",
            selections={target.registry: value},
        )
    assert not schema_exists("hooli")
    return Refusal("ValidationError", raised.value.message_dict["selections"])


def via_provisioning_command(tenant: Tenant, owner: Any, target: Target, value: Any) -> Refusal:
    arguments = ["hooli", "--name", "Hooli", "--plan", tenant.plan, "--domain", "hooli.localhost"]
    with pytest.raises(CommandError) as raised:
        call_command(
            "provision_tenant",
            *arguments,
            "--select",
            f"{target.registry}={value}",
            stdout=StringIO(),
        )
    assert not schema_exists("hooli")
    return Refusal("CommandError", [str(raised.value)])


SURFACES: dict[str, tuple[Surface, Target]] = {
    "select": (via_select, COURIERS),
    "form": (via_form, COURIERS),
    "form-field": (via_form_field, COURIERS),
    "model-field": (via_model_field, COURIERS),
    "serializer-field": (via_serializer_field, COURIERS),
    "settings-page": (via_settings_page, PRICING),
    "admin": (via_admin, COURIERS),
    "api-session": (via_api_session, COURIERS),
    "api-basic": (via_api_basic, COURIERS),
    "command": (via_command, COURIERS),
    "provisioning": (via_provisioning, COURIERS),
    "provisioning-command": (via_provisioning_command, COURIERS),
}

# Documented exceptions: model fields check registration, not availability (that needs a
# request: the forms check it); a command line's --select is stripped of surrounding spaces.
NOT_REFUSED = {("model-field", "unavailable")}


# -- what must hold for every case ----------------------------------------------------------


def every_schema() -> dict[str, Any]:
    """Each tenant schema's selection and history rows, and their counts."""
    state = {}
    for tenant in Tenant.objects.order_by("schema_name"):
        selections, history = rows(tenant)
        state[tenant.schema_name] = (len(selections), len(history), selections, history)
    return state


@pytest.fixture
def owner(pro_tenant: Tenant) -> Any:
    """globex's owner: a superuser there, so every refusal below is about the input."""
    return make_user(pro_tenant, "owner", superuser=True)


def assert_clear(refusal: Refusal, expected: str) -> None:
    assert refusal.messages, refusal
    text = " ".join(refusal.messages)
    assert expected in text, (expected, text)
    for message in refusal.messages:
        assert len(message) < MESSAGE_LIMIT, message
        printable = message.replace("\n", "")
        assert printable.isprintable(), repr(message)


@pytest.mark.parametrize("kind", list(INPUTS))
@pytest.mark.parametrize("surface", list(SURFACES))
def test_hostile_slugs_are_refused_everywhere_and_change_nothing(
    pro_tenant: Tenant, owner: Any, surface: str, kind: str
) -> None:
    submit, target = SURFACES[surface]
    build, expected = INPUTS[kind]
    if (surface, kind) in NOT_REFUSED:
        pytest.skip("model fields do not check availability (documented): forms do")
    submit(pro_tenant, owner, target, "teleport")  # warm: whatever the error path imports
    before, modules = every_schema(), set(sys.modules)

    refusal = submit(pro_tenant, owner, target, build(target))

    assert_clear(refusal, expected(target))
    assert every_schema() == before
    assert set(sys.modules) - modules == set()
    assert not any(name in sys.modules for name in NEVER_IMPORTED)


@pytest.mark.parametrize("surface", list(SURFACES))
def test_the_valid_slug_goes_through_so_the_refusals_above_mean_something(
    pro_tenant: Tenant, owner: Any, surface: str
) -> None:
    submit, target = SURFACES[surface]
    before = every_schema()
    with pytest.raises((AssertionError, pytest.fail.Exception)):
        submit(pro_tenant, owner, target, target.valid)  # not refused: the helper's check fails
    if surface not in {"form", "form-field", "model-field", "serializer-field"}:
        assert every_schema() != before  # it stored something somewhere


# -- malformed values ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("surface", "value", "expected"),
    [
        ("select", None, "Unknown strategy None"),
        ("select", 5, "Unknown strategy 5"),
        ("select", ["express"], "Unknown strategy ['express']"),
        ("form-field", ["express", "freight"], "Unknown strategy"),
        ("serializer-field", None, "This field may not be null."),
        ("serializer-field", 5, "Expected a strategy slug (a string), got int."),
        ("serializer-field", {"slug": "express"}, "Expected a strategy slug (a string), got dict."),
        ("api-session", None, "This field may not be null."),
        ("api-session", ["express"], "Expected a strategy slug (a string), got list."),
        ("api-basic", 5, "Expected a strategy slug (a string), got int."),
        ("api-basic", {"slug": "express"}, "got dict."),
        ("provisioning", None, "Unknown strategy None"),
        ("provisioning", ["express"], "Unknown strategy ['express']"),
        ("model-field", 5, "Expected a strategy of 'surface_couriers', its slug or None; got 5."),
    ],
)
def test_malformed_values_are_refused_and_change_nothing(
    pro_tenant: Tenant, owner: Any, surface: str, value: Any, expected: str
) -> None:
    submit, target = SURFACES[surface]
    before = every_schema()
    assert_clear(submit(pro_tenant, owner, target, value), expected)
    assert every_schema() == before


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("{slug:", "JSON parse error"),
        ('"express"', "Invalid data. Expected a dictionary, but got str."),
        ('["express"]', "Invalid data. Expected a dictionary, but got list."),
        ("[" * 100_000, "JSON parse error - the document is nested too deeply."),
        (json.dumps({"slug": "x" * 2_000_000}), "(2000000 characters)"),
        (json.dumps({"slug": "express", "registry": "surface_alerts"}), "Read-only field"),
        (json.dumps({"slug": "express", "user": 1}), "Unknown field"),
    ],
    ids=["broken", "string", "list", "deep", "2-mb", "read-only", "unknown-field"],
)
def test_malformed_api_bodies_are_short_400s(
    pro_tenant: Tenant, owner: Any, body: str, expected: str
) -> None:
    before = every_schema()
    client = Client(HTTP_HOST="globex.localhost")
    response = client.put(
        _api_url(COURIERS), body, content_type="application/json", HTTP_AUTHORIZATION=basic("owner")
    )
    assert response.status_code == 400
    assert len(response.content) < 2 * MESSAGE_LIMIT
    assert expected in response.content.decode()
    assert every_schema() == before


# -- who sends it: another tenant's cookies, members, anonymous visitors, no CSRF token ------


@dataclass(frozen=True)
class Page:
    """A session-authenticated write surface: where it is and how it answers a refusal."""

    path: str
    target: Target
    json: bool = False

    def send(self, client: Client, value: str, data: dict[str, Any] | None = None) -> Any:
        if self.json:
            body = json.dumps({"slug": value})
            return client.put(self.path, body, content_type="application/json")
        return client.post(self.path, {**(data or {}), self.target.registry: value})


PAGES = {
    "settings-page": Page("/settings/", PRICING),
    "admin": Page("/admin/engine/selection/", COURIERS),
    "api-session": Page(_api_url(COURIERS), COURIERS, json=True),
}


def _login_redirect(response: Any, login: str) -> bool:
    return response.status_code == 302 and response["Location"].startswith(login)


def _refused(page: str, who: str, response: Any) -> bool:
    """Whether ``response`` is the refusal expected of ``page`` for ``who``."""
    if page == "api-session":
        expected = {
            "other-tenants-cookies": (403, "not_authenticated"),
            "anonymous": (403, "not_authenticated"),
            "member": (403, "permission_denied"),
            "missing-csrf": (403, "permission_denied"),
        }[who]
        return (response.status_code, response.json().get("code")) == expected
    if who == "member" and page == "settings-page":
        return response.status_code == 403
    if who == "missing-csrf":
        return response.status_code == 403
    login = "/accounts/login/" if page == "settings-page" else "/admin/login/"
    return _login_redirect(response, login)  # not signed in here, or not staff (admin)


@pytest.mark.parametrize("who", ["other-tenants-cookies", "member", "anonymous", "missing-csrf"])
@pytest.mark.parametrize("page", list(PAGES))
def test_only_this_tenants_permitted_users_with_a_csrf_token_can_write(
    free_tenant: Tenant, pro_tenant: Tenant, owner: Any, page: str, who: str
) -> None:
    surface = PAGES[page]
    if who == "other-tenants-cookies":
        # acme's owner (same username, same permissions) signed in on acme, sent to globex.
        acme_owner = make_user(free_tenant, "owner", superuser=True)
        client = Client(HTTP_HOST="globex.localhost")
        client.cookies = client_for(free_tenant, acme_owner).cookies
    elif who == "member":
        client = client_for(pro_tenant, make_user(pro_tenant, "member", staff=False))
    elif who == "anonymous":
        client = Client(HTTP_HOST="globex.localhost")
    else:
        client = client_for(pro_tenant, owner)
        client.handler.enforce_csrf_checks = True
    before, modules = every_schema(), set(sys.modules)

    response = surface.send(client, surface.target.valid)

    assert _refused(page, who, response), (response.status_code, response.content[:300])
    assert every_schema() == before
    assert not {name for name in set(sys.modules) - modules if "surfaces_app" in name}


def test_a_member_acting_through_the_command_is_refused(pro_tenant: Tenant, owner: Any) -> None:
    make_user(pro_tenant, "member")
    before = every_schema()
    with pytest.raises(CommandError) as raised:
        call_command(
            "switchyard_select",
            "surface_couriers",
            "express",
            "--tenant",
            "globex",
            "--as",
            "member",
        )
    assert raised.value.returncode == 1
    assert "may not change the tenant's selections" in str(raised.value)
    assert every_schema() == before


@pytest.fixture(autouse=True)
def _no_leftover_modules() -> Iterator[None]:
    yield
    assert not any(name in sys.modules for name in NEVER_IMPORTED)
