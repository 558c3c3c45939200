"""Helpers of the packaging tests: what they need from the machine, and building the package."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def under_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"true", "1", "yes"}


def need(available: bool, message: str) -> None:
    """Skip with ``message`` when something the test needs is missing; under CI=true, fail."""
    if available:
        return
    if under_ci():
        pytest.fail(f"{message}. CI=true: this is a failure, not a skip.", pytrace=False)
    pytest.skip(message)


def build_distributions(out: Path) -> tuple[Path, Path]:
    """Build the sdist, then the wheel from it (as ``python -m build`` does); return both."""
    need(
        importlib.util.find_spec("build") is not None,
        "The `build` package is missing: `make test` installs it (dependency group dev)",
    )
    done = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, f"python -m build failed:\n{done.stdout[-4000:]}\n{done.stderr}"
    [sdist] = out.glob("*.tar.gz")
    [wheel] = out.glob("*.whl")
    return sdist, wheel
