"""The audit log: who changed money or configuration in an account, when, from where, and how.

Every change to money or configuration writes one entry in the same transaction as the change
(a projection of the change set, ``dashboard.store.audit``). Entries are append-only: nothing in
the app edits or deletes one. Provider-driven status changes of payments are not here: they stay
on the payment's timeline. Refunds are the exception: money leaving the account is audited at
every step, whoever moved it (``refund_audit_note``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from dashboard.core.ids import new_id
from dashboard.domain.actor import Actor, Channel
from dashboard.domain.api_keys import ApiKey
from dashboard.domain.money import from_minor
from dashboard.domain.orders import Order
from dashboard.domain.payments import Payment

# The channels whose actors are audited: a person or an API key asked for the change. A
# provider's event or a job moves things too, but those stay on the payment's timeline.
AUDITED_CHANNELS = frozenset({Channel.BROWSER, Channel.API})


class AuditAction(StrEnum):
    """Every audited action (the refund and webhook issues add theirs)."""

    PAYMENT_LINK_CREATED = "payment_link.created"
    PAYMENT_LINK_CANCELLED = "payment_link.cancelled"
    PAYMENT_LINK_RETRIED = "payment_link.retried"
    REFUND_REQUESTED = "refund.requested"
    REFUND_RETRIED = "refund.retried"
    REFUND_STATUS_CHANGED = "refund.status_changed"
    ORDER_CREATED = "order.created"
    ORDER_CHANGED = "order.changed"
    ORDER_CANCELLED = "order.cancelled"
    ORDER_DELETED = "order.deleted"
    MEMBER_INVITED = "member.invited"
    MEMBER_JOINED = "member.joined"
    MEMBER_ROLE_CHANGED = "member.role_changed"
    MEMBER_REMOVED = "member.removed"
    NOTIFICATIONS_CHANGED = "member.notifications_changed"
    INVITATION_REVOKED = "invitation.revoked"
    OWNERSHIP_TRANSFERRED = "ownership.transferred"
    API_KEY_CREATED = "api_key.created"
    API_KEY_REVOKED = "api_key.revoked"
    WEBHOOK_ENDPOINT_CREATED = "webhook_endpoint.created"
    WEBHOOK_ENDPOINT_SECRET_ROTATED = "webhook_endpoint.secret_rotated"  # noqa: S105 - a name
    WEBHOOK_ENDPOINT_DISABLED = "webhook_endpoint.disabled"
    WEBHOOK_ENDPOINT_ENABLED = "webhook_endpoint.enabled"
    WEBHOOK_ENDPOINT_DELETED = "webhook_endpoint.deleted"
    EMAIL_REQUESTED = "email.requested"
    EMAIL_SENT = "email.sent"
    SETTINGS_CHANGED = "settings.changed"
    SIGNED_IN = "session.signed_in"
    SIGNED_OUT = "session.signed_out"
    SIGNED_OUT_EVERYWHERE = "session.signed_out_everywhere"

    @property
    def label(self) -> str:
        """Return the action in the merchant's words, for the audit log page."""
        return _LABELS[self]


_LABELS = {
    AuditAction.PAYMENT_LINK_CREATED: "Payment link created",
    AuditAction.PAYMENT_LINK_CANCELLED: "Payment link cancelled",
    AuditAction.PAYMENT_LINK_RETRIED: "Payment link retried",
    AuditAction.REFUND_REQUESTED: "Refund requested",
    AuditAction.REFUND_RETRIED: "Refund retried",
    AuditAction.REFUND_STATUS_CHANGED: "Refund status changed",
    AuditAction.ORDER_CREATED: "Order created",
    AuditAction.ORDER_CHANGED: "Order changed",
    AuditAction.ORDER_CANCELLED: "Order cancelled",
    AuditAction.ORDER_DELETED: "Order deleted",
    AuditAction.MEMBER_INVITED: "Member invited",
    AuditAction.MEMBER_JOINED: "Member joined",
    AuditAction.MEMBER_ROLE_CHANGED: "Role changed",
    AuditAction.MEMBER_REMOVED: "Member removed",
    AuditAction.NOTIFICATIONS_CHANGED: "Notifications changed",
    AuditAction.INVITATION_REVOKED: "Invitation revoked",
    AuditAction.OWNERSHIP_TRANSFERRED: "Ownership transferred",
    AuditAction.API_KEY_CREATED: "API key created",
    AuditAction.API_KEY_REVOKED: "API key revoked",
    AuditAction.WEBHOOK_ENDPOINT_CREATED: "Webhook endpoint added",
    AuditAction.WEBHOOK_ENDPOINT_SECRET_ROTATED: "Webhook signing secret rotated",
    AuditAction.WEBHOOK_ENDPOINT_DISABLED: "Webhook endpoint disabled",
    AuditAction.WEBHOOK_ENDPOINT_ENABLED: "Webhook endpoint enabled",
    AuditAction.WEBHOOK_ENDPOINT_DELETED: "Webhook endpoint deleted",
    AuditAction.EMAIL_REQUESTED: "Email to payer requested",
    AuditAction.EMAIL_SENT: "Email sent",
    AuditAction.SETTINGS_CHANGED: "Settings changed",
    AuditAction.SIGNED_IN: "Signed in",
    AuditAction.SIGNED_OUT: "Signed out",
    AuditAction.SIGNED_OUT_EVERYWHERE: "Signed out everywhere",
}


