"""The ``conditions.Context`` an API request is validated and resolved against."""

from __future__ import annotations

from typing import Any

from conditions import Context
from engine.namespace import StrategyNamespace

# Where a context built here is kept on the Django request, for the rest of the request.
CONTEXT_ATTRIBUTE = "_switchyard_api_context"


def request_context(request: Any) -> Context:
    """Return the context of ``request`` (a DRF ``Request`` or a Django ``HttpRequest``).

    The user is the one DRF authenticated (session, token, ...). The context of
    ``request.strategy`` (``StrategyMiddleware``) is reused when it was built for that user,
    so the API and the rest of the request share one memo and one cache round trip.
    """
    django_request = getattr(request, "_request", request)
    user = request.user  # on a DRF request this authenticates, and sets django_request.user
    namespace = getattr(django_request, "strategy", None)
    if isinstance(namespace, StrategyNamespace) and namespace.context.user is user:
        return namespace.context
    context = getattr(django_request, CONTEXT_ATTRIBUTE, None)
    if isinstance(context, Context) and context.user is user:
        return context
    # The middleware's context was built for another user (read before DRF authenticated a
    # token, say), or there is no middleware: conditions must see the authenticated user.
    context = Context(
        request=django_request, user=user, tenant=getattr(django_request, "tenant", None)
    )
    setattr(django_request, CONTEXT_ATTRIBUTE, context)
    return context
