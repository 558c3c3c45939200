"""The platform's strategy state (``StrategyState``) and its history, in the public schema.

One row per registered strategy, created by ``switchyard_sync`` (and after ``migrate``).
Every save and delete appends a ``StrategyStateChange`` (who, when, through which path, the
fields before → after) and makes every process reload the state (``state_changed``) at its
next request. Under django-tenants only the public schema's tables are read (the engine is a
shared and a tenant app, so every schema has a copy, unused): ``save()`` and ``delete()`` write
there whatever schema the connection is on.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from django.db import models, transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from engine import tenancy
from engine.platform.load import state_changed
from engine.platform.state import Status
from engine.platform.validation import (
    ACTOR_MAX_LENGTH,
    NOTE_MAX_LENGTH,
    SCOPE_MAX_LENGTH,
    validate_actor,
    validate_note,
    validate_scope,
)
from engine.validators import MAX_LENGTH, VIA_MAX_LENGTH, validate_registry_key, validate_slug

# The fields a change records (and the history compares).
TRACKED = ("status", "priority", "note", "scope")


class StrategyStateQuerySet(models.QuerySet["StrategyState"]):
    """Bulk writes reach every process too (Django sends them no signals)."""

    def update(self, **kwargs: Any) -> int:
        count = super().update(**kwargs)
        state_changed(self.db)
        return count

    update.alters_data = True  # type: ignore[attr-defined]


class StrategyState(models.Model):
    """What the platform allows of one strategy: status, priority override, note and scope."""

    registry = models.CharField(max_length=MAX_LENGTH, validators=[validate_registry_key])
    slug = models.CharField(max_length=MAX_LENGTH, validators=[validate_slug])
    status = models.CharField(
        max_length=16,
        choices=[(status.value, status.value) for status in Status],
        default=Status.ACTIVE.value,
        help_text="active: offered; reserve: offered only when no active strategy of the "
        "registry is available; disabled: never offered (tenants fall back).",
    )
    priority = models.IntegerField(
        null=True,
        blank=True,
        help_text="Overrides the class's priority when falling back (lower is preferred); "
        "empty: the class's own.",
    )
    note = models.CharField(
        max_length=NOTE_MAX_LENGTH,
        blank=True,
        validators=[validate_note],
        help_text="Shown to tenants when the status keeps the strategy from them.",
    )
    scope = models.CharField(
        max_length=SCOPE_MAX_LENGTH,
        blank=True,
        validators=[validate_scope],
        help_text="A condition (e.g. plan:free | tenant:acme): the state holds only for the "
        "tenants meeting it. Empty: every tenant.",
    )
    label = models.CharField(max_length=200, blank=True, help_text="The class's label, synced.")
    changed_by = models.CharField(
        max_length=ACTOR_MAX_LENGTH, blank=True, validators=[validate_actor]
    )
    changed_at = models.DateTimeField(default=timezone.now)

    objects = StrategyStateQuerySet.as_manager()

    class Meta:
        ordering = ["registry", "slug"]
        verbose_name = "platform strategy state"
        constraints = [
            models.UniqueConstraint(fields=["registry", "slug"], name="engine_state_unique")
        ]

    def __str__(self) -> str:
        return f"{self.registry}.{self.slug}: {self.status}"

    def save(self, *args: Any, via: str = "orm", **kwargs: Any) -> None:
        using = kwargs.get("using") or self._state.db or "default"
        with _public(using):
            before = None
            if self.pk is not None:
                before = (
                    type(self)
                    ._base_manager.using(using)
                    .filter(pk=self.pk)
                    .select_for_update()
                    .values(*TRACKED)
                    .first()
                )
            self.changed_at = timezone.now()
            super().save(*args, **kwargs)
            after = self.tracked()
            if before != after:
                self._record(before, after, via, using)

    def delete(self, *args: Any, via: str = "orm", **kwargs: Any) -> Any:
        using = kwargs.get("using") or self._state.db or "default"
        with _public(using):
            self._record(self.tracked(), None, via, using)
            return super().delete(*args, **kwargs)

    def _record(
        self, before: dict[str, Any] | None, after: dict[str, Any] | None, via: str, using: str
    ) -> None:
        StrategyStateChange.objects.using(using).create(
            registry=self.registry,
            slug=self.slug,
            before=before,
            after=after,
            note=self.note,
            changed_by=self.changed_by,
            via=via,
        )

    @property
    def dotted(self) -> str:
        """``registry.slug``, as the commands take it."""
        return f"{self.registry}.{self.slug}"

    def loads(self) -> bool:
        """Return whether a registered class answers to this row's registry and slug."""
        from engine.catalogue import registries

        registry = registries().get(self.registry)
        return registry is not None and self.slug in registry

    def tracked(self) -> dict[str, Any]:
        """Return the recorded fields' values."""
        return {name: getattr(self, name) for name in TRACKED}


class StrategyStateChange(models.Model):
    """One change of a strategy's platform state: who, when, how, and the fields before → after.

    Append-only; ``before`` is empty for a created row, ``after`` for a deleted (pruned) one.
    """

    registry = models.CharField(max_length=MAX_LENGTH)
    slug = models.CharField(max_length=MAX_LENGTH)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    note = models.CharField(max_length=NOTE_MAX_LENGTH, blank=True)
    changed_by = models.CharField(max_length=ACTOR_MAX_LENGTH, blank=True)
    changed_at = models.DateTimeField(default=timezone.now, db_index=True)
    via = models.CharField(max_length=VIA_MAX_LENGTH, help_text="admin, command, sync, orm, ...")

    class Meta:
        ordering = ["-changed_at", "-id"]
        verbose_name = "platform strategy state change"
        indexes = [
            models.Index(fields=["registry", "slug", "-changed_at"], name="engine_state_hist")
        ]

    def __str__(self) -> str:
        return f"{self.registry}.{self.slug}: {self.summary} via {self.via}"

    @property
    def summary(self) -> str:
        """What changed, e.g. ``status active → disabled``."""
        if self.before is None:
            return "created"
        if self.after is None:
            return "deleted"
        changed = [
            f"{name} {self.before.get(name)!r} → {self.after.get(name)!r}"
            for name in TRACKED
            if self.before.get(name) != self.after.get(name)
        ]
        return "; ".join(changed) or "unchanged"


@contextlib.contextmanager
def _public(using: str) -> Iterator[None]:
    """A transaction in the public schema, whatever schema the connection was on."""
    public = tenancy.public_schema()
    with tenancy.in_schema(public, using), transaction.atomic(using=using):
        tenancy.pin_search_path(public, using)
        yield


def _changed(sender: type[StrategyState], using: str, **_: Any) -> None:
    state_changed(using)


post_save.connect(_changed, sender=StrategyState, dispatch_uid="switchyard_state_saved")
post_delete.connect(_changed, sender=StrategyState, dispatch_uid="switchyard_state_deleted")
