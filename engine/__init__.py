"""Registries of strategies, per-request resolution and tenant selections."""
