"""Registries of strategies, per-request resolution and tenant selections."""

from engine.config import ConfigValues, SecretField, StrategyConfig
from engine.exceptions import (
    NeedsAwait,
    NoStrategyAvailable,
    RegistrationError,
    SwitchyardError,
    UnknownRegistry,
    UnknownStrategy,
)
from engine.explain import RegistryExplanation, StrategyExplanation
from engine.namespace import StrategyNamespace, aresolve, resolve
from engine.registry import Registry, get_registry, registries
from engine.resolution import Reason, Resolution, Skipped, SkipReason
from engine.set_resolution import SetResolution
from engine.strategy import Strategy, register

__all__ = [
    "ConfigValues",
    "NeedsAwait",
    "NoStrategyAvailable",
    "Reason",
    "RegistrationError",
    "Registry",
    "RegistryExplanation",
    "Resolution",
    "SecretField",
    "SetResolution",
    "SkipReason",
    "Skipped",
    "Strategy",
    "StrategyConfig",
    "StrategyExplanation",
    "StrategyNamespace",
    "SwitchyardError",
    "UnknownRegistry",
    "UnknownStrategy",
    "aresolve",
    "get_registry",
    "register",
    "registries",
    "resolve",
]
