"""``Registry``: a swappable behaviour and its strategies, used as a class (never instantiated).

A subclass that sets ``key`` is registered under it (``engine.catalogue`` keeps the
catalogue); strategies add themselves when their class is created. Writers (class creation)
copy, change and swap the state under a lock; readers (every request) read one immutable
``Members`` value, so no reader ever sees a registry half-changed.

The classmethods that read or write stored selections are a façade: they delegate to
``engine.namespace`` (resolve, explain) and ``engine.storage`` (select, deselect).
"""

from __future__ import annotations

import inspect
import keyword
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

from asgiref.sync import sync_to_async

from engine import catalogue
from engine.catalogue import created_registries, get_registry, qualified_name, registries
from engine.config import config_class
from engine.exceptions import RegistrationError, UnknownStrategy
from engine.namespace import StrategyNamespace
from engine.storage import configs, writes

if TYPE_CHECKING:
    from conditions import Context
    from engine.explain import RegistryExplanation
    from engine.set_resolution import AnyResolution
    from engine.strategy import Strategy

__all__ = [
    "Members",
    "Registry",
    "RegistryMeta",
    "created_registries",
    "get_registry",
    "lineage",
    "qualified_name",
    "registries",
]

KEY_MAX_LENGTH = 100
# Names of request.strategy's own API: a registry key must not shadow them.
RESERVED_KEYS = frozenset(
    {"available", "configuration", "context", "explain", "get", "keys", "parent"}
    | {"resolution", "stored"}
    | {"aavailable", "aconfiguration", "aexplain", "aget", "aresolution", "astored"}
)


@dataclass(frozen=True)
class Members:
    """The strategies of one registry at one moment: ordered by ``(priority, slug)``."""

    ordered: tuple[type[Strategy], ...] = ()
    by_slug: Mapping[str, type[Strategy]] = field(default_factory=lambda: MappingProxyType({}))
    # Whether any of them declares a Config: listings skip the configuration check when none
    # does (asking each strategy per listing cost as much as a fifth of the conditions).
    configurable: bool = False


class RegistryMeta(type):
    """Registers every ``Registry`` subclass that sets its own ``key``; iterable, sized."""

    _members: Members
    key: str
    multiple: bool
    parent: str | None

    def __init__(cls, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> None:
        super().__init__(name, bases, namespace)
        cls._members = Members()
        if "key" not in namespace:
            return  # Registry itself or an intermediate base
        _validate_key(cls, namespace["key"])
        if "label" not in namespace:
            cls.label = cls.key.replace("_", " ").capitalize()
        if "description" not in namespace:
            cls.description = inspect.cleandoc(namespace.get("__doc__") or "")
        default = getattr(cls, "default", None)
        # A set's default(s) are checked by the system checks (switchyard.E15x), not here.
        if default is not None and not isinstance(default, str) and not cls.multiple:
            raise RegistrationError(
                f"{qualified_name(cls)}.default is {default!r}; expected a strategy slug or None."
            )
        cls.parent = _parent_key(cls, getattr(cls, "parent", None))
        catalogue.add(cls)  # type: ignore[arg-type]

    def __iter__(cls) -> Iterator[type[Strategy]]:
        return iter(cls._members.ordered)

    def __len__(cls) -> int:
        return len(cls._members.ordered)

    def __contains__(cls, item: object) -> bool:
        by_slug = cls._members.by_slug
        if isinstance(item, str):
            return item in by_slug
        return by_slug.get(getattr(item, "slug", None)) is item  # type: ignore[arg-type]

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            f"{cls.__name__} is a registry, used as a class (e.g. {cls.__name__}.get(slug)); "
            "it has no instances."
        )

    def __repr__(cls) -> str:
        key = getattr(cls, "key", None)
        return f"<Registry {key!r}: {cls.__name__}>" if key else f"<Registry base {cls.__name__}>"

    def _add(cls, strategy: type[Strategy]) -> None:
        """Add ``strategy``; the same class re-imported (same qualified name) replaces itself."""
        name = qualified_name(strategy)
        with catalogue.lock:
            current = cls._members
            kept = [member for member in current.ordered if qualified_name(member) != name]
            taken = next((member for member in kept if member.slug == strategy.slug), None)
            if taken is not None:
                raise RegistrationError(
                    f"Strategy slug {strategy.slug!r} of registry {cls.key!r} is taken by "
                    f"{qualified_name(taken)}; {name} needs another slug."
                )
            ordered = tuple(sorted([*kept, strategy], key=lambda s: (s.priority, s.slug)))
            by_slug = MappingProxyType({member.slug: member for member in ordered})
            configurable = any(config_class(member) for member in ordered)
            cls._members = Members(ordered, by_slug, configurable)


