"""Who may call the API: an API key (``Authorization: Bearer``) or the browser session.

The actor is resolved by ``dashboard.web.actor``. A request that presents an Authorization
header is judged by it alone: a malformed, unknown or revoked key is a 401, never a fall back to
the session cookie.
Session-authenticated writes need the CSRF token, as everywhere else in the app; API-key
requests are exempt (the blueprint is exempted and CSRF is checked here instead).
"""

from __future__ import annotations

from flask import request

from dashboard.web.actor import resolve_actor
from dashboard.web.api.problems import Problem
from dashboard.web.extensions import csrf

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Endpoints anyone may call: no credentials needed, any presented are ignored.
PUBLIC_ENDPOINTS = frozenset({"api.health", "api.openapi_document", "api.docs"})


def require_caller() -> None:
    """Refuse requests without valid credentials (401), and session writes without CSRF."""
    if request.endpoint in PUBLIC_ENDPOINTS or request.endpoint is None:
        return
    if request.method == "OPTIONS":
        return  # Flask answers it with the allowed methods only
    resolution = resolve_actor()
    if resolution.actor is None:
        refused = resolution.refusal is not None
        challenge = 'Bearer realm="api"' + (', error="invalid_token"' if refused else "")
        raise Problem(
            401,
            "Authentication required",
            resolution.refusal
            or "Send an API key (Authorization: Bearer <API key>) or sign in first.",
            problem_type="unauthenticated",
            headers={"WWW-Authenticate": challenge},
        )
    if resolution.actor.uses_session and request.method not in SAFE_METHODS:
        csrf.protect()


def rate_limit_key() -> str:
    """Return the rate-limit bucket of the request: its API key, its merchant, or its address.

    Refused credentials count against the caller's address, so guessing keys is limited too.
    """
    if request.endpoint not in PUBLIC_ENDPOINTS:
        actor = resolve_actor().actor
        if actor is not None:
            if actor.api_key_id is not None:
                return f"key:{actor.api_key_id}"
            return f"user:{actor.account_id}"
    return f"ip:{request.remote_addr}"
