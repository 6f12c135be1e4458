"""``POST /webhooks/truelayer``: verified, deduplicated, applied through the one status path."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, request

from dashboard.extensions import csrf
from dashboard.payments.service import UnknownProviderLink, utc_now
from dashboard.webhooks.events import MalformedWebhook, provider_events
from dashboard.webhooks.verification import WebhookRejected

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")


@bp.post("/truelayer")
@csrf.exempt  # authenticated by TrueLayer's signature, not by a session
def truelayer_webhook():
    """Apply a TrueLayer webhook; non-2xx answers make TrueLayer deliver it again later."""
    now = utc_now()
    body = request.get_data(as_text=True)
    try:
        current_app.extensions["truelayer_webhook_verifier"].verify(
            request.headers.get("Tl-Signature", ""), request.path, request.headers, body, now
        )
    except WebhookRejected as exc:
        log.warning("Rejected a TrueLayer webhook: %s", exc)
        return {"error": "Unauthorized", "detail": str(exc)}, 401
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict) or not payload.get("event_id"):
        return {"error": "Bad request", "detail": "A JSON event with an event_id is expected."}, 400
    event_log = current_app.extensions["store"].webhook_events
    if event_log.seen(payload["event_id"], now):
        return {"status": "duplicate"}
    try:
        events = provider_events(payload)
    except MalformedWebhook as exc:
        return {"error": "Bad request", "detail": str(exc)}, 400
    if events is None:
        log.info("Ignoring TrueLayer webhook of type %r", payload.get("type"))
        return {"status": "ignored"}
    service = current_app.extensions["payment_service"]
    try:
        for event in events:
            service.apply_provider_event(event)
    except UnknownProviderLink as exc:
        # Perhaps the link's own creation has not been stored yet: let TrueLayer retry.
        log.info("TrueLayer webhook for an unknown id %s; asking for a retry", exc)
        return {"error": "Not found", "detail": "Unknown payment link or payment."}, 404
    event_log.remember(payload["event_id"], now)
    return {"status": "applied"}
