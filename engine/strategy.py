"""``Strategy``: one option of a registry; a class registers itself when it sets ``slug``.

An intermediate base such as ``class PaymentGateway(Strategy): registry = PaymentGateways``
declares the registry and the interface (``abc.abstractmethod``) and is not registered; each
concrete subclass that sets its own ``slug`` is. Classes that cannot subclass ``Strategy`` (a
conflicting metaclass, a third-party base) use the ``register(registry)`` decorator.
"""

from __future__ import annotations

import inspect
import re
from abc import ABCMeta
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, TypeVar

from conditions import Always, Condition, Context
from engine.config import ConfigValues, config_class
from engine.exceptions import RegistrationError
from engine.registry import Registry, RegistryMeta, qualified_name
from engine.resolution import is_available

T = TypeVar("T", bound=type)

# The shape of a slug: what Django's validate_slug accepts, and what fits the stored column.
SLUG_PATTERN = re.compile(r"^[-a-zA-Z0-9_]+\Z")
SLUG_MAX_LENGTH = 100
DEFAULT_PRIORITY = 100

# Declarative attributes every registered class carries (filled with defaults when missing).
DECLARED = ("slug", "label", "description", "priority", "condition", "icon", "parents")


class StrategyMeta(ABCMeta):
    """Registers every ``Strategy`` subclass that sets its own ``slug`` with its registry."""

    def __init__(cls, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> None:
        super().__init__(name, bases, namespace)
        if "slug" not in namespace:
            return  # an intermediate base (or Strategy itself): nothing to register
        registry = getattr(cls, "registry", None)
        if registry is None:
            raise RegistrationError(
                f"{qualified_name(cls)} sets slug {namespace['slug']!r} but no registry: set "
                "`registry = SomeRegistry` on it or on its base class."
            )
        if cls.__abstractmethods__:
            missing = ", ".join(sorted(cls.__abstractmethods__))
            raise RegistrationError(
                f"{qualified_name(cls)} (slug {namespace['slug']!r}) does not implement the "
                f"abstract method(s) {missing} of its base class."
            )
        _declare(cls, namespace)
        _registry_class(cls, registry)._add(cls)  # type: ignore[arg-type]


class Strategy(metaclass=StrategyMeta):
    """One option of a registry, instantiated per resolution with the context it serves.

    Subclasses set ``slug`` (registers the class), and may set ``label`` (default: from the
    slug), ``description`` (default: the docstring), ``priority`` (default 100; lower is
    preferred when falling back), ``condition`` (default ``Always()``), ``icon``, a nested
    ``class Config(StrategyConfig)`` (read back as ``self.config``) and, in a child registry,
    ``parents`` (the parent strategies' slugs it serves; default None: all).
    """

    registry: ClassVar[type[Registry] | None] = None
    slug: ClassVar[str]
    label: ClassVar[str]
    description: ClassVar[str] = ""
    priority: ClassVar[int] = DEFAULT_PRIORITY
    condition: ClassVar[Condition] = Always()
    icon: ClassVar[str] = ""
    parents: ClassVar[frozenset[str] | None] = None
    # Whether the registry builds instances as cls(context) (False: cls()); see register().
    switchyard_takes_context: ClassVar[bool] = True
    # Templates read strategy classes ({{ resolution.strategy_class.label }}), never call them.
    do_not_call_in_templates: ClassVar[bool] = True
    # The configuration in force (set by the resolution when the class declares ``Config``).
    config: ConfigValues = ConfigValues(None)

    def __init__(self, context: Context | None = None) -> None:
        self.context = context

    @classmethod
    def is_available(cls, context: Context) -> bool:
        """Return whether this strategy's condition is met in ``context`` (errors: not met)."""
        return is_available(cls, context)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.slug!r}>"


def register(registry: type[Registry], **attributes: Any) -> Callable[[T], T]:
    """Register a class that cannot subclass ``Strategy`` with ``registry``; a class decorator.

    The declarative attributes (``slug``, ``label``, ...) come from the class or from keyword
    arguments (``@register(Payments, slug="stripe")``). The class is instantiated with the
    context when its constructor accepts one positional argument, else with no argument.
    """
    unknown = sorted(set(attributes) - set(DECLARED))
    if unknown:
        raise TypeError(
            f"register() got unknown attribute(s) {', '.join(unknown)}; "
            f"expected some of: {', '.join(DECLARED)}"
        )

    def decorator(cls: T) -> T:
        _registry_class(cls, registry)
        namespace = {**vars(cls), **attributes}
        if "slug" not in namespace:
            raise RegistrationError(
                f"{qualified_name(cls)} cannot be registered with {registry.key!r} without a "
                "slug: set `slug = ...` on the class or pass register(..., slug=...)."
            )
        if inspect.isabstract(cls):
            missing = ", ".join(sorted(cls.__abstractmethods__))  # type: ignore[attr-defined]
            raise RegistrationError(
                f"{qualified_name(cls)} does not implement the abstract method(s) {missing}."
            )
        for name, value in attributes.items():
            setattr(cls, name, value)
        cls.registry = registry  # type: ignore[attr-defined]
        cls.switchyard_takes_context = _takes_context(cls)  # type: ignore[attr-defined]
        cls.do_not_call_in_templates = True  # type: ignore[attr-defined]
        _declare(cls, namespace)
        Strategy.register(cls)  # a virtual subclass: isinstance(obj, Strategy) holds
        registry._add(cls)
        return cls

    return decorator


