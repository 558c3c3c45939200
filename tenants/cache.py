"""Host -> tenant routing entries in Switchyard's cache: fault tolerant, with bounded staleness.

The entries live in the alias ``SWITCHYARD["CACHE"]`` (plain keys, no schema prefix), reached
only through ``conditions.cache``: a cache that fails is a miss and the database answers, and
nothing here ever raises because of the cache.

Staleness is bounded without a query per request. Hosts fall into ``BUCKETS`` buckets (the
first byte of the MD5 of the host name, computed alike here and in SQL). Once per
``STALENESS_BOUND`` seconds, platform-wide, one process wins an ``add`` of the check key and
reads, in one query, a fingerprint of every bucket: an MD5 of its domain rows and their tenant
rows, read from PostgreSQL. Each routing entry is labelled with the fingerprint of its bucket
when it was loaded, and is served only while that label equals the bucket's current
fingerprint. Whatever happened to an invalidation (a writer that could not reach the cache,
the cache down at write time, the cache restored from an old snapshot), the next check sees
the committed rows and the entries of the changed buckets stop being served: within
``STALENESS_BOUND`` seconds of the cache being reachable. Expiry is the cache server's own
clock, so machines with skewed clocks agree.

One round trip serves the whole request. Each process remembers which schema each host routed
to last (``predicted_schema``, at most ``PREDICTED_HOSTS`` hosts): the routing ``get_many``
also fetches the keys the engine reads first for that schema (``extra_keys``: the tenant's
selections, the conditions' stamps and, behind a session cookie, the own selections of the user
``engine.storage.session_users`` last saw behind it), and the middleware hands them to the
engine only when the validated routing agrees with the prediction. The prediction decides what
to fetch, never where to route, so a wrong or stale one costs the engine its own round trip
later, not another tenant's data.

A saved or deleted tenant or domain still forgets its hosts after commit (with the keys
computed when the write happens), so a working cache shows a change at once; the check is what
bounds a lost invalidation. Unknown hosts are remembered briefly (``TENANT_MISS_TIMEOUT``) so a
flood of bad hosts does not reach the database on every request.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from functools import cache as memoise
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from django.core.signals import setting_changed
from django.db import connections, transaction
from django_tenants.utils import (
    get_public_schema_name,
    get_tenant_database_alias,
    get_tenant_domain_model,
    get_tenant_model,
)

from conditions import cache
from engine.conf import settings
from engine.guesses import Guesses
from engine.storage.cache import package_version

if TYPE_CHECKING:
    # For annotations only: the tenant is an instance of the project's TENANT_MODEL.
    from django_tenants.models import TenantMixin as Tenant

logger = logging.getLogger("switchyard.tenants")

# Stored for a host that routes to no tenant.
MISSING = "switchyard:no-tenant"
# Hosts fall into this many buckets; a routing write makes the hosts of its bucket reload.
BUCKETS = 256
# The fingerprint of a bucket without any domain.
EMPTY_BUCKET = "empty"


@memoise
def _tenant_model_and_alias() -> tuple[type[Tenant], str]:
    """Return ``TENANT_MODEL`` and ``TENANT_DB_ALIAS``, read once: every warm request decodes
    its tenant with them, and reading an unset ``TENANT_DB_ALIAS`` costs Django's settings an
    exception each time (about 5 us)."""
    return get_tenant_model(), get_tenant_database_alias()


def _tenant_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in ("TENANT_MODEL", "TENANT_DB_ALIAS"):
        _tenant_model_and_alias.cache_clear()


setting_changed.connect(_tenant_setting_changed, dispatch_uid="switchyard.tenants.cache")


@memoise
def _key_prefix() -> str:
    return f"switchyard:{package_version()}:tenant-host"


def host_key(hostname: str) -> str:
    """Return the cache key of ``hostname``'s routing entry (the same under every schema)."""
    # Host names are case-insensitive in DNS but matched exactly by django-tenants; hash long
    # ones so the key fits memcached's 250-character limit.
    if len(hostname) > 150:
        hostname = hashlib.sha256(hostname.encode()).hexdigest()
    return f"{_key_prefix()}:{hostname}"


def bucket_of(hostname: str) -> int:
    """Return the bucket of ``hostname``: the first byte of its MD5, as the SQL computes it."""
    return hashlib.md5(hostname.encode(), usedforsecurity=False).digest()[0]


def bucket_key(bucket: int) -> str:
    """Return the cache key holding ``(check token, fingerprint)`` of one bucket."""
    return f"{_key_prefix()}s:bucket:{bucket}"


