"""The platform page: staff of the public site see every tenant's strategies in force."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django_tenants.utils import schema_context, tenant_context

from conditions import Context
from conditions import cache as switchyard_cache
from example_site.registries.notifications import NotificationChannels
from example_site.strategies import PaymentGateways
from tenants.models import Tenant


@pytest.fixture
def platform_staff(public_tenant: Tenant) -> Client:
    with schema_context("public"):
        user = get_user_model().objects.create_user("operator", is_staff=True)
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    return client


def test_staff_see_each_tenants_strategy_and_whose_choice_it_is(
    platform_staff: Client, enterprise_tenant: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        PaymentGateways.select("invoice", Context(tenant=enterprise_tenant))
    response = platform_staff.get("/platform/")
    assert response.status_code == 200
    page = response.content.decode()
    assert '<tr id="tenant-initech">' in page
    assert '<span class="own">invoice</span>' in page  # initech chose it
    assert (
        '<span class="fallback">card</span> <span class="muted">(the registry&#x27;s default)'
        in page
    )
    assert "tenant-public" not in page


def test_the_page_shows_a_set_in_force(
    platform_staff: Client, pro_tenant: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        NotificationChannels.select(["sms", "email"], Context(tenant=pro_tenant))
    page = platform_staff.get("/platform/").content.decode()
    assert '<span class="own">sms,email</span>' in page  # globex's own set
    data = platform_staff.get("/platform/", {"format": "json"}).json()
    globex = next(tenant for tenant in data["tenants"] if tenant["tenant"] == "globex")
    (state,) = [s for s in globex["registries"] if s["registry"] == "notifications"]
    assert (state["slug"], state["stored"], state["own_choice"]) == ("sms,email", "sms,email", True)


def test_the_page_comes_as_json_too(platform_staff: Client, free_tenant: Tenant) -> None:
    data = platform_staff.get("/platform/", {"format": "json"}).json()
    acme = next(tenant for tenant in data["tenants"] if tenant["tenant"] == "acme")
    payments = next(state for state in acme["registries"] if state["registry"] == "payments")
    assert (payments["slug"], payments["reason"], payments["own_choice"]) == (
        "card",
        "default",
        False,
    )


def test_people_who_are_not_platform_staff_are_sent_to_log_in(public_tenant: Tenant) -> None:
    with schema_context("public"):
        member = get_user_model().objects.create_user("member")
    client = Client(HTTP_HOST="localhost")
    assert client.get("/platform/").status_code == 302
    client.force_login(member)
    response = client.get("/platform/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_tenant_sites_have_no_platform_page(free_tenant: Tenant) -> None:
    with tenant_context(free_tenant):
        owner = get_user_model().objects.create_user("owner", is_staff=True, is_superuser=True)
    client = Client(HTTP_HOST="acme.localhost", raise_request_exception=False)
    with tenant_context(free_tenant):  # the session and the login belong to acme's schema
        client.force_login(owner)
    assert client.get("/platform/").status_code == 404


def test_the_page_is_paginated_and_costs_the_same_queries_whatever_the_page_size(
    platform_staff: Client, free_tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tenants import views

    def queries(per_page: int, page: str = "1") -> tuple[Any, int]:
        monkeypatch.setattr(views, "TENANTS_PER_PAGE", per_page)
        switchyard_cache.cache().clear()
        with CaptureQueriesContext(connection) as captured:
            data = platform_staff.get("/platform/", {"format": "json", "page": page}).json()
        return data, sum(not q["sql"].startswith("SET ") for q in captured.captured_queries)

    one, cold_one = queries(1)
    assert (one["page"], one["pages"]) == (1, 3)  # acme, globex, initech
    assert [tenant["tenant"] for tenant in one["tenants"]] == ["acme"]
    third, _ = queries(1, "3")
    assert [tenant["tenant"] for tenant in third["tenants"]] == ["initech"]
    every, cold_every = queries(100)
    assert len(every["tenants"]) == 3
    assert cold_every == cold_one  # reads are batched across the page's tenants
    assert cold_every <= 10
    hostile, _ = queries(1, "9" * 40)  # a page past the end: the last page, not a 500
    assert hostile["page"] == 3
    words, _ = queries(1, "first")  # a page that is no number: the first page
    assert words["page"] == 1
