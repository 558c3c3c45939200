"""Found by the default SWITCHYARD["STRATEGIES_MODULE"] ("strategies")."""

from engine import Registry, Strategy


class Discovered(Registry):
    key = "discovered"


class Found(Strategy):
    registry = Discovered
    slug = "found"
