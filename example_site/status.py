"""``/status.json``: an async view that reads ``request.strategy`` through the async API."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from engine import NoStrategyAvailable


async def status(request: HttpRequest) -> JsonResponse:
    """The strategy in force for every registry, and why, for a signed-in member (JSON).

    The first ``await`` loads the request's selections, flags and permissions in one thread
    hop; the other registries are resolved in the event loop from what is loaded.
    """
    user = await request.auser()
    if not user.is_authenticated:
        return JsonResponse({"detail": "Sign in to see this tenant's strategies."}, status=403)
    strategies = request.strategy  # type: ignore[attr-defined]
    in_force: dict[str, dict[str, str] | None] = {}
    for key in strategies:
        try:
            resolution = await strategies.aresolution(key)
        except NoStrategyAvailable:
            in_force[key] = None
            continue
        in_force[key] = {"slug": resolution.slug, "reason": resolution.reason.value}
    tenant = request.tenant  # type: ignore[attr-defined]
    return JsonResponse({"tenant": tenant.schema_name, "plan": tenant.plan, "in_force": in_force})
