"""A sign-in provider that accepts connections and never answers cannot stall the app.

The app runs as the Dockerfile runs it (gunicorn with gunicorn.conf.py, only the bind address
overridden) on DynamoDB Local. The provider's discovery document is served, so merchants can
start signing in; its token and key endpoints are a socket that accepts and stays silent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from dashboard.app import create_app
from dashboard.local.services import free_port
from tests.blackhole import Blackhole
from tests.conftest import TEST_SECRET_KEY

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CALLBACKS = 20


class _Discovery(BaseHTTPRequestHandler):
    metadata: dict = {}

    def do_GET(self):
        body = json.dumps(self.metadata).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args):
        pass


@pytest.fixture
def hung_provider():
    """An issuer whose discovery answers and whose token and JWKS endpoints never do."""
    hole = Blackhole()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Discovery)
    issuer = f"http://127.0.0.1:{server.server_port}"
    _Discovery.metadata = {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{hole.url}/token",
        "jwks_uri": f"{hole.url}/jwks",
    }
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield issuer
    server.shutdown()
    hole.close()


@pytest.fixture
def gunicorn_app(dynamodb_local, hung_provider, artifacts_dir):
    """The app under gunicorn as the Dockerfile starts it, on a free port."""
    port = free_port()
    env = {
        **os.environ,
        "APP_ENV": "test",
        "SECRET_KEY": TEST_SECRET_KEY,
        "DYNAMODB_ENDPOINT": dynamodb_local.url,
        "DYNAMODB_TABLE_PREFIX": "stall-",
        "OIDC_ISSUER": hung_provider,
        "PAYMENT_PROVIDER": "sandbox",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
    }
    create_app({k: env[k] for k in env if k.isupper()}).extensions["store"].ensure_tables()
    log = (artifacts_dir / "gunicorn-provider-stall.log").open("w")
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(
        [str(gunicorn), "--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", "app:app"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_health(url)
        yield url
    finally:
        process.terminate()
        process.wait(15)
        log.close()


def _wait_for_health(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError("gunicorn did not start")


def _start_sign_in(url: str) -> tuple[requests.Session, str]:
    """Start signing in as a merchant would; return the browser and the callback URL to hit."""
    browser = requests.Session()
    start = browser.get(f"{url}/login", allow_redirects=False, timeout=10)
    assert start.status_code == 302, start.text
    state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
    return browser, f"{url}/callback?code=never-redeemed&state={state}"


def test_a_hung_provider_gets_every_callback_a_quick_503_and_health_keeps_answering(
    gunicorn_app,
):
    browsers = [_start_sign_in(gunicorn_app) for _ in range(CALLBACKS)]
    health: list[tuple[int | None, float]] = []
    done = threading.Event()

    def probe_health() -> None:
        while not done.is_set():
            started = time.monotonic()
            try:
                status = requests.get(f"{gunicorn_app}/health", timeout=5).status_code
            except requests.RequestException:
                status = None
            health.append((status, time.monotonic() - started))
            time.sleep(0.5)

    def callback(browser_and_url) -> tuple[int | None, float, str]:
        browser, callback_url = browser_and_url
        started = time.monotonic()
        try:
            answer = browser.get(callback_url, timeout=30)
            status, text = answer.status_code, answer.text
        except requests.RequestException as exc:
            status, text = None, str(exc)
        return status, time.monotonic() - started, text

    prober = threading.Thread(target=probe_health)
    prober.start()
    with ThreadPoolExecutor(CALLBACKS) as pool:
        results = list(pool.map(callback, browsers))
    done.set()
    prober.join()

    statuses = [status for status, _, _ in results]
    slowest = max(elapsed for _, elapsed, _ in results)
    print(f"callbacks: {statuses}, slowest {slowest:.1f} s; /health: {health}")
    assert statuses == [503] * CALLBACKS
    assert all("Sign-in is unavailable" in text for _, _, text in results)
    assert slowest < 10
    assert len(health) >= 3
    assert all(status == 200 and elapsed < 3 for status, elapsed in health), health
