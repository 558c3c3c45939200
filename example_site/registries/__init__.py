"""The demo's registries, one module each: payments (and its child card_networks),
notifications, exports, pricing.

``example_site.strategies`` imports them all, which is what discovery imports at start-up.
"""
