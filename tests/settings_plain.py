"""Settings for tests/plain: the engine in a plain Django project, without django-tenants.

One schema, Django's own PostgreSQL backend, no tenants app: what a project that never heard
of django-tenants has. ``make test`` runs tests/plain with these settings, separately.
"""

from __future__ import annotations

import os

from example_site.database import database_settings

SECRET_KEY = "switchyard-plain-tests"
DEBUG = False
ALLOWED_HOSTS = ["testserver"]

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "waffle",
    "engine",
    "tests.plain.shop",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "engine.middleware.StrategyMiddleware",
]
ROOT_URLCONF = "tests.plain.urls"

_database = database_settings()
DATABASES = {
    "default": {
        **_database,
        "ENGINE": "django.db.backends.postgresql",
        # Its own test database: it never meets the tenant suite's, even run side by side.
        "TEST": {
            "NAME": os.environ.get("SWITCHYARD_TEST_DATABASE", f"test_{_database['NAME']}")
            + "_plain"
        },
        "OPTIONS": {"options": "-c synchronous_commit=off"},
    }
}

CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "switchyard": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "switchyard-plain-tests",
    },
}
SWITCHYARD = {"CACHE": "switchyard"}
# One process in tests: a local-memory cache is right here.
SILENCED_SYSTEM_CHECKS = ["switchyard.W003"]

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
