"""example_site/middleware.py: hostile bytes in cookies, credentials or the query string are a
400 on every page of the demo, before any middleware hands them to the database."""

from __future__ import annotations

import base64

import pytest
from django.test import Client

from tenants.models import Tenant

PAGES = [
    "/",
    "/settings/",
    "/checkout/",
    "/orders/",
    "/admin/",
    "/admin/engine/selectionhistory/",
    "/accounts/login/",
    "/api/switchyard/",
    "/api/switchyard/registries/",
]


def basic(username: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:pw".encode()).decode()


@pytest.mark.parametrize("host", ["globex.localhost", "localhost"])
@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize(
    ("headers", "message"),
    [
        (
            {"HTTP_COOKIE": "sessionid=abcdefgh\x00ijklmnop"},
            "A cookie contains control characters.",
        ),
        ({"HTTP_COOKIE": "csrftoken=\x1b[31m"}, "A cookie contains control characters."),
        (
            {"HTTP_AUTHORIZATION": basic("ev\x00il")},
            "The Basic credentials contain control characters.",
        ),
        (
            {"HTTP_AUTHORIZATION": "Bearer \x00"},
            "The Authorization header contains control characters.",
        ),
        ({"QUERY_STRING": "q=%00"}, "The query string contains a NUL character."),
    ],
    ids=["nul-session", "escape-csrf", "nul-basic", "nul-bearer", "nul-query"],
)
def test_hostile_bytes_are_a_400_everywhere(
    pro_tenant: Tenant, host: str, path: str, headers: dict[str, str], message: str
) -> None:
    client = Client(HTTP_HOST=host, raise_request_exception=False)
    response = client.get(path, **headers)
    assert response.status_code == 400
    assert response.content.decode() == f"Bad request. {message}"
    assert response["Content-Type"] == "text/plain"


def test_honest_requests_pass(pro_tenant: Tenant) -> None:
    client = Client(HTTP_HOST="globex.localhost")
    assert (
        client.get(
            "/", HTTP_COOKIE="sessionid=nosuchsession1234", QUERY_STRING="q=a%09b"
        ).status_code
        == 200
    )


def test_it_comes_first() -> None:
    from django.conf import settings

    assert settings.MIDDLEWARE[0] == "example_site.middleware.MalformedRequestMiddleware"
