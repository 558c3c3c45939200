"""Who may read the registries and change selections through the API."""

from __future__ import annotations

from typing import Any, ClassVar

from rest_framework.permissions import SAFE_METHODS, BasePermission


class CanChangeSelections(BasePermission):  # type: ignore[misc]
    """Reads need an authenticated user; changing the tenant's selection needs staff status or
    the ``engine.change_selection`` permission; a user may always change their own selection.

    With users in each tenant's schema (``django.contrib.auth`` in ``TENANT_APPS``, as in the
    example site) an authenticated user is a user of the request's tenant. Projects whose users
    are shared across tenants override ``is_member``. Views mark the user's own selection with
    ``selection_owner = "user"``. Subclass and set ``permission`` or ``allow_staff`` to change
    the rule.
    """

    permission: ClassVar[str] = "engine.change_selection"
    allow_staff: ClassVar[bool] = True

    # Why has_permission() refused, for the message (DRF makes one instance per request).
    refused_membership = False

    @property
    def message(self) -> str:
        if self.refused_membership:
            return "You are not a user of this tenant."
        staff = " or staff status" if self.allow_staff else ""
        return f"Changing the tenant's selections needs the {self.permission!r} permission{staff}."

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        if user is None or not user.is_authenticated:
            return False
        if not self.is_member(user, getattr(request, "tenant", None)):
            self.refused_membership = True
            return False
        if request.method in SAFE_METHODS:
            return True
        if getattr(view, "selection_owner", None) == "user":
            return True  # the view writes only the requesting user's own selection
        return bool((self.allow_staff and user.is_staff) or user.has_perm(self.permission))

    def is_member(self, user: Any, tenant: Any) -> bool:
        """Return whether ``user`` belongs to ``tenant``; True: users live in tenant schemas."""
        return True
