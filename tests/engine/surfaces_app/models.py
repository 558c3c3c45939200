from __future__ import annotations

from django.db import models

from engine.fields import MultipleStrategyField, StrategyField
from tests.engine.surfaces_app.strategies import Couriers


class Parcel(models.Model):
    """A parcel: its courier (by key), a backup courier (by class, optional) and its alerts."""

    name = models.CharField(max_length=50)
    courier = StrategyField("surface_couriers", default="post")
    backup = StrategyField(Couriers, blank=True, default="")
    alerts = MultipleStrategyField("surface_alerts", blank=True)

    def __str__(self) -> str:
        return self.name
