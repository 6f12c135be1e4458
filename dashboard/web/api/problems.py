"""RFC 9457 problem details: the form every error of the JSON API takes.

A problem is ``application/problem+json`` with ``type``, ``title``, ``status`` and ``detail``,
plus ``errors`` ({field: message}) when input was refused, and the ``request_id`` to quote to
support. Domain exceptions become problems in ``dashboard.web.errors``, the one set of error
handlers, from the meaning each carries (``dashboard.core.errors``).
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

from flask import Response, current_app, g, request
from flask_limiter import RateLimitExceeded
from werkzeug.exceptions import HTTPException

from dashboard.services.sessions import STEP_UP_MAX_AGE
from dashboard.web.hosts import external_url

API_PREFIX = "/api/"
PROBLEM_JSON = "application/problem+json"

# The problem types this API defines beyond plain HTTP statuses; each has an anchor on the docs
# page (``/api/v1/docs#problem-<slug>``), which is what a ``type`` URI points at.
PROBLEM_TYPES = {
    "validation-error": "The request's input was refused; errors says why for each field.",
    "unauthenticated": "No credentials, or an API key that is malformed, unknown or revoked.",
    "csrf-failed": "A browser-session write without a valid CSRF token.",
    "forbidden": "Your role, or your API key's scope, does not allow this; detail says who may.",
    "not-found": "No such resource in your account (another merchant's is not found either).",
    "conflict": "The resource's state does not allow this now, or it changed meanwhile.",
    "idempotency-key-reused": "The Idempotency-Key was used before with a different request.",
    "idempotency-key-in-use": "A request with this Idempotency-Key is still running.",
    "step-up-required": "A sensitive action, called with the browser session, needs a sign-in "
    "from the last 5 minutes: sign in again (/login?max_age=300), then retry.",
    "rate-limited": "Too many requests; wait for Retry-After seconds.",
    "unavailable": "DynamoDB or the payment provider is not answering; try again shortly.",
}


class Problem(Exception):
    """An API error to answer as problem details; raise it from a route or a helper."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        problem_type: str | None = None,
        errors: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.problem_type = problem_type
        self.errors = errors
        self.headers = headers or {}


class ValidationProblem(Problem):
    """Input that was refused: 422 for a body, 400 for query parameters or headers."""

    def __init__(self, errors: dict[str, str], status: int = 422, detail: str | None = None):
        super().__init__(
            status,
            "Validation failed",
            detail or "Some of the input was refused; see errors for each field.",
            problem_type="validation-error",
            errors=errors,
        )


def is_api_request() -> bool:
    """Return True when the request is for the JSON API (even if no route matched it)."""
    return request.path.startswith(API_PREFIX)


def problem_type_uri(slug: str | None) -> str:
    """Return the ``type`` URI of a problem: its anchor on the docs page, or about:blank."""
    if slug is None:
        return "about:blank"
    return external_url("api.docs") + f"#problem-{slug}"


def problem_response(problem: Problem) -> Response:
    """Return the problem+json response for a Problem."""
    body: dict[str, Any] = {
        "type": problem_type_uri(problem.problem_type),
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        "instance": request.path,
        "request_id": g.get("request_id", ""),
    }
    if problem.errors is not None:
        body["errors"] = problem.errors
    response = current_app.response_class(
        json.dumps(body), status=problem.status, mimetype=PROBLEM_JSON
    )
    response.headers.update(problem.headers)
    return response


def http_problem(exc: HTTPException) -> Response:
    """Return an HTTP error (404, 405, 413, 415...) as problem details, keeping its headers."""
    headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
    return problem_response(
        Problem(exc.code or 500, exc.name, exc.description or exc.name, headers=headers)
    )


def rate_limited_problem(exc: RateLimitExceeded) -> Problem:
    """Return the problem for a request over the API's rate limit, with its Retry-After."""
    return Problem(
        429,
        "Too many requests",
        f"This API allows {exc.description} per API key or signed-in merchant.",
        problem_type="rate-limited",
        headers={"Retry-After": str(_retry_after())},
    )


def step_up_problem() -> Problem:
    """Return the problem for a session caller whose sign-in is too old for a sensitive action."""
    seconds = int(STEP_UP_MAX_AGE.total_seconds())
    return Problem(
        401,
        "Confirm it's you",
        f"This action needs a sign-in from the last {seconds // 60} minutes. Sign in again "
        f"(/login?max_age={seconds}), then send the request again.",
        problem_type="step-up-required",
        # RFC 9470's challenge: authenticate again, no longer than max_age ago.
        headers={
            "WWW-Authenticate": 'Bearer realm="api", '
            f'error="insufficient_user_authentication", max_age="{seconds}"'
        },
    )


def _retry_after() -> int:
    """Return the whole seconds until the breached window resets (at least 1)."""
    limiter = current_app.extensions["api_limiter"]
    current = limiter.current_limit
    if current is None:
        return 60
    return max(1, math.ceil(current.window[0] - time.time()))  # window[0]: when it resets
