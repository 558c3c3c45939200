"""example_site/settings.py: DEBUG is off unless asked for; only `make demo` asks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def debug_with(environment: dict[str, str]) -> str:
    env = {name: value for name, value in os.environ.items() if name != "DEBUG"}
    # Parsed, never connected to: importing the settings must not start the embedded server.
    env["DATABASE_URL"] = "postgres://nobody@127.0.0.1:1/nothing"
    result = subprocess.run(
        [sys.executable, "-c", "import example_site.settings as s; print(s.DEBUG)"],
        cwd=ROOT,
        env={**env, **environment},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({}, "False"),
        ({"DEBUG": "0"}, "False"),
        ({"DEBUG": "yes"}, "False"),
        ({"DEBUG": "1"}, "True"),
    ],
)
def test_debug_is_off_unless_debug_is_1(environment: dict[str, str], expected: str) -> None:
    assert debug_with(environment) == expected


def test_only_make_demo_turns_it_on() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert makefile.count("DEBUG=1") == 1
    demo = makefile[makefile.index("\ndemo:") :].split("\n\n")[0]
    assert "\tDEBUG=1 $(MANAGE) runserver $(HOST):$(PORT)" in demo
