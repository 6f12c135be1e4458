"""The API's rate limit as production runs it: gunicorn with the repo's gunicorn.conf.py (two
workers), DynamoDB Local, and the counters in a real Redis (Debian's redis-server).

The limit is counted once however many workers answer; when the store is down or silent the API
keeps answering within its short Redis timeouts, and says so in its log; and a connection a load
balancer keeps idle between requests stays open.
"""

from __future__ import annotations

import http.client
import os
import runpy
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from dashboard.app import create_app
from dashboard.local.services import LocalService, free_port, start_redis
from tests.conftest import actor_for

pytestmark = pytest.mark.integration

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TABLE_PREFIX = "ratelimit-"
ALB_IDLE_TIMEOUT_SECONDS = 60  # an AWS Application Load Balancer's default


class Gunicorn:
    """The app under gunicorn as the Dockerfile starts it, on a free port, logging to a file."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        log_path.write_text("")
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            "gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{self.port}",
            # The worker's pid on each access line, so the test can see both workers answer.
            "--access-logfile",
            "-",
            "--access-logformat",
            "access pid=%(p)s status=%(s)s",
            "app:app",
        ]
        self.process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            # The app answers only for its public address: here, where gunicorn listens.
            env={**os.environ, **env, "PUBLIC_BASE_URL": self.url},
            stdout=log_path.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_until_healthy()

    def _wait_until_healthy(self, timeout: float = 60) -> None:
        """Return once every worker has answered /health (a worker still booting takes none)."""
        workers = runpy.run_path(str(PROJECT_ROOT / "gunicorn.conf.py"))["workers"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"gunicorn exited: {self.log()}"
            try:
                requests.get(f"{self.url}/health", timeout=2)
            except requests.RequestException:
                time.sleep(0.2)
                continue
            if len(self.worker_pids_that_answered({"200"})) == workers:
                return
            time.sleep(0.05)
        self.stop()
        raise AssertionError(f"gunicorn did not become healthy: {self.log()}")

    def log(self) -> str:
        """Return everything gunicorn and the app wrote so far."""
        return self.log_path.read_text(errors="replace")

    def access_lines(self) -> list[tuple[str, str]]:
        """Return (worker pid, status) of every request answered so far, in order."""
        lines = []
        for line in self.log().splitlines():
            if line.startswith("access pid="):
                pid, status = line.removeprefix("access pid=").split(" status=")
                lines.append((pid, status))
        return lines

    def worker_pids_that_answered(self, statuses: set[str], since: int = 0) -> set[str]:
        """Return the pids of the workers that answered with one of these statuses."""
        return {pid for pid, status in self.access_lines()[since:] if status in statuses}

    def stop(self) -> None:
        """Stop gunicorn and its workers."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()


@pytest.fixture(scope="module")
def production_settings(live_settings: dict[str, str]) -> dict[str, str]:
    """The live settings on tables of their own, created once, with an API key's merchant."""
    settings = {**live_settings, "DYNAMODB_TABLE_PREFIX": TABLE_PREFIX}
    create_app(settings).extensions["store"].ensure_tables()
    return settings


def new_api_key(settings: dict[str, str], merchant: str) -> str:
    """Return a fresh API key of ``merchant`` (a bucket of its own in the rate limit)."""
    app = create_app(settings)
    _key, presented = app.extensions["api_keys"].create_key(actor_for(merchant), "rate-limit test")
    return presented


@contextmanager
def gunicorn(env: dict[str, str], log_path: Path) -> Iterator[Gunicorn]:
    """Run the app under gunicorn for the duration of the block."""
    server = Gunicorn(env, log_path)
    try:
        yield server
    finally:
        server.stop()


def list_payments(url: str, api_key: str) -> tuple[int, float]:
    """GET /api/v1/payments on a new connection; return its status and how long it took."""
    started = time.monotonic()
    answer = requests.get(
        f"{url}/api/v1/payments", headers={"Authorization": f"Bearer {api_key}"}, timeout=10
    )
    return answer.status_code, time.monotonic() - started


