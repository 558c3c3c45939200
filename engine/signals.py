"""Signals the engine sends."""

from __future__ import annotations

from django.dispatch import Signal

# Sent once per changed selection, after the transaction that changed it commits (never when it
# rolls back), with sender=engine.models.Selection and the keyword arguments:
#   registry    the registry key
#   slug        the slug now stored, or None when the selection was cleared
#   previous    the slug stored before, or None when there was none
#   user        the user whose own choice changed, or None for the tenant's choice
#   user_id     that user's primary key (None for the tenant's choice)
#   changed_by  who made the change (None when unknown)
#   via         the path of the change: "api", "admin", "form", "command", "orm", ...
#   schema      the tenant schema the change was stored in ("public" without django-tenants)
strategy_selected = Signal()
