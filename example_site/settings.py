"""Settings of the demo SaaS: django-tenants with users in every tenant's schema."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from example_site.database import database_settings

BASE_DIR = Path(__file__).resolve().parent

# In production both come from the environment (docs/deployment.md, "Running in production"); the
# defaults are for `make demo` and the tests (`manage.py check --deploy` flags the key).
SECRET_KEY = os.environ.get("SECRET_KEY", "switchyard-demo-not-secret")
# Off unless asked for: `make demo` sets DEBUG=1; a debug page shows settings to anyone.
DEBUG = os.environ.get("DEBUG", "0") == "1"
# Comma-separated, e.g. ALLOWED_HOSTS=.example.com (a leading dot allows every subdomain:
# one per tenant).
ALLOWED_HOSTS = [
    host.strip()
    for host in os.environ.get("ALLOWED_HOSTS", ".localhost,localhost,127.0.0.1,testserver").split(
        ","
    )
    if host.strip()
]

# Apps whose tables live once, in the public schema. auth, sessions and admin are here too
# so the platform (public) site has its own staff logins.
SHARED_APPS = [
    "django_tenants",
    # The AppConfig path, not "tenants": django-tenants finds the app label (switchyard_tenants)
    # only from it (its admin index would call the app "not available" otherwise).
    "tenants.apps.TenantsConfig",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "django.contrib.staticfiles",
    # ArrayField (platform flags, MultipleStrategyField): Django 6 requires the app.
    "django.contrib.postgres",
    "waffle",
    "engine",
]

# Apps whose tables live in every tenant's schema: each tenant has its own users, so a
# login of one tenant does not exist on another tenant's domain.
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "engine",
    "example_site",
    # Templates of the browsable selections API (/api/switchyard/); no tables.
    "rest_framework",
]

INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "switchyard_tenants.Tenant"
TENANT_DOMAIN_MODEL = "switchyard_tenants.Domain"
PUBLIC_SCHEMA_NAME = "public"
PUBLIC_SCHEMA_URLCONF = "example_site.urls_public"
ROOT_URLCONF = "example_site.urls"

MIDDLEWARE = [
    # First: a 400 for control characters in cookies or credentials (a NUL is a DataError).
    "example_site.middleware.MalformedRequestMiddleware",
    # django-tenants' TenantMainMiddleware, with the host -> tenant lookup cached globally.
    "tenants.middleware.CachedTenantMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.strategy: after the tenant and auth middleware (checks switchyard.E001/E002).
    "engine.middleware.StrategyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "waffle.middleware.WaffleMiddleware",
]

DATABASES = {"default": database_settings()}
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]

# A shared Redis makes cache invalidation reach every process; without REDIS_URL the demo
# runs in one process and a local-memory cache is enough.
_REDIS_URL = os.environ.get("REDIS_URL")
# Seconds a cache call waits for Redis: a dead or unreachable Redis costs a request at most
# this, and Switchyard then leaves it alone for SWITCHYARD["CACHE_RETRY_AFTER"] seconds.
_REDIS_TIMEOUT = float(os.environ.get("REDIS_TIMEOUT", "0.5"))
# Room for thousands of tenants (a routing entry, the selections and each logged-in user's per
# tenant, a few hundred bytes each): Django's default of 300 entries would evict routing and
# selections from about 150 tenants on.
_LOCMEM_MAX_ENTRIES = 50_000


def _cache(local_name: str) -> dict[str, Any]:
    """Return a cache alias: the shared Redis when REDIS_URL is set, else local memory."""
    if _REDIS_URL:
        return {
            # django-redis: one client per process (Django's RedisCache builds one per call).
            # Its IGNORE_EXCEPTIONS stays off: Switchyard handles cache errors itself.
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": _REDIS_URL,
            "OPTIONS": {"SOCKET_TIMEOUT": _REDIS_TIMEOUT, "SOCKET_CONNECT_TIMEOUT": _REDIS_TIMEOUT},
        }
    return {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": local_name,
        "OPTIONS": {"MAX_ENTRIES": _LOCMEM_MAX_ENTRIES},
    }


CACHES = {
    "default": {
        **_cache("switchyard"),
        # Every key carries the active schema, so tenants never read each other's entries.
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
    },
    # Switchyard's own alias: its keys carry the tenant schema themselves, and platform-wide
    # entries (the waffle flag snapshot's stamp, routing fingerprints) must be one key for
    # every tenant.
    "switchyard": _cache("switchyard-engine"),
}

# SWITCHYARD_SECRET_KEYS: comma-separated Fernet keys that encrypt strategy secrets (the
# webhook's signing secret, the Stripe keys); the first encrypts, all decrypt. In production it
# comes from the environment; the default, a published key, is for `make demo` and the tests.
SWITCHYARD = {
    "CACHE": "switchyard",
    "SECRET_KEYS": [
        key.strip()
        for key in os.environ.get(
            "SWITCHYARD_SECRET_KEYS", "R0Ui2MzSe9Kb4rGZ0bJxZ0k9bq8tLZ2C1xUoM7Tn0pA="
        ).split(",")
        if key.strip()
    ],
}
# Without REDIS_URL the demo runs in one process on local-memory caches, which is fine for
# it: silence the warning that invalidation would not reach other processes.
SILENCED_SYSTEM_CHECKS = [] if _REDIS_URL else ["switchyard.W003"]

# Waffle flags are platform flags: one row in the public schema targets tenants and plans
# (tenants.PlatformFlag; it never targets single users, whose pks repeat in every schema).
# Their cache must be global so a flag saved in the public admin is fresh in every tenant.
WAFFLE_FLAG_MODEL = "switchyard_tenants.PlatformFlag"
WAFFLE_CACHE_NAME = "switchyard"
# tenants.admin registers flags, switches and samples on the public site's admin only.
WAFFLE_ENABLE_ADMIN_PAGES = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Searched before the apps' own: the demo's templates override Switchyard's bundled
        # selection pages (engine/selections.html, engine/user_selections.html).
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                # {{ strategy.payments }}: request.strategy in every template.
                "engine.context_processors.strategy",
            ],
        },
    }
]

WSGI_APPLICATION = "example_site.wsgi.application"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# The demo sends its order e-mails to the console (runserver's output); tests use locmem.
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = "orders@switchyard.localhost"

STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"switchyard": {"handlers": ["console"], "level": "INFO"}},
}
