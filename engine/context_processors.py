"""``strategy``: a template context processor exposing ``request.strategy`` as ``strategy``.

Add ``"engine.context_processors.strategy"`` to ``TEMPLATES[...]["OPTIONS"]["context_processors"]``
and templates read ``{{ strategy.payments.label }}``. Nothing is resolved (no query, no cache
call) until a template reads a registry, and the resolution is the one the view sees.
"""

from __future__ import annotations

from django.http import HttpRequest

from conditions import Context
from engine.namespace import StrategyNamespace

# Where a request without StrategyMiddleware keeps the namespace built for it.
_NAMESPACE_ATTRIBUTE = "_switchyard_namespace"


def request_namespace(request: HttpRequest) -> StrategyNamespace:
    """Return ``request.strategy``; without the middleware, one namespace built for the request."""
    namespace = getattr(request, "strategy", None)
    if isinstance(namespace, StrategyNamespace):
        return namespace
    namespace = getattr(request, _NAMESPACE_ATTRIBUTE, None)
    if not isinstance(namespace, StrategyNamespace):
        namespace = StrategyNamespace(lambda: Context.from_request(request))
        setattr(request, _NAMESPACE_ATTRIBUTE, namespace)
    return namespace


def request_context(request: HttpRequest) -> Context:
    """Return the one ``conditions.Context`` of ``request`` (shared with ``request.strategy``)."""
    return request_namespace(request).context


def strategy(request: HttpRequest) -> dict[str, StrategyNamespace]:
    """Expose the request's strategies to templates as ``strategy``."""
    return {"strategy": request_namespace(request)}
