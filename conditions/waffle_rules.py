"""waffle's flag rules on in-memory rows: what a loaded flag is and how waffle's code decides it.

waffle decides a flag with ``AbstractBaseFlag.is_active(request)``: ``WAFFLE_OVERRIDE``,
``everyone``, testing, languages, the user rules (``is_active_for_user``), percent. Its stock
flag (``AbstractUserFlag``) adds listed users and groups, read from waffle's cache and with a
query on every call. Here waffle's own code runs on the rows the snapshot loaded; only the
membership rule is read from memory:

- ``FlagEntry.is_active(request)`` is waffle's ``AbstractBaseFlag.is_active`` on the row
  (``waffle_is_active``), its user step ``FlagEntry.for_user``: waffle's own
  ``AbstractBaseFlag.is_active_for_user``, then ``FlagEntry.member`` (the one copy of waffle's
  code here: the part of ``AbstractUserFlag.is_active_for_user`` that cannot run in memory).
- What the row's fields settle once is worked out at load time (``static``,
  ``user_rules_only``), so ``Flag.check`` skips the steps that cannot apply; waffle's full
  ``is_active`` costs about 4 µs a flag (``get_setting`` raises and catches ``AttributeError``
  for every unset setting), ten times the user step alone.

``tests/conditions/test_flags.py`` compares every path with ``waffle.flag_is_active``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.signals import setting_changed

from conditions.users import user_groups

__all__ = ["FlagEntry", "needs_request", "waffle_is_active", "waffle_setting"]

# How Flag evaluates a loaded flag: its model's is_active_for_context(context), waffle's
# stock rules on the in-memory row, or the model's own overridden is_active/is_active_for_user.
CONTEXT, STOCK, MODEL = "context", "stock", "model"

_settings: dict[str, Any] = {}


def waffle_setting(name: str) -> Any:
    """Return waffle's setting ``name`` (``"OVERRIDE"`` for ``WAFFLE_OVERRIDE``), kept until a
    ``WAFFLE_*`` setting changes."""
    # waffle's get_setting raises and catches AttributeError for every unset setting: too
    # slow to call per flag per request.
    try:
        return _settings[name]
    except KeyError:
        from waffle.utils import get_setting

        value = _settings[name] = get_setting(name)
        return value


def _forget_settings(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("WAFFLE_"):
        _settings.clear()


setting_changed.connect(_forget_settings, dispatch_uid="switchyard.conditions.waffle_rules")


def needs_request(flag: Any) -> bool:
    """Return whether one of waffle's rules that read the request (testing mode, languages,
    percent) is set on ``flag``; without them only its everyone and user rules decide."""
    return bool(flag.testing or flag.languages or flag.percent)


def waffle_is_active(
    flag: Any, request: Any, read_only: bool, for_user: Callable[[Any], bool | None]
) -> bool:
    """Return waffle's ``AbstractBaseFlag.is_active(request)`` for the in-memory ``flag``, with
    ``for_user(user)`` as its user rule instead of the model's ``is_active_for_user``."""
    return bool(_in_memory_class()(flag, for_user).is_active(request, read_only))


class _InMemoryFlag:
    """A flag row as waffle's ``AbstractBaseFlag`` methods see it, with its own user rule.

    waffle's ``is_active`` reaches the user through ``self.is_active_for_user(user)``, which
    for a stock flag reads waffle's cache and runs a query, and for a platform flag decides for
    the connection's tenant. This view answers it with ``for_user``; every other attribute is
    the row's field, and waffle's methods (copied onto the subclass ``_in_memory_class``
    builds, not patched anywhere) run unchanged.
    """

    __slots__ = ("_for_user", "_row")

    def __init__(self, row: Any, for_user: Callable[[Any], bool | None]) -> None:
        self._row = row
        self._for_user = for_user

    def is_active_for_user(self, user: Any) -> bool | None:
        return self._for_user(user)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._row, name)


@functools.cache
def _in_memory_class() -> type[Any]:
    # waffle.models can only be imported once the app registry is ready.
    from waffle.models import AbstractBaseFlag

    methods = {
        name: value
        for name, value in vars(AbstractBaseFlag).items()
        if inspect.isfunction(value) and name != "is_active_for_user"
    }
    return type("InMemoryFlag", (_InMemoryFlag,), {"__slots__": (), **methods})


