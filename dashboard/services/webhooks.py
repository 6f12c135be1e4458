"""The webhook use case: verify a provider's webhook, deduplicate it, apply its events.

The one pipeline for TrueLayer's webhooks and the sandbox's (which imitates them). Its answer is
the HTTP status the provider reads: anything but 2xx makes it deliver the webhook again later.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from datetime import datetime

from dashboard.core.clock import utc_now
from dashboard.domain.payments import UnknownRefund
from dashboard.providers.truelayer_events import MalformedWebhook, provider_events
from dashboard.providers.webhook_verification import WebhookRejected, WebhookVerifier
from dashboard.services.payments import PaymentService, UnknownProviderLink
from dashboard.store.webhook_events import WebhookEventLog

log = logging.getLogger(__name__)


class WebhookIntake:
    """Receives provider webhooks for the payment service, each applied at most once."""

    def __init__(
        self,
        verifier: WebhookVerifier,
        event_log: WebhookEventLog,
        payments: PaymentService,
        clock: Callable[[], datetime] = utc_now,
    ):
        self._verifier = verifier
        self._event_log = event_log
        self._payments = payments
        self._clock = clock

    def receive(
        self, provider: str, signature: str, path: str, headers: Mapping[str, str], body: str
    ) -> tuple[dict, int]:
        """Verify, deduplicate and apply one webhook; return the JSON answer and its status."""
        now = self._clock()
        try:
            self._verifier.verify(signature, path, headers, body, now)
        except WebhookRejected as exc:
            log.warning("Rejected a %s webhook: %s", provider, exc)
            return {"error": "Unauthorized", "detail": str(exc)}, 401
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or not payload.get("event_id"):
            detail = "A JSON event with an event_id is expected."
            return {"error": "Bad request", "detail": detail}, 400
        event_key = f"{provider}:{payload['event_id']}"
        if self._event_log.seen(event_key, now):
            return {"status": "duplicate"}, 200
        try:
            events = provider_events(payload, provider)
        except MalformedWebhook as exc:
            return {"error": "Bad request", "detail": str(exc)}, 400
        if events is None:
            log.info("Ignoring %s webhook of type %r", provider, payload.get("type"))
            return {"status": "ignored"}, 200
        try:
            for event in events:
                self._payments.apply_provider_event(event)
        except (UnknownProviderLink, UnknownRefund) as exc:
            # Perhaps the link's (or the refund's) own creation has not been stored yet: let
            # the sender retry.
            log.info("%s webhook for an unknown id %s; asking for a retry", provider, exc)
            return {"error": "Not found", "detail": "Unknown payment link or payment."}, 404
        self._event_log.remember(event_key, now)
        return {"status": "applied"}, 200
