"""waffle's flag rules on in-memory rows: what a loaded flag is, and how it is decided.

waffle decides a flag with ``AbstractBaseFlag.is_active(request)``: ``WAFFLE_OVERRIDE``,
``everyone``, testing mode, languages, the user rules (``is_active_for_user``), percent. Its
stock flag (``AbstractUserFlag``) adds listed users and groups, which it reads from its cache,
and the user's groups with a query, on every call. Here the rows are the snapshot's:

- The common case calls waffle's own code: a flag whose ``everyone`` is set is settled at load
  time (waffle: it "overrides all other settings"), and a flag with no testing mode,
  languages or percent is decided by waffle's ``AbstractBaseFlag.is_active_for_user`` (the
  user kinds: asked at load time for each of the eight kinds of user, so a request looks its
  answer up), then ``FlagEntry.member`` (the listed users and groups, in memory).
- ``decide()`` is the one copy of waffle's code here: ``is_active(request)`` step by step,
  with the rule that decided. It decides flags with testing mode, languages or percent, and
  explains every flag. waffle's own ``is_active`` on an in-memory row costs about 3 times as
  much (4.7 µs against 1.6 for a percent flag: its ``get_setting`` raises and catches an
  ``AttributeError`` for every unset setting), and cannot say why.

``tests/conditions/test_flags.py`` compares every path with waffle's own over a matrix of flag
rows, users and requests.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.signals import setting_changed

from conditions.users import user_groups

__all__ = [
    "NO_USER",
    "FlagEntry",
    "answers_by_user_kind",
    "decide",
    "needs_request",
    "request_user_kind",
    "user_kind",
    "user_kind_index",
    "waffle_setting",
]

# How Flag evaluates a loaded flag: its model's is_active_for_context(context), waffle's
# stock rules on the in-memory row, or the model's own overridden is_active/is_active_for_user.
CONTEXT, STOCK, MODEL = "context", "stock", "model"

# One of waffle's rules: its answer and a few words on why, or None when it does not apply.
Decided = tuple[bool, str] | None

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


# The kinds of user waffle's user rules tell apart, as the bits of an index into
# FlagEntry.by_user_kind: authenticated 1, staff 2, superuser 4. NO_USER: a request without one.
NO_USER = -1


def user_kind_index(user: Any) -> int:
    """Return ``user``'s index into ``FlagEntry.by_user_kind`` (``NO_USER`` for no user)."""
    if not user:
        return NO_USER
    return (
        (1 if user.is_authenticated else 0)
        | (2 if getattr(user, "is_staff", False) else 0)
        | (4 if getattr(user, "is_superuser", False) else 0)
    )


def request_user_kind(context: Any) -> int:
    """Return the ``user_kind_index`` of ``context``'s request user (kept for the context)."""
    kind: int | None = context.lookups.get(_REQUEST_USER_KIND)
    if kind is None:
        kind = user_kind_index(getattr(context.request, "user", None))
        context.lookups[_REQUEST_USER_KIND] = kind
    return kind


# The key of the request user's kind in Context.lookups.
_REQUEST_USER_KIND = object()


@dataclass(frozen=True, slots=True)
class _UserOfKind:
    """Stands in for a user of one kind when waffle's own user rules are tabulated."""

    is_authenticated: bool
    is_staff: bool
    is_superuser: bool


def answers_by_user_kind(flag: Any) -> tuple[bool, ...]:
    """waffle's ``AbstractBaseFlag.is_active_for_user(flag, user)`` for each kind of user.

    Those rules read only the user's ``is_authenticated``, ``is_staff`` and ``is_superuser``,
    so asking waffle's code once per kind at load time gives every answer it can give, and a
    request looks its answer up by its user's index instead of calling it per flag.
    """
    from waffle.models import AbstractBaseFlag

    rules: Callable[[Any, Any], bool | None] = AbstractBaseFlag.is_active_for_user
    return tuple(bool(rules(flag, _UserOfKind(*_bits(index)))) for index in range(8))


def _bits(index: int) -> tuple[bool, bool, bool]:
    return bool(index & 1), bool(index & 2), bool(index & 4)


def user_kind(flag: Any, user: Any) -> str | None:
    """Name the kind of user ``flag`` is on for that ``user`` is ("staff", ...), or None.

    waffle's ``AbstractBaseFlag.is_active_for_user`` past ``everyone``, naming the rule.
    """
    if flag.authenticated and user.is_authenticated:
        return "authenticated users"
    if flag.staff and getattr(user, "is_staff", False):
        return "staff"
    if flag.superusers and getattr(user, "is_superuser", False):
        return "superusers"
    return None


