"""``POST /webhooks/truelayer``: verified, deduplicated, applied through the one status path."""

from __future__ import annotations

from flask import Blueprint, current_app, request
from flask.typing import ResponseReturnValue

from dashboard.providers.truelayer import NAME as TRUELAYER
from dashboard.web.extensions import csrf
from dashboard.web.permissions import public

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")


@bp.post("/truelayer")
@public
@csrf.exempt  # authenticated by TrueLayer's signature, not by a session
def truelayer_webhook() -> ResponseReturnValue:
    """Apply a TrueLayer webhook; non-2xx answers make TrueLayer deliver it again later."""
    body, status = current_app.extensions["webhook_intake"].receive(
        TRUELAYER, request.headers.get("Tl-Signature", ""), request.path, request.headers,
        request.get_data(as_text=True),
    )  # fmt: skip
    return body, status
