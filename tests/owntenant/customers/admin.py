"""The team's own admin for its tenant model (Switchyard registers none for it)."""

from __future__ import annotations

from django.contrib import admin

from tests.owntenant.customers.models import Client


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["schema_name", "title", "tier"]
