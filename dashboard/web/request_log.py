"""The app's own access log, and the request id on every log line; no secrets in either.

gunicorn's access log is off (``gunicorn.conf.py``) and Werkzeug's development server's request
lines are silenced: both print raw paths and query strings, and neither can tell which path
segment is a secret. The app logs each request itself, once, after the response:

    2026-11-20 12:00:00,123 INFO dashboard.access [4f0c…] 203.0.113.9 "GET /pay/[secret]" 200 …

- Query strings are never logged (sign-in codes and state, search text with emails).
- A route whose path carries a secret declares it with ``@secret_in_path("token")``; its value
  is logged as ``[secret]``. A request that matched no route (404, 405) is logged with everything
  after a secret route's fixed prefix cut, so a mistyped payer link leaks nothing either.
- The time is until the response is handed to the server (a streamed CSV export goes on after).
- Every record logged while a request is handled carries its ``request_id`` (also sent back as
  ``X-Request-ID``), from the first hook on: failures while an API key is checked included.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, g, has_app_context, request

REDACTED = "[secret]"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
MAX_LOGGED_PATH = 200
_SECRETS_ATTRIBUTE = "secret_path_params"
# A client may send its own X-Request-ID (to follow a request through its systems); only a
# plain token is kept, so the header cannot forge log lines or smuggle text into them.
_CLIENT_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

access_log = logging.getLogger("dashboard.access")
View = TypeVar("View", bound=Callable)


def secret_in_path(*names: str) -> Callable[[View], View]:
    """Declare that the route's path parameters ``names`` are secrets: never logged."""

    def declare(view: View) -> View:
        setattr(view, _SECRETS_ATTRIBUTE, (*getattr(view, _SECRETS_ATTRIBUTE, ()), *names))
        return view

    return declare


def declared_path_secrets(app: Flask) -> dict[str, tuple[str, ...]]:
    """Return, per endpoint, the path parameters its route declares as secrets."""
    return {
        endpoint: secrets
        for endpoint, view in app.view_functions.items()
        if (secrets := getattr(view, _SECRETS_ATTRIBUTE, ()))
    }


def loggable_path(app: Flask) -> str:
    """Return the current request's path as the access log may show it: secrets replaced."""
    path = request.path
    secrets, prefixes = _path_secrets(app)
    if request.url_rule is not None:
        names = secrets.get(request.url_rule.endpoint, ())
        values = {str((request.view_args or {}).get(name)) for name in names}
        path = "/".join(REDACTED if segment in values else segment for segment in path.split("/"))
    else:
        for prefix in prefixes:
            if path.startswith(prefix):
                path = prefix + REDACTED
                break
    return path[:MAX_LOGGED_PATH]


def _path_secrets(app: Flask) -> tuple[dict[str, tuple[str, ...]], tuple[str, ...]]:
    # Read once, at the first request: every blueprint is registered by then.
    if "path_secrets" not in app.extensions:
        secrets = declared_path_secrets(app)
        # The fixed part of each secret-bearing rule, e.g. "/pay/" for "/pay/<token>".
        prefixes = tuple(
            rule.rule.split("<", 1)[0]
            for rule in app.url_map.iter_rules()
            if rule.endpoint in secrets
        )
        app.extensions["path_secrets"] = (secrets, prefixes)
    return app.extensions["path_secrets"]


def _with_request_id(
    make_record: Callable[..., logging.LogRecord],
) -> Callable[..., logging.LogRecord]:
    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        record.request_id = g.get("request_id", "-") if has_app_context() else "-"
        return record

    make.adds_request_id = True  # type: ignore[attr-defined]
    return make


def configure_logging() -> None:
    """Give every log record a ``request_id`` and log to stderr in ``LOG_FORMAT`` (once)."""
    factory = logging.getLogRecordFactory()
    if not getattr(factory, "adds_request_id", False):
        # A record factory, not a handler's filter: every handler sees the id, including those
        # that gunicorn or the test runner attach.
        logging.setLogRecordFactory(_with_request_id(factory))
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    # The development server's own request lines carry raw paths and query strings.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


def init_app(app: Flask) -> None:
    """Assign each request its id before any other hook runs, and write the access log line."""
    configure_logging()

    @app.before_request
    def assign_request_id() -> None:
        sent = request.headers.get("X-Request-ID", "")
        g.request_id = sent if _CLIENT_REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex
        g.request_started = time.perf_counter()

    @app.after_request
    def log_request(response: Response) -> Response:
        # Registered first, so it runs after every other after_request hook: the status logged
        # is the one sent.
        elapsed_ms = (time.perf_counter() - g.get("request_started", time.perf_counter())) * 1000
        access_log.info(
            '%s "%s %s" %s %s %.0fms',
            request.remote_addr or "-",
            request.method,
            loggable_path(app),
            response.status_code,
            response.content_length if response.content_length is not None else "-",
            elapsed_ms,
        )
        return response
