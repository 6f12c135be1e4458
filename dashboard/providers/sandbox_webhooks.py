"""The sandbox's webhooks: TrueLayer-shaped, signed with a local development key, and delivered
through the same verification, deduplication and status pipeline as TrueLayer's own.

The key pair is made when the app starts (development and tests only: the sandbox is refused in
production). Its public half is served at ``/sandbox/jwks`` and known to the webhook verifier
under ``SANDBOX_JKU``, so no request has to leave the process to check a signature.
"""

from __future__ import annotations

import base64
import json
import logging
from datetime import UTC, datetime

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from truelayer_signing import HttpMethod, sign_with_pem

from dashboard.domain.payments import AttemptStatus, ProviderEvent, ProviderEventKind
from dashboard.domain.refunds import RefundStatus

log = logging.getLogger(__name__)
SANDBOX_JKU = "urn:payment-dashboard:sandbox:jwks"
SANDBOX_WEBHOOK_PATH = "/webhooks/sandbox"
_KID = "sandbox-webhooks"
# TrueLayer sends no webhook while a payer is authorising; the sandbox says what TrueLayer says.
_WEBHOOK_TYPES = {
    AttemptStatus.AUTHORIZED: ("payment_authorized", "authorized_at"),
    AttemptStatus.EXECUTED: ("payment_executed", "executed_at"),
    AttemptStatus.SETTLED: ("payment_settled", "settled_at"),
    AttemptStatus.FAILED: ("payment_failed", "failed_at"),
}


def _b64(number: int) -> str:
    return base64.urlsafe_b64encode(number.to_bytes(66, "big")).rstrip(b"=").decode()


class SandboxWebhookSigner:
    """Holds the sandbox's ES512 key and turns provider events into signed webhooks."""

    def __init__(self) -> None:
        key = ec.generate_private_key(ec.SECP521R1())
        self._private_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        numbers = key.public_key().public_numbers()
        self.jwks = {
            "keys": [
                {
                    "kty": "EC",
                    "crv": "P-521",
                    "kid": _KID,
                    "x": _b64(numbers.x),
                    "y": _b64(numbers.y),
                }
            ]
        }

    def webhook(self, event: ProviderEvent) -> tuple[str, dict[str, str]] | None:
        """Return the signed body and headers TrueLayer would send for ``event`` (None: none)."""
        payload = _payload(event)
        if payload is None:
            return None
        body = json.dumps(payload)
        sent = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        signature = (
            sign_with_pem(_KID, self._private_pem)
            .set_method(HttpMethod.POST)
            .set_path(SANDBOX_WEBHOOK_PATH)
            .add_header("X-TL-Webhook-Timestamp", sent)
            .set_jku(SANDBOX_JKU)
            .set_body(body)
            .sign()
        )
        return body, {"Tl-Signature": signature, "X-TL-Webhook-Timestamp": sent}


def _payload(event: ProviderEvent) -> dict | None:
    at = event.occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    common = {"event_version": 1, "event_id": event.event_id}
    if event.kind is ProviderEventKind.LINK_DISABLED:
        return {
            **common,
            "type": "payment_link_disabled",
            "payment_link_id": event.provider_link_id,
            "disabled_at": at,
            "disabled_reason": event.disabled_reason or "expired",
        }
    if event.kind is ProviderEventKind.REFUND_UPDATED:
        return _refund_payload(event, common, at)
    if event.attempt_status is AttemptStatus.AUTHORIZATION_REQUIRED:
        return {
            **common,
            "type": "payment_link_payment_created",
            "payment_link_id": event.provider_link_id,
            "payment": {"id": event.provider_payment_id, "created_at": at},
        }
    if event.attempt_status not in _WEBHOOK_TYPES:
        return None
    kind, time_field = _WEBHOOK_TYPES[event.attempt_status]
    payload = {**common, "type": kind, "payment_id": event.provider_payment_id, time_field: at}
    if event.attempt_status is AttemptStatus.FAILED:
        payload.update(failure_reason=event.failure_reason, failed_stage="authorizing")
    return payload


def _refund_payload(event: ProviderEvent, common: dict, at: str) -> dict | None:
    # TrueLayer sends webhooks for a refund's end only: executed, or failed (a return included).
    refund = {
        **common,
        "refund_id": event.provider_refund_id,
        "payment_id": event.provider_payment_id,
    }
    if event.refund_status is RefundStatus.EXECUTED:
        return {**refund, "type": "refund_executed", "executed_at": at}
    if event.refund_status is RefundStatus.FAILED:
        return {
            **refund,
            "type": "refund_failed",
            "failed_at": at,
            "failure_reason": event.failure_reason or "unknown",
        }
    return None