def test_two_gunicorn_workers_count_one_rate_limit_in_redis(
    production_settings, redis_server: LocalService, artifacts_dir: Path
):
    limit = 10
    env = {
        **production_settings,
        "API_RATE_LIMIT": f"{limit} per hour",
        "RATELIMIT_STORAGE_URI": redis_server.url,
    }
    api_key = new_api_key(production_settings, "two-workers@example.com")
    with gunicorn(env, artifacts_dir / "gunicorn-ratelimit.log") as server:
        since = len(server.access_lines())
        # Several at once, each on its own connection, so both workers take a share.
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(lambda _: list_payments(server.url, api_key), range(40)))
        statuses = Counter(status for status, _took in answers)
        # Both workers answered API requests, not only the start-up health checks.
        assert len(server.worker_pids_that_answered({"200", "429"}, since)) == 2, server.log()
    assert statuses == {200: limit, 429: 40 - limit}


@pytest.fixture
def silent_store() -> Iterator[str]:
    """A Redis address that accepts connections and never answers (a hung or partitioned store)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)  # the kernel completes handshakes; nothing ever reads or replies
    yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    listener.close()


def test_with_the_store_silent_the_api_keeps_answering_in_time_and_logs_it(
    production_settings, silent_store: str, artifacts_dir: Path
):
    env = {
        **production_settings,
        "API_RATE_LIMIT": "1000 per hour",
        "RATELIMIT_STORAGE_URI": silent_store,
    }
    api_key = new_api_key(production_settings, "silent-store@example.com")
    with gunicorn(env, artifacts_dir / "gunicorn-ratelimit-silent.log") as server:
        answers = [list_payments(server.url, api_key) for _ in range(8)]
        log = server.log()
    assert [status for status, _took in answers] == [200] * 8
    # At most one Redis timeout (0.5 s) per request on top of the request's own work.
    slowest = max(took for _status, took in answers)
    assert slowest < 2.0, answers
    assert "Rate limit storage unreachable - falling back to in-memory storage" in log


def test_with_the_store_stopped_the_api_keeps_answering_and_the_limit_still_holds_per_process(
    production_settings, artifacts_dir: Path
):
    store = start_redis(free_port(), log_path=artifacts_dir / "redis-stopped.log")
    env = {
        **production_settings,
        "API_RATE_LIMIT": "3 per hour",
        "RATELIMIT_STORAGE_URI": store.url,
    }
    api_key = new_api_key(production_settings, "stopped-store@example.com")
    try:
        with gunicorn(env, artifacts_dir / "gunicorn-ratelimit-stopped.log") as server:
            assert list_payments(server.url, api_key)[0] == 200
            store.stop()
            answers = [list_payments(server.url, api_key)[0] for _ in range(20)]
            log = server.log()
    finally:
        store.stop()
    assert 200 in answers
    # Two workers each counting 3 in memory (minus the one Redis counted): never unlimited.
    assert answers.count(200) <= 6
    assert set(answers) <= {200, 429}
    assert "Rate limit storage unreachable - falling back to in-memory storage" in log


def test_a_connection_the_load_balancer_keeps_idle_stays_open(
    production_settings, redis_server: LocalService, artifacts_dir: Path
):
    # An ALB reuses a connection for up to its idle timeout (60 s by default); if gunicorn
    # closed it first, a request racing the close would get a 502.
    env = {**production_settings, "RATELIMIT_STORAGE_URI": redis_server.url}
    with gunicorn(env, artifacts_dir / "gunicorn-keepalive.log") as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        connection.request("GET", "/health")
        first = connection.getresponse()
        first.read()
        opened = connection.sock
        time.sleep(5)  # longer than gunicorn's default keep-alive of 2 s
        connection.request("GET", "/health")
        second = connection.getresponse()
        second.read()
        assert (first.status, second.status) == (200, 200)
        assert connection.sock is opened, "gunicorn closed the idle connection"
        connection.close()
    # Waiting the whole 60 s here would be slow: the setting itself must outlast it.
    settings = runpy.run_path(str(PROJECT_ROOT / "gunicorn.conf.py"))
    assert settings.get("keepalive", 2) > ALB_IDLE_TIMEOUT_SECONDS
