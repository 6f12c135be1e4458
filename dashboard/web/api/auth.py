"""Who is calling the API: an API key (``Authorization: Bearer``) or the browser session.

A request that presents an Authorization header is judged by it alone: a malformed, unknown or
revoked key is a 401, never a fall back to the session cookie. A key's merchant becomes
flask-login's current user for this request only; the session is never written.
Session-authenticated writes need the CSRF token, as everywhere else in the app; API-key
requests are exempt (the blueprint is exempted and CSRF is checked here instead).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, g, request
from flask_login import current_user

from dashboard.domain.user import User
from dashboard.web.api.problems import Problem
from dashboard.web.extensions import csrf

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
VIA_API_KEY = "api_key"
VIA_SESSION = "session"
# Endpoints anyone may call: no credentials needed, any presented are ignored.
PUBLIC_ENDPOINTS = frozenset({"api.health", "api.openapi_document", "api.docs"})


@dataclass(frozen=True)
class ApiCaller:
    """The merchant a request acts for, and how it proved it."""

    user_id: str
    via: str  # VIA_API_KEY or VIA_SESSION
    key_id: str | None = None

    @property
    def rate_limit_key(self) -> str:
        """Return the bucket this caller's requests are counted in."""
        return f"key:{self.key_id}" if self.key_id else f"user:{self.user_id}"


@dataclass(frozen=True)
class Authentication:
    """The outcome of reading a request's credentials: a caller, or why there is none."""

    caller: ApiCaller | None
    refusal: str | None = None  # set when credentials were presented and refused


def authenticate() -> Authentication:
    """Return who is calling (read once per request, then kept on ``g``)."""
    if "api_authentication" not in g:
        g.api_authentication = _read_credentials()
    return g.api_authentication


def current_caller() -> ApiCaller:
    """Return the authenticated caller; only for routes behind ``require_caller``."""
    caller = authenticate().caller
    assert caller is not None, "route is not behind require_caller"
    return caller


def _read_credentials() -> Authentication:
    header = request.headers.get("Authorization")
    if header is None:
        if current_user.is_authenticated:
            return Authentication(ApiCaller(current_user.sub, VIA_SESSION))
        return Authentication(None)
    scheme, _, presented = header.strip().partition(" ")
    presented = presented.strip()
    if scheme.lower() != "bearer" or not presented:
        return Authentication(None, "Send the API key as: Authorization: Bearer <API key>.")
    service = current_app.extensions.get("api_keys")
    principal = service.authenticate(presented) if service is not None else None
    if principal is None:
        return Authentication(None, "The API key is not valid: it is unknown or revoked.")
    # The key's merchant is flask-login's user for this request only (nothing is written to
    # the session, so a key can never leave a signed-in cookie behind).
    g._login_user = User(sub=principal.user_id)
    return Authentication(ApiCaller(principal.user_id, VIA_API_KEY, principal.key_id))


def require_caller() -> None:
    """Refuse requests without valid credentials (401), and session writes without CSRF."""
    if request.endpoint in PUBLIC_ENDPOINTS or request.endpoint is None:
        return
    if request.method == "OPTIONS":
        return  # Flask answers it with the allowed methods only
    authentication = authenticate()
    if authentication.caller is None:
        refused = authentication.refusal is not None
        challenge = 'Bearer realm="api"' + (', error="invalid_token"' if refused else "")
        raise Problem(
            401,
            "Authentication required",
            authentication.refusal
            or "Send an API key (Authorization: Bearer <API key>) or sign in first.",
            problem_type="unauthenticated",
            headers={"WWW-Authenticate": challenge},
        )
    if authentication.caller.via == VIA_SESSION and request.method not in SAFE_METHODS:
        csrf.protect()


def rate_limit_key() -> str:
    """Return the rate-limit bucket of the request: its API key, its merchant, or its address.

    Refused credentials count against the caller's address, so guessing keys is limited too.
    """
    if request.endpoint not in PUBLIC_ENDPOINTS:
        caller = authenticate().caller
        if caller is not None:
            return caller.rate_limit_key
    return f"ip:{request.remote_addr}"
