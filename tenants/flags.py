"""``PlatformFlag``: the waffle flag model of a multi-tenant platform (``WAFFLE_FLAG_MODEL``).

Flags live once, in the public schema, and target tenants: everyone (on/off/unset, like
waffle), listed tenants, plans, a stable hashed percentage of tenants, and the staff,
superusers or authenticated users of any tenant. They never target users by primary key:
users live in each tenant's schema, so user pk 1 of every tenant would match.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable, Collection, Iterable
from typing import Any

from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import connection, models, transaction
from django.db.models.signals import post_save
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from waffle.managers import FlagManager
from waffle.models import AbstractBaseFlag
from waffle.utils import get_cache, get_setting

from conditions import cache
from conditions.conf import settings as switchyard_settings
from conditions.naming import suggestion
from conditions.users import user_name
from conditions.waffle_rules import (
    NO_USER,
    answers_by_user_kind,
    decide,
    needs_request,
    request_user_kind,
    user_kind,
    waffle_setting,
)
from engine import tenancy
from tenants.plans import validate_plan
from tenants.tenant_model import plan_or_none

logger = logging.getLogger("switchyard.cache")

NO_USER_TARGETING = (
    "Platform flags cannot target single users: users live in each tenant's schema, so "
    "user pk 1 of every tenant would match. Target tenants, plans or user kinds instead."
)


@functools.lru_cache(maxsize=65536)
def tenant_bucket(flag_name: str, schema_name: str) -> int:
    """Return the stable bucket in [0, 100) of a tenant for a flag (same on every machine).

    Memoised: it is a pure function of its arguments, and hashing is the costliest step of
    deciding a flag on every request.
    """
    digest = hashlib.sha256(f"{flag_name}:{schema_name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100


class NoMembership:
    """Stands in for waffle's ``users``/``groups`` relations, which platform flags do not have.

    ``waffle.signals`` connects to ``<flag model>.users.through`` at start-up: this gives it a
    sender that never sends. Any other use fails with the reason.
    """

    def __init__(self, relation: str) -> None:
        self.relation = relation
        self.through = type(f"PlatformFlagHasNo{relation.title()}", (), {"__module__": __name__})

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"PlatformFlag has no {self.relation}. {NO_USER_TARGETING}")


class PlatformFlagQuerySet(models.QuerySet["PlatformFlag"]):
    """Flags; bulk writes flush waffle's cache and send ``post_save`` like ``save()`` does."""

    def update(self, **kwargs: Any) -> int:
        before = list(self.values_list("pk", "name"))
        count = super().update(**kwargs)
        pks = [pk for pk, _ in before]
        self.model.objects.filter(pk__in=pks)._changed([name for _, name in before])
        return count

    def bulk_create(self, objs: Iterable[PlatformFlag], *args: Any, **kwargs: Any) -> list[Any]:
        created = super().bulk_create(objs, *args, **kwargs)
        _announce(self.model, created, created=True, using=self.db)
        _flush_on_commit([flag.name for flag in created])
        return created

    def bulk_update(
        self, objs: Iterable[PlatformFlag], fields: Iterable[str], batch_size: int | None = None
    ) -> int:
        objs = list(objs)
        count = super().bulk_update(objs, fields, batch_size=batch_size)
        self.filter(pk__in=[flag.pk for flag in objs])._changed([])
        return count

    def _changed(self, old_names: list[str]) -> None:
        flags = list(self)
        _announce(self.model, flags, created=False, using=self.db)
        _flush_on_commit([*old_names, *(flag.name for flag in flags)])


def _announce(model: Any, flags: list[Any], *, created: bool, using: str) -> None:
    # Bulk writes send no post_save; whatever invalidates on it (the conditions snapshot's
    # stamp) must still hear about every changed flag.
    for flag in flags:
        post_save.send(
            sender=model, instance=flag, created=created, update_fields=None, raw=False, using=using
        )


