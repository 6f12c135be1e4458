"""The audit log: who changed money or configuration in an account, when, from where, and how.

Every change to money or configuration writes one entry in the same transaction as the change
(a projection of the change set, ``dashboard.store.audit``). Entries are append-only: nothing in
the app edits or deletes one. Provider-driven status changes are not here: they stay on the
payment's timeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from dashboard.domain.actor import Channel


class AuditAction(StrEnum):
    """Every audited action (the refund and webhook issues add theirs)."""

    PAYMENT_LINK_CREATED = "payment_link.created"
    PAYMENT_LINK_CANCELLED = "payment_link.cancelled"
    PAYMENT_LINK_RETRIED = "payment_link.retried"
    ORDER_CREATED = "order.created"
    ORDER_CHANGED = "order.changed"
    ORDER_CANCELLED = "order.cancelled"
    ORDER_DELETED = "order.deleted"
    MEMBER_INVITED = "member.invited"
    MEMBER_JOINED = "member.joined"
    MEMBER_ROLE_CHANGED = "member.role_changed"
    MEMBER_REMOVED = "member.removed"
    INVITATION_REVOKED = "invitation.revoked"
    OWNERSHIP_TRANSFERRED = "ownership.transferred"
    API_KEY_CREATED = "api_key.created"
    API_KEY_REVOKED = "api_key.revoked"
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
    AuditAction.ORDER_CREATED: "Order created",
    AuditAction.ORDER_CHANGED: "Order changed",
    AuditAction.ORDER_CANCELLED: "Order cancelled",
    AuditAction.ORDER_DELETED: "Order deleted",
    AuditAction.MEMBER_INVITED: "Member invited",
    AuditAction.MEMBER_JOINED: "Member joined",
    AuditAction.MEMBER_ROLE_CHANGED: "Role changed",
    AuditAction.MEMBER_REMOVED: "Member removed",
    AuditAction.INVITATION_REVOKED: "Invitation revoked",
    AuditAction.OWNERSHIP_TRANSFERRED: "Ownership transferred",
    AuditAction.API_KEY_CREATED: "API key created",
    AuditAction.API_KEY_REVOKED: "API key revoked",
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
