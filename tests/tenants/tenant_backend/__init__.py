"""A project's own database backend built on django-tenants' (as a PostGIS or a tuned one is)."""
