"""Validated writes: a selection obeys the same rules as a read, or nothing is stored."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError

from conditions import Context
from conditions.kinds import echo, suggestion
from engine.resolution import SELECTIONS_MEMO, explain_strategy, is_available

if TYPE_CHECKING:
    from engine.registry import Registry
    from engine.strategy import Strategy


def validate_selection(
    registry: type[Registry], slug: str, context: Context, user: Any = None
) -> type[Strategy]:
    """Return the strategy ``slug`` if it may be selected in ``context``, else raise.

    Raises ``ValidationError`` with code ``unknown_strategy``, ``not_user_selectable`` or
    ``unavailable``. For a user's own selection (``user`` given) the strategy must be
    available to that user.
    """
    if not isinstance(slug, str) or slug not in registry:
        raise ValidationError(
            "Unknown strategy %(slug)s in %(registry)s.%(suggestion)s Choose one of: %(known)s.",
            code="unknown_strategy",
            params={
                "slug": echo(slug),
                "registry": repr(registry.key),
                "suggestion": suggestion(slug, registry.slugs()),
                "known": ", ".join(registry.slugs()) or "none",
            },
        )
    if user is not None and not registry.user_selectable:
        raise ValidationError(
            "Registry %(registry)s does not allow per-user selections (user_selectable is "
            "False on %(cls)s); select for the tenant instead.",
            code="not_user_selectable",
            params={"registry": repr(registry.key), "cls": registry.__name__},
        )
    strategy = registry.get(slug)
    context = _context_for(context, user)
    if not is_available(strategy, context):
        explanation = explain_strategy(strategy, context)
        raise ValidationError(
            "Strategy %(slug)s of %(registry)s is not available here: %(condition)s is not met.",
            code="unavailable",
            params={
                "slug": repr(slug),
                "registry": repr(registry.key),
                "condition": explanation.text,
                "explanation": explanation,
            },
        )
    return strategy


def select(
    registry: type[Registry],
    slug: str,
    context: Context,
    user: Any = None,
    *,
    changed_by: Any = None,
    via: str = "api",
) -> Any:
    """Validate ``slug`` for ``context`` (and ``user``), then store it; return the stored row."""
    from engine.selections import write_selection

    validate_selection(registry, slug, context, user)
    selection = write_selection(
        registry.key, slug, user=user, changed_by=changed_by, via=via, tenant=context.tenant
    )
    # The context's own copy of the selections is stale now.
    context.extra.pop(SELECTIONS_MEMO, None)
    return selection


def deselect(
    registry: type[Registry],
    context: Context,
    user: Any = None,
    *,
    changed_by: Any = None,
    via: str = "api",
) -> None:
    """Remove the stored choice of the tenant (or of ``user``); resolution falls back."""
    from engine.selections import clear_selection

    clear_selection(registry.key, user=user, changed_by=changed_by, via=via, tenant=context.tenant)
    context.extra.pop(SELECTIONS_MEMO, None)


def _context_for(context: Context, user: Any) -> Context:
    """Return ``context``, or a context for ``user`` when the selection is someone else's."""
    if user is None or getattr(user, "pk", None) == getattr(context.user, "pk", None):
        return context
    # A request would make request-bound leaves (flags) answer for the request's user.
    extra = {name: value for name, value in context.extra.items() if not name.startswith("_")}
    return Context(user=user, tenant=context.tenant, strict=context.strict, **extra)
