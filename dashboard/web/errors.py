"""Error pages: every failure the merchant can meet gets a clear page (or JSON), never a trace."""

from __future__ import annotations

import logging

from flask import Flask, g, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from dashboard.domain.payments import InvalidTransition
from dashboard.providers.base import ProviderRejected, ProviderUnavailable
from dashboard.services.orders import OrderNotFound
from dashboard.services.payments import ActionNotAllowed, PaymentNotFound
from dashboard.store.dynamo import StoreUnavailable
from dashboard.store.payments import StaleWrite
from dashboard.web.api.problems import http_problem, is_api_request
from dashboard.web.auth.routes import SignInUnavailable

log = logging.getLogger(__name__)


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" or request.path.startswith(("/health", "/webhooks"))


def error_response(code: int, title: str, message: str):
    """Return an error as a page, or as JSON for clients that ask for JSON."""
    request_id = g.get("request_id", "")
    if _wants_json():
        return {"error": title, "detail": message, "request_id": request_id}, code
    return render_template(
        "errors/error.html", code=code, title=title, message=message, request_id=request_id
    ), code


def register_error_handlers(app: Flask) -> None:
    """Map domain exceptions and HTTP errors to pages, once, for the whole app."""

    @app.errorhandler(StoreUnavailable)
    def store_unavailable(exc):
        log.error("Payment store unavailable (request %s): %s", g.get("request_id"), exc)
        return error_response(
            503,
            "Payment store unavailable",
            "We cannot reach the payment store right now. Nothing was lost; "
            "please try again in a minute.",
        )

    @app.errorhandler(ProviderUnavailable)
    def provider_unavailable(exc):
        log.error("Payment provider unavailable (request %s): %s", g.get("request_id"), exc)
        return error_response(
            503,
            "Payment provider unavailable",
            "The payment provider is not answering right now. Please try again in a minute.",
        )

    @app.errorhandler(ProviderRejected)
    def provider_rejected(exc):
        return error_response(502, "Payment provider refused the request", str(exc))

    @app.errorhandler(SignInUnavailable)
    def signin_unavailable(exc):
        log.error("Sign-in provider unavailable (request %s): %s", g.get("request_id"), exc)
        return error_response(
            503,
            "Sign-in is unavailable",
            "The sign-in service is not answering right now. Please try again in a minute.",
        )

    @app.errorhandler(PaymentNotFound)
    def not_found(_exc):
        return error_response(404, "Payment not found", "There is no such payment in your account.")

    @app.errorhandler(OrderNotFound)
    def order_not_found(_exc):
        return error_response(404, "Order not found", "There is no such order in your account.")

    @app.errorhandler(ActionNotAllowed)
    @app.errorhandler(InvalidTransition)
    def not_allowed(exc):
        return error_response(409, "Not possible now", str(exc))

    @app.errorhandler(StaleWrite)
    def busy(_exc):
        return error_response(
            409, "Changed meanwhile", "The payment changed while we saved it. Please try again."
        )

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return error_response(
            400,
            "Form expired",
            "This form is no longer valid (your session may have ended). "
            "Reload the page and try again.",
        )

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if is_api_request():
            # No API route matched (404, 405): the API's own handlers never saw it.
            return http_problem(exc)
        return error_response(exc.code or 500, exc.name, exc.description or "")

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("Unexpected error (request %s)", g.get("request_id"))
        return error_response(
            500,
            "Something went wrong",
            "An unexpected error happened. It has been logged; please try again.",
        )
