"""Leaves about the context's user: permissions, groups and user attributes.

A user's permissions are loaded in one query and their groups in one query, the first time a
condition asks, and kept on the user object (as Django's ``ModelBackend`` keeps its
permission cache): every later check in the context, or in another context sharing the user
object, costs no query.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from django.conf import settings
from django.core.signals import setting_changed
from django.db.models import Q

from conditions.base import Leaf
from conditions.context import Context
from conditions.kinds import register_kind
from conditions.quoting import quote

_MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
_PERMS = "_switchyard_perms"
_GROUPS = "_switchyard_groups"
_ATTRIBUTE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def _text(value: object, what: str, example: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} needs a non-empty string such as {example!r}, got {value!r}")
    return value


def user_name(user: Any) -> str:
    """Return the username of ``user`` for explanations ("anonymous" when it has none)."""
    name = user.get_username() if hasattr(user, "get_username") else str(user)
    return name or "anonymous"


def user_permissions(user: Any) -> frozenset[str]:
    """Return ``user``'s permissions as ``"app_label.codename"`` strings (one query, then kept).

    Same rules as Django's ``ModelBackend``: an anonymous or inactive user has none; the
    permissions come from the user and from the user's groups.
    """
    cached: frozenset[str] | None = getattr(user, _PERMS, None)
    if cached is not None:
        return cached
    if not user.is_active or user.is_anonymous:
        found: frozenset[str] = frozenset()
    else:
        from django.contrib.auth.models import Permission

        # user._meta, not type(user): request.user is a SimpleLazyObject around the user.
        meta = user._meta
        direct = meta.get_field("user_permissions").related_query_name()
        via_group = f"group__{meta.get_field('groups').related_query_name()}"
        rows = Permission.objects.filter(
            Q(**{direct: user.pk}) | Q(**{via_group: user.pk})
        ).values_list("content_type__app_label", "codename")
        found = frozenset(f"{app_label}.{codename}" for app_label, codename in rows)
    setattr(user, _PERMS, found)
    return found


def user_groups(user: Any) -> dict[Any, str]:
    """Return ``user``'s groups as ``{pk: name}`` (one query, then kept on the user object)."""
    cached: dict[Any, str] | None = getattr(user, _GROUPS, None)
    if cached is not None:
        return cached
    found: dict[Any, str] = {}
    if user.is_authenticated and hasattr(user, "groups"):
        found = dict(user.groups.values_list("pk", "name"))
    setattr(user, _GROUPS, found)
    return found


_backends: list[bool] = []  # [whether ModelBackend is the only backend], once known


def _model_backend_only() -> bool:
    # Read once (settings access is a Python call through LazySettings), again after a change.
    if not _backends:
        _backends.append(list(settings.AUTHENTICATION_BACKENDS) == [_MODEL_BACKEND])
    return _backends[0]


def _backends_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "AUTHENTICATION_BACKENDS":
        _backends.clear()


setting_changed.connect(_backends_changed, dispatch_uid="switchyard.conditions.users.backends")


_GRANTED = object()  # the key of the user's permissions in Context.lookups


class _Everything:
    """Every permission: an active superuser's."""

    def __contains__(self, permission: object) -> bool:
        return True


class _AskUser:
    """Permissions decided by ``user.has_perm`` (custom authentication backends).

    Kept for one context: each permission is asked once, its answer (or the error it raised)
    kept, as the memo would keep a leaf's.
    """

    def __init__(self, user: Any) -> None:
        self.user = user
        self.answers: dict[object, bool | Exception] = {}

    def __contains__(self, permission: object) -> bool:
        answer = self.answers.get(permission)
        if answer is None:
            try:
                answer = bool(self.user.has_perm(permission))
            except Exception as error:
                answer = error
            self.answers[permission] = answer
        if isinstance(answer, Exception):
            raise answer
        return answer


def _granted(user: Any) -> Any:
    """Return what ``in`` tests a permission against for ``user``."""
    if user is None:
        return frozenset()
    if not _model_backend_only():
        return _AskUser(user)
    if user.is_active and getattr(user, "is_superuser", False):
        return _Everything()
    return user_permissions(user)


