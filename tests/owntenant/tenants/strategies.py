"""A registry whose strategies depend on the plan, read through SWITCHYARD["TENANT_PLAN"]."""

from __future__ import annotations

from engine import Registry, Strategy
from tenants.conditions import Plan, PlanAtLeast


class SupportChannels(Registry):
    """How a client gets support."""

    key = "support"
    default = "email"


class SupportChannel(Strategy):
    registry = SupportChannels


class Email(SupportChannel):
    slug = "email"
    priority = 10


class Phone(SupportChannel):
    slug = "phone"
    condition = PlanAtLeast("pro")


class Concierge(SupportChannel):
    slug = "concierge"
    condition = Plan("enterprise")
