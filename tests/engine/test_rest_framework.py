"""The selections API (engine.rest_framework): real requests through the tenant middleware.

Every refused write is checked against the rows and the history of every schema: nothing
changes anywhere.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context
from rest_framework import serializers, viewsets
from rest_framework.routers import DefaultRouter
from rest_framework.test import APIRequestFactory

from conditions import Context, Permission
from engine import Registry, Strategy
from engine.models import Selection, SelectionHistory
from engine.rest_framework import MultipleStrategyField, StrategyField, StrategyModelSerializer
from example_site.strategies import Card, Invoice
from tenants.models import Tenant
from tests.engine.surfaces_app.models import Parcel
from tests.helpers import PASSWORD, make_user

API = "/api/switchyard/registries/"
PAYMENTS = f"{API}payments/"
SELECTION = f"{PAYMENTS}selection/"

JSON = "application/json"

User = get_user_model()


# The one permission that lets a user change the tenant's selections (engine.permissions).
CHANGE = "engine.change_selection"


def host(tenant: Tenant) -> str:
    return f"{tenant.schema_name}.localhost"


def client_for(tenant: Tenant, user: Any = None, **kwargs: Any) -> Client:
    client = Client(HTTP_HOST=host(tenant), **kwargs)
    if user is not None:
        with tenant_context(tenant):  # the session lives in the tenant's schema
            client.force_login(user)
    return client


def put(client: Client, url: str, data: Any, **extra: Any) -> Any:
    return client.put(url, json.dumps(data), content_type=JSON, **extra)


def everything() -> dict[str, tuple[list[Any], list[Any]]]:
    """Every schema's selections and history, to prove a refused request changed nothing."""
    state = {}
    for tenant in Tenant.objects.order_by("schema_name"):
        with tenant_context(tenant):
            rows = list(Selection.objects.values_list("registry", "slug", "user_id", "changed_by"))
            history = list(SelectionHistory.objects.values_list("registry", "after_slug", "via"))
        state[tenant.schema_name] = (rows, history)
    return state


@pytest.fixture
def unchanged(db: None) -> Iterator[None]:
    """Fail the test if any schema's selections or history changed during it."""
    before = everything()
    yield
    assert everything() == before


@pytest.fixture
def themes(switchyard_isolated_registries: None) -> type[Registry]:
    """A user-selectable registry; 'dark' needs a permission, 'neon' is never available."""

    class Themes(Registry):
        """How the site looks to each user."""

        key = "api_themes"
        default = "light"
        user_selectable = True

    class Theme(Strategy):
        registry = Themes

    class Light(Theme):
        slug = "light"
        priority = 10

    class Dark(Theme):
        slug = "dark"
        priority = 20
        condition = Permission("engine.view_selectionhistory")

    class Neon(Theme):
        slug = "neon"
        priority = 30
        condition = Permission("engine.no_such_permission")

    return Themes


# -- reading ----------------------------------------------------------------------------------


def test_list_shows_each_registry_as_the_request_sees_it(free_tenant: Tenant) -> None:
    member = make_user(free_tenant, "member")
    response = client_for(free_tenant, member).get(API)
    assert response.status_code == 200
    payments = next(item for item in response.json() if item["key"] == "payments")
    assert payments["url"] == "http://acme.localhost/api/switchyard/registries/payments/"
    assert payments["selection_url"] == f"http://acme.localhost{SELECTION}"
    assert payments["my_selection_url"] is None  # payments is not user-selectable
    assert payments["selection"] == {"tenant": None, "user": None}
    assert payments["in_force"] == {
        "slug": "card",
        "label": "Credit card",
        "reason": "default",
        "reason_text": "the registry's default",
    }
    assert payments["error"] is None
    strategies = {entry["slug"]: entry for entry in payments["strategies"]}
    assert list(strategies) == ["card", "stripe", "invoice", "crypto"]
    assert (strategies["card"]["available"], strategies["card"]["in_force"]) == (True, True)
    invoice = strategies["invoice"]
    assert (invoice["available"], invoice["in_force"]) == (False, False)
    assert invoice["label"] == Invoice.label
    assert invoice["description"] == Invoice.description
    assert invoice["explanation"]["text"] == str(Invoice.condition)
    assert invoice["explanation"]["result"] is False
    stripe = strategies["stripe"]  # its condition is met, its keys are missing
    assert (stripe["available"], stripe["explanation"]["result"]) == (False, True)
    assert stripe["not_configured"] == "stripe needs publishable_key, secret_key"
    assert invoice["explanation"]["children"][0]["detail"] == "tenant acme is on plan 'free'"


