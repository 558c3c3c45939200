"""Settings for tests/owntenant: Switchyard in a django-tenants project with its own models.

The project's tenant model is ``customers.Client`` (its plan is the ``tier`` field, read
through ``SWITCHYARD["TENANT_PLAN"]``), its domain model ``customers.Domain``, and it has an
app of its own labelled ``tenants``. ``make test`` runs tests/owntenant with these settings,
separately.
"""

from __future__ import annotations

import os

from example_site.database import database_settings

SECRET_KEY = "switchyard-owntenant-tests"
DEBUG = False
ALLOWED_HOSTS = [".localhost", "localhost", "testserver"]

SHARED_APPS = [
    "django_tenants",
    "tests.owntenant.customers",
    "tenants.apps.TenantsConfig",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "django.contrib.postgres",
    "waffle",
    "engine",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "engine",
    # The project's own app labelled "tenants": it must not clash with Switchyard's.
    "tests.owntenant.tenants",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "customers.Client"
TENANT_DOMAIN_MODEL = "customers.Domain"
PUBLIC_SCHEMA_URLCONF = "tests.owntenant.urls_public"
ROOT_URLCONF = "tests.owntenant.urls"

MIDDLEWARE = [
    "tenants.middleware.CachedTenantMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "engine.middleware.StrategyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

_database = database_settings()
DATABASES = {
    "default": {
        **_database,
        # Its own test database: it never meets the other runs', even side by side.
        "TEST": {
            "NAME": os.environ.get("SWITCHYARD_TEST_DATABASE", f"test_{_database['NAME']}")
            + "_owntenant"
        },
        "OPTIONS": {"options": "-c synchronous_commit=off"},
    }
}
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
TENANT_LIMIT_SET_CALLS = True

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "switchyard-owntenant-tests",
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
    },
    "switchyard": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "switchyard-owntenant-engine",
    },
}
SWITCHYARD = {"CACHE": "switchyard", "STALENESS_BOUND": 3600, "TENANT_PLAN": "tier"}
# One process in tests: a local-memory cache is right here.
SILENCED_SYSTEM_CHECKS = ["switchyard.W003"]

WAFFLE_FLAG_MODEL = "switchyard_tenants.PlatformFlag"
WAFFLE_CACHE_NAME = "switchyard"
WAFFLE_ENABLE_ADMIN_PAGES = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]

STATIC_URL = "static/"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