class Registry(metaclass=RegistryMeta):
    """A swappable behaviour: ``key`` names it in storage and on ``request.strategy``.

    ``default`` (a slug or None) is preferred when no selection is usable; ``user_selectable``
    (default False) lets each user override the tenant's choice. ``multiple = True`` makes it
    hold an ordered set (``default`` then a tuple of slugs), of ``min_selected`` to
    ``max_selected`` strategies, always with the ``mandatory`` ones. ``parent`` (a registry key
    or class, default None) makes it a child registry: its strategies are valid only under the
    parent strategies they name in ``parents``.
    """

    key: ClassVar[str]
    label: ClassVar[str]
    description: ClassVar[str] = ""
    default: ClassVar[Any] = None  # a slug; for a multiple registry a tuple of slugs
    user_selectable: ClassVar[bool] = False
    multiple: ClassVar[bool] = False
    min_selected: ClassVar[int] = 1
    max_selected: ClassVar[int | None] = None
    mandatory: ClassVar[tuple[str, ...]] = ()
    parent: ClassVar[str | None] = None
    # Templates read registries as classes ({{ registry.label }}) instead of calling them.
    do_not_call_in_templates: ClassVar[bool] = True

    @classmethod
    def strategies(cls) -> tuple[type[Strategy], ...]:
        """Return every strategy, ordered by ``(priority, slug)``."""
        return cls._members.ordered

    @classmethod
    def slugs(cls) -> tuple[str, ...]:
        """Return every slug, ordered like ``strategies()``."""
        return tuple(strategy.slug for strategy in cls._members.ordered)

    @classmethod
    def defaults(cls) -> tuple[str, ...]:
        """Return the default slug(s) as a tuple (empty without a default)."""
        default = cls.default
        if default is None:
            return ()
        if isinstance(default, str):
            return (default,)
        return tuple(default) if isinstance(default, list | tuple) else ()

    @classmethod
    def parent_registry(cls) -> type[Registry] | None:
        """Return the parent registry (None at the top); ``RegistrationError`` on a cycle."""
        if cls.parent is None:
            return None
        lineage(cls)  # a cycle would make resolution recurse for ever: refuse it here
        return get_registry(cls.parent)

    @classmethod
    def get(cls, slug: str) -> type[Strategy]:
        """Return the strategy class registered as ``slug``; ``UnknownStrategy`` if none."""
        by_slug = cls._members.by_slug
        try:
            return by_slug[slug]
        except (KeyError, TypeError):
            raise UnknownStrategy(cls.key, str(slug), by_slug) from None

    @classmethod
    def available(cls, context: Context, *, configured: bool = True) -> list[type[Strategy]]:
        """Return the strategies available in ``context``, in order (``configured=False``: also
        those whose condition is met but whose configuration is missing)."""
        return StrategyNamespace(context).available(cls, configured=configured)

    @classmethod
    def choices(cls, context: Context | None = None) -> list[tuple[str, str]]:
        """Return ``(slug, label)`` of the strategies available in ``context`` (None: all)."""
        strategies = cls.strategies() if context is None else cls.available(context)
        return [(strategy.slug, str(strategy.label)) for strategy in strategies]

    @classmethod
    def resolve(cls, context: Context) -> AnyResolution:
        """Return the strategy (or set) in force for ``context`` and why (``engine.resolution``)."""
        return StrategyNamespace(context).resolution(cls)

    @classmethod
    def explain(cls, context: Context) -> RegistryExplanation:
        """Return, for every strategy, whether it is available and why, and what is in force."""
        return StrategyNamespace(context).explain(cls)

    @classmethod
    def build(cls, strategy: type[Strategy], context: Context) -> Strategy:
        """Instantiate ``strategy`` for ``context``; override to inject dependencies."""
        if strategy.switchyard_takes_context:
            return strategy(context)
        return strategy()

    # The writes below are a façade over engine.storage.writes: their signatures repeat it on
    # purpose (``PaymentGateways.select(...)`` is the documented way in), the work is there.

    @classmethod
    def validate_selection(
        cls,
        slug: str,
        context: Context,
        user: Any = None,
        *,
        configured: bool = True,
        parent: str | None = None,
    ) -> type[Strategy]:
        """Return the strategy ``slug`` if ``context`` may select it, else ``ValidationError``
        (``configured=False``: whether its configuration is stored is not checked; a child's:
        under the parent in force, or under the parent slug ``parent``)."""
        return writes.validate_selection(
            cls, slug, context, user, configured=configured, parent=parent
        )

    @classmethod
    def validate_set(
        cls, slugs: Sequence[str], context: Context, user: Any = None
    ) -> tuple[str, ...]:
        """Return the slugs of the set ``slugs`` if ``context`` may select it, else raise."""
        return writes.validate_set(cls, slugs, context, user)

    @classmethod
    def select(
        cls,
        slug: str | Sequence[str],
        context: Context,
        user: Any = None,
        *,
        changed_by: Any = None,
        via: str = "api",
    ) -> Any:
        """Validate, then store ``slug`` (a list of slugs for a multiple registry) as the
        tenant's (or ``user``'s) choice."""
        return writes.select(cls, slug, context, user, changed_by=changed_by, via=via)

    @classmethod
    async def aselect(
        cls,
        slug: str | Sequence[str],
        context: Context,
        user: Any = None,
        *,
        changed_by: Any = None,
        via: str = "api",
    ) -> Any:
        """``select()`` from async code (one thread hop)."""
        return await sync_to_async(cls.select)(slug, context, user, changed_by=changed_by, via=via)

    @classmethod
    async def adeselect(
        cls, context: Context, user: Any = None, *, changed_by: Any = None, via: str = "api"
    ) -> None:
        """``deselect()`` from async code (one thread hop)."""
        await sync_to_async(cls.deselect)(context, user, changed_by=changed_by, via=via)

    @classmethod
    def deselect(
        cls, context: Context, user: Any = None, *, changed_by: Any = None, via: str = "api"
    ) -> None:
        """Remove the tenant's (or ``user``'s) stored choice; resolution falls back."""
        writes.deselect(cls, context, user, changed_by=changed_by, via=via)

    # Configuration (engine.storage.configs): validated by the one clean_config every surface
    # uses; secrets encrypted; a blank secret keeps the stored one.

    @classmethod
    def configure(
        cls,
        slug: str,
        values: Mapping[str, Any],
        context: Context,
        user: Any = None,
        *,
        changed_by: Any = None,
        via: str = "api",
        select: bool = False,
    ) -> Any:
        """Validate, then store ``values`` as strategy ``slug``'s configuration (``select``:
        select it too, in the same transaction)."""
        return configs.configure(
            cls, slug, values, context, user, changed_by=changed_by, via=via, select=select
        )

    @classmethod
    async def aconfigure(
        cls,
        slug: str,
        values: Mapping[str, Any],
        context: Context,
        user: Any = None,
        *,
        changed_by: Any = None,
        via: str = "api",
        select: bool = False,
    ) -> Any:
        """``configure()`` from async code (one thread hop)."""
        return await sync_to_async(cls.configure)(
            slug, values, context, user, changed_by=changed_by, via=via, select=select
        )

    @classmethod
    def validate_configuration(
        cls, slug: str, values: Mapping[str, Any], context: Context, user: Any = None
    ) -> None:
        """Raise ``ValidationError`` unless ``values`` may be stored as ``slug``'s configuration."""
        configs.validate_configuration(cls, slug, values, context, user)

    @classmethod
    def clear_configuration(
        cls,
        slug: str,
        context: Context,
        user: Any = None,
        *,
        changed_by: Any = None,
        via: str = "api",
    ) -> None:
        """Remove strategy ``slug``'s stored configuration (the tenant's, or ``user``'s)."""
        configs.clear_configuration(cls, slug, context, user, changed_by=changed_by, via=via)

    @classmethod
    async def aclear_configuration(
        cls,
        slug: str,
        context: Context,
        user: Any = None,
        *,
        changed_by: Any = None,
        via: str = "api",
    ) -> None:
        """``clear_configuration()`` from async code (one thread hop)."""
        await sync_to_async(cls.clear_configuration)(
            slug, context, user, changed_by=changed_by, via=via
        )

    @classmethod
    async def aconfiguration(
        cls, slug: str, context: Context, *, tenant_level: bool = False
    ) -> Any:
        """``configuration()`` from async code (at most one thread hop)."""
        return await StrategyNamespace(context).aconfiguration(cls, slug, tenant_level=tenant_level)

    @classmethod
    def configuration(cls, slug: str, context: Context, *, tenant_level: bool = False) -> Any:
        """Return strategy ``slug``'s configuration in ``context`` (``.values``, ``.missing``),
        read with the selections (one cache round trip)."""
        return StrategyNamespace(context).configuration(cls, slug, tenant_level=tenant_level)


