"""Found when SWITCHYARD["STRATEGIES_MODULE"] is "other_strategies"."""

from engine import Registry, Strategy


class OtherDiscovered(Registry):
    key = "other_discovered"


class OtherFound(Strategy):
    registry = OtherDiscovered
    slug = "other"
