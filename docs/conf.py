"""Sphinx configuration of the documentation site: ``make docs`` builds it, warnings as errors."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

project = "Switchyard"
author = "The Switchyard authors"
copyright = "2026, The Switchyard authors"  # as in LICENSE
release = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
version = release

# Markdown only (MyST): the same files read well on a repository's web page.
extensions = ["myst_parser"]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build"]
# Headings up to ####  get anchors, so `page.md#a-heading` links are checked by the build.
myst_heading_anchors = 4

html_theme = "furo"
html_title = f"Switchyard {release}"
