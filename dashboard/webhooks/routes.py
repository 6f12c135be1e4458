"""``POST /webhooks/truelayer``: verified, deduplicated, applied through the one status path."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

from flask import Blueprint, current_app, request

from dashboard.extensions import csrf
from dashboard.payments.service import UnknownProviderLink, utc_now
from dashboard.providers.truelayer import NAME as TRUELAYER
from dashboard.webhooks.events import MalformedWebhook, provider_events
from dashboard.webhooks.verification import WebhookRejected

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")


@bp.post("/truelayer")
@csrf.exempt  # authenticated by TrueLayer's signature, not by a session
def truelayer_webhook():
    """Apply a TrueLayer webhook; non-2xx answers make TrueLayer deliver it again later."""
    body, status = process_webhook(
        TRUELAYER, request.headers.get("Tl-Signature", ""), request.path, request.headers,
        request.get_data(as_text=True),
    )  # fmt: skip
    return body, status


def process_webhook(
    provider: str, signature: str, path: str, headers: Mapping[str, str], body: str
) -> tuple[dict, int]:
    """Verify, deduplicate and apply one webhook; return the JSON answer and its status.

    The one pipeline for TrueLayer's webhooks and the sandbox's (which imitates them).
    """
    now = utc_now()
    try:
        current_app.extensions["truelayer_webhook_verifier"].verify(
            signature, path, headers, body, now
        )
    except WebhookRejected as exc:
        log.warning("Rejected a %s webhook: %s", provider, exc)
        return {"error": "Unauthorized", "detail": str(exc)}, 401
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if not isinstance(payload, dict) or not payload.get("event_id"):
        return {"error": "Bad request", "detail": "A JSON event with an event_id is expected."}, 400
    event_log = current_app.extensions["store"].webhook_events
    if event_log.seen(f"{provider}:{payload['event_id']}", now):
        return {"status": "duplicate"}, 200
    try:
        events = provider_events(payload, provider)
    except MalformedWebhook as exc:
        return {"error": "Bad request", "detail": str(exc)}, 400
    if events is None:
        log.info("Ignoring %s webhook of type %r", provider, payload.get("type"))
        return {"status": "ignored"}, 200
    service = current_app.extensions["payment_service"]
    try:
        for event in events:
            service.apply_provider_event(event)
    except UnknownProviderLink as exc:
        # Perhaps the link's own creation has not been stored yet: let the sender retry.
        log.info("%s webhook for an unknown id %s; asking for a retry", provider, exc)
        return {"error": "Not found", "detail": "Unknown payment link or payment."}, 404
    event_log.remember(f"{provider}:{payload['event_id']}", now)
    return {"status": "applied"}, 200