def lineage(registry: type[Registry]) -> tuple[type[Registry], ...]:
    """Return ``registry``'s ancestors, parent first; ``RegistrationError`` if they cycle."""
    found: list[type[Registry]] = []
    seen = {registry.key}
    current = registry
    while current.parent is not None:
        if current.parent in seen:
            chain = " → ".join(
                [registry.key, *(ancestor.key for ancestor in found), current.parent]
            )
            raise RegistrationError(
                f"The parent registries of {registry.key!r} form a cycle: {chain}; a registry "
                "cannot be its own ancestor."
            )
        current = get_registry(current.parent)
        seen.add(current.key)
        found.append(current)
    return tuple(found)


def _parent_key(cls: type, parent: object) -> str | None:
    """Return the key of a declared ``parent`` (a key, a registry class or None)."""
    if parent is None or (isinstance(parent, str) and parent):
        return parent
    if isinstance(parent, RegistryMeta) and getattr(parent, "key", None):
        return parent.key
    raise RegistrationError(
        f"{qualified_name(cls)}.parent is {parent!r}; expected a registry key (e.g. 'payments'), "
        "a Registry subclass that sets `key`, or None."
    )


def _validate_key(cls: type, key: object) -> None:
    name = qualified_name(cls)
    if (
        not isinstance(key, str)
        or not key.isidentifier()
        or keyword.iskeyword(key)
        or key.startswith("_")
        or len(key) > KEY_MAX_LENGTH
    ):
        raise RegistrationError(
            f"{name}.key is {key!r}; expected a Python identifier not starting with '_' "
            f"(at most {KEY_MAX_LENGTH} characters), e.g. 'payments': it is an attribute "
            "of request.strategy."
        )
    if key in RESERVED_KEYS:
        raise RegistrationError(
            f"{name}.key {key!r} would shadow request.strategy.{key}; reserved names: "
            f"{', '.join(sorted(RESERVED_KEYS))}."
        )
