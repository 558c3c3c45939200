"""provision_tenant: a usable tenant in one transaction, or nothing at all with clear errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_exists, tenant_context

import engine
from conditions import Context, Leaf
from engine import Reason, Registry, Strategy
from engine.models import Selection, SelectionHistory
from engine.testing import isolated_registries
from tenants.models import Domain, Tenant
from tenants.provisioning import ensure_public_tenant, ensure_tenant, provision_tenant


def test_a_provisioned_tenant_serves_requests_and_stores_data(db: None) -> None:
    tenant = provision_tenant("hooli", name="Hooli", plan="pro", domain="Hooli.Localhost")
    assert (tenant.schema_name, tenant.name, tenant.plan) == ("hooli", "Hooli", "pro")
    assert not tenant._state.adding
    assert list(tenant.domains.values_list("domain", "is_primary")) == [("hooli.localhost", True)]
    assert schema_exists("hooli")

    response = Client(HTTP_HOST="hooli.localhost").get("/")
    assert response.status_code == 200
    assert response.context["tenant"] == tenant

    with tenant_context(tenant):
        user = get_user_model().objects.create_user("first", password="pw-pw-pw-1")
        assert user.pk == 1  # its own, fresh sequence
        # The template's rows came along, and sequences continue after them.
        assert Permission.objects.filter(codename="add_user").exists()
        ContentType.objects.create(app_label="fresh", model="thing")
    client = Client(HTTP_HOST="hooli.localhost")
    assert (
        client.post("/accounts/login/", {"username": "first", "password": "pw-pw-pw-1"}).status_code
        == 302
    )


def test_the_provisioning_user_is_recorded_by_name(db: None) -> None:
    User = get_user_model()
    admin = User.objects.create_user("platform-admin")
    tenant = provision_tenant(
        "hooli", name="Hooli", plan="pro", domain="hooli.localhost", created_by=admin
    )
    assert Tenant.objects.get(pk=tenant.pk).created_by == "platform-admin"
    other = provision_tenant(
        "piedpiper", name="Pied Piper", plan="free", domain="pp.localhost", created_by="signup form"
    )
    assert other.created_by == "signup form"


def test_initial_selections_are_validated_and_stored_via_provisioning(db: None) -> None:
    tenant = provision_tenant(
        "hooli",
        name="Hooli",
        plan="enterprise",
        domain="hooli.localhost",
        selections={"payments": "invoice"},
    )
    with tenant_context(tenant):
        assert list(Selection.objects.values_list("registry", "slug", "user")) == [
            ("payments", "invoice", None)
        ]
        (history,) = SelectionHistory.objects.all()
        assert (history.after_slug, history.via) == ("invoice", "provisioning")
    resolution = engine.resolve("payments", tenant=tenant)
    assert (resolution.strategy_class.slug, resolution.reason) == (
        "invoice",
        Reason.TENANT_SELECTION,
    )


def test_an_initial_set_is_given_as_slugs_joined_by_commas(db: None) -> None:
    tenant = provision_tenant(
        "hooli",
        name="Hooli",
        plan="pro",
        domain="hooli.localhost",
        selections={"notifications": "sms,email"},  # a registry holding a set
    )
    with tenant_context(tenant):
        assert Selection.objects.get(registry="notifications").slug == "sms,email"
    assert engine.resolve("notifications", tenant=tenant).slugs == ("sms", "email")


@pytest.fixture
def nothing_created(db: None) -> Iterator[None]:
    tenants, domains = Tenant.objects.count(), Domain.objects.count()
    yield
    assert (Tenant.objects.count(), Domain.objects.count()) == (tenants, domains)
    assert not schema_exists("hooli")


def provision_errors(**overrides: Any) -> dict[str, list[str]]:
    arguments: dict[str, Any] = {
        "schema_name": "hooli",
        "name": "Hooli",
        "plan": "pro",
        "domain": "hooli.localhost",
    }
    arguments.update(overrides)
    with pytest.raises(ValidationError) as caught:
        provision_tenant(arguments.pop("schema_name"), **arguments)
    return caught.value.message_dict


@pytest.mark.parametrize(
    ("schema_name", "message"),
    [
        ("Hooli", "Invalid schema name 'Hooli'"),
        ("1hooli", "Invalid schema name '1hooli'"),
        ("hoo-li", "Invalid schema name 'hoo-li'"),
        ("x" * 64, "Invalid schema name"),
        ("public", "The schema name 'public' is reserved."),
        ("pg_hooli", "The schema name 'pg_hooli' is reserved."),
        ("_switchyard_template", "is reserved"),
        ("acme", "A tenant with the schema name 'acme' exists."),
    ],
)
def test_bad_or_taken_schema_names_are_refused(
    nothing_created: None, free_tenant: Tenant, schema_name: str, message: str
) -> None:
    errors = provision_errors(schema_name=schema_name)
    assert message in errors["schema_name"][0]


def test_a_schema_that_exists_without_a_tenant_is_refused(db: None) -> None:
    with connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA leftover")
    errors = provision_errors(schema_name="leftover", domain="leftover.localhost")
    assert errors["schema_name"] == ["The schema 'leftover' already exists in the database."]


@pytest.mark.parametrize(
    ("domain", "message"),
    [
        ("", "The tenant needs a domain"),
        ("http://hooli.localhost", "Invalid domain 'http://hooli.localhost'"),
        ("hooli.localhost:8000", "Invalid domain"),
        ("hoo li.localhost", "Invalid domain"),
        ("-hooli.localhost", "Invalid domain"),
        ("ACME.localhost", "The domain 'acme.localhost' already routes to another tenant."),
    ],
)
def test_bad_or_taken_domains_are_refused(
    nothing_created: None, free_tenant: Tenant, domain: str, message: str
) -> None:
    assert message in provision_errors(domain=domain)["domain"][0]


def test_an_unknown_plan_is_refused_with_a_suggestion(nothing_created: None) -> None:
    (message,) = provision_errors(plan="entreprise")["plan"]
    assert "Unknown plan 'entreprise'. Did you mean 'enterprise'?" in message


def test_every_problem_is_reported_at_once(nothing_created: None) -> None:
    errors = provision_errors(schema_name="Bad!", name=" ", plan="gold", domain="a b")
    assert set(errors) == {"schema_name", "name", "plan", "domain"}


@pytest.mark.parametrize(
    ("selections", "message"),
    [
        ({"paymnets": "card"}, "No registry has the key 'paymnets'. Did you mean 'payments'?"),
        (
            {"payments": "cardd"},
            "payments: Unknown strategy 'cardd' in 'payments'. Did you mean 'card'?",
        ),
        (
            {"payments": "invoice"},
            "payments: Strategy 'invoice' of 'payments' is not available here",
        ),
        (
            {"notifications": "sms,email"},
            "notifications: Strategy 'sms' of 'notifications' is not available here",
        ),
        (
            {"notifications": ["slack"]},
            "notifications: 'email' of 'notifications' is mandatory",
        ),
    ],
)
def test_invalid_selections_are_refused(
    nothing_created: None, selections: dict[str, str], message: str
) -> None:
    (problem,) = provision_errors(plan="free", selections=selections)["selections"]
    assert problem.startswith(message)


class OnlyBeforeSaving(Leaf):
    """Met for a tenant not saved yet: passes the early check, fails the real write."""

    __slots__ = ()
    kind: ClassVar[str] = "test_only_before_saving"

    def check(self, context: Context) -> bool:
        return context.tenant is not None and context.tenant.pk is None

    def argument(self) -> str:
        return "x"


def test_a_failure_after_the_schema_was_created_leaves_nothing_behind(
    nothing_created: None,
) -> None:
    with isolated_registries():

        class Fragile(Registry):
            key = "fragile"

        class Brittle(Strategy):
            registry = Fragile
            slug = "brittle"
            condition = OnlyBeforeSaving()

        with pytest.raises(ValidationError, match="'brittle' of 'fragile' is not available"):
            provision_tenant(
                "hooli",
                name="Hooli",
                plan="pro",
                domain="hooli.localhost",
                selections={"fragile": "brittle"},
            )


def test_ensure_tenant_provisions_once_then_returns_the_tenant(db: None) -> None:
    first = ensure_tenant("hooli", name="Hooli", plan="pro", domain="hooli.localhost")
    again = ensure_tenant("hooli", name="Other name", plan="free", domain="hooli.localhost")
    assert again == first
    assert again.plan == "pro"  # an existing tenant is left as it is
    ensure_tenant("hooli", name="Hooli", plan="pro", domain="www.hooli.localhost")
    assert set(first.domains.values_list("domain", flat=True)) == {
        "hooli.localhost",
        "www.hooli.localhost",
    }


def test_ensure_public_tenant_is_idempotent(public_tenant: Tenant) -> None:
    assert ensure_public_tenant() == public_tenant
    assert Tenant.objects.filter(schema_name="public").count() == 1


def test_provisioning_works_from_inside_a_tenants_schema(free_tenant: Tenant) -> None:
    with tenant_context(free_tenant):
        tenant = provision_tenant("hooli", name="Hooli", plan="pro", domain="hooli.localhost")
        assert connection.schema_name == "acme"  # switched back to where the caller was
    assert schema_exists(tenant.schema_name)


# Hostile arguments: always a ValidationError naming the field, never a DataError or TypeError


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"name": "Ev\x00il"}, "name", "The name 'Ev\\x00il' contains U+0000"),
        ({"name": "Red\x1b[31m"}, "name", "contains U+001B"),
        ({"name": "Two\r\nlines"}, "name", "contains U+000D"),
        ({"name": None}, "name", "A tenant name is text, got NoneType."),
        ({"name": "x" * 100_000}, "name", "(100000 characters) is longer than 100 characters"),
        (
            {"plan": None},
            "plan",
            "The plan is one of 'free', 'pro', 'enterprise' (a string), got None.",
        ),
        ({"plan": 5}, "plan", "got 5."),
        ({"plan": "pro\x00"}, "plan", "Unknown plan 'pro\\x00'."),
        ({"domain": "hooli\x00.localhost"}, "domain", "Invalid domain 'hooli\\x00.localhost'"),
        ({"domain": "h\u043e\u043eli.localhost"}, "domain", "CYRILLIC SMALL LETTER O"),
        ({"domain": None}, "domain", "The tenant needs a domain"),
        ({"domain": "x" * 100_000}, "domain", "(100000 characters)"),
        ({"schema_name": "hoo\x00li"}, "schema_name", "Invalid schema name 'hoo\\x00li'"),
        ({"schema_name": None}, "schema_name", "Invalid schema name None"),
        ({"schema_name": "x" * 100_000}, "schema_name", "(100000 characters)"),
        ({"created_by": "ops\x1b[2J"}, "created_by", "contains control characters"),
        ({"created_by": 42}, "created_by", "created_by is a user or a name, got 42."),
        ({"selections": {"payments": "x" * 100_000}}, "selections", "(100000 characters)"),
        ({"selections": {"payments": None}}, "selections", "Unknown strategy None"),
        ({"selections": {5: "card"}}, "selections", "Registry keys are strings, got 5."),
        ({"selections": {"\x00": "card"}}, "selections", "No registry has the key '\\x00'"),
        ({"selections": ["payments"]}, "selections", "Expected a mapping"),
    ],
)
def test_hostile_arguments_are_validation_errors_with_short_messages(
    nothing_created: None, overrides: dict[str, Any], field: str, message: str
) -> None:
    errors = provision_errors(**overrides)
    assert message in errors[field][0]
    for messages in errors.values():
        assert all(len(text) < 500 and text.isprintable() for text in messages)
