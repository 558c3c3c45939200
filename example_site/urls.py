"""URLs of every tenant's site (``<tenant>.localhost``)."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from example_site import status, views

urlpatterns = [
    path("", views.home, name="home"),
    # Switchyard's bundled pages (engine.urls): the tenant's choices at /settings/, each
    # user's own at /settings/mine/; example_site/templates/engine/ gives them the demo's look.
    path("settings/", include("engine.urls")),
    path("checkout/", views.checkout, name="checkout"),
    path("orders/", views.order_list, name="orders"),
    path("orders/<int:pk>/", views.order_detail, name="order"),
    path("orders/export/", views.export_orders, name="export"),
    path("outbox/", views.outbox, name="outbox"),
    # An async view on the async API (docs/guide/async.md).
    path("status.json", status.status, name="status"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    # The selections API (engine.rest_framework; docs/guide/rest-api.md).
    path("api/switchyard/", include("engine.rest_framework.urls")),
]
