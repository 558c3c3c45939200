"""The engine's management commands (``switchyard_*``) and what they share."""
