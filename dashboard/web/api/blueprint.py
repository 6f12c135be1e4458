"""The ``api`` blueprint under ``/api/v1``: authentication and CSRF for every route.

Its errors become problem details in ``dashboard.web.errors``, with the rest of the app's.
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from dashboard.web.api.auth import PUBLIC_ENDPOINTS, require_caller
from dashboard.web.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# CSRF is checked in require_caller, for session-authenticated writes only: a request with an
# API key carries no cookie a forged page could ride on.
csrf.exempt(bp)
bp.before_request(require_caller)


@bp.after_request
def api_headers(response: Response) -> Response:
    """Keep account data out of shared caches; answers differ by who asks."""
    if request.endpoint not in PUBLIC_ENDPOINTS:
        response.headers.setdefault("Cache-Control", "no-store")
        response.vary.update(("Authorization", "Cookie"))
    return response
