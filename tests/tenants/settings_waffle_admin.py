"""The test settings with waffle's own admin pages on, as in a new project (waffle's default)."""

from tests.settings import *  # noqa: F403

WAFFLE_ENABLE_ADMIN_PAGES = True
