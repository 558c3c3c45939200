"""The tenancy skeleton: schemas are isolated, hosts route to tenants, logins stay home."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.test import Client
from django_tenants.utils import tenant_context

from tenants.models import Tenant


def test_tenant_app_table_is_isolated_between_tenants(
    free_tenant: Tenant, pro_tenant: Tenant
) -> None:
    User = get_user_model()
    with tenant_context(free_tenant):
        User.objects.create_user("only-in-acme")
    with tenant_context(pro_tenant):
        assert not User.objects.filter(username="only-in-acme").exists()
    with tenant_context(free_tenant):
        assert User.objects.filter(username="only-in-acme").exists()


def test_request_reaches_the_tenant_of_its_host(pro_tenant: Tenant) -> None:
    with tenant_context(pro_tenant):
        member = get_user_model().objects.create_user("member")
    client = Client(HTTP_HOST="globex.localhost")
    with tenant_context(pro_tenant):  # the session lives in the tenant's schema
        client.force_login(member)
    response = client.get("/")
    assert response.status_code == 200
    assert response.context["tenant"] == pro_tenant
    assert b"Globex" in response.content
    assert b'id="plan">pro<' in response.content  # the dashboard, for the tenant's users


def test_public_host_serves_the_platform_site(public_tenant: Tenant) -> None:
    response = Client(HTTP_HOST="localhost").get("/")
    assert response.status_code == 200
    assert b"globex.localhost" in response.content


def test_user_of_one_tenant_cannot_log_in_on_another(
    free_tenant: Tenant, pro_tenant: Tenant
) -> None:
    with tenant_context(free_tenant):
        get_user_model().objects.create_user("alice", password="s3cret-pass")
    credentials = {"username": "alice", "password": "s3cret-pass"}

    at_home = Client(HTTP_HOST="acme.localhost")
    assert at_home.post("/accounts/login/", credentials).status_code == 302

    abroad = Client(HTTP_HOST="globex.localhost")
    response = abroad.post("/accounts/login/", credentials)
    assert response.status_code == 200  # the form again, with its error
    assert not response.context["user"].is_authenticated
    assert "_auth_user_id" not in abroad.session


def test_unknown_host_is_404_not_500(db: None) -> None:
    response = Client(HTTP_HOST="nobody.localhost", raise_request_exception=False).get("/")
    assert response.status_code == 404
