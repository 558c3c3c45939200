"""``StrategyMiddleware``: sets ``request.strategy``, a lazy namespace of every registry.

Place it after the tenant middleware and ``AuthenticationMiddleware`` (system checks
``switchyard.E001``/``E002`` say so otherwise). Its behaviour lives in small hook methods so a
project can change one step, like django-tenants' middleware: ``get_context`` builds the one
``conditions.Context`` of the request, ``get_namespace`` wraps it.

It is sync only on purpose: its work is one attribute, and under ASGI Django then runs it in
the same thread as its sync neighbours instead of adding thread hops around it (Django's own
middlewares run their async mode through a hop each). ``AsyncStrategyMiddleware`` is the same
middleware for a chain that is async from end to end. Async views read ``request.strategy``
through its async API either way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse

from conditions import Context
from engine.namespace import StrategyNamespace


class StrategyMiddleware:
    """Sets ``request.strategy``; no work (no query, no cache call) until a view reads it."""

    sync_capable = True
    async_capable = False

    # The request attribute to set, and the namespace class to set it to.
    attribute: ClassVar[str] = "strategy"
    namespace_class: ClassVar[type[StrategyNamespace]] = StrategyNamespace

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        self.process_request(request)
        return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        self.process_request(request)
        response: Awaitable[HttpResponse] = self.get_response(request)
        return await response

    def process_request(self, request: HttpRequest) -> None:
        """Attach the namespace to ``request``."""
        setattr(request, self.attribute, self.get_namespace(request))

    def get_namespace(self, request: HttpRequest) -> StrategyNamespace:
        """Return the namespace of ``request``; its context is built on first use.

        The tenant middleware put the connection on ``request.tenant``: the namespace need
        not check which schema the connection is on.
        """
        return self.namespace_class(lambda: self.get_context(request), connection_tenant=True)

    def get_context(self, request: HttpRequest) -> Context:
        """Return the one context of ``request`` (its user and tenant); override to add extras."""
        return Context.from_request(request)


class AsyncStrategyMiddleware(StrategyMiddleware):
    """``StrategyMiddleware`` that also runs in async mode, for chains async from end to end."""

    async_capable = True
