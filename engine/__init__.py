"""Registries of strategies, per-request resolution and tenant selections."""

from engine.exceptions import (
    NoStrategyAvailable,
    RegistrationError,
    SwitchyardError,
    UnknownRegistry,
    UnknownStrategy,
)
from engine.explain import RegistryExplanation, StrategyExplanation
from engine.namespace import StrategyNamespace, resolve
from engine.registry import Registry, get_registry, registries
from engine.resolution import Reason, Resolution, Skipped, SkipReason
from engine.strategy import Strategy, register

__all__ = [
    "NoStrategyAvailable",
    "Reason",
    "RegistrationError",
    "Registry",
    "RegistryExplanation",
    "Resolution",
    "SkipReason",
    "Skipped",
    "Strategy",
    "StrategyExplanation",
    "StrategyNamespace",
    "SwitchyardError",
    "UnknownRegistry",
    "UnknownStrategy",
    "get_registry",
    "register",
    "registries",
    "resolve",
]
