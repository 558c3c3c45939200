"""django-waffle leaves: ``Flag``, ``Switch`` and ``Sample``, evaluated from the snapshot.

A warm evaluation costs no query and no cache call: the rows come from the process's snapshot
(``conditions.snapshot``) and waffle's rules decide them there (``conditions.waffle_rules``:
``flag_is_active`` with a request, ``is_active_for_user`` without). A flag model with
``is_active_for_context(context)`` (a platform flag targeting tenants) is asked that instead.
Explanations name the rule that decided.
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
from conditions.waffle_rules import (
    CONTEXT,
    NO_USER,
    STOCK,
    FlagEntry,
    decide,
    request_user_kind,
    user_kind,
    waffle_setting,
)

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
        # waffle's user step alone (its is_active_for_user's answer for the request user's
        # kind, then the members); the model's is_active_for_context.
        if entry.static is not None:
            return entry.static
        request = context.request
        if entry.user_rules_only and request is not None:
            kind = request_user_kind(context)
            if kind == NO_USER:
                return False
            return entry.by_user_kind[kind] or (
                entry.has_members and entry.member(request.user) is not None
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
            return decide(flag, request, False, entry.user_rule)[0]
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
        return decide(flag, request, True, entry.user_rule)[1]
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
    rule = user_kind(flag, user) if flag.everyone is None else None
    rule = rule or entry.member(user)
    if rule:
        return f"{who}: {rule}"
    return "everyone=off" if flag.everyone is False else f"{who}: no user rule matched"


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