def test_retrieve_shows_a_stored_selection_that_is_not_in_force(free_tenant: Tenant) -> None:
    with tenant_context(free_tenant):
        Selection.objects.create(registry="payments", slug="invoice")  # e.g. a former plan
    member = make_user(free_tenant, "member")
    data = client_for(free_tenant, member).get(PAYMENTS).json()
    assert data["selection"]["tenant"] == "invoice"
    assert data["in_force"]["slug"] == "card"
    (skipped,) = data["skipped"]
    assert (skipped["source"], skipped["slug"], skipped["why"]) == (
        "tenant_selection",
        "invoice",
        "unavailable",
    )
    assert skipped["text"].startswith("the tenant's selection 'invoice' is unavailable: ")


def test_unknown_registry_is_a_404_with_a_suggestion(free_tenant: Tenant) -> None:
    member = make_user(free_tenant, "member")
    response = client_for(free_tenant, member).get(f"{API}paymnts/")
    assert response.status_code == 404
    data = response.json()
    assert data["code"] == "unknown_registry"
    assert data["detail"].startswith("No registry has the key 'paymnts'. Did you mean 'payments'?")


def test_anonymous_requests_are_refused(free_tenant: Tenant, unchanged: None) -> None:
    client = client_for(free_tenant)
    response = client.get(API)
    assert response.status_code == 403
    assert response.json() == {
        "detail": "Authentication credentials were not provided.",
        "code": "not_authenticated",
    }
    assert put(client, SELECTION, {"slug": "card"}).status_code == 403


def test_the_api_root_lists_the_registries_endpoint(free_tenant: Tenant) -> None:
    response = client_for(free_tenant).get("/api/switchyard/")
    assert response.json() == {"registries": f"http://acme.localhost{API}"}


def test_warm_list_reads_no_selection_from_the_database(pro_tenant: Tenant) -> None:
    member = make_user(pro_tenant, "member")
    client = client_for(pro_tenant, member)
    assert client.get(API).status_code == 200  # cold: fills the cache
    with CaptureQueriesContext(connection) as queries:
        assert client.get(API).status_code == 200
    touched = [query["sql"] for query in queries.captured_queries if "engine_" in query["sql"]]
    assert touched == []


