"""Who may read the registries and change selections through the API."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission

from engine.permissions import can_change_selections, refusal
from engine.rest_framework.context import request_context


class CanChangeSelections(BasePermission):
    """Reads need an authenticated user of the tenant; changing the tenant's selection needs
    ``engine.permissions.can_change_selections`` (the ``engine.change_selection`` permission,
    as in the admin and the settings pages; staff status is not enough); a user may always
    change their own selection.

    With users in each tenant's schema (``django.contrib.auth`` in ``TENANT_APPS``, as in the
    example site) an authenticated user is a user of the request's tenant. Projects whose users
    are shared across tenants override ``is_member``. Views mark the user's own selection with
    ``selection_owner = "user"``.
    """

    # Why has_permission() refused, for the message (DRF makes one instance per request).
    refused: str = ""

    @property
    def message(self) -> str:
        return self.refused or "You may not do this."

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        if user is None or not user.is_authenticated:
            return False
        if not self.is_member(user, getattr(request, "tenant", None)):
            self.refused = "You are not a user of this tenant."
            return False
        if request.method in SAFE_METHODS:
            return True
        if getattr(view, "selection_owner", None) == "user":
            return True  # the view writes only the requesting user's own selection
        if can_change_selections(request_context(request)):
            return True
        self.refused = refusal(user)
        return False

    def is_member(self, user: Any, tenant: Any) -> bool:
        """Return whether ``user`` belongs to ``tenant``; True: users live in tenant schemas."""
        return True
