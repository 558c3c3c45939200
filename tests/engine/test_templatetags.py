"""{% load switchyard %}: the strategy in force, the available ones and why (request.strategy)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.template import Context as TemplateContext
from django.template import RequestContext, Template, TemplateSyntaxError
from django_tenants.utils import tenant_context

from conditions import Context
from engine import NoStrategyAvailable
from engine.middleware import StrategyMiddleware
from engine.namespace import StrategyNamespace
from engine.storage.writes import write_selection
from engine.testing import override_condition, override_strategy
from tenants.models import Tenant
from tests.engine.surfaces_app.strategies import Drone, Express, Freight, Post
from tests.engine.surfaces_support import request_for
from tests.transactions import settled


def with_middleware(request: Any) -> Any:
    """The request as StrategyMiddleware leaves it (request.strategy set, nothing resolved)."""
    StrategyMiddleware(lambda request: None).process_request(request)
    return request


def render(source: str, request: Any, **values: Any) -> str:
    return Template("{% load switchyard %}" + source).render(RequestContext(request, values))


@pytest.fixture
def globex_request(pro_tenant: Tenant) -> Any:
    return with_middleware(request_for(pro_tenant))


def test_strategy_as_a_variable_is_the_instance_the_view_sees(globex_request: Any) -> None:
    with tenant_context(globex_request.tenant):
        write_selection("surface_couriers", "express", via="test")
    out = render(
        '{% strategy "surface_couriers" as courier %}{{ courier.slug }}/{{ courier.label }}',
        globex_request,
    )
    assert out == "express/Express"
    assert render('{% strategy "surface_couriers" %}', globex_request) == "Express"
    resolved = globex_request.strategy.surface_couriers
    assert isinstance(resolved, Express)
    template = Template('{% load switchyard %}{% strategy "surface_couriers" as courier %}')
    context = RequestContext(globex_request)
    template.render(context)
    assert context["courier"] is resolved  # one resolution per request


def test_the_label_is_escaped(globex_request: Any) -> None:
    with override_strategy(Drone):
        assert render('{% strategy "surface_couriers" %}', globex_request) == "Drone &lt;beta&gt;"
        assert (
            render(
                '{% autoescape off %}{% strategy "surface_couriers" %}{% endautoescape %}',
                globex_request,
            )
            == "Drone <beta>"
        )


def test_available_strategies(globex_request: Any) -> None:
    source = (
        '{% available_strategies "surface_couriers" as options %}'
        "{% for o in options %}[{{ o.slug }}]{% endfor %}"
    )
    assert render(source, globex_request) == "[post][express]"
    assert (
        render('{% available_strategies "surface_couriers" %}', globex_request)
        == "Postal service, Express"
    )
    with override_condition(Drone, True):
        assert "Drone &lt;beta&gt;" in render(
            '{% available_strategies "surface_couriers" %}', globex_request
        )


def test_explain_strategy_renders_the_tree_as_html(globex_request: Any) -> None:
    with tenant_context(globex_request.tenant):
        write_selection("surface_couriers", "freight", via="test")
    html = render('{% explain_strategy "surface_couriers" %}', globex_request)
    assert '<div class="switchyard-explanation" data-registry="surface_couriers">' in html
    assert '<strong data-slug="post">Postal service</strong>' in html
    assert 'data-reason="default"' in html
    assert "Skipped: the tenant&#x27;s selection &#x27;freight&#x27; is unavailable" in html
    freight = html[html.index('data-slug="freight">') :]
    assert (
        '<li class="unmet"><span class="switchyard-mark">✗</span> <code>plan:enterprise</code>'
        in freight
    )
    assert "tenant globex is on plan &#x27;pro&#x27;" in freight
    assert 'class="switchyard-strategy available in-force" data-slug="post"' in html
    assert "Drone &lt;beta&gt;" in html


def test_explain_strategy_as_a_variable(globex_request: Any) -> None:
    source = (
        '{% explain_strategy "surface_couriers" as why %}{{ why.resolution.slug }}:'
        "{% for entry in why.strategies %}"
        "{{ entry.slug }}={{ entry.available|yesno:'y,n' }} {% endfor %}"
    )
    assert render(source, globex_request) == "post:post=y express=y drone=n freight=n "


def test_a_variable_key_is_resolved_at_render(globex_request: Any) -> None:
    assert render("{% strategy key %}", globex_request, key="surface_couriers") == "Postal service"
    with pytest.raises(
        TemplateSyntaxError,
        match=r"No registry has the key 'surface_courier'\. Did you mean 'surface_couriers'\?",
    ):
        render("{% strategy key %}", globex_request, key="surface_courier")


@pytest.mark.parametrize("tag", ["strategy", "available_strategies", "explain_strategy"])
def test_an_unknown_literal_key_fails_when_the_template_is_compiled(tag: str) -> None:
    with pytest.raises(TemplateSyntaxError) as raised:
        Template(f'{{% load switchyard %}}{{% {tag} "surface_courier" as x %}}')
    message = str(raised.value)
    assert message.startswith(f"{{% {tag} %}}: No registry has the key 'surface_courier'.")
    assert "Did you mean 'surface_couriers'?" in message


@pytest.mark.parametrize(
    "source",
    ["{% strategy %}", '{% strategy "surface_couriers" into x %}', '{% strategy "a" "b" as x %}'],
)
def test_malformed_tags_say_how_to_write_them(source: str) -> None:
    with pytest.raises(TemplateSyntaxError, match=r"takes a registry key and optionally 'as name'"):
        Template("{% load switchyard %}" + source)


def test_without_a_request_the_error_says_what_is_needed() -> None:
    template = Template('{% load switchyard %}{% strategy "surface_couriers" %}')
    with pytest.raises(ImproperlyConfigured, match="needs the request"):
        template.render(TemplateContext({}))


def test_a_namespace_in_the_context_serves_templates_rendered_without_a_request(
    pro_tenant: Tenant,
) -> None:
    template = Template('{% load switchyard %}{% strategy "surface_couriers" %}')
    namespace = StrategyNamespace(Context(tenant=pro_tenant))
    with override_strategy(Freight):
        assert template.render(TemplateContext({"strategy": namespace})) == "Freight"


def test_without_the_middleware_one_namespace_serves_the_request(pro_tenant: Tenant) -> None:
    request = request_for(pro_tenant)  # no StrategyMiddleware
    source = (
        '{% strategy "surface_couriers" as a %}{% strategy "surface_couriers" as b %}'
        "{% if a is b %}same{% endif %}"
    )
    assert render(source, request) == "same"
    assert not hasattr(request, "strategy")


def test_nothing_available_raises_like_the_namespace(globex_request: Any) -> None:
    with (
        override_condition(Post, Express, Drone, Freight, False),
        pytest.raises(NoStrategyAvailable),
    ):
        render('{% strategy "surface_couriers" %}', globex_request)
    with override_condition(Post, Express, Drone, Freight, False):
        html = render('{% explain_strategy "surface_couriers" %}', globex_request)
    assert '<strong class="switchyard-none">no strategy is available</strong>' in html


def test_rendering_is_query_free_when_warm(
    pro_tenant: Tenant, django_assert_num_queries: Any
) -> None:
    with settled(), tenant_context(pro_tenant):
        write_selection("surface_couriers", "express", via="test")
    source = (
        '{% strategy "surface_couriers" as c %}{{ c.slug }}'
        '{% available_strategies "surface_couriers" %}{% explain_strategy "surface_couriers" %}'
    )
    render(source, with_middleware(request_for(pro_tenant)))  # warms the cache
    with django_assert_num_queries(0):
        html = render(source, with_middleware(request_for(pro_tenant)))
    assert html.startswith("expressPostal service, Express")