def test_the_browsable_api_offers_only_available_strategies(free_tenant: Tenant) -> None:
    owner = make_user(free_tenant, "owner", permissions=(CHANGE,))
    response = client_for(free_tenant, owner).get(SELECTION, HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<option value="card"' in html
    assert '<option value="invoice"' not in html


def test_options_lists_only_available_choices(enterprise_tenant: Tenant) -> None:
    owner = make_user(enterprise_tenant, "owner", permissions=(CHANGE,))
    data = client_for(enterprise_tenant, owner).options(SELECTION).json()
    choices = data["actions"]["PUT"]["slug"]["choices"]
    assert [choice["value"] for choice in choices] == ["card", "invoice"]  # not crypto


# -- the tenant's selection -------------------------------------------------------------------


def test_a_user_with_the_permission_selects_for_the_tenant(enterprise_tenant: Tenant) -> None:
    owner = make_user(enterprise_tenant, "owner", permissions=(CHANGE,))
    response = put(client_for(enterprise_tenant, owner), SELECTION, {"slug": "invoice"})
    assert response.status_code == 200, response.json()
    data = response.json()
    assert (data["registry"], data["owner"], data["slug"], data["changed_by"]) == (
        "payments",
        "tenant",
        "invoice",
        "owner",
    )
    assert data["in_force"]["slug"] == "invoice"
    assert data["in_force"]["reason"] == "tenant_selection"
    with tenant_context(enterprise_tenant):
        row = Selection.objects.get(registry="payments", user=None)
        assert (row.slug, row.changed_by_id) == ("invoice", owner.pk)
        history = SelectionHistory.objects.get()
        assert (history.before_slug, history.after_slug, history.via) == (None, "invoice", "api")
        assert history.changed_by_id == owner.pk


def test_patch_selects_too_and_get_reads_the_selection(enterprise_tenant: Tenant) -> None:
    owner = make_user(enterprise_tenant, "owner", permissions=(CHANGE,))
    client = client_for(enterprise_tenant, owner)
    response = client.patch(SELECTION, json.dumps({"slug": "invoice"}), content_type=JSON)
    assert response.status_code == 200
    data = client.get(SELECTION).json()
    assert (data["slug"], data["changed_by"], data["in_force"]["slug"]) == (
        "invoice",
        "owner",
        "invoice",
    )
    assert data["changed_at"] is not None


def test_the_change_selection_permission_is_enough(pro_tenant: Tenant) -> None:
    manager = make_user(pro_tenant, "manager", permissions=("engine.change_selection",))
    response = put(client_for(pro_tenant, manager), SELECTION, {"slug": "card"})
    assert response.status_code == 200
    with tenant_context(pro_tenant):
        assert Selection.objects.get(user=None).slug == "card"


def test_a_member_without_the_permission_cannot_select(pro_tenant: Tenant, unchanged: None) -> None:
    member = make_user(pro_tenant, "member")
    response = put(client_for(pro_tenant, member), SELECTION, {"slug": "card"})
    assert response.status_code == 403
    assert response.json() == {
        "detail": "User 'member' may not change the tenant's selections: that needs the "
        "'engine.change_selection' permission (superusers have it; staff status alone is not "
        "enough).",
        "code": "permission_denied",
    }


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_staff_status_alone_cannot_select(pro_tenant: Tenant, unchanged: None, method: str) -> None:
    # The admin and the settings page refuse this user; the API must too (one policy).
    viewer = make_user(pro_tenant, "viewer", staff=True, permissions=("engine.view_selection",))
    client = client_for(pro_tenant, viewer)
    body = json.dumps({"slug": "card"})
    response = getattr(client, method)(SELECTION, body, content_type=JSON)
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert "staff status alone is not enough" in response.json()["detail"]
    assert client.get(SELECTION).status_code == 200  # reading is still open to them


def test_a_superuser_selects_without_an_explicit_permission(pro_tenant: Tenant) -> None:
    with tenant_context(pro_tenant):
        boss = User.objects.create_superuser("boss", "boss@example.com", PASSWORD)
    response = put(client_for(pro_tenant, boss), SELECTION, {"slug": "card"})
    assert response.status_code == 200


def test_delete_clears_the_selection_and_falls_back(enterprise_tenant: Tenant) -> None:
    owner = make_user(enterprise_tenant, "owner", permissions=(CHANGE,))
    client = client_for(enterprise_tenant, owner)
    put(client, SELECTION, {"slug": "invoice"})
    response = client.delete(SELECTION)
    assert response.status_code == 200
    data = response.json()
    assert data["slug"] is None
    assert data["in_force"]["slug"] == "card" and data["in_force"]["reason"] == "default"
    with tenant_context(enterprise_tenant):
        assert not Selection.objects.exists()
        latest = SelectionHistory.objects.first()
        assert latest is not None
        assert (latest.before_slug, latest.after_slug, latest.via) == ("invoice", None, "api")


# -- refused writes: a clear message, a stable code, nothing stored ---------------------------


def test_an_unknown_slug_is_refused_with_a_suggestion(
    enterprise_tenant: Tenant, unchanged: None
) -> None:
    owner = make_user(enterprise_tenant, "owner", permissions=(CHANGE,))
    response = put(client_for(enterprise_tenant, owner), SELECTION, {"slug": "invoise"})
    assert response.status_code == 400
    assert response.json() == {
        "slug": [
            "Unknown strategy 'invoise' in 'payments'. Did you mean 'invoice'? "
            "Choose one of: card, stripe, invoice, crypto."
        ],
        "codes": {"slug": ["unknown_strategy"]},
    }


def test_an_unavailable_strategy_is_refused(free_tenant: Tenant, unchanged: None) -> None:
    owner = make_user(free_tenant, "owner", permissions=(CHANGE,))
    response = put(client_for(free_tenant, owner), SELECTION, {"slug": "invoice"})
    assert response.status_code == 400
    assert response.json() == {
        "slug": [
            f"Strategy 'invoice' of 'payments' is not available here: {Invoice.condition} "
            "is not met."
        ],
        "codes": {"slug": ["unavailable"]},
    }


def test_a_strategy_of_another_registry_is_refused(
    enterprise_tenant: Tenant, themes: type[Registry], unchanged: None
) -> None:
    owner = make_user(enterprise_tenant, "owner", permissions=(CHANGE,))
    response = put(client_for(enterprise_tenant, owner), SELECTION, {"slug": "light"})
    assert response.status_code == 400
    assert response.json()["codes"] == {"slug": ["unknown_strategy"]}
    assert response.json()["slug"][0].startswith("Unknown strategy 'light' in 'payments'.")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, {"slug": ["This field is required."], "codes": {"slug": ["required"]}}),
        ({"slug": None}, {"slug": ["This field may not be null."], "codes": {"slug": ["null"]}}),
        (
            {"slug": ["card"]},
            {
                "slug": ["Expected a strategy slug (a string), got list."],
                "codes": {"slug": ["invalid"]},
            },
        ),
        (
            {"slug": "card", "tenant": "initech", "user": 1},
            {
                "tenant": ["Unknown field; this resource accepts only: slug."],
                "user": ["Unknown field; this resource accepts only: slug."],
                "codes": {"tenant": ["unknown_field"], "user": ["unknown_field"]},
            },
        ),
    ],
    ids=["missing", "null", "not-a-string", "unknown-fields"],
)
def test_malformed_bodies_are_refused(
    free_tenant: Tenant, unchanged: None, body: dict[str, Any], expected: dict[str, Any]
) -> None:
    owner = make_user(free_tenant, "owner", permissions=(CHANGE,))
    response = put(client_for(free_tenant, owner), SELECTION, body)
    assert response.status_code == 400
    assert response.json() == expected


