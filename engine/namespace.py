"""``request.strategy``: a lazy view of every registry for one context, memoised per request.

This is the one place that joins storage and resolution: it reads what the context's tenant
and user stored (``engine.storage.reads``, one cache round trip for all registries) and hands
it to the pure ``engine.resolution``. Work for a context whose tenant is not the connection's
runs in that tenant's schema, so conditions read that tenant's permissions and groups; a
namespace decides that once, at its first read (asking the connection costs microseconds).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from django.core.exceptions import SynchronousOnlyOperation

from conditions import Context
from engine import explain as explaining
from engine import resolution as resolving
from engine import tenancy
from engine.catalogue import get_registry, registries
from engine.exceptions import NeedsAwait, NoStrategyAvailable
from engine.platform.load import platform_state
from engine.set_resolution import resolve_any
from engine.storage import reads
from engine.storage.reads import stored_selections

if TYPE_CHECKING:
    from engine.explain import RegistryExplanation
    from engine.registry import Registry
    from engine.set_resolution import AnyResolution
    from engine.strategy import Strategy


class StrategyNamespace:
    """The strategies in force for one context: ``ns.payments`` or ``ns["payments"]``.

    Nothing happens until a registry is read; then it is resolved once and remembered. All
    registries share one ``Context`` (so each flag or permission is looked up once) and the
    one cache round trip that context makes for the stored selections.
    """

    __slots__ = ("_context", "_foreign", "_make_context", "_resolutions")

    def __init__(
        self, context: Context | Callable[[], Context], *, connection_tenant: bool = False
    ) -> None:
        """``connection_tenant``: the context's tenant is known to be the connection's (a
        request's context, set by the tenant middleware), so there is no schema to check."""
        if isinstance(context, Context):
            self._context: Context | None = context
            self._make_context: Callable[[], Context] | None = None
        else:
            self._context = None
            self._make_context = context
        self._resolutions: dict[str, AnyResolution] = {}
        # Whether the context's tenant is another schema than the connection's (None: not known).
        self._foreign: bool | None = False if connection_tenant else None

    @property
    def context(self) -> Context:
        """The one context every registry of this namespace is resolved against."""
        if self._context is None:
            assert self._make_context is not None
            self._context = self._make_context()
            self._make_context = None
        return self._context

    def resolution(self, key: str | type[Registry], *, tenant_level: bool = False) -> AnyResolution:
        """Return the resolution of registry ``key`` (the strategy in force and why).

        ``tenant_level`` leaves the user's own choice out (what applies to the tenant).
        """
        registry = get_registry(key)
        if tenant_level:
            return self._in_scope(self._resolve, registry, True, self.parent(registry, True))
        resolution = self._resolutions.get(registry.key)
        if resolution is None:
            try:
                parent = self.parent(registry)
                resolution = self._in_scope(self._resolve, registry, False, parent)
            except NeedsAwait:
                raise
            except SynchronousOnlyOperation as error:
                raise NeedsAwait(registry.key, "resolution") from error
            self._resolutions[registry.key] = resolution
        return resolution

    def parent(
        self, key: str | type[Registry], tenant_level: bool = False
    ) -> resolving.ParentInForce | None:
        """Return the parent strategy registry ``key`` is judged under (None: no parent).

        The parent's resolution is this namespace's own, memoised: resolving a child and its
        parent in one request resolves the parent once, from the same one read.
        """
        registry = get_registry(key)
        if registry.parent is None or registry.key in resolving.forced_strategies.get():
            return None  # no parent, or forced by a test: nothing to judge it under
        parent = resolving.parent_registry_of(registry)
        if parent is None:
            return resolving.ParentInForce(registry.parent, None)
        try:
            slug: str | None = self.resolution(parent, tenant_level=tenant_level).slug
        except NoStrategyAvailable:
            slug = None
        return resolving.ParentInForce(parent.key, slug)

    def get(self, key: str | type[Registry]) -> Any:
        """Return the strategy in force for registry ``key`` (a tuple of them for a set)."""
        return self.resolution(key).strategy

    def available(
        self,
        key: str | type[Registry],
        *,
        configured: bool = True,
        any_parent: bool = False,
    ) -> list[type[Strategy]]:
        """Return the strategies of registry ``key`` this request may use, in order.

        ``configured=False`` keeps those whose configuration is still missing (``not_configured``):
        what a form offers to configure and select in one step. For a child registry only those
        valid under the parent strategy in force (``any_parent``: under any).
        """
        registry = get_registry(key)
        parent = None if any_parent else self.parent(registry)
        return self._in_scope(self._available, registry, configured, parent)

    def _available(
        self,
        registry: type[Registry],
        configured: bool,
        parent: resolving.ParentInForce | None,
    ) -> list[type[Strategy]]:
        context = self.context
        found = resolving.offered(registry, context, platform_state(context))
        if parent is not None:
            found = [strategy for strategy in found if parent.serves(strategy)]
        if not configured or not registry._members.configurable:
            return found
        stored = stored_selections(context)
        return [s for s in found if not resolving.configuration(s, context, stored).missing]

    def explain(self, key: str | type[Registry]) -> RegistryExplanation:
        """Return why each strategy of registry ``key`` is or is not available, and which wins."""
        registry = get_registry(key)
        try:
            resolution: AnyResolution | None = self.resolution(registry)
        except NoStrategyAvailable:
            resolution = None  # explain() resolves again to show why
        return self._in_scope(self._explain, registry, resolution, self.parent(registry))

    def configuration(
        self, key: str | type[Registry], slug: str, *, tenant_level: bool = False
    ) -> resolving.Configured:
        """Return strategy ``slug``'s configuration here: its values and what is missing."""
        registry = get_registry(key)
        strategy = registry.get(slug)
        stored = self.stored()
        return resolving.configuration(strategy, self.context, stored, tenant_level)

    def stored(self) -> resolving.StoredSelections:
        """Return what the context's tenant and user stored (read once, with the resolution)."""
        return self._in_scope(stored_selections, self.context)

    def keys(self) -> list[str]:
        """Return the keys of every registry, sorted."""
        return sorted(registries())

    # The async API: the same answers, for async views. The first call of a request does the
    # request's I/O (the cache round trip, a query on a miss, the user's permissions, a flag
    # snapshot reload) in one thread hop; later calls are pure and run in the event loop,
    # falling back to one more hop only if a condition needs something not loaded yet.

    async def aresolution(
        self, key: str | type[Registry], *, tenant_level: bool = False
    ) -> AnyResolution:
        """Return ``resolution(key)`` from async code."""
        return await self._await(self.resolution, key, tenant_level=tenant_level)

    async def aget(self, key: str | type[Registry]) -> Any:
        """Return the strategy (a tuple for a set) in force for ``key``, from async code."""
        return (await self.aresolution(key)).strategy

    async def aavailable(
        self, key: str | type[Registry], *, configured: bool = True
    ) -> list[type[Strategy]]:
        """Return ``available(key)`` from async code."""
        return await self._await(self.available, key, configured=configured)

    async def aexplain(self, key: str | type[Registry]) -> RegistryExplanation:
        """Return ``explain(key)`` from async code."""
        return await self._await(self.explain, key)

    async def aconfiguration(
        self, key: str | type[Registry], slug: str, *, tenant_level: bool = False
    ) -> resolving.Configured:
        """Return ``configuration(key, slug)`` from async code."""
        return await self._await(self.configuration, key, slug, tenant_level=tenant_level)

    async def astored(self) -> resolving.StoredSelections:
        """Return ``stored()`` from async code."""
        return await self._await(self.stored)

    async def _await(self, work: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self._context is not None and reads.MEMO in self._context.extra:
            try:
                return work(*args, **kwargs)  # inputs loaded: pure, in the event loop
            except SynchronousOnlyOperation:
                pass  # a condition needs the database after all: one hop
        return await sync_to_async(work)(*args, **kwargs)

    def _resolve(
        self,
        registry: type[Registry],
        tenant_level: bool,
        parent: resolving.ParentInForce | None,
    ) -> AnyResolution:
        context = self.context
        forced = resolving.forced_strategies.get()
        if registry.key in forced:
            # A strategy forced by a test needs nothing stored (and no database).
            return resolve_any(registry, context, tenant_level=tenant_level, parent=parent)
        stored = stored_selections(context)  # the round trip that also fetches the stamp
        return resolve_any(
            registry,
            context,
            stored,
            tenant_level=tenant_level,
            platform=platform_state(context),
            parent=parent,
        )

    def _explain(
        self,
        registry: type[Registry],
        resolution: AnyResolution | None,
        parent: resolving.ParentInForce | None,
    ) -> RegistryExplanation:
        context = self.context
        stored = stored_selections(context)
        platform = platform_state(context)
        return explaining.explain(registry, context, stored, resolution, platform, parent)

    def _in_scope(self, work: Callable[..., Any], *args: Any) -> Any:
        foreign = self._foreign
        if foreign is None:
            foreign = self._foreign = tenancy.foreign(self.context.tenant)
        if not foreign:
            return work(*args)
        with tenancy.tenant_scope(self.context.tenant):
            return work(*args)

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)  # copy/pickle probes must not resolve anything
        return self._sync_get(key)

    def __getitem__(self, key: str) -> Any:
        return self._sync_get(key)

    def _sync_get(self, key: str) -> Any:
        try:
            return self.resolution(key).strategy
        except SynchronousOnlyOperation as error:  # NeedsAwait of resolution() included
            raise NeedsAwait(key) from error

    def __contains__(self, key: object) -> bool:
        return key in registries()

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __dir__(self) -> list[str]:
        return [*super().__dir__(), *self.keys()]

    def __repr__(self) -> str:
        resolved = ", ".join(f"{key}={res.slug}" for key, res in self._resolutions.items())
        return f"<StrategyNamespace resolved: {resolved or 'nothing yet'}>"


def resolve(
    key: str | type[Registry],
    *,
    tenant: Any = None,
    user: Any = None,
    context: Context | None = None,
) -> AnyResolution:
    """Return the resolution of registry ``key`` for ``tenant`` and ``user``, outside a request.

    ``tenant`` defaults to the tenant the connection is set to. Pass ``context`` instead to
    resolve several registries against one context (one cache round trip for all of them).
    """
    registry = get_registry(key)
    if context is not None:
        if tenant is not None or user is not None:
            raise TypeError("resolve() takes either context= or tenant=/user=, not both")
    else:
        context = Context(
            user=user, tenant=tenant if tenant is not None else tenancy.current_tenant()
        )
    return StrategyNamespace(context).resolution(registry)


async def aresolve(
    key: str | type[Registry],
    *,
    tenant: Any = None,
    user: Any = None,
    context: Context | None = None,
) -> AnyResolution:
    """``resolve()`` from async code: the whole resolution in one thread hop.

    Hops run one at a time on Django's sync thread, each switching the connection to its
    tenant's schema and back inside the hop, so concurrent ``aresolve`` calls for several
    tenants (``asyncio.gather``) never see each other's schema.
    """
    return await sync_to_async(resolve)(key, tenant=tenant, user=user, context=context)
