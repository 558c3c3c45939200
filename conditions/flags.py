"""django-waffle leaves: ``Flag``, ``Switch`` and ``Sample``, evaluated from the snapshot.

A warm evaluation costs no query and no cache call: the rows come from the process's snapshot
(``conditions.snapshot``) and waffle's own code decides them there (``conditions.waffle_rules``:
``flag_is_active`` with a request, ``is_active_for_user`` without). A flag model with
``is_active_for_context(context)`` (a platform flag targeting tenants) is asked that instead.
Explanations name the rule that decided: ``_explain_stock`` walks waffle's ``is_active`` step
by step, the one copy of its order here, tested against waffle.
"""

from __future__ import annotations

from typing import Any

from conditions.base import Leaf
from conditions.context import Context
from conditions.kinds import register_kind
from conditions.snapshot import (
    SNAPSHOT,
    flags_changed,
    public_schema,
    snapshot,
    snapshot_stamp_key,
)
from conditions.users import user_name
from conditions.waffle_rules import CONTEXT, STOCK, FlagEntry, waffle_setting

__all__ = ["Flag", "Sample", "Switch", "flags_changed", "snapshot_stamp_key"]


def _name(value: object, what: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 100 or value != value.strip():
        raise ValueError(
            f"{what} needs the name of a waffle {what.lower()} (1 to 100 characters, no "
            f"surrounding spaces), got {value!r}"
        )
    return value


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
        if entry is None:
            return self._missing(context)
        # The common cases inline (see FlagEntry): settled by the row alone; with a request,
        # waffle's user step alone (its is_active_for_user, then the members); the model's
        # is_active_for_context.
        if entry.static is not None:
            return entry.static
        request = context.request
        if entry.user_rules_only and request is not None:
            user = getattr(request, "user", None)
            return bool(user) and bool(
                entry.kinds(entry.flag, user) or (entry.has_members and entry.member(user))
            )
        if entry.for_context is not None:
            return bool(entry.for_context(context))
        return _evaluate(entry, context)

    def detail(self, context: Context) -> str:
        entry = snapshot(context).flags.get(self.args[0])
        if entry is None:
            return f"no such flag: WAFFLE_FLAG_DEFAULT={bool(waffle_setting('FLAG_DEFAULT'))}"
        return _explain(entry, context)

    def _missing(self, context: Context) -> bool:
        from waffle import get_waffle_flag_model

        # waffle's own handling of a missing flag: log, maybe create it, return the default.
        with public_schema():
            flag = get_waffle_flag_model()(name=self.args[0])
            # The request may be None: waffle never reads it for a missing flag.
            return bool(flag.is_active(context.request))  # type: ignore[arg-type]


def _evaluate(entry: FlagEntry, context: Context) -> bool:
    """Decide a stock or model flag the way waffle does, on the in-memory row."""
    flag, request = entry.flag, context.request
    if request is not None:
        if entry.mode == STOCK:
            return entry.is_active(request, read_only=False)
        return bool(flag.is_active(request))
    user = context.user
    if user is None:
        return bool(flag.everyone)  # waffle's user rules need a user
    if entry.mode == STOCK:
        return bool(entry.for_user(user))
    return bool(flag.is_active_for_user(user))


# Explanations ----------------------------------------------------------------------------


def _explain(entry: FlagEntry, context: Context) -> str:
    flag, request = entry.flag, context.request
    if entry.mode == CONTEXT:
        # A model may say why (e.g. "plan pro is targeted"); else name the method.
        describe = getattr(flag, "describe_for_context", None)
        if describe is not None:
            return str(describe(context))
        return f"{type(flag).__name__}.is_active_for_context()"
    if request is None:
        return _explain_without_request(entry, context.user)
    if entry.mode == STOCK:
        return _explain_stock(entry, request)[1]
    return f"{type(flag).__name__}.is_active(request)"


def _explain_without_request(entry: FlagEntry, user: Any) -> str:
    """Name the rule of waffle's ``is_active_for_user(user)`` that decides."""
    flag = entry.flag
    if user is None:
        if flag.everyone:
            return "everyone=on"
        return "no request and no user: only everyone=on could apply"
    who = f"for user {user_name(user)} (no request)"
    if entry.mode != STOCK:
        return f"{who}: {type(flag).__name__}.is_active_for_user()"
    if flag.everyone:
        return "everyone=on"
    # Off for everyone, waffle's is_active_for_user still matches listed users and groups.
    rule = _kind(flag, user) if flag.everyone is None else None
    rule = rule or entry.member(user)
    if rule:
        return f"{who}: {rule}"
    return "everyone=off" if flag.everyone is False else f"{who}: no user rule matched"


def _explain_stock(entry: FlagEntry, request: Any) -> tuple[bool, str]:
    """Return what waffle's ``is_active(request, read_only=True)`` answers, and the rule why.

    waffle's steps in waffle's order; read only: it changes nothing on the request.
    """
    for step in (_overridden, _everyone, _testing, _language, _user, _percent):
        decided = step(entry.flag, entry, request)
        if decided is not None:
            return decided
    return False, "no rule matched"


def _overridden(flag: Any, entry: FlagEntry, request: Any) -> tuple[bool, str] | None:
    if waffle_setting("OVERRIDE") and flag.name in request.GET:
        return request.GET[flag.name] == "1", f"overridden by ?{flag.name}= (WAFFLE_OVERRIDE)"
    return None


def _everyone(flag: Any, entry: FlagEntry, request: Any) -> tuple[bool, str] | None:
    if flag.everyone is None:
        return None
    return bool(flag.everyone), f"everyone={'on' if flag.everyone else 'off'}"


def _testing(flag: Any, entry: FlagEntry, request: Any) -> tuple[bool, str] | None:
    if not flag.testing:
        return None
    cookie = waffle_setting("TEST_COOKIE") % flag.name
    header = cookie.replace("_", "-")
    if cookie in request.GET:
        return request.GET[cookie] == "1", "testing mode (query/header)"
    if header in request.headers:
        return request.headers[header] == "1", "testing mode (query/header)"
    if cookie in request.COOKIES:
        return request.COOKIES[cookie] == "True", "testing mode (cookie)"
    return None


def _language(flag: Any, entry: FlagEntry, request: Any) -> tuple[bool, str] | None:
    code = getattr(request, "LANGUAGE_CODE", None)
    if flag.languages and code in [language.strip() for language in flag.languages.split(",")]:
        return True, f"language {code}"
    return None


def _user(flag: Any, entry: FlagEntry, request: Any) -> tuple[bool, str] | None:
    user = getattr(request, "user", None)
    if not user:
        return False, "no user on the request"
    rule = _kind(flag, user) or entry.member(user)
    return (True, rule) if rule else None


def _kind(flag: Any, user: Any) -> str | None:
    # The rules of waffle's AbstractBaseFlag.is_active_for_user past everyone, by name.
    if flag.authenticated and user.is_authenticated:
        return "authenticated users"
    if flag.staff and getattr(user, "is_staff", False):
        return "staff"
    if flag.superusers and getattr(user, "is_superuser", False):
        return "superusers"
    return None


def _percent(flag: Any, entry: FlagEntry, request: Any) -> tuple[bool, str] | None:
    if not (flag.percent and flag.percent > 0):
        return None
    label = f"percent {flag.percent}%"
    decided = getattr(request, "waffles", {}).get(flag.name)
    if decided is not None:
        return bool(decided[0]), f"{label}: decided for this request"
    cookie = waffle_setting("COOKIE") % flag.name
    if cookie in request.COOKIES:
        return request.COOKIES[cookie] == "True", f"{label}: from cookie"
    return False, f"{label}: not decided (read only)"


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