def check_key() -> str:
    """Return the key whose presence means "the fingerprints were read within the bound"."""
    return f"{_key_prefix()}s:checked"


class Route(NamedTuple):
    """What the cache says about a host, and how to label what the database answers."""

    # The tenant, ``MISSING`` for a host known to route nowhere, or None: ask the database.
    found: Tenant | str | None
    # The fingerprint to label a new entry with; None: the cache cannot vouch, store nothing.
    fingerprint: str | None
    # The values of the ``extra_keys`` the cache holds (absent: a miss), fetched in the same trip.
    fetched: Mapping[str, Any] = MappingProxyType({})


def lookup(hostname: str, extra_keys: Sequence[str] = ()) -> Route:
    """Return the cached routing of ``hostname``, validated in one round trip; never raises.

    ``extra_keys`` are fetched in the same ``get_many``; their values do not depend on the
    routing's being valid.
    """
    key, bucket = host_key(hostname), bucket_of(hostname)
    values = cache.get_many([key, bucket_key(bucket), check_key(), *extra_keys])
    if not cache.healthy():  # it failed just now or lately: the database answers
        return Route(None, None)
    fetched = {extra: values[extra] for extra in extra_keys if extra in values}
    fingerprint = _fingerprint(values.get(check_key()), values.get(bucket_key(bucket)), bucket)
    if fingerprint is None:
        return Route(None, None, fetched)
    return Route(_decode(values.get(key), fingerprint), fingerprint, fetched)


# At most this many hosts' predictions are kept per process (about 0.2 KiB each); past it the
# oldest are forgotten, which costs those hosts a second round trip, nothing else.
PREDICTED_HOSTS = 10_000
_predicted: Guesses[str, str] = Guesses(PREDICTED_HOSTS)


def predicted_schema(hostname: str) -> str | None:
    """Return the schema ``hostname`` routed to last in this process (a guess), or None."""
    return _predicted.get(hostname)


def predict(hostname: str, schema: str | None) -> None:
    """Remember that ``hostname`` routed to ``schema`` (None: to no tenant) in this process."""
    _predicted.remember(hostname, schema)


def forget_predictions() -> None:
    """Forget every prediction of this process (tests)."""
    _predicted.clear()


def cached_tenant(hostname: str) -> Tenant | str | None:
    """Return the cached tenant of ``hostname``, ``MISSING`` for a known-unknown host, or None."""
    return lookup(hostname).found


def _fingerprint(token: Any, stored: Any, bucket: int) -> str | None:
    """Return the bucket's fingerprint if it is from the current check, else None.

    No check key: the last check is older than the bound, and the one process whose ``add``
    wins reads the fingerprints now. The others, and anyone who finds a fingerprint written by
    another check (a check whose ``set_many`` failed, a snapshot taken half-way), trust nothing
    until the next check: a database read, not a stale answer.
    """
    if token is None:
        token = uuid.uuid4().hex
        if not cache.add(check_key(), token, timeout=settings.STALENESS_BOUND):
            return None
        return _refresh(token)[bucket]
    if isinstance(stored, tuple) and len(stored) == 2 and stored[0] == token:
        return str(stored[1])
    return None


def _refresh(token: str) -> list[str]:
    """Read every bucket's fingerprint from the database and store it under ``token``."""
    fingerprints = [EMPTY_BUCKET] * BUCKETS
    with connections[get_tenant_database_alias()].cursor() as cursor:
        cursor.execute(_fingerprint_sql())
        for bucket, fingerprint in cursor.fetchall():
            fingerprints[bucket] = fingerprint
    # Set after the check key, so they expire after it: never a check key without them
    # unless a write failed, which _fingerprint treats as "unknown".
    cache.set_many(
        {bucket_key(b): (token, fp) for b, fp in enumerate(fingerprints)},
        timeout=settings.STALENESS_BOUND,
    )
    return fingerprints


