"""The documentation's reference keeps up with the code, both ways.

Every ``SWITCHYARD`` key, system check id, management command and exception of
``engine.exceptions`` is listed in its page of ``docs/reference/``, and each page lists nothing
the code does not have. The README sections the docs include (between ``<!-- docs: ... -->``
markers) are still there. Building the site (``make docs``, warnings as errors) checks the links;
this stays fast and builds nothing.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

import engine.exceptions
from conditions.conf import DEFAULTS

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
REFERENCE = DOCS / "reference"
# A check id as the code registers it: a string literal, in `id="switchyard.E001"` or in a table
# of (middleware, id, reason) tuples. Docstrings write ids in backticks, so they do not match.
CHECK_ID = re.compile(r"""["'](switchyard\.[EW]\d{3})["']""")
DOCUMENTED_CHECK_ID = re.compile(r"^\| `(switchyard\.[EW]\d{3})` \|", re.MULTILINE)
# The first cell of a table row: `NAME` or `NAME arguments...`.
FIRST_CELL_NAME = re.compile(r"^\| `(\w+)[` ]", re.MULTILINE)
COMMAND_DIRECTORIES = [
    ROOT / "engine" / "management" / "commands",
    ROOT / "tenants" / "management" / "commands",
]
INCLUDE = re.compile(r"^```\{include\} (?P<path>\S+)\n(?P<options>(?::[\w-]+:.*\n)*)", re.MULTILINE)
MARKER_OPTION = re.compile(r"^:(?:start-after|end-before): (?P<marker>.+)$", re.MULTILINE)
# A relative Markdown link, [text](path#anchor); GitHub and the docs build read the same files.
RELATIVE_LINK = re.compile(r"\]\((?P<path>(?!https?:|#)[^)#\s]+)(?:#(?P<anchor>[^)\s]+))?\)")
HEADING = re.compile(r"^#+ (?P<title>.+)$", re.MULTILINE)
FENCE = re.compile(r"^```.*?^```$", re.MULTILINE | re.DOTALL)


def first_cells(page: str, heading: str | None = None) -> set[str]:
    """Return the names in the first column of the tables of ``page`` (under ``heading``)."""
    text = (REFERENCE / page).read_text()
    if heading is not None:
        text = text.split(f"\n{heading}\n", 1)[1].split("\n## ", 1)[0]
    return set(FIRST_CELL_NAME.findall(text))


def anchors(page: Path) -> set[str]:
    """Return the anchors of the headings of ``page``, spelled as GitHub and MyST spell them."""
    text = FENCE.sub("", page.read_text())
    return {
        re.sub(r"[^\w\- ]", "", heading["title"].lower()).replace(" ", "-")
        for heading in HEADING.finditer(text)
    }


def registered_check_ids() -> set[str]:
    return {
        check_id
        for package in ("conditions", "engine", "tenants")
        for path in (ROOT / package).rglob("*.py")
        for check_id in CHECK_ID.findall(path.read_text())
    }


def test_every_setting_is_in_the_settings_reference() -> None:
    # pytest-django has set Django up: the engine and the tenants app registered their keys.
    assert {"CACHE", "STRATEGIES_MODULE", "PLANS"} <= set(DEFAULTS)
    documented = first_cells("settings.md")
    assert sorted(set(DEFAULTS) - documented) == [], "settings missing from the reference"
    assert sorted(documented - set(DEFAULTS)) == [], "the reference lists unknown settings"


def test_every_system_check_id_is_in_the_checks_reference() -> None:
    registered = registered_check_ids()
    assert {"switchyard.E001", "switchyard.E020", "switchyard.E130"} <= registered
    documented = set(DOCUMENTED_CHECK_ID.findall((REFERENCE / "checks.md").read_text()))
    assert sorted(registered - documented) == [], "check ids missing from the reference"
    assert sorted(documented - registered) == [], "the reference lists check ids no code has"


def test_every_management_command_is_in_the_commands_reference() -> None:
    commands = {
        path.stem
        for directory in COMMAND_DIRECTORIES
        for path in directory.glob("*.py")
        if not path.name.startswith("_")
    }
    assert {"switchyard_doctor", "provision_tenant"} <= commands
    documented = first_cells("commands.md")
    assert sorted(commands - documented) == [], "commands missing from the reference"
    assert sorted(documented - commands) == [], "the reference lists commands that do not exist"


def test_every_engine_exception_is_in_the_exceptions_reference() -> None:
    classes = {
        name
        for name, value in inspect.getmembers(engine.exceptions, inspect.isclass)
        if issubclass(value, BaseException) and value.__module__ == engine.exceptions.__name__
    }
    assert {"SwitchyardError", "NeedsAwait"} <= classes
    documented = first_cells("exceptions.md", heading="## `engine.exceptions`")
    assert sorted(classes - documented) == [], "exceptions missing from the reference"
    assert sorted(documented - classes) == [], "the reference lists exceptions that do not exist"


PAGES = sorted(path for path in DOCS.rglob("*.md") if "_build" not in path.parts)


@pytest.mark.parametrize("page", PAGES, ids=lambda path: str(path.relative_to(DOCS)))
def test_included_readme_sections_are_still_marked(page: Path) -> None:
    for include in INCLUDE.finditer(page.read_text()):
        source = (page.parent / include["path"]).read_text()
        for option in MARKER_OPTION.finditer(include["options"]):
            marker = option["marker"]
            assert source.count(marker) == 1, f"{page.name} includes from {marker!r}"


def test_the_readme_links_to_pages_and_headings_that_exist() -> None:
    readme = ROOT / "README.md"
    links = list(RELATIVE_LINK.finditer(readme.read_text()))
    assert any(link["path"].startswith("docs/") for link in links)
    for link in links:
        target = ROOT / link["path"]
        assert target.exists(), f"README.md links to {link['path']}, which does not exist"
        if link["anchor"]:
            assert link["anchor"] in anchors(target), f"README.md links to {link[0][2:-1]}"
