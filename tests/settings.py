"""Test settings: the example site, made fast and strict for tests."""

import os

from example_site.settings import *  # noqa: F403
from example_site.settings import DATABASES, INSTALLED_APPS, SHARED_APPS, TENANT_APPS

# A tenant app whose models use engine.fields (tests of fields, forms and the admin).
SURFACES_APP = "tests.engine.surfaces_app"
TENANT_APPS = [*TENANT_APPS, SURFACES_APP]
INSTALLED_APPS = [*INSTALLED_APPS, SURFACES_APP]

# Stock and custom waffle flag models for the conditions tests (public schema, like waffle).
FLAGS_APP = "tests.conditions.flags_app"
SHARED_APPS = [*SHARED_APPS, FLAGS_APP]
INSTALLED_APPS = [*INSTALLED_APPS, FLAGS_APP]

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Count only the queries a test causes, not django-tenants' repeated SET search_path.
TENANT_LIMIT_SET_CALLS = True

# SWITCHYARD_TEST_DATABASE names the test database, so that two runs (make test and
# make test-django6) can share one server at the same time.
DATABASES["default"]["TEST"] = {
    "NAME": os.environ.get("SWITCHYARD_TEST_DATABASE")
    or DATABASES["default"].get("TEST", {}).get("NAME")
}
DATABASES["default"]["OPTIONS"] = {"options": "-c synchronous_commit=off"}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "switchyard-tests",
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
    },
    "switchyard": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "switchyard-tests-engine",
    },
}

# No poll of the generation table in the middle of a query count; staleness tests lower it.
# SECRET_KEYS: a fixed test key encrypts strategy configuration secrets (never reuse it).
SWITCHYARD = {
    "CACHE": "switchyard",
    "STALENESS_BOUND": 3600,
    "SECRET_KEYS": ["27tDmwog4t0dAKnI_QZdGp2fZmO9_g8SVTVu6gTX8M4="],
}
