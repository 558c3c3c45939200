"""Where choices are stored: ``Selection`` (one row per registry and user) and its history.

Both tables live in every tenant's schema (the engine is in ``SHARED_APPS`` and
``TENANT_APPS``), and in the only schema of a project without django-tenants. Every write path
of the ORM records what changed: ``save()``, ``delete()`` (also cascades), ``QuerySet.update()``
and ``bulk_create()`` (and so ``bulk_update()``) append to ``SelectionHistory`` and invalidate
the cached selections of the schema when the transaction commits. Raw SQL is the only way
around it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any, ClassVar

from django.conf import settings
from django.db import models, router, transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from engine.platform.models import StrategyState, StrategyStateChange
from engine.storage.history import Change, current_audit, invalidate_schema, record_changes
from engine.validators import (
    MAX_LENGTH,
    STORED_MAX_LENGTH,
    VIA_MAX_LENGTH,
    validate_registry_key,
    validate_slug,
    validate_stored_slugs,
)

__all__ = [
    "ConfigurationHistory",
    "Generation",
    "Selection",
    "SelectionHistory",
    "StrategyConfiguration",
    "StrategyState",
    "StrategyStateChange",
]

# What a row stores that the cache and the history care about: (registry, user_id, slug).
State = tuple[str, Any, str]
_TRACKED = frozenset({"registry", "slug", "user", "user_id"})


def _user_reference(**options: Any) -> Any:
    """Return a nullable reference to a user, with no database constraint and no cascade."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        **options,
    )


class SelectionQuerySet(models.QuerySet["Selection"]):
    """Bulk writes that keep the history and the cache right (Django sends them no signals)."""

    def update(self, **kwargs: Any) -> int:
        if not _TRACKED & kwargs.keys():
            return super().update(**kwargs)
        with transaction.atomic(using=self.db, savepoint=False):
            before = _states(self.select_for_update())
            count = super().update(**kwargs)
            after = _states(self.model._base_manager.using(self.db).filter(pk__in=before))
            record_changes(self.db, _diff(before.values(), after.values()))
        return count

    update.alters_data = True  # type: ignore[attr-defined]

    def bulk_create(self, objs: Iterable[Selection], *args: Any, **kwargs: Any) -> list[Selection]:
        objs = list(objs)
        if not objs:
            return super().bulk_create(objs, *args, **kwargs)
        with transaction.atomic(using=self.db, savepoint=False):
            rows = self.model._base_manager.using(self.db).filter(_pairs_filter(objs))
            # With ignore_conflicts / update_conflicts the rows already stored decide.
            before = _states(rows.select_for_update())
            created = super().bulk_create(objs, *args, **kwargs)
            after = _states(rows.all())
            record_changes(self.db, _diff(before.values(), after.values()))
        for obj in created:
            if obj.pk is not None:
                obj._remember()
        return created

    bulk_create.alters_data = True  # type: ignore[attr-defined]