@register_kind
class Permission(Leaf):
    """Met when the user has the permission ``"app_label.codename"`` (as ``user.has_perm``).

    With Django's default ``ModelBackend`` alone, all of the user's permissions are loaded in
    one query; with other authentication backends it asks ``user.has_perm`` (once per context).
    """

    __slots__ = ()
    kind = "perm"
    # Once the context holds the user's permissions (or asks has_perm once per permission,
    # see _AskUser), a check is a set lookup: cheaper than the memo.
    memoised = False

    def __init__(self, permission: str) -> None:
        _text(permission, "Permission", "billing.use_invoice")
        app_label, dot, codename = permission.partition(".")
        if not (app_label and dot and codename) or permission != permission.strip():
            raise ValueError(
                f"Permission needs 'app_label.codename' (e.g. 'billing.use_invoice'), "
                f"got {permission!r}"
            )
        super().__init__(permission)

    def check(self, context: Context) -> bool:
        granted = context.lookups.get(_GRANTED)
        if granted is None:
            granted = context.lookups[_GRANTED] = _granted(context.user)
        return self.args[0] in granted

    def detail(self, context: Context) -> str:
        user = context.user
        if user is None:
            return "no user"
        name = user_name(user)
        if not user.is_authenticated:
            return "anonymous user"
        if not user.is_active:
            return f"user {name} is inactive"
        if getattr(user, "is_superuser", False):
            return f"user {name} is a superuser"
        has = context.memo.get(self.memo_key()) is True
        via = "" if _model_backend_only() else " (via user.has_perm)"
        return f"user {name} {'has' if has else 'lacks'} it{via}"


@register_kind
class Group(Leaf):
    """Met when the user belongs to the group named ``name``."""

    __slots__ = ()
    kind = "group"

    def __init__(self, name: str) -> None:
        super().__init__(_text(name, "Group", "Editors"))

    def check(self, context: Context) -> bool:
        user = context.user
        if user is None:
            return False
        return self.args[0] in user_groups(user).values()

    def detail(self, context: Context) -> str:
        user = context.user
        if user is None:
            return "no user"
        if not user.is_authenticated:
            return "anonymous user"
        groups = sorted(user_groups(user).values())
        return f"user {user_name(user)} is in: {', '.join(groups) or 'no group'}"


@register_kind
class UserAttribute(Leaf):
    """Met when the context's user has a truthy attribute ``name`` (e.g. ``"is_active"``).

    ``user:is_authenticated``, ``user:is_staff`` and ``user:is_superuser`` read back as the
    shorthands ``Authenticated()``, ``Staff()`` and ``Superuser()``, which equal them.
    """

    __slots__ = ()
    kind = "user"
    # attribute -> the no-argument shorthand class (Authenticated, Staff, Superuser)
    shorthands: ClassVar[dict[str, Any]] = {}

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not _ATTRIBUTE.fullmatch(name):
            raise ValueError(
                "UserAttribute needs a public attribute name of the user such as "
                f"'is_active', got {name!r}"
            )
        super().__init__(name)

    @classmethod
    def from_argument(cls, argument: str) -> Leaf:
        shorthand = cls.shorthands.get(argument)
        return shorthand() if shorthand is not None else cls(argument)

    def check(self, context: Context) -> bool:
        user = context.user
        if user is None:
            return False
        value = getattr(user, self.args[0])
        if callable(value):
            raise TypeError(f"user.{self.args[0]} is a method; UserAttribute reads attributes only")
        return bool(value)

    def detail(self, context: Context) -> str:
        user = context.user
        if user is None:
            return "no user"
        value = getattr(user, self.args[0], "<missing>")
        return f"user {user_name(user)}: {self.args[0]}={value!r}"

    def argument(self) -> str:
        return quote(self.args[0])

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (UserAttribute.from_argument, self.args)

    def __repr__(self) -> str:
        shorthand = self.shorthands.get(self.args[0])
        if shorthand is not None:
            return f"{shorthand.__name__}()"
        return f"UserAttribute({self.args[0]!r})"


# Shorthands compare equal to the UserAttribute they stand for.
UserAttribute.value_class = UserAttribute


class Authenticated(UserAttribute):
    """Met when the user is authenticated (``user:is_authenticated``)."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__("is_authenticated")


class Staff(UserAttribute):
    """Met when the user is staff (``user:is_staff``)."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__("is_staff")


class Superuser(UserAttribute):
    """Met when the user is a superuser (``user:is_superuser``)."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__("is_superuser")


UserAttribute.shorthands.update(
    is_authenticated=Authenticated, is_staff=Staff, is_superuser=Superuser
)
