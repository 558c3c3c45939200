"""Fixtures of the conditions tests: stock waffle flag models, users, requests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.test import RequestFactory
from pytest_django.fixtures import Settings as SettingsWrapper

from conditions import snapshot
from tests.conditions.flags_app.models import ContextFlag, UserFlag


@pytest.fixture(autouse=True)
def _fresh_snapshot() -> Iterator[None]:
    # The snapshot is process memory: a test must not see the flags of the one before.
    snapshot.forget()
    yield
    snapshot.forget()


@pytest.fixture
def user_flags(db: None, settings: SettingsWrapper) -> type[UserFlag]:
    """Stock waffle flags (users, groups, percent, ...) as the flag model."""
    settings.WAFFLE_FLAG_MODEL = "conditions_flags.UserFlag"
    return UserFlag


@pytest.fixture
def context_flags(db: None, settings: SettingsWrapper) -> type[ContextFlag]:
    """A flag model with ``is_active_for_context`` as the flag model."""
    settings.WAFFLE_FLAG_MODEL = "conditions_flags.ContextFlag"
    return ContextFlag


def make_request(user: Any = None, path: str = "/", **query: str) -> HttpRequest:
    request = RequestFactory().get(path, query)
    request.user = user if user is not None else AnonymousUser()
    return request


@pytest.fixture
def make_user(db: None) -> Any:
    def make(username: str, **fields: Any) -> Any:
        return get_user_model().objects.create_user(username, **fields)

    return make