class Selection(models.Model):
    """The strategy stored for a registry: the tenant's choice when ``user`` is None, else a user's.

    One row per ``(registry, user)``; write through ``engine.storage.write_selection`` (or
    ``Registry.select``, which validates first).
    """

    registry = models.CharField(
        max_length=MAX_LENGTH,
        validators=[validate_registry_key],
        help_text="The registry key, e.g. 'payments'.",
    )
    slug = models.CharField(
        max_length=STORED_MAX_LENGTH,
        validators=[validate_stored_slugs],
        help_text="The slug of the selected strategy; for a set, its slugs in order, joined "
        "by commas.",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="switchyard_selections",
        help_text="Empty: the tenant's own choice. Set: this user's choice.",
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    changed_at = models.DateTimeField(auto_now=True)

    objects: ClassVar[models.Manager[Selection]] = SelectionQuerySet.as_manager()

    # The stored (registry, user_id, slug) as last read or written, so a save knows "before".
    _stored: State | None = None

    class Meta:
        constraints = [
            # user IS NULL rows are never equal in a plain unique constraint: two partial ones.
            models.UniqueConstraint(
                fields=["registry"],
                condition=models.Q(user__isnull=True),
                name="engine_selection_one_per_tenant",
                violation_error_message="The tenant already has a selection for this registry.",
            ),
            models.UniqueConstraint(
                fields=["registry", "user"],
                condition=models.Q(user__isnull=False),
                name="engine_selection_one_per_user",
                violation_error_message="This user already has a selection for this registry.",
            ),
            models.CheckConstraint(
                condition=~models.Q(registry="") & ~models.Q(slug=""),
                name="engine_selection_not_blank",
            ),
        ]
        ordering = ["registry", "user_id"]

    def __str__(self) -> str:
        owner = f"user {self.user_id}" if self.user_id is not None else "tenant"
        return f"{self.registry} = {self.slug} ({owner})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        author = current_audit().changed_by
        if author is not None and self.changed_by_id != author.pk:
            # Saved inside audited(changed_by=...): the row names its author too.
            self.changed_by = author
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "changed_by"}
        with transaction.atomic(using=using, savepoint=False):
            before = self._previous_state(using)
            super().save(*args, **kwargs)
            after = (self.registry, self.user_id, self.slug)
            known = {self.user_id: self.user} if _user_cached(self) else {}
            record_changes(using, _diff([before] if before else [], [after]), users=known)
            self._stored = after

    save.alters_data = True  # type: ignore[attr-defined]

    def _previous_state(self, using: str) -> State | None:
        if self.pk is None:
            return None
        if self._stored is not None and not self._state.adding:
            return self._stored
        # A row built by hand with a primary key: read what it replaces.
        row = (
            type(self)
            ._base_manager.using(using)
            .filter(pk=self.pk)
            .values_list("registry", "user_id", "slug")
            .first()
        )
        return tuple(row) if row is not None else None  # type: ignore[return-value]

    @classmethod
    def from_db(
        cls, db: str | None, field_names: Collection[str], values: Collection[Any], **kwargs: Any
    ) -> Selection:
        instance = super().from_db(db, field_names, values, **kwargs)
        instance._remember()
        return instance

    def refresh_from_db(self, *args: Any, **kwargs: Any) -> None:
        super().refresh_from_db(*args, **kwargs)
        self._remember()

    def _remember(self) -> None:
        deferred = self.get_deferred_fields()
        known = not deferred & {"registry", "slug", "user_id"}
        self._stored = (self.registry, self.user_id, self.slug) if known else None


class SelectionHistory(models.Model):
    """One change of a selection: who, when, through which path, and the slug before → after.

    Append-only. ``user`` and ``changed_by`` keep their ids after the user is deleted (an audit
    trail outlives its subjects), so they are not database-level foreign keys.
    """

    registry = models.CharField(max_length=MAX_LENGTH)
    user = _user_reference(
        help_text="Empty: the tenant's own choice changed. Set: this user's choice changed."
    )
    # None, not "": "no selection" is not a slug (and slugs are never blank).
    # A set is stored (and recorded) as its slugs joined by commas: "email" → "email,slack".
    before_slug = models.CharField(max_length=STORED_MAX_LENGTH, null=True, blank=True)  # noqa: DJ001
    after_slug = models.CharField(max_length=STORED_MAX_LENGTH, null=True, blank=True)  # noqa: DJ001
    changed_by = _user_reference()
    changed_at = models.DateTimeField(default=timezone.now, db_index=True)
    via = models.CharField(
        max_length=VIA_MAX_LENGTH,
        help_text="The path of the change: api, admin, form, command, provisioning, orm, ...",
    )

    class Meta:
        ordering = ["-changed_at", "-id"]
        verbose_name_plural = "selection history"
        indexes = [models.Index(fields=["registry", "-changed_at"], name="engine_hist_registry")]

    def __str__(self) -> str:
        owner = f"user {self.user_id}" if self.user_id is not None else "tenant"
        return f"{self.registry} ({owner}): {self.before_slug} → {self.after_slug} via {self.via}"


def _states(queryset: models.QuerySet[Selection]) -> dict[Any, State]:
    rows = queryset.order_by().values_list("pk", "registry", "user_id", "slug")
    return {pk: (registry, user_id, slug) for pk, registry, user_id, slug in rows}


def _pairs_filter(objs: Iterable[Selection]) -> models.Q:
    query = models.Q(pk__in=[])
    for obj in objs:
        query |= models.Q(registry=obj.registry, user_id=obj.user_id)
    return query


