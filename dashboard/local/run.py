"""``make run``: start DynamoDB Local, the tables, the sign-in provider, a mail server, the app.

Everything persists under ``var/``. Ctrl-C or SIGTERM stops every process this started; more
signals during the stop do not cut it short, and a child that does not stop within
``STOP_TIMEOUT`` seconds is killed. A second copy, or a port that is taken, gets a clear message
instead of a traceback. ``RUN_VAR_DIR``, ``DYNAMODB_LOCAL_PORT``, ``OIDC_PROVIDER_PORT`` and
``MAIL_SERVER_PORT`` move the data and the services (the launcher's own test runs a copy beside a
developer's).
"""

from __future__ import annotations

import fcntl
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType
from typing import TextIO

from dotenv import dotenv_values

from dashboard.local.services import (
    PROJECT_ROOT,
    LocalService,
    LocalServiceError,
    port_is_free,
    start_dynamodb_local,
    start_oidc_provider,
    stop_services,
)

DYNAMODB_PORT = 8000
OIDC_PORT = 9400
MAIL_PORT = 8025
LOCAL_MAIL_FROM = "payments@dashboard.localhost"
# How long the children get to exit after SIGTERM before they are killed.
STOP_TIMEOUT = 10.0


class StopRequested(Exception):
    """Raised in the main thread by the first SIGINT (Ctrl-C) or SIGTERM."""


def _stop_requested(signum: int, _frame: FrameType | None) -> None:
    # From the first signal on, later ones are only acknowledged: raising again would abandon
    # the cleanup halfway and leave children running.
    signal.signal(signal.SIGINT, _already_stopping)
    signal.signal(signal.SIGTERM, _already_stopping)
    raise StopRequested(signum)


def _already_stopping(_signum: int, _frame: FrameType | None) -> None:
    print("Still stopping…", file=sys.stderr, flush=True)


def _settings_env() -> dict[str, str]:
    """Return the environment for the app: .env values, then the process environment."""
    env = {k: v for k, v in dotenv_values(PROJECT_ROOT / ".env").items() if v is not None}
    env.update(os.environ)
    return env


def _dev_secret_key(var: Path) -> str:
    # Stable across restarts, so sessions, signed form ids and sandbox links stay valid.
    path = var / "dev-secret-key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _lock_or_exit(var: Path) -> TextIO:
    lock_file = open(var / "run.lock", "w")  # noqa: SIM115 - held open for the whole run
    try:
        fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit("make run is already running in another terminal (var/run.lock is held).")
    return lock_file


def main() -> int:
    """Start everything, serve until Ctrl-C or SIGTERM, then stop everything."""
    env = _settings_env()
    var = Path(env.get("RUN_VAR_DIR") or PROJECT_ROOT / "var")
    var.mkdir(parents=True, exist_ok=True)
    lock = _lock_or_exit(var)
    app_port = int(env.get("PORT", "5000"))
    if not port_is_free(app_port):
        sys.exit(f"Port {app_port} is taken. Stop what uses it, or run: PORT=5001 make run")

    services: list[LocalService] = []
    mail_server = None
    try:
        signal.signal(signal.SIGINT, _stop_requested)
        signal.signal(signal.SIGTERM, _stop_requested)
        if not env.get("DYNAMODB_ENDPOINT"):
            dynamodb = start_dynamodb_local(
                int(env.get("DYNAMODB_LOCAL_PORT") or DYNAMODB_PORT),
                var / "dynamodb",
                log_path=var / "dynamodb-local.log",
                started=services.append,
            )
            env["DYNAMODB_ENDPOINT"] = dynamodb.url
            print(f"DynamoDB Local   {dynamodb.url}  (data in {var / 'dynamodb'})")
        if not env.get("AUTH0_DOMAIN") and not env.get("OIDC_ISSUER"):
            oidc = start_oidc_provider(
                int(env.get("OIDC_PROVIDER_PORT") or OIDC_PORT),
                log_path=var / "oidc-provider.log",
                started=services.append,
            )
            env["OIDC_ISSUER"] = oidc.url
            print(f"Sign-in provider {oidc.url}  (local users: alice@, bob@, carol@example.com)")
        if not env.get("SMTP_URL"):
            # Imported here: aiosmtpd is a development dependency, never needed in production.
            from dashboard.local.mail_server import start_mail_server

            mailbox = Path(env.get("MAILBOX_DIR") or var / "mail")
            mail_server = start_mail_server(int(env.get("MAIL_SERVER_PORT") or MAIL_PORT), mailbox)
            env["SMTP_URL"] = mail_server.url
            env["MAILBOX_DIR"] = str(mailbox)
            env.setdefault("MAIL_FROM", LOCAL_MAIL_FROM)
            print(f"Mail server      {mail_server.url}  (every email kept in {mailbox})")
        env.setdefault("SECRET_KEY", _dev_secret_key(var))
        env.setdefault("APP_ENV", "development")
        flask = [sys.executable, "-m", "flask", "--app", "app"]
        subprocess.run([*flask, "init-db"], env=env, check=True, cwd=PROJECT_ROOT)
        print(f"Payment Dashboard http://127.0.0.1:{app_port}  (Ctrl-C stops everything)")
        if mail_server is not None:
            print(f"Mailbox          http://127.0.0.1:{app_port}/dev/mailbox")
        app = subprocess.Popen(
            [*flask, "run", "--reload", "--host", "127.0.0.1", "--port", str(app_port)],
            env=env,
            cwd=PROJECT_ROOT,
            start_new_session=True,  # Ctrl-C reaches the launcher, which stops it in order
        )
        services.append(LocalService("app", app, f"http://127.0.0.1:{app_port}"))
        # The outbound webhook worker, as production runs it: its own process.
        worker = subprocess.Popen(
            [*flask, "deliver-events"], env=env, cwd=PROJECT_ROOT, start_new_session=True
        )
        services.append(LocalService("webhook worker", worker, ""))
        print("Webhook worker   delivering events to the endpoints of Settings → Webhooks")
        return app.wait()
    except LocalServiceError as exc:
        print(f"Cannot start: {exc}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError:
        print("Cannot start: creating the tables failed (see above).", file=sys.stderr)
        return 1
    except StopRequested:
        print("\nStopping…", flush=True)
        return 0
    finally:
        # Whatever ended the run (even an error before the first signal), no later signal may
        # interrupt the stop.
        signal.signal(signal.SIGINT, _already_stopping)
        signal.signal(signal.SIGTERM, _already_stopping)
        stop_services(services, STOP_TIMEOUT)
        if mail_server is not None:
            mail_server.stop()
        lock.close()


if __name__ == "__main__":
    sys.exit(main())
