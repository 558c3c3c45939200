"""The condition algebra: composable, explainable rules deciding what a request may use."""

from conditions.base import All, Always, Any, Condition, Leaf, Never, Not
from conditions.context import Context
from conditions.explanation import Explanation

__all__ = [
    "All",
    "Always",
    "Any",
    "Condition",
    "Context",
    "Explanation",
    "Leaf",
    "Never",
    "Not",
]
