"""TrueLayer webhook payloads turned into ProviderEvents (the one status path of the app)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dashboard.domain.payments import ProviderEvent, ProviderEventKind
from dashboard.domain.refunds import RefundStatus
from dashboard.providers.truelayer import NAME, attempt_event

# Payment webhooks and the attempt status each one reports.
_PAYMENT_EVENTS = {
    "payment_authorized": ("authorized", "authorized_at"),
    "payment_executed": ("executed", "executed_at"),
    "payment_settled": ("settled", "settled_at"),
    "payment_failed": ("failed", "failed_at"),
}

# Refund webhooks and the refund status each one reports.
_REFUND_EVENTS = {
    "refund_executed": (RefundStatus.EXECUTED, "executed_at"),
    "refund_failed": (RefundStatus.FAILED, "failed_at"),
}


class MalformedWebhook(ValueError):
    """Raised for a verified webhook whose body lacks what its type promises."""


def _time(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
    return datetime.now(UTC)


def provider_events(payload: dict[str, Any], provider: str = NAME) -> list[ProviderEvent] | None:
    """Return the events a webhook reports, or None for a type this app does not track.

    ``provider`` names whose ids the payload carries: TrueLayer's, or the sandbox's, which
    sends TrueLayer-shaped webhooks through the same pipeline.
    """
    kind = payload.get("type")
    event_id = str(payload.get("event_id") or "")
    try:
        if kind == "payment_link_payment_created":
            payment = payload["payment"]
            event = attempt_event(
                payload["payment_link_id"], payment["id"], "authorization_required", None,
                _time(payment.get("created_at")), event_id, provider,
            )  # fmt: skip
            return [event] if event else []
        if kind in _PAYMENT_EVENTS:
            status, time_field = _PAYMENT_EVENTS[kind]
            event = attempt_event(
                None, payload["payment_id"], status, payload.get("failure_reason"),
                _time(payload.get(time_field)), event_id, provider,
            )  # fmt: skip
            return [event] if event else []
        if kind in _REFUND_EVENTS:
            return [_refund_event(payload, event_id, provider)]
        if kind == "payment_link_disabled":
            return [
                ProviderEvent(
                    event_id=event_id,
                    provider=provider,
                    kind=ProviderEventKind.LINK_DISABLED,
                    provider_link_id=payload["payment_link_id"],
                    disabled_reason=payload.get("disabled_reason") or "expired",
                    occurred_at=_time(payload.get("disabled_at")),
                )
            ]
    except (KeyError, TypeError) as exc:
        raise MalformedWebhook(f"{kind} without {exc}") from exc
    return None


def _refund_event(payload: dict[str, Any], event_id: str, provider: str) -> ProviderEvent:
    """Return the REFUND_UPDATED event of a ``refund_executed`` or ``refund_failed`` webhook."""
    status, time_field = _REFUND_EVENTS[payload["type"]]
    for name in ("refund_id", "payment_id"):
        # Without both ids the refund cannot be found: refuse it rather than store a blank.
        if not isinstance(payload[name], str) or not payload[name]:
            raise MalformedWebhook(f"{payload['type']} without a usable {name}")
    metadata = payload.get("metadata")
    return ProviderEvent(
        event_id=event_id,
        provider=provider,
        kind=ProviderEventKind.REFUND_UPDATED,
        provider_link_id=None,
        provider_payment_id=payload["payment_id"],
        provider_refund_id=payload["refund_id"],
        refund_status=status,
        failure_reason=payload.get("failure_reason") if status is RefundStatus.FAILED else None,
        # TrueLayer may echo the metadata sent with the refund: ours helps find a refund whose
        # creation answer has not been stored yet.
        refund_id=metadata.get("refund_id") if isinstance(metadata, dict) else None,
        occurred_at=_time(payload.get(time_field)),
    )
