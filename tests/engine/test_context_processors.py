"""engine.context_processors.strategy: request.strategy in templates, lazily."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.template import RequestContext, Template
from django_tenants.utils import tenant_context

from engine.context_processors import request_context, request_namespace, strategy
from engine.middleware import StrategyMiddleware
from engine.namespace import StrategyNamespace
from engine.storage.writes import write_selection
from tenants.models import Tenant
from tests.engine.surfaces_support import client_for, request_for
from tests.helpers import make_user


def test_it_exposes_request_strategy(pro_tenant: Tenant) -> None:
    request = request_for(pro_tenant)
    StrategyMiddleware(lambda request: None).process_request(request)
    assert strategy(request) == {"strategy": request.strategy}
    assert request_context(request) is request.strategy.context


def test_nothing_is_resolved_until_a_template_reads_it(
    pro_tenant: Tenant, django_assert_num_queries: Any
) -> None:
    request = request_for(pro_tenant)
    with django_assert_num_queries(0):
        exposed = strategy(request)["strategy"]
        Template("{{ 1 }}").render(RequestContext(request, {"strategy": exposed}))
    assert repr(exposed) == "<StrategyNamespace resolved: nothing yet>"


def test_templates_read_strategies_through_it(pro_tenant: Tenant) -> None:
    with tenant_context(pro_tenant):
        write_selection("surface_couriers", "express", via="test")
    request = request_for(pro_tenant)
    template = Template(
        "{{ strategy.surface_couriers.label }} {{ strategy.surface_couriers.ship }}"
    )
    context = RequestContext(request, processors=[strategy])
    assert template.render(context).startswith("Express ")


def test_without_the_middleware_one_namespace_is_kept_on_the_request(pro_tenant: Tenant) -> None:
    request = request_for(pro_tenant)
    first = request_namespace(request)
    assert isinstance(first, StrategyNamespace) and request_namespace(request) is first
    assert first.context.tenant is pro_tenant and first.context.request is request


def test_the_example_site_installs_it() -> None:
    processors = settings.TEMPLATES[0]["OPTIONS"]["context_processors"]
    assert "engine.context_processors.strategy" in processors


@pytest.mark.django_db
def test_a_real_request_renders_with_it(pro_tenant: Tenant) -> None:
    owner = make_user(pro_tenant, "owner", superuser=True)
    response = client_for(pro_tenant, owner).get("/admin/")
    assert response.status_code == 200
    assert response.context["strategy"] is response.wsgi_request.strategy