def test_a_session_of_one_tenant_is_nobody_on_another(
    free_tenant: Tenant, enterprise_tenant: Tenant, unchanged: None
) -> None:
    # acme's owner may change acme's selections; the cookie sent to initech's host finds no
    # session there.
    owner = make_user(free_tenant, "owner", permissions=(CHANGE,))
    make_user(enterprise_tenant, "owner")  # the same username (and pk) exists on initech
    acme = client_for(free_tenant, owner)
    crafted = Client(HTTP_HOST=host(enterprise_tenant))
    crafted.cookies = acme.cookies
    response = put(crafted, SELECTION, {"slug": "invoice"})
    assert response.status_code == 403
    assert response.json()["code"] == "not_authenticated"


def test_basic_credentials_of_one_tenant_fail_on_another(
    free_tenant: Tenant, enterprise_tenant: Tenant, unchanged: None
) -> None:
    make_user(free_tenant, "alice", permissions=(CHANGE,))  # exists on acme only
    token = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    crafted = Client(HTTP_HOST=host(enterprise_tenant))
    response = put(crafted, SELECTION, {"slug": "invoice"}, HTTP_AUTHORIZATION=f"Basic {token}")
    # 403, not 401: DRF's first authenticator (the session) sends no WWW-Authenticate.
    assert response.status_code == 403
    assert response.json() == {
        "detail": "Invalid username/password.",
        "code": "authentication_failed",
    }


def test_basic_credentials_write_as_that_user(enterprise_tenant: Tenant) -> None:
    # DRF authenticates the user, not the session middleware: conditions and the history
    # must see the same user the permission check saw.
    boss = make_user(enterprise_tenant, "boss", permissions=(CHANGE,))
    token = base64.b64encode(f"boss:{PASSWORD}".encode()).decode()
    client = Client(HTTP_HOST=host(enterprise_tenant))
    response = put(client, SELECTION, {"slug": "invoice"}, HTTP_AUTHORIZATION=f"Basic {token}")
    assert response.status_code == 200, response.json()
    assert response.json()["changed_by"] == "boss"
    with tenant_context(enterprise_tenant):
        assert Selection.objects.get(user=None).changed_by_id == boss.pk