def waffle_keys(names: Iterable[str]) -> list[str]:
    """Return waffle's cache keys to flush for flags named ``names`` (and the all-flags key)."""
    keys = {PlatformFlag._cache_key(name) for name in names}
    keys.add(get_setting("ALL_FLAGS_CACHE_KEY"))
    return sorted(keys)


def _flush_on_commit(names: Iterable[str]) -> None:
    keys = waffle_keys(names)  # computed now, not when the transaction commits
    transaction.on_commit(lambda: forget_in_waffles_cache(keys))


def forget_in_waffles_cache(keys: list[str]) -> None:
    """Delete ``keys`` from waffle's cache; a cache failure is logged, never raised.

    It runs after the write committed: the write stands and returns normally. When waffle's
    alias is Switchyard's (the recommended set-up), Switchyard's fault-tolerant accessor does
    it, with its back-off and its warning once per interval.
    """
    if get_setting("CACHE_NAME") == switchyard_settings.CACHE:
        cache.delete_many(keys)
        return
    try:
        get_cache().delete_many(keys)
    except Exception as error:
        logger.warning(
            "waffle's cache (alias %r) failed to delete %s: %s: %s; waffle's own API may "
            "serve the old flag until the entries expire.",
            get_setting("CACHE_NAME"),
            ", ".join(keys),
            type(error).__name__,
            error,
        )


# The key of the context tenant's plan in Context.lookups (see _plan_in).
_TENANT_PLAN = object()


def _plan_in(context: Any) -> Any:
    """Return the plan of ``context``'s tenant, asked once per context (None: no plan)."""
    lookups = context.lookups
    if _TENANT_PLAN not in lookups:
        lookups[_TENANT_PLAN] = plan_or_none(context.tenant)
    return lookups[_TENANT_PLAN]


def current_tenant() -> Any:
    """Return the tenant the connection is on, loading it when it is only a schema name."""
    return tenancy.current_tenant(load=True) or getattr(connection, "tenant", None)


