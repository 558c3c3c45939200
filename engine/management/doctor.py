"""What ``switchyard_doctor`` looks for in every tenant's stored selections.

Errors: a selection of a registry or strategy that no longer exists (renamed or removed; it
is ignored until it is registered again). Warnings: a selection that is not in force (its
condition is unmet, or a per-user selection of a registry that does not allow them), and a
registry for which nothing is available to the tenant. Tenant selections are judged without
a user, as background jobs and ``engine.resolve(key, tenant=...)`` see them; a user's own
selection for that user.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model

from conditions import Context
from engine.exceptions import NoStrategyAvailable, UnknownRegistry, UnknownStrategy
from engine.models import Selection
from engine.registry import Registry, registries
from engine.resolution import explain_strategy, is_available
from engine.tenancy import tenant_scope


class Severity(enum.StrEnum):
    """How bad a finding is: an error always fails the doctor, a warning under ``--strict``."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One problem: where (tenant, registry, user), what (a stable code) and why."""

    tenant: str
    registry: str
    slug: str | None  # None: about the registry, not a stored selection
    user: str | None  # the username of a user's own selection; None: the tenant's
    severity: Severity
    code: str  # unknown_registry, unknown_slug, unavailable, not_user_selectable, no_strategy
    message: str
    in_force: str | None = None  # what is used instead (None: nothing, or not known)

    def subject(self) -> str:
        owner = f"user {self.user}" if self.user is not None else "tenant"
        return self.registry if self.slug is None else f"{self.registry}={self.slug} ({owner})"

    def as_dict(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "registry": self.registry,
            "slug": self.slug,
            "user": self.user,
            "severity": self.severity.value,
            "code": self.code,
            "message": self.message,
            "in_force": self.in_force,
        }


@dataclass
class Report:
    """Everything the doctor found in the tenants it examined."""

    tenants: int = 0
    selections: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(1 for finding in self.findings if finding.severity is Severity.ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for finding in self.findings if finding.severity is Severity.WARNING)

    def failed(self, *, strict: bool = False) -> bool:
        """Return whether the report fails: any error, or any finding at all when ``strict``."""
        return bool(self.errors or (strict and self.warnings))

    def summary(self) -> str:
        return (
            f"Examined {self.tenants} tenant(s) and {self.selections} stored selection(s): "
            f"{self.errors} error(s), {self.warnings} warning(s)."
        )

    def as_dict(self, *, strict: bool = False) -> dict[str, Any]:
        return {
            "ok": not self.failed(strict=strict),
            "strict": strict,
            "tenants": self.tenants,
            "selections": self.selections,
            "errors": self.errors,
            "warnings": self.warnings,
            "findings": [finding.as_dict() for finding in self.findings],
        }


def examine(tenant: Any, name: str, report: Report) -> None:
    """Add the problems of ``tenant``'s stored selections (None: the one schema) to ``report``."""
    with tenant_scope(tenant):
        rows = list(
            Selection.objects.order_by("registry", "user_id").values_list(
                "registry", "slug", "user_id"
            )
        )
        owners = {user_pk for _, _, user_pk in rows if user_pk is not None}
        users = get_user_model()._default_manager.in_bulk(owners) if owners else {}
        contexts: dict[Any, Context] = {}

        def context_for(user_pk: Any) -> Context:
            # One context per user: each condition is evaluated once per user.
            if user_pk not in contexts:
                contexts[user_pk] = Context(tenant=tenant, user=users.get(user_pk))
            return contexts[user_pk]

        report.tenants += 1
        report.selections += len(rows)
        known = registries()
        for key, slug, user_pk in rows:
            username = None if user_pk is None else _username(users.get(user_pk), user_pk)
            finding = _judge(name, known, key, slug, username, user_pk, context_for)
            if finding is not None:
                report.findings.append(finding)
        for key, registry in sorted(known.items()):
            try:
                registry.resolve(context_for(None))
            except NoStrategyAvailable as error:
                report.findings.append(
                    Finding(name, key, None, None, Severity.WARNING, "no_strategy", str(error))
                )


def _judge(
    tenant: str,
    known: Any,
    key: str,
    slug: str,
    username: str | None,
    user_pk: Any,
    context_for: Any,
) -> Finding | None:
    registry: type[Registry] | None = known.get(key)
    if registry is None:
        message = f"{UnknownRegistry(key, known)} The selection is ignored."
        return Finding(tenant, key, slug, username, Severity.ERROR, "unknown_registry", message)
    context = context_for(user_pk)
    in_force = _in_force(registry, context)
    if slug not in registry:
        message = f"{UnknownStrategy(key, slug, registry.slugs())} The selection is ignored."
        return Finding(
            tenant, key, slug, username, Severity.ERROR, "unknown_slug", message, in_force
        )
    if user_pk is not None and not registry.user_selectable:
        message = (
            f"Registry {key!r} does not allow per-user selections (user_selectable is False "
            f"on {registry.__name__}): this selection is never used."
        )
        return Finding(
            tenant, key, slug, username, Severity.WARNING, "not_user_selectable", message, in_force
        )
    strategy = registry.get(slug)
    if is_available(strategy, context):
        return None
    why = explain_strategy(strategy, context).text
    message = f"Not in force: {why} is not met. It stays stored and applies again once it is."
    return Finding(tenant, key, slug, username, Severity.WARNING, "unavailable", message, in_force)


def _in_force(registry: type[Registry], context: Context) -> str | None:
    try:
        return registry.resolve(context).slug
    except NoStrategyAvailable:
        return None


def _username(user: Any, user_pk: Any) -> str:
    return str(user.get_username()) if user is not None else f"#{user_pk}"
