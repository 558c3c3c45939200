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
from dataclasses import asdict, dataclass, field
from typing import Any

from conditions import Context
from engine import audit
from engine.catalogue import registries
from engine.exceptions import NoStrategyAvailable
from engine.namespace import StrategyNamespace
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
    # unknown_registry, unknown_slug, unavailable, not_configured, not_user_selectable,
    # over_limit, no_strategy
    code: str
    message: str
    in_force: str | None = None  # what is used instead (None: nothing, or not known)

    def subject(self) -> str:
        owner = f"user {self.user}" if self.user is not None else "tenant"
        return self.registry if self.slug is None else f"{self.registry}={self.slug} ({owner})"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "severity": self.severity.value}


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


# The doctor's severity and wording for each reason a stored selection is not in force.
_SEVERITY = {
    audit.UNKNOWN_REGISTRY: Severity.ERROR,
    audit.UNKNOWN_SLUG: Severity.ERROR,
    audit.NOT_USER_SELECTABLE: Severity.WARNING,
    audit.UNAVAILABLE: Severity.WARNING,
    audit.DISABLED_BY_PLATFORM: Severity.WARNING,
    audit.HELD_IN_RESERVE: Severity.WARNING,
    audit.OVER_LIMIT: Severity.WARNING,
    audit.NOT_CONFIGURED: Severity.WARNING,
}


def examine(tenant: Any, name: str, report: Report) -> None:
    """Add the problems of ``tenant``'s stored selections (None: the one schema) to ``report``."""
    found = audit.audit_selections(tenant)
    report.tenants += 1
    report.selections += found.examined
    for inactive in found.inactive:
        report.findings.append(
            Finding(
                name,
                inactive.registry,
                inactive.slug,
                inactive.user,
                _SEVERITY[inactive.why],
                inactive.why,
                _message(inactive),
                inactive.in_force,
            )
        )
    with tenant_scope(tenant):
        namespace = StrategyNamespace(Context(tenant=tenant))
        for key in sorted(registries()):
            try:
                namespace.resolution(key)
            except NoStrategyAvailable as error:
                if not_applicable(namespace, key):
                    continue  # a child registry none of whose strategies serves this parent
                report.findings.append(
                    Finding(name, key, None, None, Severity.WARNING, "no_strategy", str(error))
                )


def not_applicable(namespace: StrategyNamespace, key: str) -> bool:
    """Return whether registry ``key`` is a child with no strategy serving the parent in force
    (by design, as a card network under invoice: nothing to warn about)."""
    parent = namespace.parent(key)
    return parent is not None and not any(
        parent.serves(strategy) for strategy in registries()[key].strategies()
    )


def _message(inactive: audit.InactiveSelection) -> str:
    if inactive.why == audit.NOT_CONFIGURED:
        return f"Not in force until configured: {inactive.detail}. It stays stored."
    if inactive.why in (audit.UNAVAILABLE, audit.DISABLED_BY_PLATFORM, audit.HELD_IN_RESERVE):
        return f"Not in force: {inactive.detail}. It stays stored and applies again once it is."
    if inactive.why == audit.NOT_USER_SELECTABLE:
        return inactive.detail
    if inactive.why == audit.OVER_LIMIT:
        return f"Not in force: {inactive.detail}. It stays stored in the set."
    return f"{inactive.detail} The selection is ignored."
