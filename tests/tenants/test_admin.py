"""The platform admin: public site only; tenants created through provisioning; flag forms."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django_tenants.utils import schema_context, schema_exists, tenant_context

from tenants.flags import PlatformFlag
from tenants.models import Tenant

PLATFORM_PAGES = (
    "/admin/switchyard_tenants/tenant/",
    "/admin/switchyard_tenants/platformflag/",
    "/admin/waffle/switch/",
)


@pytest.fixture
def platform_admin(public_tenant: Tenant) -> Client:
    with schema_context("public"):
        admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client = Client(HTTP_HOST="localhost")
    client.force_login(admin)
    return client


def test_platform_models_are_on_the_public_sites_admin(platform_admin: Client) -> None:
    index = platform_admin.get("/admin/").content.decode()
    for path in PLATFORM_PAGES:
        assert path in index
        assert platform_admin.get(path).status_code == 200


def test_a_tenants_owner_cannot_reach_them_through_the_shared_search_path(
    free_tenant: Tenant,
) -> None:
    with tenant_context(free_tenant):
        owner = get_user_model().objects.create_superuser("owner", "o@example.com", "pw")
    tenant_site = Client(HTTP_HOST="acme.localhost")
    with tenant_context(free_tenant):  # the session and the login belong to acme's schema
        tenant_site.force_login(owner)
    index = tenant_site.get("/admin/").content.decode()
    for path in PLATFORM_PAGES:
        assert path not in index
        assert tenant_site.get(path).status_code in (403, 404)


def test_adding_a_tenant_in_the_admin_provisions_it(platform_admin: Client) -> None:
    response = platform_admin.post(
        "/admin/switchyard_tenants/tenant/add/",
        {"schema_name": "hooli", "name": "Hooli", "plan": "pro", "domain": "Hooli.Localhost"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    tenant = Tenant.objects.get(schema_name="hooli")
    assert (tenant.plan, tenant.created_by) == ("pro", "root")
    assert schema_exists("hooli")
    assert list(tenant.domains.values_list("domain", flat=True)) == ["hooli.localhost"]


def test_the_add_form_shows_what_is_wrong_and_creates_nothing(
    platform_admin: Client, free_tenant: Tenant
) -> None:
    response = platform_admin.post(
        "/admin/switchyard_tenants/tenant/add/",
        {"schema_name": "acme", "name": "Again", "plan": "pro", "domain": "acme.localhost"},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "A tenant with the schema name &#x27;acme&#x27; exists." in page
    assert "already routes to another tenant" in page
    assert Tenant.objects.filter(name="Again").count() == 0


def test_changing_a_plan_in_the_admin_is_validated(
    platform_admin: Client, pro_tenant: Tenant
) -> None:
    url = f"/admin/switchyard_tenants/tenant/{pro_tenant.pk}/change/"
    form = {
        "name": "Globex",
        "plan": "gold",
        "domains-TOTAL_FORMS": "0",
        "domains-INITIAL_FORMS": "0",
    }
    response = platform_admin.post(url, form)
    assert response.status_code == 200
    assert (
        "Select a valid choice. gold is not one of the available choices."
        in response.content.decode()
    )
    form["plan"] = "enterprise"
    assert platform_admin.post(url, form).status_code == 302
    pro_tenant.refresh_from_db()
    assert pro_tenant.plan == "enterprise"


def test_the_flag_form_picks_tenants_and_plans_from_lists(
    platform_admin: Client, free_tenant: Tenant
) -> None:
    page = platform_admin.get("/admin/switchyard_tenants/platformflag/add/").content.decode()
    assert 'value="acme"' in page and 'value="enterprise"' in page
    assert "user pk 1 of every tenant would match" in page
    response = platform_admin.post(
        "/admin/switchyard_tenants/platformflag/add/",
        {
            "name": "beta",
            "tenants": ["acme"],
            "plans": ["pro", "enterprise"],
            "tenant_percent": "10",
            "languages": "",
            "note": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    flag = PlatformFlag.objects.get(name="beta")
    assert (flag.tenants, flag.plans, flag.tenant_percent) == (["acme"], ["enterprise", "pro"], 10)


@pytest.mark.parametrize("path", PLATFORM_PAGES)
@pytest.mark.parametrize("query", ["q=%00", "plan=%00", "q=a%1bb"])
def test_control_characters_in_searches_and_filters_are_a_400(
    platform_admin: Client, settings: Any, path: str, query: str
) -> None:
    # Without the demo's guard middleware: the platform admin refuses them itself.
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if not m.startswith("example_site.")]
    platform_admin.raise_request_exception = False
    assert platform_admin.get(f"{path}?{query}").status_code == 400
    assert platform_admin.get(f"{path}?q=acme").status_code == 200


def inline_form(tenant: Tenant, name: str, **domain: str) -> dict[str, str]:
    """The change form of ``tenant`` with one new domain row."""
    form = {
        "name": name,
        "plan": tenant.plan,
        "domains-TOTAL_FORMS": "1",
        "domains-INITIAL_FORMS": "0",
        "domains-0-domain": "",
        "domains-0-tenant": str(tenant.pk),
    }
    form.update({f"domains-0-{key}": value for key, value in domain.items()})
    return form


@pytest.mark.parametrize(
    ("domain", "message"),
    [
        ("globex two.localhost", "no spaces, port or path"),
        ("https://globex2.localhost/", "give the host name alone"),
        ("gl\u043ebex.localhost", "CYRILLIC SMALL LETTER O"),
        ("globex2.localhost:8000", "no spaces, port or path"),
        ("globex\x00.localhost", "Null characters are not allowed."),  # Django refuses it first
    ],
)
def test_the_domain_inline_refuses_what_provisioning_refuses(
    platform_admin: Client, pro_tenant: Tenant, domain: str, message: str
) -> None:
    url = f"/admin/switchyard_tenants/tenant/{pro_tenant.pk}/change/"
    before = sorted(pro_tenant.domains.values_list("domain", flat=True))
    response = platform_admin.post(url, inline_form(pro_tenant, "Globex", domain=domain))
    assert response.status_code == 200
    assert message in response.content.decode().replace("&#x27;", "'")
    assert sorted(pro_tenant.domains.values_list("domain", flat=True)) == before


def test_the_domain_inline_stores_a_good_domain_normalised(
    platform_admin: Client, pro_tenant: Tenant
) -> None:
    url = f"/admin/switchyard_tenants/tenant/{pro_tenant.pk}/change/"
    form = inline_form(pro_tenant, "Globex", domain="  Globex2.Localhost ")
    assert platform_admin.post(url, form).status_code == 302
    assert "globex2.localhost" in pro_tenant.domains.values_list("domain", flat=True)


@pytest.mark.parametrize("name", ["Glo\x1bbex", "Glo\nbex", "Glo\u202ebex"])
def test_the_tenant_form_refuses_names_with_characters_that_do_not_print(
    platform_admin: Client, pro_tenant: Tenant, name: str
) -> None:
    url = f"/admin/switchyard_tenants/tenant/{pro_tenant.pk}/change/"
    form = {"name": name, "plan": "pro", "domains-TOTAL_FORMS": "0", "domains-INITIAL_FORMS": "0"}
    response = platform_admin.post(url, form)
    assert response.status_code == 200
    assert "which does not print" in response.content.decode()
    pro_tenant.refresh_from_db()
    assert pro_tenant.name == "Globex"
    added = platform_admin.post(
        "/admin/switchyard_tenants/tenant/add/",
        {"schema_name": "hooli", "name": name, "plan": "pro", "domain": "hooli.localhost"},
    )
    assert added.status_code == 200 and "which does not print" in added.content.decode()
    assert not Tenant.objects.filter(schema_name="hooli").exists()
