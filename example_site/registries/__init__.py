"""The demo's four registries, one module each: payments, notifications, exports, pricing.

``example_site.strategies`` imports them all, which is what discovery imports at start-up.
"""