def test_an_unknown_host_is_no_tenant_at_all(unchanged: None) -> None:
    response = put(Client(HTTP_HOST="evil.localhost"), SELECTION, {"slug": "card"})
    assert response.status_code == 404


def test_the_platform_site_has_no_selections_api(public_tenant: Tenant, unchanged: None) -> None:
    assert Client(HTTP_HOST="localhost").get(API).status_code == 404


def test_a_write_touches_only_the_requests_tenant(
    free_tenant: Tenant, pro_tenant: Tenant, enterprise_tenant: Tenant
) -> None:
    before = everything()
    owner = make_user(pro_tenant, "owner", permissions=(CHANGE,))
    assert put(client_for(pro_tenant, owner), SELECTION, {"slug": "card"}).status_code == 200
    after = everything()
    changed = {name for name in after if after[name] != before[name]}
    assert changed == {"globex"}


def test_csrf_is_enforced_for_session_authenticated_writes(
    enterprise_tenant: Tenant, unchanged: None
) -> None:
    owner = make_user(enterprise_tenant, "owner", permissions=(CHANGE,))
    client = client_for(enterprise_tenant, owner, enforce_csrf_checks=True)
    response = put(client, SELECTION, {"slug": "invoice"})
    assert response.status_code == 403
    assert response.json()["detail"].startswith("CSRF Failed")


# -- hostile input: a 400 from Switchyard's own parser and authentication path -----------------


@pytest.fixture
def unguarded(settings: Any) -> None:
    """Without the demo's MalformedRequestMiddleware: the API must stand on its own."""
    settings.MIDDLEWARE = [
        name
        for name in settings.MIDDLEWARE
        if name != "example_site.middleware.MalformedRequestMiddleware"
    ]


def basic(username: str, password: str = PASSWORD) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


@pytest.mark.parametrize("accept", [JSON, "text/html"])
@pytest.mark.parametrize("path", [API, PAYMENTS, SELECTION, "/api/switchyard/"])
@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        (
            {"HTTP_COOKIE": "sessionid=abcdefgh\x00ijklmnopqrstuvwxyz012345"},
            "The sessionid cookie contains control characters.",
        ),
        (
            {"HTTP_AUTHORIZATION": basic("ev\x00il")},
            "The Basic credentials contain control characters.",
        ),
        (
            {"HTTP_AUTHORIZATION": basic("owner", "pass\x1b[31m")},
            "The Basic credentials contain control characters.",
        ),
        (
            {"HTTP_AUTHORIZATION": "Token abc\x00def"},
            "The Authorization header contains control characters.",
        ),
    ],
    ids=["nul-session-cookie", "nul-user-name", "escape-in-password", "nul-token"],
)
def test_control_characters_in_credentials_are_a_400_on_every_url(
    enterprise_tenant: Tenant,
    unguarded: None,
    unchanged: None,
    headers: dict[str, str],
    detail: str,
    path: str,
    accept: str,
) -> None:
    client = Client(HTTP_HOST=host(enterprise_tenant), raise_request_exception=False)
    for response in (
        client.get(path, HTTP_ACCEPT=accept, **headers),
        client.put(path, json.dumps({"slug": "invoice"}), content_type=JSON, **headers),
    ):
        assert response.status_code == 400
        if accept == JSON:
            assert response.json() == {"detail": detail, "code": "malformed_credentials"}


def test_json_nested_too_deeply_is_a_400(
    enterprise_tenant: Tenant, unguarded: None, unchanged: None
) -> None:
    owner = make_user(enterprise_tenant, "owner", permissions=(CHANGE,))
    client = Client(HTTP_HOST=host(enterprise_tenant), raise_request_exception=False)
    for body in ("[" * 100_000, '{"slug": ' + "[" * 100_000 + "]" * 100_000 + "}"):
        response = client.put(SELECTION, body, content_type=JSON, HTTP_AUTHORIZATION=basic("owner"))
        assert response.status_code == 400
        assert response.json() == {
            "detail": "JSON parse error - the document is nested too deeply.",
            "code": "parse_error",
        }
    assert owner.pk is not None


