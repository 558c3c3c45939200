"""engine.urls in a plain Django project: the one schema's selections, no tenant middleware."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from engine.models import Selection

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.plain.urls_pages")]


@pytest.fixture(autouse=True)
def templates(settings: Any) -> None:
    """The plain project renders no templates of its own: the app directories are enough."""
    settings.TEMPLATES = [
        {"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}
    ]
    settings.LOGIN_URL = "/login/"


def test_the_owner_chooses_and_a_user_without_the_permission_is_refused() -> None:
    users = get_user_model().objects
    owner = Client()
    owner.force_login(users.create_superuser("owner"))
    page = owner.get("/strategies/")
    assert page.status_code == 200
    assert 'name="shipping" value="pickup"' in page.content.decode()
    response = owner.post("/strategies/", {"shipping": "pickup"})
    assert (response.status_code, response["Location"]) == (302, "/strategies/")
    assert Selection.objects.get().slug == "pickup"
    member = Client()
    member.force_login(users.create_user("member"))
    assert member.post("/strategies/", {"shipping": "post"}).status_code == 403
    assert Selection.objects.get().slug == "pickup"
    assert Client().get("/strategies/")["Location"] == "/login/?next=/strategies/"
