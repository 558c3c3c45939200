"""Who changed a selection and through which path, and what follows when the change commits.

Every write of ``engine.models.Selection`` reports its changes to ``record_changes``, which
appends them to ``SelectionHistory`` and bumps the schema's generation in the same transaction
and, once the transaction commits, invalidates the schema's cached selections and sends
``strategy_selected``. The path and the
author come from the ``audited(via=..., changed_by=...)`` block around the write;
``write_selection`` opens one, and ORM writes outside any block are recorded as ``via="orm"``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from engine import tenancy
from engine.signals import strategy_selected
from engine.storage import cache, generations
from engine.validators import validate_via

logger = logging.getLogger("switchyard.engine")


@dataclass(frozen=True)
class Audit:
    """The path (``via``) and author of the writes in an ``audited`` block."""

    via: str
    changed_by: Any = None


@dataclass(frozen=True)
class Change:
    """One selection changed: the slug of ``(registry, user_id)`` went ``before`` → ``after``."""

    registry: str
    user_id: Any
    before: str | None
    after: str | None


_ORM = Audit("orm")
_current: ContextVar[Audit | None] = ContextVar("switchyard_audit", default=None)


@contextmanager
def audited(*, via: str, changed_by: Any = None) -> Iterator[Audit]:
    """Record the selection writes of the block as made through ``via`` by ``changed_by``."""
    validate_via(via)
    audit = Audit(via, changed_by)
    token = _current.set(audit)
    try:
        yield audit
    finally:
        _current.reset(token)


def current_audit() -> Audit:
    """Return the audit of the innermost ``audited`` block (``via="orm"`` outside any)."""
    return _current.get() or _ORM


def record_changes(using: str, changes: Iterable[Change], users: Mapping[Any, Any] = {}) -> None:
    """Append ``changes`` to the history now; invalidate and notify when the transaction commits.

    Call inside the transaction of the write, with the connection on the schema written to.
    ``users`` maps user ids to user objects already at hand (the others are loaded only when
    ``strategy_selected`` has receivers).
    """
    changes = list(changes)
    if not changes:
        return
    audit = current_audit()
    schema = tenancy.current_schema(using)
    history = apps.get_model("engine", "SelectionHistory")
    now = timezone.now()
    author = getattr(audit.changed_by, "pk", None)
    history._default_manager.using(using).bulk_create(
        history(
            registry=change.registry,
            user_id=change.user_id,
            before_slug=change.before,
            after_slug=change.after,
            changed_by_id=author,
            changed_at=now,
            via=audit.via,
        )
        for change in changes
    )
    invalidate_schema(using, [change.user_id for change in changes])
    if strategy_selected.has_listeners():
        notification = _Notification(schema, changes, _users(using, changes, users), audit)
        transaction.on_commit(notification.send, using=using, robust=True)


def invalidate_schema(using: str, user_ids: Iterable[Any]) -> None:
    """Bump the generation of the connection's schema now; invalidate its keys on commit.

    ``user_ids``: whose cached entries changed (None: the tenant's).
    """
    schema = tenancy.current_schema(using)
    # The keys are computed now, in the schema written to; the commit may run in another one.
    keys = {cache.key_for(schema, user_id) for user_id in user_ids}
    generations.bump(generations.scope_of(schema), using)
    cache.invalidate_on_commit(schema, keys, using)


def _users(using: str, changes: list[Change], known: Mapping[Any, Any]) -> dict[Any, Any]:
    users = dict(known)
    missing = {c.user_id for c in changes if c.user_id is not None and c.user_id not in users}
    if missing:
        users.update(get_user_model()._default_manager.using(using).in_bulk(missing))
    return users


class _Notification:
    """The ``strategy_selected`` signals of one write, sent after its transaction commits."""

    def __init__(
        self, schema: str, changes: list[Change], users: Mapping[Any, Any], audit: Audit
    ) -> None:
        self.schema = schema
        self.changes = changes
        self.users = users
        self.audit = audit

    def send(self) -> None:
        sender = apps.get_model("engine", "Selection")
        for change in self.changes:
            # The change is committed: one failing receiver must not silence the others.
            responses = strategy_selected.send_robust(
                sender=sender,
                registry=change.registry,
                slug=change.after,
                previous=change.before,
                user=self.users.get(change.user_id) if change.user_id is not None else None,
                user_id=change.user_id,
                changed_by=self.audit.changed_by,
                via=self.audit.via,
                schema=self.schema,
            )
            for receiver, response in responses:
                if isinstance(response, Exception):
                    logger.error(
                        "strategy_selected receiver %r raised %s: %s",
                        receiver,
                        type(response).__name__,
                        response,
                        exc_info=response,
                    )