@memoise
def _fingerprint_sql() -> str:
    """One query: per bucket, the MD5 of its domain rows and their tenants' rows (all columns).

    Tables are schema-qualified, so the query reads the public schema whatever the
    connection's ``search_path`` is (a transaction-pooling PgBouncer may hand over any).
    """
    tenant_model, domain_model = get_tenant_model(), get_tenant_domain_model()
    quote = connections[get_tenant_database_alias()].ops.quote_name
    public = quote(get_public_schema_name())
    domain = quote(domain_model._meta.get_field("domain").column)
    return (
        f"SELECT get_byte(decode(md5(d.{domain}), 'hex'), 0), "
        f"md5(string_agg(d::text || t::text, ',' ORDER BY d.{quote(domain_model._meta.pk.column)}))"
        f" FROM {public}.{quote(domain_model._meta.db_table)} d"
        f" JOIN {public}.{quote(tenant_model._meta.db_table)} t"
        f" ON t.{quote(tenant_model._meta.pk.column)}"
        f" = d.{quote(domain_model._meta.get_field('tenant').column)}"
        " GROUP BY 1"
    )


def _decode(entry: Any, fingerprint: str) -> Tenant | str | None:
    """Return the tenant (or ``MISSING``) of an entry labelled ``fingerprint``, else None."""
    if not (isinstance(entry, tuple) and len(entry) == 2 and entry[0] == fingerprint):
        return None  # absent, of another format, or loaded before the bucket last changed
    payload = entry[1]
    if payload == MISSING:
        return MISSING
    try:
        field_names, values = payload
        # from_db marks a field added since the entry was written as deferred (loaded on
        # access).
        model, alias = _tenant_model_and_alias()
        return model.from_db(alias, field_names, values)
    except (TypeError, ValueError, LookupError):
        return None  # an entry this code cannot read (another release's) is a miss


def remember_tenant(hostname: str, tenant: Tenant, fingerprint: str) -> None:
    """Cache ``tenant`` (its field values, not a pickled instance) as ``hostname``'s tenant."""
    fields = [field.attname for field in tenant._meta.concrete_fields]
    payload = (fields, [getattr(tenant, name) for name in fields])
    cache.set(host_key(hostname), (fingerprint, payload), settings.TENANT_CACHE_TIMEOUT)


def remember_missing(hostname: str, fingerprint: str) -> None:
    """Cache that ``hostname`` routes to no tenant, for ``TENANT_MISS_TIMEOUT`` seconds."""
    cache.set(host_key(hostname), (fingerprint, MISSING), settings.TENANT_MISS_TIMEOUT)


def forget_hosts(hostnames: Iterable[str]) -> None:
    """Forget the entries of ``hostnames`` once the current transaction commits.

    The keys are computed now: the transaction may switch schema or change the rows before
    it commits, and what must be forgotten is what was written. The callback never raises
    (and is robust besides): a write commits and returns whatever the cache does.
    """
    hosts = set(hostnames)
    keys = sorted({host_key(host) for host in hosts})
    if keys:
        transaction.on_commit(functools.partial(_forget, keys, min(hosts)), robust=True)


_lost_lock = threading.Lock()
_lost_since_warning = 0
_last_warning = float("-inf")


def _forget(keys: list[str], example: str) -> None:
    if cache.delete_many(keys):
        return
    # The change is committed; only its invalidation was lost. The next check (within the
    # bound) makes every process serve it: say so, once per warning interval.
    global _lost_since_warning, _last_warning
    now = time.monotonic()
    with _lost_lock:
        _lost_since_warning += len(keys)
        due = now - _last_warning >= float(settings.CACHE_WARNING_INTERVAL)
        if due:
            lost, _lost_since_warning, _last_warning = _lost_since_warning, 0, now
    if due:
        logger.warning(
            "Switchyard could not tell its cache (alias %r) that %d host routing(s) changed "
            "(e.g. %s). The change is committed; every process serves it within "
            "STALENESS_BOUND=%ss of the cache being reachable.",
            settings.CACHE,
            lost,
            example,
            settings.STALENESS_BOUND,
        )


def tenant_saved(sender: Any, instance: Tenant, created: bool = False, **kwargs: Any) -> None:
    """Forget every host of a tenant that was saved or deleted (its plan may have changed)."""
    if created:
        return  # a new tenant has no domain yet
    domains = get_tenant_domain_model()._default_manager.filter(tenant_id=instance.pk)
    forget_hosts(domains.values_list("domain", flat=True))


def domain_will_save(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    """Forget the host a domain had before this save (it may be renamed)."""
    if instance.pk is not None and not raw:
        previous = (
            type(instance)._default_manager.filter(pk=instance.pk).values_list("domain", flat=True)
        )
        forget_hosts(previous)


def domain_saved(sender: Any, instance: Any, **kwargs: Any) -> None:
    """Forget the host of a domain that was saved or deleted (also a cached "unknown")."""
    forget_hosts([instance.domain])
