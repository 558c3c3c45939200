"""GET through Django's ASGI handler (AsyncClient) on a tenant's host, from a sync test.

``AsyncClient`` puts ``host: testserver`` first in every scope it builds, and the tenant
middleware then routes to no tenant; a scope of our own names the host once.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from django.test import AsyncClient


def asgi_get(client: AsyncClient, host: str, path: str) -> Any:
    """Send ``GET path`` for ``host`` through ``client`` (its cookies included)."""
    scope = {
        "method": "GET",
        "path": path,
        "server": ("127.0.0.1", "80"),
        "scheme": "http",
        "headers": [(b"host", host.encode("ascii"))],
        "query_string": "",
    }
    return async_to_sync(client.request)(**scope)