class PlatformFlag(AbstractBaseFlag):
    """A waffle flag for the whole platform, targeting tenants, plans and kinds of users."""

    tenants = ArrayField(
        models.CharField(max_length=63),
        blank=True,
        default=list,
        help_text="Active for these tenants (schema names), whatever their plan.",
    )
    plans = ArrayField(
        models.CharField(max_length=50, validators=[validate_plan]),
        blank=True,
        default=list,
        help_text='Active for every tenant on one of these plans (SWITCHYARD["PLANS"]).',
    )
    tenant_percent = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(100)],
        verbose_name="percent of tenants",
        help_text=(
            "Active for this percentage of tenants (0-100), picked by a stable hash of the flag "
            "name and the tenant's schema: a tenant that is in at 10 stays in at 20."
        ),
    )
    superusers = models.BooleanField(
        default=False,
        help_text=(
            "Active for the superusers of every tenant (each tenant's owner is a superuser in "
            "its own schema). " + NO_USER_TARGETING
        ),
    )
    staff = models.BooleanField(
        default=False, help_text="Active for the staff users of every tenant."
    )
    authenticated = models.BooleanField(
        default=False, help_text="Active for every logged-in user of every tenant."
    )

    users = NoMembership("users")
    groups = NoMembership("groups")

    objects = FlagManager.from_queryset(PlatformFlagQuerySet)()  # type: ignore[misc]

    class Meta(AbstractBaseFlag.Meta):
        verbose_name = _("platform flag")
        verbose_name_plural = _("platform flags")

    _loaded_name: str | None = None

    @classmethod
    def from_db(
        cls, db: str | None, field_names: Collection[str], values: Collection[Any], **kwargs: Any
    ) -> PlatformFlag:
        flag = super().from_db(db, field_names, values, **kwargs)
        flag._loaded_name = flag.name
        return flag

    def flush(self) -> None:
        """Forget this flag in waffle's cache (after a save or delete commits), never raising."""
        forget_in_waffles_cache(self.get_flush_keys())

    def get_flush_keys(self, flush_keys: list[str] | None = None) -> list[str]:
        keys = super().get_flush_keys(flush_keys)
        if self._loaded_name and self._loaded_name != self.name:
            keys.append(self._cache_key(self._loaded_name))  # renamed: forget the old name too
        return keys

    def clean(self) -> None:
        super().clean()
        self.tenants = sorted(set(self.tenants))
        self.plans = sorted(set(self.plans))
        if self.tenants:
            from django_tenants.utils import get_tenant_model

            tenants = get_tenant_model()._default_manager
            known = set(tenants.values_list("schema_name", flat=True))
            unknown = [name for name in self.tenants if name not in known]
            if unknown:
                raise ValidationError(
                    {
                        "tenants": [
                            f"Unknown tenant {name!r}.{suggestion(name, known)}" for name in unknown
                        ]
                    }
                )

    # Evaluation ------------------------------------------------------------------------

    def is_active_for_tenant(self, tenant: Any) -> bool:
        """Return whether the tenant targeting (tenants, plans, percent) selects ``tenant``."""
        if tenant is None:
            return False
        schema_name = getattr(tenant, "schema_name", None)
        if schema_name in self.tenants:
            return True
        if self.plans and plan_or_none(tenant) in self.plans:
            return True
        return bool(
            self.tenant_percent
            and schema_name is not None
            and tenant_bucket(self.name, schema_name) < self.tenant_percent
        )

    def is_active_for_context(self, context: Any) -> bool:
        """Return whether the flag is on for a ``conditions.Context``: in memory, no query."""
        return self.context_rule()(context)

    def context_rule(self) -> Callable[[Any], bool]:
        """Return ``is_active_for_context`` for the row as it is now, its fields read once.

        The ``Flag`` condition's snapshot asks for it when it loads the row (a WAFFLE_*
        setting change reloads the snapshot), so a request only does what its context
        changes: the tenant (its plan asked once per context) and the request user's kind.
        The same decision as ``_decide`` (tests compare them).
        """
        # A loaded row is never "adding": one attribute, where the pk property costs a call.
        if self._state.adding and not self.pk:
            default = bool(waffle_setting("FLAG_DEFAULT"))
            return lambda context: default
        if needs_request(self) or waffle_setting("OVERRIDE"):
            # waffle's request rules (testing, languages, percent, ?name= overrides).
            return lambda context: self._decide(
                context.tenant, context.request, context.user, False
            )
        if self.everyone is not None:
            everyone = self.everyone
            return lambda context: everyone
        return self._targeting_rule()

    def _targeting_rule(self) -> Callable[[Any], bool]:
        # The tenant targeting, then waffle's user rules (their answer per kind of user, asked
        # of waffle's own code now: see waffle_rules.answers_by_user_kind).
        listed, plans = frozenset(self.tenants), frozenset(self.plans)
        percent, name = self.tenant_percent, self.name
        by_kind = answers_by_user_kind(self)
        no_user_rule = not any(by_kind)

        def rule(context: Any) -> bool:
            request, tenant = context.request, context.tenant
            if request is None:
                return self._decide(tenant, None, context.user, False)
            if tenant is not None:
                schema_name = getattr(tenant, "schema_name", None)
                if schema_name in listed or (plans and _plan_in(context) in plans):
                    return True
                if percent and schema_name and tenant_bucket(name, schema_name) < percent:
                    return True
            if no_user_rule:
                return False  # the request's user does not matter
            kind = request_user_kind(context)
            return kind != NO_USER and by_kind[kind]

        return rule

    def is_active_for_every_context(self) -> bool | None:
        """Return the answer no context can change (everyone on or off), else None.

        The ``Flag`` condition's snapshot asks it once per load instead of asking
        ``is_active_for_context`` per evaluation.
        """
        if waffle_setting("OVERRIDE"):
            return None  # ?name=1 or ?name=0 on a request decides first
        return self.everyone

    def is_active(self, request: HttpRequest, read_only: bool = False) -> bool | None:
        """Waffle's API (``flag_is_active``, ``{% flag %}``): decide for the request's tenant."""
        if not self.pk:
            return super().is_active(request, read_only)  # waffle's missing-flag handling
        tenant = getattr(request, "tenant", None) or current_tenant()
        return self._decide(tenant, request, None, read_only)

    def is_active_for_user(self, user: Any) -> bool | None:
        """Waffle's API without a request: decide for ``user`` on the connection's tenant."""
        return self._decide(current_tenant(), None, user, False)

    def _decide(self, tenant: Any, request: HttpRequest | None, user: Any, read_only: bool) -> bool:
        # WAFFLE_OVERRIDE and everyone come first, as in waffle; then the tenant targeting;
        # then waffle's own rules for the request or the user.
        if request is not None and self.name in request.GET and waffle_setting("OVERRIDE"):
            return request.GET[self.name] == "1"
        if self.everyone is not None:
            return self.everyone
        if self.is_active_for_tenant(tenant):
            return True
        if request is None:
            return user is not None and bool(AbstractBaseFlag.is_active_for_user(self, user))
        if needs_request(self):
            # waffle's request rules (testing, languages, the user kinds, percent and its
            # cookie), as conditions decides them: the user kinds alone for the user step, not
            # is_active_for_user above, which decides for the connection's tenant.
            return decide(self, request, read_only, self._user_kind)[0]
        user = getattr(request, "user", None)
        return bool(user) and bool(AbstractBaseFlag.is_active_for_user(self, user))

    def _user_kind(self, user: Any) -> str | None:
        return user_kind(self, user)

    def describe_for_context(self, context: Any) -> str:
        """Return which rule decides the flag for ``context`` (shown by ``explain()``)."""
        tenant = context.tenant
        schema_name = getattr(tenant, "schema_name", None)
        if self.everyone is not None:
            return f"everyone={'on' if self.everyone else 'off'}"
        if schema_name is not None and schema_name in self.tenants:
            return f"tenant {schema_name} is listed"
        plan = plan_or_none(tenant) if self.plans and tenant is not None else None
        if plan is not None and plan in self.plans:
            return f"plan {plan} is targeted"
        if self.tenant_percent and schema_name is not None:
            bucket = tenant_bucket(self.name, schema_name)
            relation = "<" if bucket < self.tenant_percent else ">="
            verdict = f"tenant {schema_name}: bucket {bucket} {relation} {self.tenant_percent}%"
            if bucket < self.tenant_percent or not self._has_user_rules():
                return verdict
        if self._has_user_rules():
            if context.request is None:
                return self._describe_without_request(context.user)
            return "decided by waffle's user rules (staff, superusers, authenticated, percent)"
        return "no rule targets this tenant"

    def _describe_without_request(self, user: Any) -> str:
        # Worded like the stock flags' explanations without a request (conditions.flags).
        if user is None:
            return "no request and no user: only everyone=on or a tenant rule could apply"
        return f"for user {user_name(user)} (no request): {self._user_rule(user)}"

    def _user_rule(self, user: Any) -> str:
        """Return which of waffle's user rules turns the flag on for ``user`` (no request)."""
        return user_kind(self, user) or "no user rule matched"

    def _has_user_rules(self) -> bool:
        # Waffle's request/user rules that can still switch the flag on past the tenant rules.
        return needs_request(self) or bool(self.staff or self.superusers or self.authenticated)


def flag_deleted(sender: Any, instance: PlatformFlag, **kwargs: Any) -> None:
    """Flush waffle's cache for a deleted flag, also when a queryset ``delete()`` removed it."""
    _flush_on_commit([instance.name])


def tenant_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    """Drop a deleted tenant from the flags listing it (a new tenant may reuse the schema)."""
    schema_name = instance.schema_name
    for flag in PlatformFlag.objects.filter(tenants__contains=[schema_name]):
        flag.tenants = [name for name in flag.tenants if name != schema_name]
        flag.save(update_fields=["tenants", "modified"])
