"""A plan hook that is a function: VIP clients get the largest plan, whatever their tier."""

from __future__ import annotations

from typing import Any


def plan_of(client: Any) -> str | None:
    """Return the plan of ``client`` (None for the platform's own row)."""
    if client.schema_name == "public":
        return None
    return "enterprise" if client.vip else str(client.tier)


NOT_A_FUNCTION = "free"