def test_a_2_mb_slug_gets_a_short_400(enterprise_tenant: Tenant, unchanged: None) -> None:
    make_user(enterprise_tenant, "owner", permissions=(CHANGE,))
    client = Client(HTTP_HOST=host(enterprise_tenant))
    slug = "x" * 2_000_000
    response = put(client, SELECTION, {"slug": slug}, HTTP_AUTHORIZATION=basic("owner"))
    assert response.status_code == 400
    assert len(response.content) < 500
    (message,) = response.json()["slug"]
    assert message.startswith(
        f"Unknown strategy {'x' * 40 + '…'!r} (2000000 characters) in 'payments'."
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"slug": "card", "registry": "exports"}, {"registry": ["read_only"]}),
        ({"slug": "card", "owner": "user"}, {"owner": ["read_only"]}),
        ({"slug": "card", "changed_by": "someone"}, {"changed_by": ["read_only"]}),
        ({"slug": "card", "in_force": {"slug": "invoice"}}, {"in_force": ["read_only"]}),
        ({"slug": "card", "changed_at": "2020-01-01"}, {"changed_at": ["read_only"]}),
        ({"slug": "card", "skipped": []}, {"skipped": ["read_only"]}),
        (
            {"slug": "card", "user": 1, "owner": "user"},
            {"user": ["unknown"], "owner": ["read_only"]},
        ),
    ],
    ids=["registry", "owner", "changed_by", "in_force", "changed_at", "skipped", "mixed"],
)
def test_read_only_fields_are_refused_like_unknown_ones(
    enterprise_tenant: Tenant, unchanged: None, body: dict[str, Any], expected: dict[str, list[str]]
) -> None:
    owner = make_user(enterprise_tenant, "owner", permissions=(CHANGE,))
    response = put(client_for(enterprise_tenant, owner), SELECTION, body)
    assert response.status_code == 400
    data = response.json()
    messages = {"read_only": "Read-only field", "unknown": "Unknown field"}
    assert data["codes"] == {name: ["unknown_field"] for name in expected}
    for name, (kind,) in expected.items():
        assert data[name] == [f"{messages[kind]}; this resource accepts only: slug."]


def test_many_or_huge_unknown_fields_give_a_short_400(
    enterprise_tenant: Tenant, unchanged: None
) -> None:
    owner = make_user(enterprise_tenant, "owner", permissions=(CHANGE,))
    body: dict[str, Any] = {"slug": "card", "y" * 100_000: 1}
    body.update({f"field{n:05}": n for n in range(10_000)})
    response = put(client_for(enterprise_tenant, owner), SELECTION, body)
    assert response.status_code == 400
    assert len(response.content) < 3000
    data = response.json()
    assert data["non_field_errors"] == [
        "9991 more fields this resource does not accept; it accepts only: slug."
    ]
    assert sorted(data["codes"])[:2] == ["field00000", "field00001"]


# -- a user's own selection -------------------------------------------------------------------


def test_my_selection_of_a_registry_without_per_user_choice_is_404(
    enterprise_tenant: Tenant, unchanged: None
) -> None:
    member = make_user(enterprise_tenant, "member")
    client = client_for(enterprise_tenant, member)
    response = put(client, f"{PAYMENTS}my-selection/", {"slug": "card"})
    assert response.status_code == 404
    assert response.json()["code"] == "not_user_selectable"
    assert "does not allow per-user selections" in response.json()["detail"]


def test_a_member_chooses_their_own_strategy(pro_tenant: Tenant, themes: type[Registry]) -> None:
    member = make_user(pro_tenant, "member", permissions=("engine.view_selectionhistory",))
    other = make_user(pro_tenant, "other")
    client = client_for(pro_tenant, member)
    url = f"{API}api_themes/my-selection/"
    response = put(client, url, {"slug": "dark"})
    assert response.status_code == 200, response.json()
    data = response.json()
    assert (data["owner"], data["slug"], data["changed_by"]) == ("user", "dark", "member")
    assert data["in_force"]["reason"] == "user_selection"
    listed = client.get(f"{API}api_themes/").json()
    assert listed["selection"] == {"tenant": None, "user": "dark"}
    assert listed["my_selection_url"] == f"http://globex.localhost{url}"
    with tenant_context(pro_tenant):
        assert list(Selection.objects.values_list("registry", "slug", "user_id")) == [
            ("api_themes", "dark", member.pk)
        ]
    # Another member still gets the tenant's default.
    assert client_for(pro_tenant, other).get(url).json()["in_force"]["slug"] == "light"


