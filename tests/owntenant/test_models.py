"""The project's own tenant model, domain model and ``tenants`` app next to Switchyard's."""

from __future__ import annotations

from django.apps import apps
from django.db import connection
from django_tenants.utils import get_tenant_domain_model, get_tenant_model, tenant_context

from tenants.models import Domain, Tenant
from tests.owntenant.customers.models import Client
from tests.owntenant.customers.models import Domain as ClientDomain
from tests.owntenant.tenants.models import Ticket


def _tables(schema: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", [schema])
        return {name for (name,) in cursor.fetchall()}


def test_switchyards_app_and_the_projects_tenants_app_have_their_own_labels() -> None:
    assert apps.get_app_config("switchyard_tenants").name == "tenants"
    assert apps.get_app_config("tenants").name == "tests.owntenant.tenants"
    assert Ticket._meta.db_table == "tenants_ticket"


def test_the_ready_made_models_are_swapped_for_the_projects(db: None) -> None:
    assert (get_tenant_model(), get_tenant_domain_model()) == (Client, ClientDomain)
    assert Tenant._meta.swapped == "customers.Client"
    assert Domain._meta.swapped == "customers.Domain"
    public = _tables("public")
    assert {"customers_client", "customers_domain", "switchyard_tenants_platformflag"} <= public
    assert not public & {"switchyard_tenants_tenant", "switchyard_tenants_domain"}


def test_the_projects_tenants_app_has_its_table_in_each_tenant(acme: Client) -> None:
    assert "tenants_ticket" in _tables("acme")
    with tenant_context(acme):
        Ticket.objects.create(subject="Printer on fire")
        assert Ticket.objects.count() == 1
