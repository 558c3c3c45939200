"""The condition algebra: composable, explainable rules deciding what a request may use."""

from conditions.base import All, Always, Any, Condition, Leaf, Never, Not
from conditions.context import Context
from conditions.explanation import Explanation
from conditions.flags import Flag, Sample, Switch
from conditions.kinds import register_kind
from conditions.predicates import Predicate, predicate, register_predicate
from conditions.rollout import Rollout
from conditions.settings import Setting
from conditions.text import ConditionSyntaxError, parse
from conditions.time import Between
from conditions.users import (
    Authenticated,
    Group,
    Permission,
    Staff,
    Superuser,
    UserAttribute,
)

__all__ = [
    "All",
    "Always",
    "Any",
    "Authenticated",
    "Between",
    "Condition",
    "ConditionSyntaxError",
    "Context",
    "Explanation",
    "Flag",
    "Group",
    "Leaf",
    "Never",
    "Not",
    "Permission",
    "Predicate",
    "Rollout",
    "Sample",
    "Setting",
    "Staff",
    "Superuser",
    "Switch",
    "UserAttribute",
    "parse",
    "predicate",
    "register_kind",
    "register_predicate",
]
