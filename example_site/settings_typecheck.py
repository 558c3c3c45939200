"""Settings for mypy's Django plugin (``make lint``): the demo's, without starting a database.

The plugin imports the settings and loads the apps to learn the models; it never connects.
Without ``DATABASE_URL`` the demo's settings would start the embedded PostgreSQL (and leave it
running), so this module gives them a URL of a database that is never reached.
"""

from __future__ import annotations

import os

os.environ["DATABASE_URL"] = "postgres://typecheck@127.0.0.1:5432/never-connected"

from example_site.settings import *  # noqa: F403
