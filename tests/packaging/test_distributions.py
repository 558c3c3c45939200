"""The wheel and the sdist: the library and what describes it, nothing of the demo."""

from __future__ import annotations

import email.parser
import re
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.packaging.support import ROOT

pytestmark = pytest.mark.slow

LIBRARY = ("conditions", "engine", "tenants")
DEMO_ONLY = ("pgserver", "openpyxl", "dj-database-url", "dj_database_url")


def library_files() -> set[str]:
    """Every file of the three packages in this checkout, as paths relative to the root."""
    return {
        path.relative_to(ROOT).as_posix()
        for package in LIBRARY
        for path in (ROOT / package).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def wheel_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        [name] = [name for name in archive.namelist() if name.endswith(".dist-info/METADATA")]
        return email.parser.Parser().parsestr(archive.read(name).decode())


def test_the_wheel_holds_the_library_and_nothing_else(distributions: tuple[Path, Path]) -> None:
    names = wheel_names(distributions[1])
    packaged = {name for name in names if ".dist-info/" not in name}
    assert packaged == library_files()
    assert not [name for name in names if name.startswith(("example_site", "tests"))]


def test_the_wheel_has_typing_markers_migrations_templates_and_the_license(
    distributions: tuple[Path, Path],
) -> None:
    names = wheel_names(distributions[1])
    for package in LIBRARY:
        assert f"{package}/py.typed" in names
    assert {"engine/migrations/0001_initial.py", "tenants/migrations/0001_initial.py"} <= names
    assert {
        "engine/templates/engine/explanation.html",
        "engine/templates/engine/admin/selections.html",
        "tenants/templates/tenants/platform.html",
    } <= names
    [license_file] = [name for name in names if name.endswith(".dist-info/licenses/LICENSE")]
    with zipfile.ZipFile(distributions[1]) as archive:
        text = archive.read(license_file).decode()
    assert text.startswith("BSD 3-Clause License")
    assert "Copyright (c) 2026, The Switchyard authors" in text


def test_the_wheel_requires_nothing_of_the_demo_and_no_binary_build(
    distributions: tuple[Path, Path],
) -> None:
    meta = metadata(distributions[1])
    requires = meta.get_all("Requires-Dist") or []
    assert not [line for line in requires if any(name in line.lower() for name in DEMO_ONLY)]
    unconditional = {
        re.split(r"[\s<>=!~;\[]", line, maxsplit=1)[0].lower(): line
        for line in requires
        if "extra ==" not in line
    }
    assert set(unconditional) == {
        *("django", "django-waffle", "django-tenants", "psycopg", "tqdm"),
        "cryptography",  # Fernet encryption of strategy configuration secrets
    }
    assert "[binary]" not in unconditional["psycopg"]
    assert 'psycopg[binary]>=3.2; extra == "binary"' in requires
    assert set(meta.get_all("Provides-Extra") or []) == {"binary", "drf", "redis"}
    assert meta["License-Expression"] == "BSD-3-Clause"
    assert "\n# Changelog\n" in meta.get_payload()  # the long description: README + changelog


def test_the_sdist_holds_the_library_license_and_changelog(
    distributions: tuple[Path, Path],
) -> None:
    with tarfile.open(distributions[0]) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"LICENSE", "CHANGELOG.md", "README.md", "pyproject.toml"} <= names
    assert library_files() <= names
    assert not [name for name in names if name.startswith(("example_site", "tests"))]
