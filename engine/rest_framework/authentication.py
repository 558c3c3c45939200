"""The API's authentication path: credentials no user can have are a 400 before any
authentication class reads them.

DRF's session and basic authentication hand the session cookie and the user name to the
database; PostgreSQL refuses text with a NUL character with ``DataError``, a 500. A cookie or
credentials holding control characters are malformed, whoever sends them: the API's views run
``MalformedCredentialsCheck`` before their authentication classes, and it refuses the request
as malformed (``malformed_credentials``), which DRF then serves as anonymous.
"""

from __future__ import annotations

from typing import Any

from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import ParseError

from engine.validators import credentials_problem

__all__ = ["MalformedCredentials", "MalformedCredentialsCheck", "credentials_problem"]


class MalformedCredentials(ParseError):
    """The request's session cookie or ``Authorization`` header holds control characters."""

    default_code = "malformed_credentials"


class MalformedCredentialsCheck(BaseAuthentication):
    """The first authentication class of the API's views: authenticates nobody, and raises
    ``MalformedCredentials`` (a 400) when the request's credentials are malformed."""

    def authenticate(self, request: Any) -> None:
        problem = credentials_problem(request)
        if problem:
            raise MalformedCredentials(problem)
