"""The error catalogue's one set of handlers: every failure gets a page, a fragment or a problem.

Domain exceptions carry their meaning (``dashboard.core.errors``: not found, conflict,
unavailable, ...), a title and a message. Here, once for the whole app, the meaning becomes an
HTTP status and the answer takes the caller's form: problem+json for the JSON API, JSON for
clients that ask for it (``/health``, webhooks), the error block alone for htmx, the full page
otherwise. Framework errors (CSRF, rate limits, HTTP errors, the unexpected) take the same path.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, g, make_response, render_template, request
from flask.typing import ResponseReturnValue
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from jinja2_fragments.flask import render_block
from werkzeug.exceptions import HTTPException

from dashboard.core.errors import DomainError, ErrorKind, InvalidInput
from dashboard.domain.payments import InvalidTransition
from dashboard.domain.refunds import RefundNotAllowed
from dashboard.services.payments import ActionNotAllowed
from dashboard.services.webhook_endpoints import (
    WebhookEndpointExists,
    WebhookEndpointLimitReached,
)
from dashboard.store.dynamo import StoreUnavailable
from dashboard.web.api.problems import (
    Problem,
    ValidationProblem,
    http_problem,
    is_api_request,
    problem_response,
    rate_limited_problem,
    step_up_problem,
)
from dashboard.web.htmx import request_is_partial
from dashboard.web.step_up import StepUpRequired, ask_to_confirm

log = logging.getLogger(__name__)

ERROR_TEMPLATE = "errors/error.html"

# What each meaning is in HTTP: its status and, for the API, its problem type (see
# ``problems.PROBLEM_TYPES``; None is ``about:blank``, the status says it all).
STATUS = {
    ErrorKind.INVALID_INPUT: 422,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.CONFLICT: 409,
    ErrorKind.FORBIDDEN: 403,
    ErrorKind.UNAVAILABLE: 503,
    ErrorKind.REFUSED_UPSTREAM: 502,
}
PROBLEM_TYPE = {
    ErrorKind.INVALID_INPUT: "validation-error",
    ErrorKind.NOT_FOUND: "not-found",
    ErrorKind.CONFLICT: "conflict",
    ErrorKind.FORBIDDEN: "forbidden",
    ErrorKind.UNAVAILABLE: "unavailable",
}
RETRY_AFTER_SECONDS = "30"  # what a 503 asks callers to wait before trying again


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" or request.path.startswith(("/health", "/webhooks"))


def error_response(
    code: int, title: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    """Return an error as a page (the error block alone for htmx), or JSON if asked for."""
    request_id = g.get("request_id", "")
    if _wants_json():
        response = make_response(
            {"error": title, "detail": message, "request_id": request_id}, code
        )
    else:
        context = {"code": code, "title": title, "message": message, "request_id": request_id}
        if request_is_partial():
            body = render_block(ERROR_TEMPLATE, "content", **context)
        else:
            body = render_template(ERROR_TEMPLATE, **context)
        response = make_response(body, code)
        response.vary.add("HX-Request")
    response.headers.update(headers or {})
    return response


def domain_error_response(exc: DomainError) -> Response:
    """Return the answer a domain error's meaning calls for, in the caller's form."""
    status = STATUS[exc.kind]
    headers = {"Retry-After": RETRY_AFTER_SECONDS} if exc.kind is ErrorKind.UNAVAILABLE else {}
    if exc.kind is ErrorKind.UNAVAILABLE:
        log.error("%s (request %s): %s", exc.title, g.get("request_id"), exc)
    if is_api_request():
        if isinstance(exc, InvalidInput):
            return problem_response(ValidationProblem(exc.errors))
        title, detail = _api_words(exc)
        return problem_response(
            Problem(status, title, detail, problem_type=PROBLEM_TYPE.get(exc.kind), headers=headers)
        )
    return error_response(status, exc.title, exc.explanation(), headers)


_CHANGED_MEANWHILE = "The resource changed while we saved it. Read it again and retry."


def _api_words(exc: DomainError) -> tuple[str, str]:
    """Return the problem's title and detail: the API's own, stable wording for each meaning.

    Scripts may match on them, so they stay as the API has always worded them; pages use the
    error's own title and message.
    """
    if exc.kind is ErrorKind.CONFLICT:
        if isinstance(exc, ActionNotAllowed | InvalidTransition | RefundNotAllowed):
            return "Not possible now", str(exc)  # says why, in the merchant's words
        if isinstance(exc, WebhookEndpointLimitReached | WebhookEndpointExists):
            return "Not possible now", exc.explanation()  # the limit, or the endpoint exists
        return (
            "Not possible now",
            "The resource changed while we saved it. Read it again and retry.",
        )
    if exc.kind is ErrorKind.UNAVAILABLE:
        what = "payment store" if isinstance(exc, StoreUnavailable) else "payment provider"
        detail = f"The {what} is not answering right now. Nothing was lost; try again shortly."
        return "Service unavailable", detail
    if exc.kind is ErrorKind.REFUSED_UPSTREAM:
        return "Bad Gateway", f"The payment provider refused: {exc}"
    return exc.title, exc.explanation()


def register_error_handlers(app: Flask) -> None:
    """Map domain exceptions and HTTP errors to answers, once, for the whole app and its API."""
    app.register_error_handler(DomainError, domain_error_response)

    @app.errorhandler(Problem)
    def problem(exc: Problem) -> ResponseReturnValue:
        if is_api_request():
            return problem_response(exc)
        return error_response(exc.status, exc.title, exc.detail, exc.headers)

    @app.errorhandler(CSRFError)
    def csrf_error(_exc: CSRFError) -> ResponseReturnValue:
        if is_api_request():
            return problem_response(
                Problem(403, "CSRF token missing or invalid",
                        "A request authenticated by the browser session must send the page's "
                        "CSRF token in the X-CSRFToken header. Scripts should use an API key "
                        "instead.",
                        problem_type="csrf-failed")
            )  # fmt: skip
        return error_response(
            400,
            "Form expired",
            "This form is no longer valid (your session may have ended). "
            "Reload the page and try again.",
        )

    @app.errorhandler(StepUpRequired)
    def step_up_required(exc: StepUpRequired) -> ResponseReturnValue:
        if is_api_request():
            return problem_response(step_up_problem())
        return ask_to_confirm(exc.form_page)

    @app.errorhandler(RateLimitExceeded)
    def rate_limited(exc: RateLimitExceeded) -> ResponseReturnValue:
        if is_api_request():
            return problem_response(rate_limited_problem(exc))
        return http_error(exc)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ResponseReturnValue:
        if is_api_request():
            # Also when no API route matched (404, 405).
            return http_problem(exc)
        return error_response(exc.code or 500, exc.name, exc.description or "")

    @app.errorhandler(Exception)
    def unexpected(_exc: Exception) -> ResponseReturnValue:
        log.exception("Unexpected error (request %s)", g.get("request_id"))
        if is_api_request():
            return problem_response(
                Problem(500, "Internal Server Error",
                        "An unexpected error happened. It has been logged; please try again.")
            )  # fmt: skip
        return error_response(
            500,
            "Something went wrong",
            "An unexpected error happened. It has been logged; please try again.",
        )