def test_a_member_cannot_choose_what_is_unavailable_to_them(
    pro_tenant: Tenant, themes: type[Registry], unchanged: None
) -> None:
    member = make_user(pro_tenant, "member")  # without engine.view_selectionhistory
    response = put(
        client_for(pro_tenant, member), f"{API}api_themes/my-selection/", {"slug": "dark"}
    )
    assert response.status_code == 400
    assert response.json() == {
        "slug": [
            "Strategy 'dark' of 'api_themes' is not available here: "
            "perm:engine.view_selectionhistory is not met."
        ],
        "codes": {"slug": ["unavailable"]},
    }


def test_my_selection_choices_are_what_the_user_may_use(
    pro_tenant: Tenant, themes: type[Registry]
) -> None:
    member = make_user(pro_tenant, "member", permissions=("engine.view_selectionhistory",))
    data = client_for(pro_tenant, member).options(f"{API}api_themes/my-selection/").json()
    assert [c["value"] for c in data["actions"]["PUT"]["slug"]["choices"]] == ["light", "dark"]


# -- StrategyField on its own -----------------------------------------------------------------


class CheckoutSerializer(serializers.Serializer):  # type: ignore[misc]
    gateway = StrategyField("payments")


def test_strategy_field_validates_against_a_given_context(enterprise_tenant: Tenant) -> None:
    with tenant_context(enterprise_tenant):
        context = Context(tenant=enterprise_tenant)
        valid = CheckoutSerializer(
            data={"gateway": "invoice"}, context={"switchyard_context": context}
        )
        assert valid.is_valid(), valid.errors
        assert valid.validated_data["gateway"] is Invoice
        refused = CheckoutSerializer(
            data={"gateway": "crypto"}, context={"switchyard_context": context}
        )
        assert not refused.is_valid()
        assert refused.errors["gateway"][0].code == "unavailable"


def test_strategy_field_without_a_request_refuses_to_guess(db: None) -> None:
    serializer = CheckoutSerializer(data={"gateway": "card"})
    with pytest.raises(ImproperlyConfigured, match="needs the request in the serializer context"):
        serializer.is_valid()
    assert CheckoutSerializer().fields["gateway"].choices == {}  # offers nothing unvalidated


def test_strategy_field_reads_classes_instances_and_slugs(db: None) -> None:
    field = StrategyField("payments")
    assert field.to_representation(Card) == "card"
    assert field.to_representation(Card()) == "card"
    assert field.to_representation("retired-slug") == "retired-slug"
    assert field.to_representation(None) is None


def test_strategy_field_for_a_user_needs_an_authenticated_user(
    enterprise_tenant: Tenant, themes: type[Registry]
) -> None:
    class ThemeSerializer(serializers.Serializer):  # type: ignore[misc]
        theme = StrategyField(themes, user_selection=True)

    request = APIRequestFactory().get("/")
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    serializer = ThemeSerializer(data={"theme": "light"}, context={"request": request})
    assert not serializer.is_valid()
    assert serializer.errors["theme"][0].code == "anonymous"


# -- StrategyModelSerializer: model strategy fields validated like the rest ---------------------


class ParcelSerializer(StrategyModelSerializer):
    class Meta:
        model = Parcel
        fields = ["id", "name", "courier", "backup", "alerts"]


class ParcelViewSet(viewsets.ModelViewSet):  # type: ignore[misc]
    queryset = Parcel.objects.order_by("pk")
    serializer_class = ParcelSerializer
    permission_classes: ClassVar[list[Any]] = []


parcels = DefaultRouter()
parcels.register("parcels", ParcelViewSet, basename="parcel")
urlpatterns = [*parcels.urls]
PARCELS = pytest.mark.urls(__name__)


def parcel_serializer(tenant: Tenant, instance: Any = None, **data: Any) -> ParcelSerializer:
    context = {"switchyard_context": Context(tenant=tenant)}
    return ParcelSerializer(instance, data={"name": "box", **data}, context=context)


