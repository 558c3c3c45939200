"""django-waffle leaves: ``Flag``, ``Switch`` and ``Sample``, evaluated from the snapshot.

The rules are waffle's own (``flag_is_active``, ``switch_is_active``, ``sample_is_active``),
applied to the in-memory snapshot (``conditions.snapshot``) so a warm evaluation costs no query
and no cache call. A flag model with ``is_active_for_context(context)`` (a platform flag
targeting tenants) is asked that instead.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from django.core.signals import setting_changed

from conditions.base import Leaf
from conditions.context import Context
from conditions.kinds import register_kind
from conditions.snapshot import (
    SNAPSHOT,
    FlagEntry,
    flags_changed,
    public_schema,
    snapshot,
    snapshot_stamp_key,
)
from conditions.users import user_groups, user_name

__all__ = ["Flag", "Sample", "Switch", "flags_changed", "snapshot_stamp_key"]

_settings: dict[str, Any] | None = None
_NAMES = ("OVERRIDE", "COOKIE", "TEST_COOKIE", "FLAG_DEFAULT")


def _waffle(name: str) -> Any:
    # waffle's get_setting raises and catches AttributeError for every unset setting: too slow
    # for the hot path, so the few read per evaluation are kept until a setting changes.
    global _settings
    if _settings is None:
        from waffle.utils import get_setting

        _settings = {key: get_setting(key) for key in _NAMES}
    return _settings[name]


def _forget_settings(*, setting: str, **kwargs: Any) -> None:
    global _settings
    if setting.startswith("WAFFLE_"):
        _settings = None


setting_changed.connect(_forget_settings, dispatch_uid="switchyard.conditions.flags.settings")


def _name(value: object, what: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 100 or value != value.strip():
        raise ValueError(
            f"{what} needs the name of a waffle {what.lower()} (1 to 100 characters, no "
            f"surrounding spaces), got {value!r}"
        )
    return value


def _for_user(entry: FlagEntry, user: Any) -> str | None:
    """waffle's ``is_active_for_user`` on preloaded ids: the rule that matched, or None."""
    flag = entry.flag
    if flag.authenticated and user.is_authenticated:
        return "authenticated users"
    if flag.staff and getattr(user, "is_staff", False):
        return "staff"
    if flag.superusers and getattr(user, "is_superuser", False):
        return "superusers"
    if entry.user_ids and getattr(user, "pk", None) in entry.user_ids:
        return "listed user"
    if entry.group_ids and hasattr(user, "groups"):
        matched = entry.group_ids.intersection(user_groups(user))
        if matched:
            return "listed group " + ", ".join(sorted(user_groups(user)[pk] for pk in matched))
    return None


def _stock(entry: FlagEntry, request: Any, read_only: bool) -> tuple[bool, str]:
    """waffle's ``Flag.is_active(request)``, step by step, on the in-memory flag."""
    flag, name = entry.flag, entry.flag.name
    if _waffle("OVERRIDE") and name in request.GET:
        return request.GET[name] == "1", f"overridden by ?{name}= (WAFFLE_OVERRIDE)"
    if flag.everyone:
        return True, "everyone=on"
    if flag.everyone is False:
        return False, "everyone=off"
    if flag.testing:
        cookie = _waffle("TEST_COOKIE") % name
        header = cookie.replace("_", "-")
        on = None
        if cookie in request.GET:
            on = request.GET[cookie] == "1"
        elif header in request.headers:
            on = request.headers[header] == "1"
        if on is not None:
            if not hasattr(request, "waffle_tests"):
                request.waffle_tests = {}
            request.waffle_tests[name] = on
            return on, "testing mode (query/header)"
        if cookie in request.COOKIES:
            return request.COOKIES[cookie] == "True", "testing mode (cookie)"
    languages = flag.languages and [code.strip() for code in flag.languages.split(",")]
    if languages and getattr(request, "LANGUAGE_CODE", None) in languages:
        return True, f"language {request.LANGUAGE_CODE}"
    user = getattr(request, "user", None)
    if not user:
        return False, "no user on the request"
    rule = _for_user(entry, user)
    if rule is not None:
        return True, rule
    return _percent(entry, request, read_only)


def _percent(entry: FlagEntry, request: Any, read_only: bool) -> tuple[bool, str]:
    flag, name = entry.flag, entry.flag.name
    if not (flag.percent and flag.percent > 0):
        return False, "no rule matched"
    from waffle.models import set_flag

    label = f"percent {flag.percent}%"
    if not hasattr(request, "waffles"):
        request.waffles = {}
    elif name in request.waffles:
        return bool(request.waffles[name][0]), f"{label}: decided for this request"
    cookie = _waffle("COOKIE") % name
    if cookie in request.COOKIES:
        active = request.COOKIES[cookie] == "True"
        if not read_only:
            set_flag(request, name, active, flag.rollout)
        return active, f"{label}: from cookie"
    if read_only:
        return False, f"{label}: not decided (read only)"
    active = Decimal(str(random.uniform(0, 100))) <= flag.percent
    set_flag(request, name, active, flag.rollout)
    return active, f"{label}: drawn now"


