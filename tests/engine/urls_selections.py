"""A tenant URLconf with the bundled selection pages where the documentation mounts them."""

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def home(request: HttpRequest) -> HttpResponse:
    """The start page the demo's 403 template links back to."""
    return HttpResponse("home")


urlpatterns = [
    path("", home, name="home"),
    path("strategies/", include("engine.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
]
