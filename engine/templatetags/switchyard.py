"""``{% load switchyard %}``: the strategy in force, the available ones, and why.

``{% strategy "payments" as gateway %}`` (without ``as``: the label of the strategy in force;
for a registry holding a set, the tuple in force, or its labels joined by commas),
``{% available_strategies "payments" as options %}`` (without ``as``: their labels),
``{% explain_strategy "payments" %}`` (the explanation as HTML; with ``as``: the object).
They read ``request.strategy``, so a template sees what the view sees and no registry is
resolved twice. A registry key written as a string is checked when the template is compiled.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.core.exceptions import ImproperlyConfigured
from django.template.base import FilterExpression, Parser, Token
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from engine.context_processors import request_namespace
from engine.exceptions import UnknownRegistry
from engine.namespace import StrategyNamespace
from engine.registry import Registry, get_registry

register = template.Library()

EXPLANATION_TEMPLATE = "engine/explanation.html"


class RegistryNode(template.Node):
    """A tag reading one registry of the request's strategies, rendered or stored ``as`` a name."""

    tag_name = ""

    def __init__(self, key: FilterExpression, target: str | None) -> None:
        self.key = key
        self.target = target

    def render(self, context: template.Context) -> str:
        registry = _registry(self.key.resolve(context), self.tag_name)
        value = self.value(_namespace(context, self.tag_name), registry)
        if self.target is not None:
            context[self.target] = value
            return ""
        return self.output(value, context)

    def value(self, namespace: StrategyNamespace, registry: type[Registry]) -> Any:
        raise NotImplementedError

    def output(self, value: Any, context: template.Context) -> str:
        raise NotImplementedError


class StrategyNode(RegistryNode):
    tag_name = "strategy"

    def value(self, namespace: StrategyNamespace, registry: type[Registry]) -> Any:
        return namespace.get(registry)

    def output(self, value: Any, context: template.Context) -> str:
        if isinstance(value, tuple):  # a registry holding a set: the labels, in order
            return _escape(", ".join(str(strategy.label) for strategy in value), context)
        return _escape(str(value.label), context)


class AvailableStrategiesNode(RegistryNode):
    tag_name = "available_strategies"

    def value(self, namespace: StrategyNamespace, registry: type[Registry]) -> Any:
        return namespace.available(registry)

    def output(self, value: Any, context: template.Context) -> str:
        return _escape(", ".join(str(strategy.label) for strategy in value), context)


class ExplainStrategyNode(RegistryNode):
    tag_name = "explain_strategy"

    def value(self, namespace: StrategyNamespace, registry: type[Registry]) -> Any:
        return namespace.explain(registry)

    def output(self, value: Any, context: template.Context) -> str:
        engine = (
            context.template.engine
            if context.template is not None
            else template.Engine.get_default()
        )
        html = engine.get_template(EXPLANATION_TEMPLATE).render(
            template.Context({"explanation": value}, autoescape=context.autoescape)
        )
        return mark_safe(html)  # rendered by an autoescaping template


def _compile(node_class: type[RegistryNode]) -> Any:
    def compile_tag(parser: Parser, token: Token) -> RegistryNode:
        bits = token.split_contents()
        name = bits[0]
        if len(bits) == 2:
            target = None
        elif len(bits) == 4 and bits[2] == "as":
            target = bits[3]
        else:
            raise template.TemplateSyntaxError(
                f"{{% {name} %}} takes a registry key and optionally 'as name', e.g. "
                f'{{% {name} "payments" as value %}}; got {{% {token.contents} %}}.'
            )
        key = parser.compile_filter(bits[1])
        if isinstance(key.var, str) and not key.filters:
            _registry(key.var, name)  # a literal key: check it now, not at every render
        return node_class(key, target)

    compile_tag.__name__ = node_class.tag_name
    return compile_tag


for _node in (StrategyNode, AvailableStrategiesNode, ExplainStrategyNode):
    register.tag(_node.tag_name, _compile(_node))


def _registry(key: Any, tag: str) -> type[Registry]:
    try:
        return get_registry(key)
    except UnknownRegistry as error:
        raise template.TemplateSyntaxError(f"{{% {tag} %}}: {error}") from None


def _namespace(context: template.Context, tag: str) -> StrategyNamespace:
    request = getattr(context, "request", None) or context.get("request")
    if request is not None:
        return request_namespace(request)
    namespace = context.get("strategy")
    if isinstance(namespace, StrategyNamespace):
        return namespace
    raise ImproperlyConfigured(
        f"{{% {tag} %}} needs the request: render the template with one (render(request, ...) "
        "or a RequestContext), or put a StrategyNamespace in the context as 'strategy'."
    )


def _escape(text: str, context: template.Context) -> SafeString | str:
    return conditional_escape(text) if context.autoescape else text
