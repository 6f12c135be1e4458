"""``make run``: start DynamoDB Local, the tables, the local sign-in provider and the app.

Everything persists under ``var/``. Ctrl-C stops every process this started. A second copy, or a
port that is taken, gets a clear message instead of a traceback.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import signal
import subprocess
import sys

from dotenv import dotenv_values

from dashboard.local.services import (
    PROJECT_ROOT,
    LocalService,
    LocalServiceError,
    port_is_free,
    start_dynamodb_local,
    start_oidc_provider,
)

VAR = PROJECT_ROOT / "var"
DYNAMODB_PORT = 8000
OIDC_PORT = 9400


def _settings_env() -> dict[str, str]:
    """Return the environment for the app: .env values, then the process environment."""
    env = {k: v for k, v in dotenv_values(PROJECT_ROOT / ".env").items() if v is not None}
    env.update(os.environ)
    return env


def _dev_secret_key() -> str:
    # Stable across restarts, so sessions, signed form ids and sandbox links stay valid.
    path = VAR / "dev-secret-key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _lock_or_exit():
    lock_file = open(VAR / "run.lock", "w")  # noqa: SIM115 - held open for the whole run
    try:
        fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit("make run is already running in another terminal (var/run.lock is held).")
    return lock_file


def main() -> int:
    """Start everything, serve until Ctrl-C, then stop everything."""
    VAR.mkdir(exist_ok=True)
    lock = _lock_or_exit()
    env = _settings_env()
    app_port = int(env.get("PORT", "5000"))
    if not port_is_free(app_port):
        sys.exit(f"Port {app_port} is taken. Stop what uses it, or run: PORT=5001 make run")

    services: list[LocalService] = []

    def stop_all(*_args) -> None:
        for service in reversed(services):
            service.stop()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        if not env.get("DYNAMODB_ENDPOINT"):
            dynamodb = start_dynamodb_local(
                DYNAMODB_PORT, VAR / "dynamodb", log_path=VAR / "dynamodb-local.log"
            )
            services.append(dynamodb)
            env["DYNAMODB_ENDPOINT"] = dynamodb.url
            print(f"DynamoDB Local   {dynamodb.url}  (data in var/dynamodb)")
        if not env.get("AUTH0_DOMAIN") and not env.get("OIDC_ISSUER"):
            oidc = start_oidc_provider(OIDC_PORT, log_path=VAR / "oidc-provider.log")
            services.append(oidc)
            env["OIDC_ISSUER"] = oidc.url
            print(f"Sign-in provider {oidc.url}  (local: type any subject, e.g. alice@example.com)")
        env.setdefault("SECRET_KEY", _dev_secret_key())
        env.setdefault("APP_ENV", "development")
        flask = [sys.executable, "-m", "flask", "--app", "app"]
        subprocess.run([*flask, "init-db"], env=env, check=True, cwd=PROJECT_ROOT)
        print(f"Payment Dashboard http://127.0.0.1:{app_port}  (Ctrl-C stops everything)")
        app = subprocess.Popen(
            [*flask, "run", "--reload", "--host", "127.0.0.1", "--port", str(app_port)],
            env=env,
            cwd=PROJECT_ROOT,
            start_new_session=True,  # Ctrl-C reaches the launcher, which stops it in order
        )
        services.append(LocalService("app", app, f"http://127.0.0.1:{app_port}"))
        return app.wait()
    except LocalServiceError as exc:
        print(f"Cannot start: {exc}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError:
        print("Cannot start: creating the tables failed (see above).", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping…")
        return 0
    finally:
        stop_all()
        lock.close()


if __name__ == "__main__":
    sys.exit(main())
