"""``MalformedRequestMiddleware``: how a project keeps hostile bytes away from its database.

PostgreSQL refuses text holding a NUL character (psycopg raises ``DataError``), so a NUL in
the session cookie, in a Basic-auth user name or in an admin search or filter reaches the
database as a 500 on every page. Switchyard's own API and admin refuse such input with a 400;
this middleware, placed first in ``MIDDLEWARE``, does the same for every other page of the
demo: nothing below it ever sees a cookie or credentials with control characters, or a query
string with a NUL.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest

from engine.validators import CONTROL_CHARACTERS, credentials_problem

NUL = re.compile("\x00")


class MalformedRequestMiddleware:
    """Answers 400 to a request whose cookies or credentials hold control characters, or whose
    query string holds a NUL; lets every other request through untouched."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        problem = malformed(request)
        if problem:
            return HttpResponseBadRequest(f"Bad request. {problem}", content_type="text/plain")
        return self.get_response(request)


def malformed(request: HttpRequest) -> str:
    """Return what is malformed about ``request``, or '' when nothing is."""
    for name, value in request.COOKIES.items():
        if CONTROL_CHARACTERS.search(name) or CONTROL_CHARACTERS.search(value):
            return "A cookie contains control characters."
    problem = credentials_problem(request)  # the Authorization header, Basic credentials too
    if problem:
        return problem
    # Forms refuse NUL in their fields; the admin's search and filters read the query string.
    for name, values in request.GET.lists():
        if NUL.search(name) or any(NUL.search(value) for value in values):
            return "The query string contains a NUL character."
    return ""
