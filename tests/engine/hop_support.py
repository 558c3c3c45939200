"""Sync-only middlewares and a view that note their thread (test_middleware's hop test)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import path

from engine.middleware import StrategyMiddleware

THREADS: list[tuple[str, int]] = []


def _noting(name: str) -> Callable[[Callable[[HttpRequest], Any]], Callable[[HttpRequest], Any]]:
    def factory(get_response: Callable[[HttpRequest], Any]) -> Callable[[HttpRequest], Any]:
        def middleware(request: HttpRequest) -> Any:
            THREADS.append((name, threading.get_ident()))
            return get_response(request)

        return middleware  # a plain function middleware: sync only

    return factory


before = _noting("before")
after = _noting("after")


class RecordingStrategyMiddleware(StrategyMiddleware):
    """StrategyMiddleware, noting the thread it runs on."""

    def process_request(self, request: HttpRequest) -> None:
        THREADS.append(("strategy", threading.get_ident()))
        super().process_request(request)


def view(request: HttpRequest) -> HttpResponse:
    THREADS.append(("view", threading.get_ident()))
    return HttpResponse(request.strategy.payments.slug)  # type: ignore[attr-defined]


urlpatterns = [path("", view)]
