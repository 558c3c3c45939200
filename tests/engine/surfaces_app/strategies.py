"""Registries of the surfaces tests, discovered like any app's strategies module.

Their conditions differ per tenant plan (acme free, globex pro, initech enterprise), per
platform flag, per setting and per group, so every surface can be tampered with.
"""

from __future__ import annotations

from conditions import Flag, Group, Setting
from engine import Registry, Strategy
from tenants.conditions import Plan


class Couriers(Registry):
    """How parcels are shipped."""

    key = "surface_couriers"
    label = "Couriers"
    default = "post"


class Courier(Strategy):
    registry = Couriers

    def ship(self, weight: int) -> str:
        return f"{self.slug}:{weight}"


class Post(Courier):
    """Ships by post, in three to five days."""

    slug = "post"
    label = "Postal service"
    priority = 10
    icon = "📮"


class Express(Courier):
    """Ships overnight."""

    slug = "express"
    label = "Express"
    priority = 20
    condition = Plan("pro", "enterprise")


class Drone(Courier):
    """Flies the parcel over (beta)."""

    slug = "drone"
    label = "Drone <beta>"
    priority = 30
    condition = Flag("surface_drones")


class Freight(Courier):
    """Ships by the pallet."""

    slug = "freight"
    priority = 40
    condition = Plan("enterprise")


class Alerts(Registry):
    """Where a parcel's alerts go."""

    key = "surface_alerts"


class Email(Strategy):
    registry = Alerts
    slug = "email"
    priority = 10


class Sms(Strategy):
    registry = Alerts
    slug = "sms"
    label = "SMS"
    priority = 20
    condition = Plan("pro", "enterprise")


class Pager(Strategy):
    registry = Alerts
    slug = "pager"
    priority = 30
    condition = Setting("SURFACE_PAGER")


class Looks(Registry):
    """How the site looks to each user."""

    key = "surface_looks"
    default = "light"
    user_selectable = True


class Light(Strategy):
    registry = Looks
    slug = "light"
    priority = 10


class Dark(Strategy):
    registry = Looks
    slug = "dark"
    priority = 20


class Contrast(Strategy):
    registry = Looks
    slug = "contrast"
    label = "High contrast"
    priority = 30
    condition = Group("Accessibility")
