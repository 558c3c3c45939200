"""The ordered plans of ``SWITCHYARD["PLANS"]``: validation, ranking and error messages."""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.core.exceptions import ValidationError

from conditions.naming import suggestion
from engine.conf import settings

# A plan or schema name inside a condition's text: one bare token, no commas.
NAME_TOKEN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*\Z")


class UnknownPlan(ValidationError):
    """A plan name that ``SWITCHYARD["PLANS"]`` does not list."""

    def __init__(self, name: str, *, tenant: str | None = None) -> None:
        self.plan = name
        message = unknown_plan_message(name)
        if tenant is not None:
            message = f"Tenant {tenant!r} is on an unknown plan. {message}"
        super().__init__(message, code="unknown_plan", params={"plan": name})

    def __str__(self) -> str:
        # ValidationError prints a list; logs and explanations want the sentence.
        return str(self.message)


def plans() -> tuple[str, ...]:
    """Return the configured plans, smallest first (read at call time)."""
    return tuple(settings.PLANS)


def unknown_plan_message(name: str) -> str:
    """Return the error text for an unknown plan, with a suggestion and the valid plans."""
    known = plans()
    return (
        f"Unknown plan {name!r}.{suggestion(name, known)} "
        f'Valid plans (SWITCHYARD["PLANS"]): {", ".join(known)}.'
    )


def validate_plan(name: str) -> None:
    """Raise ``UnknownPlan`` unless ``name`` is one of the configured plans."""
    if name not in plans():
        raise UnknownPlan(name)


def plan_rank(name: str) -> int:
    """Return the position of ``name`` in the plans (0 = smallest); unknown raises."""
    try:
        return plans().index(name)
    except ValueError:
        raise UnknownPlan(name) from None


def plans_problems(value: object) -> list[str]:
    """Return what is wrong with a ``PLANS`` setting value (empty when it is fine)."""
    if isinstance(value, str) or not isinstance(value, list | tuple):
        return [f"must be a list of plan names, smallest first; got {value!r}"]
    if not value:
        return ["is empty: list at least one plan"]
    problems = [
        f"has an invalid plan name {name!r} (expected letters, digits, '_', '.' or '-')"
        for name in value
        if not isinstance(name, str) or not NAME_TOKEN.match(name)
    ]
    seen: set[object] = set()
    for name in value:
        if name in seen:
            problems.append(f"lists the plan {name!r} twice")
        seen.add(name)
    return problems


def name_tokens(names: Iterable[object], what: str) -> tuple[str, ...]:
    """Return ``names`` sorted and de-duplicated; ``ValueError`` naming ``what`` if one is bad."""
    result = tuple(names)
    if not result:
        raise ValueError(f"{what} needs at least one name")
    for name in result:
        if not isinstance(name, str) or not NAME_TOKEN.match(name):
            raise ValueError(
                f"{what}: invalid name {name!r} "
                "(expected letters, digits, '_', '.' or '-', not starting with '.' or '-')"
            )
    return tuple(sorted(set(result)))  # type: ignore[arg-type]