def decide(
    flag: Any, request: Any, read_only: bool, user_rule: Callable[[Any], str | None]
) -> tuple[bool, str]:
    """Return waffle's ``flag.is_active(request, read_only)`` for a loaded flag, and why.

    ``user_rule(user)`` names the user rule that matches ``user`` (None when none does), in
    place of waffle's ``is_active_for_user``. Side effects are waffle's: the testing-mode
    answer in ``request.waffle_tests``; unless ``read_only``, the percent draw in
    ``request.waffles`` (which waffle's middleware turns into its cookie).
    """
    for step in _STEPS:
        decided = step(flag, request, read_only, user_rule)
        if decided is not None:
            return decided
    return False, "no rule matched"


def _overridden(flag: Any, request: Any, read_only: bool, user_rule: Any) -> Decided:
    if waffle_setting("OVERRIDE") and flag.name in request.GET:
        return request.GET[flag.name] == "1", f"overridden by ?{flag.name}= (WAFFLE_OVERRIDE)"
    return None


def _everyone(flag: Any, request: Any, read_only: bool, user_rule: Any) -> Decided:
    if flag.everyone is None:
        return None
    return bool(flag.everyone), f"everyone={'on' if flag.everyone else 'off'}"


def _testing(flag: Any, request: Any, read_only: bool, user_rule: Any) -> Decided:
    if not flag.testing:
        return None
    cookie = waffle_setting("TEST_COOKIE") % flag.name
    header = cookie.replace("_", "-")
    if cookie in request.GET:
        on = request.GET[cookie] == "1"
    elif header in request.headers:
        on = request.headers[header] == "1"
    elif cookie in request.COOKIES:
        return request.COOKIES[cookie] == "True", "testing mode (cookie)"
    else:
        return None
    if not hasattr(request, "waffle_tests"):
        request.waffle_tests = {}
    request.waffle_tests[flag.name] = on
    return on, "testing mode (query/header)"


def _language(flag: Any, request: Any, read_only: bool, user_rule: Any) -> Decided:
    code = getattr(request, "LANGUAGE_CODE", None)
    if flag.languages and code in [language.strip() for language in flag.languages.split(",")]:
        return True, f"language {code}"
    return None


def _user(flag: Any, request: Any, read_only: bool, user_rule: Any) -> Decided:
    user = getattr(request, "user", None)
    if not user:
        return False, "no user on the request"
    rule = user_rule(user)
    return (True, rule) if rule else None


def _percent(flag: Any, request: Any, read_only: bool, user_rule: Any) -> Decided:
    if not (flag.percent and flag.percent > 0):
        return None
    from waffle.models import set_flag

    label = f"percent {flag.percent}%"
    if not hasattr(request, "waffles"):
        request.waffles = {}
    elif flag.name in request.waffles:
        return bool(request.waffles[flag.name][0]), f"{label}: decided for this request"
    cookie = waffle_setting("COOKIE") % flag.name
    if cookie in request.COOKIES:
        active = request.COOKIES[cookie] == "True"
        if not read_only:
            set_flag(request, flag.name, active, flag.rollout)
        return active, f"{label}: from cookie"
    if read_only:
        return False, f"{label}: not decided (read only)"
    active = Decimal(str(random.uniform(0, 100))) <= flag.percent
    set_flag(request, flag.name, active, flag.rollout)
    return active, f"{label}: drawn now"


# waffle's order.
_STEPS = (_overridden, _everyone, _testing, _language, _user, _percent)


@dataclass(frozen=True, eq=False, slots=True)
class FlagEntry:
    """A loaded flag, the ids of its listed users and groups, and how ``Flag`` evaluates it.

    ``mode`` is ``CONTEXT`` (the model's ``is_active_for_context(context)``, or the function
    its ``context_rule()`` returns at load time, which must decide the same; and its
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
    # Stock flags decided by the user rules alone: those rules' answer for each kind of user,
    # by user_kind_index(user) (see answers_by_user_kind).
    by_user_kind: tuple[bool, ...] = field(default=(), repr=False)
    # Context flags: the row's context_rule() if the model has one (its decision with the row's
    # fields read once, at load), else its is_active_for_context, bound once.
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
            rule = getattr(flag, "context_rule", None)
            decide_for = flag.is_active_for_context if rule is None else rule()
            return cls(flag, CONTEXT, static=static, for_context=decide_for)
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
        by_kind = answers_by_user_kind(flag) if user_rules_only else ()
        return cls(
            flag, STOCK, user_ids, group_ids, members, static, user_rules_only, kinds, by_kind
        )

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

    def user_rule(self, user: Any) -> str | None:
        """Name the user rule of the flag that matches ``user`` (for ``decide``), or None."""
        return user_kind(self.flag, user) or self.member(user)
