"""One build of the package per test session, shared by the packaging and Quick start tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.packaging.support import build_distributions


@pytest.fixture(scope="session")
def distributions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The sdist and the wheel built from this checkout."""
    return build_distributions(tmp_path_factory.mktemp("dist"))
