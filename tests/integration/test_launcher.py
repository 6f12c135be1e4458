"""``make run``'s launcher, run for real: it stops everything it started, whatever signals come.

The launcher runs as ``make run`` runs it (``python -m dashboard.local.run``), with real DynamoDB
Local, the real sign-in provider and the app, on free ports and a temporary ``var`` directory, so
it never meets a developer's own ``make run``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from dashboard.local.run import STOP_TIMEOUT
from dashboard.local.services import PROJECT_ROOT, LocalService, free_port, stop_services

pytestmark = pytest.mark.integration


def _parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name, in parentheses, may hold spaces: the fields after it are fixed.
    return int(stat.rpartition(")")[2].split()[1])


def descendants(pid: int) -> set[int]:
    """Return the ids of every process started by ``pid``, directly or further down."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            parent = _parent_of(int(entry.name))
            if parent is not None:
                children.setdefault(parent, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def is_running(pid: int) -> bool:
    """Return True while ``pid`` runs (a zombie, exited but not yet reaped, does not run)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


class Launcher:
    """The launcher process, its app's URL, and every child it was seen to start."""

    def __init__(self, process: subprocess.Popen, url: str, log: Path):
        self.process = process
        self.url = url
        self.log = log
        self.seen: set[int] = set()

    def children(self) -> set[int]:
        """Return the processes the launcher runs now (remembered, to clean up after)."""
        found = descendants(self.process.pid)
        self.seen |= found
        return found

    def wait_until_the_app_answers(self) -> None:
        """Wait (two minutes at most, the cores are shared) for /health to answer 200."""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"the launcher exited:\n{self.log.read_text()}"
            try:
                if requests.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        pytest.fail(f"the app did not answer within two minutes:\n{self.log.read_text()}")


@pytest.fixture
def launcher(tmp_path: Path) -> Iterator[Launcher]:
    """Start ``make run``'s launcher; after the test, kill whatever of it still runs."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("APP_ENV", "SECRET_KEY", "DYNAMODB_TABLE_PREFIX")
    }
    app_port = free_port()
    env.update(
        PORT=str(app_port),
        DYNAMODB_LOCAL_PORT=str(free_port()),
        OIDC_PROVIDER_PORT=str(free_port()),
        MAIL_SERVER_PORT=str(free_port()),
        RUN_VAR_DIR=str(tmp_path / "var"),
        # Empty, so the launcher starts its own, as on a fresh clone.
        DYNAMODB_ENDPOINT="",
        OIDC_ISSUER="",
        AUTH0_DOMAIN="",
        SMTP_URL="",
        MAILBOX_DIR="",
    )
    log_path = tmp_path / "launcher.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "dashboard.local.run"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    launcher = Launcher(process, f"http://127.0.0.1:{app_port}", log_path)
    try:
        yield launcher
    finally:
        if process.poll() is None:
            launcher.children()
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        for pid in launcher.seen:  # never leave a DynamoDB Local behind, even when the test fails
            if is_running(pid):
                os.kill(pid, signal.SIGKILL)


def test_a_second_sigterm_during_the_stop_still_stops_every_child(launcher):
    launcher.wait_until_the_app_answers()
    children = launcher.children()
    # DynamoDB Local (java), the sign-in provider and the app (flask and its reloader's child).
    assert len(children) >= 4, children

    launcher.process.send_signal(signal.SIGTERM)
    # The stop has begun once a child is gone: that is when a second SIGTERM used to cut it short.
    deadline = time.monotonic() + STOP_TIMEOUT
    while all(is_running(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.01)
    launcher.process.send_signal(signal.SIGTERM)

    assert launcher.process.wait(timeout=STOP_TIMEOUT + 15) == 0
    survivors = {pid for pid in children if is_running(pid)}
    assert survivors == set(), f"still running after the launcher exited: {survivors}"


def test_a_child_that_ignores_sigterm_is_killed_after_the_bounded_wait():
    stubborn = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('ready', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    assert stubborn.stdout.readline() == b"ready\n"  # its SIGTERM handler is in place
    try:
        began = time.monotonic()
        stop_services([LocalService("stubborn", stubborn, "")], timeout=1)

        assert stubborn.poll() == -signal.SIGKILL
        assert time.monotonic() - began < 5
    finally:
        if stubborn.poll() is None:
            stubborn.kill()
        stubborn.stdout.close()