def _diff(before: Iterable[State], after: Iterable[State]) -> list[Change]:
    """Return the changes, per (registry, user), from the rows ``before`` to the rows ``after``."""
    old = {(registry, user_id): slug for registry, user_id, slug in before}
    new = {(registry, user_id): slug for registry, user_id, slug in after}
    changes = []
    for registry, user_id in sorted(old.keys() | new.keys(), key=repr):
        previous, current = old.get((registry, user_id)), new.get((registry, user_id))
        if previous != current:
            changes.append(Change(registry, user_id, previous, current))
    return changes


def _user_cached(selection: Selection) -> bool:
    return selection.user_id is not None and Selection.user.is_cached(selection)


def _selection_deleted(sender: type[Selection], instance: Selection, using: str, **_: Any) -> None:
    # Connected as a receiver on purpose: a model with delete receivers is never fast-deleted,
    # so queryset deletes and cascades (a deleted user) come through here too.
    registry, user_id, slug = instance._stored or (
        instance.registry,
        instance.user_id,
        instance.slug,
    )
    record_changes(using, [Change(registry, user_id, slug, None)])


post_delete.connect(_selection_deleted, sender=Selection, dispatch_uid="switchyard_selection")


class Generation(models.Model):
    """How many times a scope (a schema's selections) changed: see ``engine.storage.generations``.

    Only the public schema's table is used (every schema gets one: the engine is a shared and
    a tenant app); written and read with schema-qualified SQL.
    """

    scope = models.CharField(max_length=200, primary_key=True)
    seq = models.BigIntegerField(default=0)
    changed_at = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "engine_generation"
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.scope} @ {self.seq}"


class StrategyConfiguration(models.Model):
    """The configuration a tenant (``user`` None) or a user stored for one strategy.

    ``values`` holds the plain fields' cleaned values as JSON; ``secrets`` each secret field's
    Fernet token, never clear text. One row per ``(registry, slug, user)``; write through
    ``Registry.configure`` (validated, recorded in ``ConfigurationHistory``). Every save and
    delete invalidates the schema's cached selections (configuration travels with them).
    """

    registry = models.CharField(max_length=MAX_LENGTH, validators=[validate_registry_key])
    slug = models.CharField(max_length=MAX_LENGTH, validators=[validate_slug])
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="switchyard_configurations",
        help_text="Empty: the tenant's configuration. Set: this user's.",
    )
    values = models.JSONField(default=dict, blank=True)
    secrets = models.JSONField(default=dict, blank=True, help_text="Fernet tokens, by field.")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["registry", "slug"],
                condition=models.Q(user__isnull=True),
                name="engine_config_one_per_tenant",
            ),
            models.UniqueConstraint(
                fields=["registry", "slug", "user"],
                condition=models.Q(user__isnull=False),
                name="engine_config_one_per_user",
            ),
        ]
        ordering = ["registry", "slug", "user_id"]

    def __str__(self) -> str:
        owner = f"user {self.user_id}" if self.user_id is not None else "tenant"
        return f"{self.registry}.{self.slug} configuration ({owner})"


class ConfigurationHistory(models.Model):
    """One change of a strategy's configuration: who, when, how, and the values before → after.

    Append-only; secrets appear masked (at most their last 4 characters), never in clear.
    """

    registry = models.CharField(max_length=MAX_LENGTH)
    slug = models.CharField(max_length=MAX_LENGTH)
    user = _user_reference()
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    changed_by = _user_reference()
    changed_at = models.DateTimeField(default=timezone.now, db_index=True)
    via = models.CharField(max_length=VIA_MAX_LENGTH)

    class Meta:
        ordering = ["-changed_at", "-id"]
        verbose_name_plural = "configuration history"

    def __str__(self) -> str:
        owner = f"user {self.user_id}" if self.user_id is not None else "tenant"
        return f"{self.registry}.{self.slug} ({owner}) configured via {self.via}"


def _configuration_changed(
    sender: type[StrategyConfiguration], instance: StrategyConfiguration, using: str, **_: Any
) -> None:
    # Configuration is cached with the selections: every write path invalidates them.
    invalidate_schema(using, [instance.user_id])


post_save.connect(
    _configuration_changed, sender=StrategyConfiguration, dispatch_uid="switchyard_config_saved"
)
post_delete.connect(
    _configuration_changed, sender=StrategyConfiguration, dispatch_uid="switchyard_config_deleted"
)