def _registry_class(cls: type, registry: object) -> type[Registry]:
    if not isinstance(registry, RegistryMeta) or not getattr(registry, "key", None):
        raise RegistrationError(
            f"{qualified_name(cls)}.registry is {registry!r}; expected a Registry subclass "
            "that sets `key`."
        )
    return registry  # type: ignore[return-value]


def _declare(cls: type, namespace: dict[str, Any]) -> None:
    """Validate the declarative attributes of ``cls`` and fill in their defaults."""
    name = qualified_name(cls)
    slug = namespace["slug"]
    if not isinstance(slug, str) or not SLUG_PATTERN.match(slug) or len(slug) > SLUG_MAX_LENGTH:
        raise RegistrationError(
            f"{name}.slug is {slug!r}; expected letters, digits, '-' or '_' "
            f"(at most {SLUG_MAX_LENGTH} characters), e.g. 'card'."
        )
    if "label" not in namespace:
        cls.label = slug.replace("-", " ").replace("_", " ").capitalize()  # type: ignore[attr-defined]
    if "description" not in namespace:
        cls.description = inspect.cleandoc(namespace.get("__doc__") or "")  # type: ignore[attr-defined]
    for attribute, expected in (("label", str), ("description", str), ("icon", str)):
        value = getattr(cls, attribute, "")
        if not isinstance(value, expected):
            raise RegistrationError(f"{name}.{attribute} is {value!r}; expected a string.")
        if not hasattr(cls, attribute):
            setattr(cls, attribute, value)
    priority = getattr(cls, "priority", DEFAULT_PRIORITY)
    if not isinstance(priority, int) or isinstance(priority, bool):
        raise RegistrationError(f"{name}.priority is {priority!r}; expected an integer.")
    cls.priority = priority  # type: ignore[attr-defined]
    condition = getattr(cls, "condition", None)
    if condition is None:
        condition = Always()
    if not isinstance(condition, Condition):
        raise RegistrationError(
            f"{name}.condition is {condition!r}; expected a conditions.Condition, e.g. "
            "Flag('beta') & Permission('app.use_it') (Always() for none)."
        )
    cls.condition = condition  # type: ignore[attr-defined]
    _check_config(cls, name)
    cls.parents = _parents(name, getattr(cls, "parents", None))  # type: ignore[attr-defined]


def _parents(name: str, parents: object) -> frozenset[str] | None:
    """Return the declared parent slugs as a frozenset (None: valid under every parent)."""
    if parents is None:
        return None
    # A bare string is a set of its characters to Python: refuse it rather than guess.
    if isinstance(parents, str) or not isinstance(parents, Iterable):
        raise RegistrationError(
            f"{name}.parents is {parents!r}; expected a set of the parent registry's slugs, "
            "e.g. {'card'} (None: valid under every parent strategy)."
        )
    slugs = frozenset(parents)
    if not slugs or not all(isinstance(slug, str) and SLUG_PATTERN.match(slug) for slug in slugs):
        raise RegistrationError(
            f"{name}.parents is {parents!r}; expected a non-empty set of slugs, e.g. {{'card'}}."
        )
    return slugs


def _check_config(cls: type, name: str) -> None:
    config = getattr(cls, "Config", None)
    if config is not None and config_class(cls) is None:
        raise RegistrationError(
            f"{name}.Config is {config!r}; expected a subclass of engine.StrategyConfig "
            "(Django form fields, e.g. secret_key = SecretField())."
        )


def _takes_context(cls: type) -> bool:
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):  # builtins without a signature: assume the usual shape
        return True
    for arguments, takes in (((None,), True), ((), False)):
        try:
            signature.bind(*arguments)
        except TypeError:
            continue
        return takes
    raise RegistrationError(
        f"{qualified_name(cls)} cannot be instantiated by its registry: its constructor must "
        f"accept the context as its only argument, or no argument (it is {signature})."
    )
