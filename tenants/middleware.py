"""``CachedTenantMiddleware``: django-tenants' routing without a query per request."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from django.http import HttpRequest
from django_tenants.middleware.main import TenantMainMiddleware

from engine import tenancy
from engine.storage import reads, session_users
from tenants import cache

# What get_tenant fetched ahead for the schema it routed to: (schema, values, user pk), or None.
_ahead: ContextVar[tuple[str, dict[str, Any], Any] | None] = ContextVar(
    "switchyard_ahead", default=None
)
# The session cookie of the request being routed (get_tenant is not handed the request).
_cookie: ContextVar[str | None] = ContextVar("switchyard_session_cookie", default=None)


def on_public_site(request: HttpRequest) -> bool:
    """Return whether ``request`` is served by the public (platform) schema."""
    return tenancy.on_public_schema(getattr(request, "tenant", None))


class CachedTenantMiddleware(TenantMainMiddleware):
    """``TenantMainMiddleware`` whose host -> tenant lookup is served from Switchyard's cache.

    A warm request costs no query at all and one cache round trip in all: the routing entry and
    the selections ``request.strategy`` reads first (a signed-in user's own too, for the user
    last seen behind the session cookie) come in the same ``get_many`` (see ``tenants.cache``).
    Saving or deleting a tenant or domain forgets its hosts after commit, and a host that routes
    nowhere is remembered for ``SWITCHYARD["TENANT_MISS_TIMEOUT"]`` seconds (it is still a 404,
    via the inherited ``no_tenant_found``). A cache that fails is a miss: the database answers
    (one query) and the request goes on. An entry whose invalidation was lost is served for at
    most ``SWITCHYARD["STALENESS_BOUND"]`` seconds.
    """

    def process_request(self, request: HttpRequest) -> Any:
        token = _ahead.set(None)
        cookie_token = _cookie.set(session_users.cookie_of(request))
        try:
            response = super().process_request(request)
            ahead = _ahead.get()
        finally:
            _cookie.reset(cookie_token)
            _ahead.reset(token)
        tenant = getattr(request, "tenant", None)
        if ahead is not None and getattr(tenant, "schema_name", None) == ahead[0]:
            reads.fetched_ahead(request, *ahead)
        return response

    def get_tenant(self, domain_model: Any, hostname: str) -> Any:
        predicted = cache.predicted_schema(hostname)
        user_pk = None
        extra: tuple[str, ...] = ()
        if predicted is not None:
            user_pk = session_users.predicted_user(predicted, _cookie.get())
            extra = reads.ahead_keys(predicted, user_pk)
        cached, fingerprint, fetched = cache.lookup(hostname, extra)
        if isinstance(cached, str):  # MISSING: a host known to route nowhere
            cache.predict(hostname, None)
            raise domain_model.DoesNotExist(f"No tenant for hostname {hostname!r} (cached)")
        found = cached
        if found is None:
            try:
                found = super().get_tenant(domain_model, hostname)
            except domain_model.DoesNotExist:
                cache.predict(hostname, None)
                if fingerprint is not None:
                    cache.remember_missing(hostname, fingerprint)
                raise
            if fingerprint is not None:
                cache.remember_tenant(hostname, found, fingerprint)
        # The routing was validated above; the prediction only chose what else to fetch, and
        # what it fetched is used only for the schema the host really routes to.
        if predicted is not None and found.schema_name == predicted:
            _ahead.set((predicted, dict(fetched), user_pk))
        cache.predict(hostname, found.schema_name)
        return found
