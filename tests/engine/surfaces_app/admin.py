from __future__ import annotations

from django.contrib import admin

from engine.admin import StrategyFieldAdminMixin, TenantSchemaOnly
from tests.engine.surfaces_app.models import Parcel


@admin.register(Parcel)
class ParcelAdmin(StrategyFieldAdminMixin, TenantSchemaOnly):
    list_display = ["name", "courier", "backup", "alerts"]
