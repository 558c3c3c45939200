"""The selections API: the request's registries, and the tenant's (and the user's) selection.

Everything is scoped to the request: its tenant's schema is the only one read or written, and
every write goes through ``Registry.select`` / ``Registry.deselect`` with the request's context.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rest_framework import routers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from conditions import Context
from engine.exceptions import UnknownRegistry
from engine.models import Selection
from engine.registry import Registry, get_registry, registries
from engine.rest_framework.authentication import MalformedCredentialsCheck
from engine.rest_framework.configuration import configuration_response
from engine.rest_framework.context import request_context
from engine.rest_framework.parsers import PARSER_CLASSES
from engine.rest_framework.permissions import CanChangeSelections
from engine.rest_framework.serializers import (
    RegistrySerializer,
    SelectionSerializer,
    SelectionState,
    resolve_or_none,
)
from engine.tenancy import tenant_scope

SELECTION_METHODS = ["get", "put", "patch", "delete"]


class SwitchyardAPIView:
    """What every view of the API shares.

    Malformed input is a 400, never a 500: JSON nested too deeply (``parse_error``), and a
    session cookie or credentials with control characters (``malformed_credentials``), refused
    before any authentication class reads them. Error responses carry stable codes next to
    DRF's messages: ``"code"`` beside ``"detail"``, and ``"codes"`` (field -> codes) beside a
    validation error's fields.
    """

    parser_classes: ClassVar[list[type[Any]]] = PARSER_CLASSES

    def get_authenticators(self) -> list[Any]:
        authenticators: list[Any] = super().get_authenticators()  # type: ignore[misc]
        return [MalformedCredentialsCheck(), *authenticators]

    def get_authenticate_header(self, request: Request) -> str | None:
        # The configured first class decides between 401 and 403, not the check in front.
        authenticators: list[Any] = super().get_authenticators()  # type: ignore[misc]
        return authenticators[0].authenticate_header(request) if authenticators else None

    def handle_exception(self, exc: Exception) -> Response:
        response: Response = super().handle_exception(exc)  # type: ignore[misc]
        data = response.data
        if isinstance(exc, APIException) and isinstance(data, dict):
            codes = exc.get_codes()
            if isinstance(codes, dict):
                data.setdefault("codes", codes)
            elif isinstance(codes, str):
                data.setdefault("code", codes)
        return response


class APIRootView(SwitchyardAPIView, routers.APIRootView):
    """DRF's API root (the prefix itself), refusing malformed input like the API's views."""


class RegistryViewSet(SwitchyardAPIView, viewsets.GenericViewSet):
    """Lists and shows registries as the request sees them; reads and changes selections."""

    permission_classes: ClassVar[list[type[Any]]] = [CanChangeSelections]
    serializer_class = RegistrySerializer
    pagination_class = None
    filter_backends: ClassVar[list[type[Any]]] = []
    lookup_field = "key"
    lookup_value_regex = "[^/.]+"
    # Set per route by the selection actions: "tenant" or "user" (whose selection it is).
    selection_owner: ClassVar[str | None] = None

    def get_queryset(self) -> list[type[Registry]]:
        """Return every registry, by key (registries are classes, not rows)."""
        return [registry for _, registry in sorted(registries().items())]

    def get_object(self) -> type[Registry]:
        key = self.kwargs[self.lookup_field]
        try:
            registry = get_registry(key)
        except UnknownRegistry as error:
            raise NotFound(str(error), code="unknown_registry") from None
        if self.selection_owner == "user" and not registry.user_selectable:
            raise NotFound(
                f"Registry {registry.key!r} does not allow per-user selections "
                f"(user_selectable is False on {registry.__name__}); the tenant's selection is "
                "the only one.",
                code="not_user_selectable",
            )
        self.check_object_permissions(self.request, registry)
        return registry

    def get_serializer(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("context", self.get_serializer_context())
        if self.selection_owner is None:
            return RegistrySerializer(*args, **kwargs)
        return SelectionSerializer(
            *args, registry=self.get_object(), user=self.selection_user(), **kwargs
        )

    def selection_user(self) -> Any:
        """Return whose selection the route reads and writes: the request's user, or None."""
        return self.request.user if self.selection_owner == "user" else None

    def list(self, request: Request) -> Response:
        return Response(self.get_serializer(self.get_queryset(), many=True).data)

    def retrieve(self, request: Request, key: str) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    @action(detail=True, methods=SELECTION_METHODS, selection_owner="tenant")  # type: ignore[untyped-decorator]
    def selection(self, request: Request, key: str) -> Response:
        """The tenant's selection: PUT or PATCH ``{"slug": ...}`` to choose, DELETE to clear."""
        return self.selection_response(request)

    @action(  # type: ignore[untyped-decorator]
        detail=True,
        methods=SELECTION_METHODS,
        url_path="my-selection",
        url_name="my-selection",
        selection_owner="user",
    )
    def my_selection(self, request: Request, key: str) -> Response:
        """Your own selection (user-selectable registries): PUT/PATCH to choose, DELETE to clear."""
        return self.selection_response(request)

    @action(  # type: ignore[untyped-decorator]
        detail=True,
        methods=SELECTION_METHODS,
        url_path=r"configuration/(?P<slug>[^/.]+)",
        url_name="configuration",
        selection_owner="tenant",
    )
    def configuration(self, request: Request, key: str, slug: str) -> Response:
        """The tenant's configuration of strategy ``slug``: PUT/PATCH field values, DELETE."""
        registry = self.get_object()
        return configuration_response(registry, slug, request, request_context(request), None)

    @action(  # type: ignore[untyped-decorator]
        detail=True,
        methods=SELECTION_METHODS,
        url_path=r"my-configuration/(?P<slug>[^/.]+)",
        url_name="my-configuration",
        selection_owner="user",
    )
    def my_configuration(self, request: Request, key: str, slug: str) -> Response:
        """Your own configuration of strategy ``slug`` (user-selectable registries)."""
        registry = self.get_object()
        context = request_context(request)
        return configuration_response(registry, slug, request, context, request.user)

    def selection_response(self, request: Request) -> Response:
        registry = self.get_object()
        context = request_context(request)
        user = self.selection_user()
        if request.method in ("PUT", "PATCH"):
            serializer = self.get_serializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            serializer.save()
        elif request.method == "DELETE":
            author = request.user if request.user.is_authenticated else None
            registry.deselect(context, user, changed_by=author, via="api")
        return Response(self.get_serializer(selection_state(registry, context, user)).data)


def selection_state(registry: type[Registry], context: Context, user: Any) -> SelectionState:
    """Return the stored selection of the tenant (``user`` None) or of ``user``, and what is in
    force for ``context`` now."""
    with tenant_scope(context.tenant):
        row = (
            Selection.objects.filter(registry=registry.key, user=user)
            .select_related("changed_by")
            .first()
        )
    return SelectionState(
        registry=registry,
        owner="tenant" if user is None else "user",
        slug=row.slug if row is not None else None,
        changed_by=row.changed_by.get_username() if row and row.changed_by else None,
        changed_at=row.changed_at if row is not None else None,
        resolution=resolve_or_none(registry, context),
    )