@dataclass(frozen=True)
class AuditEntry:
    """One audited change.

    ``actor`` is ``Actor.who`` (the person's ``issuer#sub`` or the API key id; None for the
    system), ``actor_label`` what to show for it (an email, a key's name). ``target_type`` and
    ``target_id`` name what changed (``payment``, ``order``, ``member``, ``api_key``...);
    ``before`` and ``after`` summarise it in a few named, human-readable values.
    """

    account_id: str
    entry_id: str  # a UUIDv7: entries sort by time, and two at one instant stay apart
    at: datetime
    action: AuditAction
    via: Channel
    actor: str | None
    actor_label: str | None
    ip_address: str | None
    target_type: str
    target_id: str
    before: dict[str, str] = field(default_factory=dict)
    after: dict[str, str] = field(default_factory=dict)
    target_label: str | None = None  # what to call the target: a reference, ORD-1042, a name


@dataclass(frozen=True)
class AuditNote:
    """What a change carries for its entry: who asked for what, and when.

    The entry id is drawn once, with the note: a change sent again (a follower dropped) writes
    the same entry, and a replay of the whole change is refused by the entry's condition.
    """

    actor: Actor
    action: AuditAction
    at: datetime
    entry_id: str = field(default_factory=new_id)
    # The part of the record the change is about, when it is not the whole: a refund's id.
    subject: str | None = None

    def entry(
        self,
        target_type: str,
        target_id: str,
        before: Mapping[str, str] | None = None,
        after: Mapping[str, str] | None = None,
        target_label: str | None = None,
    ) -> AuditEntry:
        """Return the entry this note makes for a change of one target."""
        return AuditEntry(
            account_id=self.actor.account_id,
            entry_id=self.entry_id,
            at=self.at,
            action=self.action,
            via=self.actor.channel,
            actor=self.actor.who,
            actor_label=self.actor.label,
            ip_address=self.actor.ip_address,
            target_type=target_type,
            target_id=target_id,
            before=dict(before or {}),
            after=dict(after or {}),
            target_label=target_label,
        )


def audit_note(actor: Actor, action: AuditAction, at: datetime) -> AuditNote | None:
    """Return the note for a change the actor asks for, or None when it is not audited."""
    if actor.channel not in AUDITED_CHANNELS:
        return None
    return AuditNote(actor, action, at)


def refund_audit_note(actor: Actor, action: AuditAction, at: datetime, refund_id: str) -> AuditNote:
    """Return the note of a refund's change: always audited, a provider's report included."""
    return AuditNote(actor, action, at, subject=refund_id)


def changed_values(
    before: Mapping[str, str] | None, after: Mapping[str, str] | None
) -> tuple[dict[str, str], dict[str, str]]:
    """Return the summaries of a change: whole for a creation or deletion, else what differs."""
    if before is None or after is None:
        return dict(before or {}), dict(after or {})
    names = [name for name in {**before, **after} if before.get(name) != after.get(name)]
    return (
        {n: before[n] for n in names if n in before},
        {n: after[n] for n in names if n in after},
    )


def payment_summary(payment: Payment) -> dict[str, str]:
    """Return what the audit log shows of a payment link: status, amount, reference."""
    summary = {
        "status": payment.status.value,
        "amount": f"{from_minor(payment.amount_minor, payment.currency)} {payment.currency}",
        "reference": payment.reference,
    }
    if payment.order_id:
        summary["order"] = payment.order_id
    return summary


def refund_summary(payment: Payment, refund_id: str) -> dict[str, str] | None:
    """Return what the audit log shows of one refund of a payment, or None if it has none."""
    refund = payment.refund(refund_id)
    if refund is None:
        return None
    summary = {
        "refund": refund_id,
        "refund_amount": f"{from_minor(refund.amount_minor, payment.currency)} {payment.currency}",
        "refund_status": refund.status.value,
    }
    if refund.reason:
        summary["reason"] = refund.reason
    if refund.failure_reason:
        summary["failure_reason"] = refund.failure_reason
    return summary


def order_summary(order: Order) -> dict[str, str]:
    """Return what the audit log shows of an order: number, status, customer, quantity, total."""
    summary = {
        "number": order.number_label,
        "status": order.status.value,
        "customer": order.customer_name,
        "email": order.customer_email,
        "quantity": str(order.quantity),
        "total": f"{from_minor(order.total_minor, order.currency)} {order.currency}",
    }
    if order.shipping_address:
        summary["shipping_address"] = order.shipping_address
    return summary


def api_key_summary(key: ApiKey) -> dict[str, str]:
    """Return what the audit log shows of an API key: its name and whether it is revoked."""
    return {"name": key.name, "status": "active" if key.is_active else "revoked"}
