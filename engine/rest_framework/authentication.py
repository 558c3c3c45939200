"""The API's authentication path: credentials no user can have are a 400 before any
authentication class reads them.

DRF's session and basic authentication hand the session cookie and the user name to the
database; PostgreSQL refuses text with a NUL character with ``DataError``, a 500. A cookie or
credentials holding control characters are malformed, whoever sends them: the API's views run
``MalformedCredentialsCheck`` before their authentication classes, and it refuses the request
as malformed (``malformed_credentials``), which DRF then serves as anonymous.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from django.conf import settings
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import ParseError

from engine.validators import CONTROL_CHARACTERS

# In a raw header value a tab may separate words; nothing else below a space may appear.
HEADER_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


class MalformedCredentials(ParseError):
    """The request's session cookie or ``Authorization`` header holds control characters."""

    default_code = "malformed_credentials"


def credentials_problem(request: Any) -> str:
    """Return what makes the credentials of ``request`` malformed, or '' when nothing does."""
    cookie = request.COOKIES.get(settings.SESSION_COOKIE_NAME, "")
    if CONTROL_CHARACTERS.search(cookie):
        return f"The {settings.SESSION_COOKIE_NAME} cookie contains control characters."
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not isinstance(header, str) or not header:
        return ""
    if HEADER_CONTROL_CHARACTERS.search(header):
        return "The Authorization header contains control characters."
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return ""
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return ""  # not base64 at all: BasicAuthentication itself refuses it
    if CONTROL_CHARACTERS.search(decoded):
        return "The Basic credentials contain control characters."
    return ""


class MalformedCredentialsCheck(BaseAuthentication):
    """The first authentication class of the API's views: authenticates nobody, and raises
    ``MalformedCredentials`` (a 400) when the request's credentials are malformed."""

    def authenticate(self, request: Any) -> None:
        problem = credentials_problem(request)
        if problem:
            raise MalformedCredentials(problem)
