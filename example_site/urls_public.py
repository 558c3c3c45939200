"""URLs of the public (platform) site, ``localhost``."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from example_site import views
from tenants.views import platform_overview

urlpatterns = [
    path("", views.platform_home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("platform/", platform_overview, name="platform"),
    path("admin/", admin.site.urls),
]
