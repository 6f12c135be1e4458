"""RFC 9457 problem details: every error of the JSON API, and the one place that maps them.

A problem is ``application/problem+json`` with ``type``, ``title``, ``status`` and ``detail``,
plus ``errors`` ({field: message}) when input was refused, and the ``request_id`` to quote to
support. Domain exceptions raised by services are mapped here, once, for the whole blueprint.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, g, request
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from dashboard.domain.orders import InvalidOrder
from dashboard.domain.payments import InvalidTransition
from dashboard.providers.base import ProviderRejected, ProviderUnavailable
from dashboard.services.orders import OrderNotFound
from dashboard.services.payments import ActionNotAllowed, PaymentNotFound
from dashboard.store.dynamo import StoreUnavailable
from dashboard.store.orders import OrderAlreadyExists, StaleOrder
from dashboard.store.payments import PaymentAlreadyExists, StaleWrite
from dashboard.web.hosts import external_url

log = logging.getLogger(__name__)

API_PREFIX = "/api/"
PROBLEM_JSON = "application/problem+json"

# The problem types this API defines beyond plain HTTP statuses; each has an anchor on the docs
# page (``/api/v1/docs#problem-<slug>``), which is what a ``type`` URI points at.
PROBLEM_TYPES = {
    "validation-error": "The request's input was refused; errors says why for each field.",
    "unauthenticated": "No credentials, or an API key that is malformed, unknown or revoked.",
    "csrf-failed": "A browser-session write without a valid CSRF token.",
    "not-found": "No such resource in your account (another merchant's is not found either).",
    "conflict": "The resource's state does not allow this now, or it changed meanwhile.",
    "idempotency-key-reused": "The Idempotency-Key was used before with a different request.",
    "idempotency-key-in-use": "A request with this Idempotency-Key is still running.",
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


def _payment_not_found(_exc: PaymentNotFound) -> Response:
    return problem_response(
        Problem(404, "Payment not found", "There is no such payment in your account.",
                problem_type="not-found")
    )  # fmt: skip


def _order_not_found(_exc: OrderNotFound) -> Response:
    return problem_response(
        Problem(404, "Order not found", "There is no such order in your account.",
                problem_type="not-found")
    )  # fmt: skip


def _invalid_order(exc: InvalidOrder) -> Response:
    # The order's own rules (e.g. the total's maximum), only checkable once fields combine.
    return problem_response(ValidationProblem(exc.errors))


def _conflict(exc: Exception) -> Response:
    if isinstance(exc, ActionNotAllowed | InvalidTransition):
        detail = str(exc)  # says why, in the merchant's words
    else:
        detail = "The resource changed while we saved it. Read it again and retry."
    return problem_response(Problem(409, "Not possible now", detail, problem_type="conflict"))


def _unavailable(exc: Exception) -> Response:
    what = "payment store" if isinstance(exc, StoreUnavailable) else "payment provider"
    log.error("API: %s unavailable (request %s): %s", what, g.get("request_id"), exc)
    return problem_response(
        Problem(503, "Service unavailable",
                f"The {what} is not answering right now. Nothing was lost; try again shortly.",
                problem_type="unavailable", headers={"Retry-After": "30"})
    )  # fmt: skip


def _provider_rejected(exc: ProviderRejected) -> Response:
    return problem_response(Problem(502, "Bad Gateway", f"The payment provider refused: {exc}"))


def _csrf_failed(_exc: CSRFError) -> Response:
    return problem_response(
        Problem(403, "CSRF token missing or invalid",
                "A request authenticated by the browser session must send the page's CSRF "
                "token in the X-CSRFToken header. Scripts should use an API key instead.",
                problem_type="csrf-failed")
    )  # fmt: skip


def _rate_limited(exc: RateLimitExceeded) -> Response:
    return problem_response(
        Problem(429, "Too many requests",
                f"This API allows {exc.description} per API key or signed-in merchant.",
                problem_type="rate-limited", headers={"Retry-After": str(_retry_after())})
    )  # fmt: skip


def _unexpected(_exc: Exception) -> Response:
    log.exception("API: unexpected error (request %s)", g.get("request_id"))
    return problem_response(
        Problem(500, "Internal Server Error",
                "An unexpected error happened. It has been logged; please try again.")
    )  # fmt: skip


# Every exception the API's routes and services may raise, and its problem. Add a resource's
# domain exceptions here (e.g. OrderNotFound -> 404). Flask picks the most specific class, so
# the HTTPException and Exception catch-alls only take what nothing else maps.
HANDLERS: list[tuple[type[Exception], Callable[[Any], Response]]] = [
    (Problem, problem_response),
    (PaymentNotFound, _payment_not_found),
    (OrderNotFound, _order_not_found),
    (InvalidOrder, _invalid_order),
    (ActionNotAllowed, _conflict),
    (InvalidTransition, _conflict),
    (StaleWrite, _conflict),
    (PaymentAlreadyExists, _conflict),
    (StaleOrder, _conflict),
    (OrderAlreadyExists, _conflict),
    (StoreUnavailable, _unavailable),
    (ProviderUnavailable, _unavailable),
    (ProviderRejected, _provider_rejected),
    (CSRFError, _csrf_failed),
    (RateLimitExceeded, _rate_limited),
    (HTTPException, http_problem),
    (Exception, _unexpected),
]


def register_problem_handlers(bp: Blueprint) -> None:
    """Map every error raised under the blueprint to problem details, once."""
    for exception, handler in HANDLERS:
        bp.register_error_handler(exception, handler)


def _retry_after() -> int:
    """Return the whole seconds until the breached window resets (at least 1)."""
    limiter = current_app.extensions["api_limiter"]
    current = limiter.current_limit
    if current is None:
        return 60
    return max(1, math.ceil(current.window[0] - time.time()))  # window[0]: when it resets
