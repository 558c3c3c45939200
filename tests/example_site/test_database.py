"""The demo's database helpers: the embedded PostgreSQL's handle list and ``make db-stop``.

The slow tests run the real pgserver on a data directory of their own (never the project's
``.pgdata``). Each start runs in a subprocess, as every ``make`` command is one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from example_site.database import HANDLE_LIST, repair_handle_list, stop_embedded_server

ROOT = Path(__file__).resolve().parents[2]

# Start the server of argv[1] as a make command does, print its pid, and hold the handle until
# stdin closes (or the process is killed).
HOLD_A_HANDLE = """
import sys
from pathlib import Path
from example_site.database import start_embedded_server
print(start_embedded_server(Path(sys.argv[1])).get_pid(), flush=True)
sys.stdin.read()
"""


def start(data_dir: Path) -> int:
    """Start the server in a command that then exits; return the server's pid."""
    done = subprocess.run(
        [sys.executable, "-c", HOLD_A_HANDLE, str(data_dir)],
        cwd=ROOT,
        input="",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return int(done.stdout.split()[-1])


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def gone(pid: int, within: float = 10.0) -> bool:
    """Whether ``pid`` exits (or is a zombie nobody has reaped yet) within ``within`` seconds."""
    deadline = time.monotonic() + within
    while alive(pid) and not zombie(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def zombie(pid: int) -> bool:
    try:
        # /proc/<pid>/stat: "pid (name) state ...", the name in parentheses may hold spaces.
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def handles(data_dir: Path) -> object:
    return json.loads((data_dir / HANDLE_LIST).read_text())


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A data directory of the tests' own, initialised once; its server is stopped at the end."""
    path = tmp_path_factory.mktemp("embedded") / "pgdata"
    start(path)
    yield path
    stop_embedded_server(path)


@pytest.mark.slow
def test_stop_stops_a_server_whose_handles_are_all_dead(data_dir: Path) -> None:
    # The reported case: a demo killed while serving leaves its pid in the list for good, and
    # pgserver stops a server only when the list holds nothing but the stopping process.
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_A_HANDLE, str(data_dir)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    server = int(holder.stdout.readline())
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    assert handles(data_dir) == [holder.pid] and not alive(holder.pid)

    assert stop_embedded_server(data_dir) is True
    assert gone(server)
    assert not (data_dir / "postmaster.pid").exists()
    assert handles(data_dir) == []
    assert stop_embedded_server(data_dir) is False  # nothing left to stop: no error either


@pytest.mark.slow
def test_stop_stops_a_server_that_live_processes_still_hold(data_dir: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_A_HANDLE, str(data_dir)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        server = int(holder.stdout.readline())
        assert holder.pid in handles(data_dir)  # type: ignore[operator]
        assert stop_embedded_server(data_dir) is True
        assert gone(server)
    finally:
        holder.communicate(timeout=30)  # closes its stdin: it lets go and exits


@pytest.mark.slow
@pytest.mark.parametrize("content", ["", '[4242, "'], ids=["empty", "corrupt"])
def test_a_broken_handle_list_is_repaired_when_the_server_starts(
    data_dir: Path, content: str
) -> None:
    stop_embedded_server(data_dir)
    (data_dir / HANDLE_LIST).write_text(content)  # pgserver itself fails to parse this

    server = start(data_dir)

    assert alive(server)
    assert handles(data_dir) == []  # the starting command let go when it exited
    assert stop_embedded_server(data_dir) is True


@pytest.mark.parametrize(
    ("content", "repaired"),
    [
        ("", []),
        ("[1, 2", []),
        ('{"pids": [1]}', []),
        ('["12"]', []),
        ("[0, -1]", []),
        ("[true]", []),
    ],
    ids=["empty", "truncated", "not-a-list", "strings", "not-pids", "booleans"],
)
def test_repair_rewrites_what_pgserver_cannot_read(
    tmp_path: Path, content: str, repaired: list[int]
) -> None:
    (tmp_path / HANDLE_LIST).write_text(content)
    repair_handle_list(tmp_path)
    assert handles(tmp_path) == repaired


def test_repair_keeps_live_handles_and_drops_dead_ones(tmp_path: Path) -> None:
    gone = dead_pid()
    (tmp_path / HANDLE_LIST).write_text(json.dumps([gone, os.getpid()]))
    repair_handle_list(tmp_path)
    assert handles(tmp_path) == [os.getpid()]


def test_repair_leaves_a_missing_list_missing(tmp_path: Path) -> None:
    repair_handle_list(tmp_path)
    assert not (tmp_path / HANDLE_LIST).exists()


def test_the_type_checking_settings_start_no_database() -> None:
    # make lint: mypy's Django plugin loads these settings and the apps.
    environment = {
        key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "CI"}
    }
    environment["DJANGO_SETTINGS_MODULE"] = "example_site.settings_typecheck"
    script = "import sys, django; django.setup(); print(sorted({'pgserver'} & set(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "[]"