@dataclass(frozen=True, eq=False, slots=True)
class FlagEntry:
    """A loaded flag, the ids of its listed users and groups, and how ``Flag`` evaluates it.

    ``mode`` is ``CONTEXT`` (the model's ``is_active_for_context(context)``, and its
    ``is_active_for_every_context()``, if it has one, at load time), ``STOCK``
    (waffle's own rules on the in-memory row) or ``MODEL`` (the model overrides
    ``is_active`` or ``is_active_for_user``: its own code, on the loaded instance).
    """

    flag: Any
    mode: str
    user_ids: frozenset[Any] = frozenset()
    group_ids: frozenset[Any] = frozenset()
    has_members: bool = False
    # Worked out at load time (a WAFFLE_* setting change drops the snapshot): the answer
    # whatever the request and user, when the row settles it (stock flags: everyone; context
    # flags: is_active_for_every_context()); and, for stock flags, whether with a request
    # only the user rules can decide.
    static: bool | None = None
    user_rules_only: bool = False
    # Stock flags: waffle's AbstractBaseFlag.is_active_for_user(flag, user) (everyone, then
    # the kinds of users: authenticated, staff, superusers), kept here for the hot path.
    kinds: Callable[[Any, Any], bool | None] = field(default=lambda flag, user: None, repr=False)
    # Context flags: the row's is_active_for_context, bound once.
    for_context: Callable[[Any], Any] | None = field(default=None, repr=False)

    @classmethod
    def load(cls, flag: Any, user_ids: frozenset[Any], group_ids: frozenset[Any]) -> FlagEntry:
        """Return the entry of a freshly loaded ``flag`` row."""
        from waffle.models import AbstractBaseFlag, AbstractUserFlag

        model = type(flag)
        if hasattr(flag, "is_active_for_context"):
            # A context flag may say that no context can change its answer (e.g. on for
            # everyone): then it is decided once, here.
            every = getattr(flag, "is_active_for_every_context", None)
            static = None if every is None else every()
            return cls(flag, CONTEXT, static=static, for_context=flag.is_active_for_context)
        members = bool(user_ids or group_ids)
        stock = (
            issubclass(model, AbstractUserFlag)
            and model.is_active is AbstractBaseFlag.is_active
            and model.is_active_for_user is AbstractUserFlag.is_active_for_user
        )
        if not stock:
            return cls(flag, MODEL, user_ids, group_ids, members)
        static, user_rules_only = None, False
        if not waffle_setting("OVERRIDE"):
            # waffle: everyone "overrides all other settings"; but without a request, waffle's
            # is_active_for_user still matches the listed users of a flag off for everyone.
            if flag.everyone or (flag.everyone is False and not members):
                static = flag.everyone
            user_rules_only = flag.everyone is None and not needs_request(flag)
        kinds = AbstractBaseFlag.is_active_for_user
        return cls(flag, STOCK, user_ids, group_ids, members, static, user_rules_only, kinds)

    def member(self, user: Any) -> str | None:
        """Return how ``user`` is listed on the flag ("listed user", "listed group ..."), or None.

        waffle's ``AbstractUserFlag.is_active_for_user`` past its base rules, on the ids in
        memory (waffle reads them from its cache, and the user's groups with a query).
        """
        if self.user_ids and getattr(user, "pk", None) in self.user_ids:
            return "listed user"
        if self.group_ids and hasattr(user, "groups"):
            groups = user_groups(user)
            matched = self.group_ids.intersection(groups)
            if matched:
                return "listed group " + ", ".join(sorted(groups[pk] for pk in matched))
        return None

    def for_user(self, user: Any) -> bool | None:
        """waffle's ``AbstractUserFlag.is_active_for_user(user)`` on the in-memory flag."""
        return self.kinds(self.flag, user) or (True if self.member(user) else None)

    def is_active(self, request: Any, read_only: bool) -> bool:
        """waffle's ``is_active(request)`` on the in-memory flag (``flag_is_active``)."""
        return waffle_is_active(self.flag, request, read_only, self.for_user)