@register_kind
class Flag(Leaf):
    """Met when the waffle flag ``name`` is active, by waffle's rules.

    With a request it is ``flag_is_active(request, name)``; without one, it is waffle's
    ``is_active_for_user`` for the context's user (and the explanation says so). An unknown
    flag is ``WAFFLE_FLAG_DEFAULT`` (created when ``WAFFLE_CREATE_MISSING_FLAGS``).
    """

    __slots__ = ()
    kind = "flag"

    def __init__(self, name: str) -> None:
        super().__init__(_name(name, "Flag"))

    @property
    def name(self) -> str:
        return str(self.args[0])

    def check(self, context: Context) -> bool:
        entry = (context.lookups.get(SNAPSHOT) or snapshot(context)).flags.get(self.args[0])
        # The common cases first, without building an explanation (see FlagEntry).
        if entry is not None:
            if entry.static is not None:
                return bool(entry.static)
            request = context.request
            if entry.user_rules_only and request is not None:
                # _for_user() as one expression, without its explanation (hot path).
                user = getattr(request, "user", None)
                if not user:
                    return False
                flag = entry.flag
                return bool(
                    (flag.authenticated and user.is_authenticated)
                    or (flag.staff and getattr(user, "is_staff", False))
                    or (flag.superusers and getattr(user, "is_superuser", False))
                    or (entry.user_ids and getattr(user, "pk", None) in entry.user_ids)
                    or (
                        entry.group_ids
                        and hasattr(user, "groups")
                        and not entry.group_ids.isdisjoint(user_groups(user))
                    )
                )
        return self._decide(context, entry, read_only=False)[0]

    def detail(self, context: Context) -> str:
        entry = snapshot(context).flags.get(self.args[0])
        return self._decide(context, entry, read_only=True)[1]

    def _decide(
        self, context: Context, entry: FlagEntry | None, read_only: bool
    ) -> tuple[bool, str]:
        if entry is None:
            return self._missing(context, read_only)
        request = context.request
        if entry.mode == "context":
            active = bool(entry.flag.is_active_for_context(context))
            # A model may say why (e.g. "plan pro is targeted"); else name the method.
            describe = getattr(entry.flag, "describe_for_context", None)
            if read_only and describe is not None:
                return active, str(describe(context))
            return active, f"{type(entry.flag).__name__}.is_active_for_context()"
        if request is not None:
            if entry.mode == "stock":
                return _stock(entry, request, read_only)
            active = bool(entry.flag.is_active(request, read_only=read_only))
            return active, f"{type(entry.flag).__name__}.is_active(request)"
        return self._without_request(entry, context.user)

    def _without_request(self, entry: FlagEntry, user: Any) -> tuple[bool, str]:
        flag = entry.flag
        if flag.everyone is not None:
            return bool(flag.everyone), f"everyone={'on' if flag.everyone else 'off'}"
        if user is None:
            return False, "no request and no user: only everyone=on could apply"
        who = f"for user {user_name(user)} (no request)"
        if entry.mode == "stock":
            rule = _for_user(entry, user)
            return rule is not None, f"{who}: {rule or 'no user rule matched'}"
        active = bool(flag.is_active_for_user(user))
        return active, f"{who}: {type(flag).__name__}.is_active_for_user()"

    def _missing(self, context: Context, read_only: bool) -> tuple[bool, str]:
        from waffle import get_waffle_flag_model

        if read_only:
            active = bool(_waffle("FLAG_DEFAULT"))
        else:
            # waffle's own handling of a missing flag: log, maybe create it, return the default.
            with public_schema():
                flag = get_waffle_flag_model()(name=self.args[0])
                # The request may be None: waffle never reads it for a missing flag.
                active = bool(flag.is_active(context.request))  # type: ignore[arg-type]
        return active, f"no such flag: WAFFLE_FLAG_DEFAULT={active}"


@register_kind
class Switch(Leaf):
    """Met when the waffle switch ``name`` is active (``switch_is_active``)."""

    __slots__ = ()
    kind = "switch"

    def __init__(self, name: str) -> None:
        super().__init__(_name(name, "Switch"))

    def check(self, context: Context) -> bool:
        switch = snapshot(context).switches.get(self.args[0])
        if switch is None:
            with public_schema():
                return bool(self._model()(name=self.args[0]).is_active())
        return bool(switch.is_active())

    def detail(self, context: Context) -> str:
        switch = snapshot(context).switches.get(self.args[0])
        if switch is None:
            return "no such switch: WAFFLE_SWITCH_DEFAULT applies"
        return "active" if switch.active else "inactive"

    @staticmethod
    def _model() -> Any:
        from waffle import get_waffle_switch_model

        return get_waffle_switch_model()


@register_kind
class Sample(Leaf):
    """Met for ``percent`` % of evaluations of the waffle sample ``name`` (once per context)."""

    __slots__ = ()
    kind = "sample"

    def __init__(self, name: str) -> None:
        super().__init__(_name(name, "Sample"))

    def check(self, context: Context) -> bool:
        sample = snapshot(context).samples.get(self.args[0])
        if sample is None:
            from waffle import get_waffle_sample_model

            with public_schema():
                return bool(get_waffle_sample_model()(name=self.args[0]).is_active())
        return bool(sample.is_active())

    def detail(self, context: Context) -> str:
        sample = snapshot(context).samples.get(self.args[0])
        if sample is None:
            return "no such sample: WAFFLE_SAMPLE_DEFAULT applies"
        return f"percent {sample.percent}%, drawn once per context"