def test_model_serializer_maps_strategy_fields(db: None) -> None:
    fields = ParcelSerializer().fields
    assert type(fields["courier"]) is StrategyField
    assert fields["courier"].registry.key == "surface_couriers"
    assert fields["courier"].required is False  # the model field has a default
    assert fields["backup"].allow_blank is True
    assert type(fields["alerts"]) is MultipleStrategyField


def test_model_serializer_refuses_what_the_context_may_not_use(free_tenant: Tenant) -> None:
    with tenant_context(free_tenant):
        refused = parcel_serializer(free_tenant, courier="express", alerts=["email", "sms"])
        assert not refused.is_valid()
        assert refused.errors["courier"][0].code == "unavailable"
        assert refused.errors["alerts"][1][0].code == "unavailable"  # sms needs pro
        twice = parcel_serializer(free_tenant, alerts=["email", "email"])
        assert not twice.is_valid()
        assert twice.errors["alerts"] == ["Strategy 'email' is listed twice."]
        accepted = parcel_serializer(free_tenant, courier="post", backup="", alerts=["email"])
        assert accepted.is_valid(), accepted.errors
        parcel = accepted.save()
        assert (parcel.courier.slug, parcel.backup, [a.slug for a in parcel.alerts]) == (
            "post",
            None,
            ["email"],
        )


def test_model_serializer_keeps_a_value_it_is_not_changing(free_tenant: Tenant) -> None:
    with tenant_context(free_tenant):
        parcel = Parcel.objects.create(name="old", courier="freight", alerts=["retired"])
        kept = parcel_serializer(free_tenant, parcel, courier="freight", alerts=["retired"])
        assert kept.is_valid(), kept.errors  # keeping a value is not choosing it
        kept.save()
        changed = parcel_serializer(free_tenant, parcel, courier="express")
        assert not changed.is_valid()
        assert changed.errors["courier"][0].code == "unavailable"
        parcel.refresh_from_db()
        assert Parcel.objects.values_list("courier", "alerts").get() == ("freight", ["retired"])


@PARCELS
def test_a_model_viewset_validates_against_the_requests_tenant(
    free_tenant: Tenant, enterprise_tenant: Tenant
) -> None:
    body = {"name": "pallet", "courier": "freight", "alerts": ["email"]}
    refused = client_for(free_tenant).post("/parcels/", json.dumps(body), content_type=JSON)
    assert refused.status_code == 400
    assert refused.json()["courier"] == [
        "Strategy 'freight' of 'surface_couriers' is not available here: plan:enterprise "
        "is not met."
    ]
    created = client_for(enterprise_tenant).post("/parcels/", json.dumps(body), content_type=JSON)
    assert created.status_code == 201, created.json()
    assert created.json()["courier"] == "freight"
    with tenant_context(free_tenant):
        assert not Parcel.objects.exists()
    with tenant_context(enterprise_tenant):
        assert Parcel.objects.get().courier.slug == "freight"


@pytest.mark.parametrize("key", ["pay%00ments", "pay%1bments", "p" * 5000])
def test_hostile_registry_keys_in_the_url_are_short_404s(
    enterprise_tenant: Tenant, unchanged: None, key: str
) -> None:
    owner = make_user(enterprise_tenant, "owner", permissions=(CHANGE,))
    client = client_for(enterprise_tenant, owner)
    for response in (
        client.get(f"{API}{key}/"),
        put(client, f"{API}{key}/selection/", {"slug": "card"}),
    ):
        assert response.status_code == 404
        assert response.json()["code"] == "unknown_registry"
        assert len(response.content) < 500


def test_the_check_in_front_keeps_the_configured_401_or_403(db: None) -> None:
    from rest_framework.authentication import BasicAuthentication, SessionAuthentication

    from engine.rest_framework.views import RegistryViewSet

    class BasicFirst(RegistryViewSet):
        authentication_classes: ClassVar[list[Any]] = [BasicAuthentication, SessionAuthentication]

    view = BasicFirst.as_view({"get": "list"})
    response = view(APIRequestFactory().get("/"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Basic realm="api"'
    refused = view(APIRequestFactory().get("/", HTTP_AUTHORIZATION=basic("ev\x00il")))
    assert refused.status_code == 400
    assert refused.data["code"] == "malformed_credentials"
