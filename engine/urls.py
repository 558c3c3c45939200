"""The bundled selection pages: ``path("strategies/", include("engine.urls"))``.

``switchyard:selections`` is the tenant's page (``engine.change_selection``),
``switchyard:user_selections`` each user's own choices (``user_selectable`` registries).
"""

from __future__ import annotations

from django.urls import path

from engine.views import SelectionsView, UserSelectionsView

app_name = "switchyard"

urlpatterns = [
    path("", SelectionsView.as_view(), name="selections"),
    path("mine/", UserSelectionsView.as_view(), name="user_selections"),
]
