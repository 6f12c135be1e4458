"""The audit entries of team changes, made from who acts and the member they act as."""

from __future__ import annotations

from datetime import datetime

from dashboard.core.ids import new_id
from dashboard.domain.accounts import Membership
from dashboard.domain.actor import Actor
from dashboard.domain.audit import AuditAction, AuditEntry


def audit_entry(
    at: datetime,
    actor: Actor,
    you: Membership | None,
    action: AuditAction,
    target_type: str,
    target_id: str,
    before: dict[str, str] | None = None,
    after: dict[str, str] | None = None,
) -> AuditEntry:
    """Return the entry recording ``action`` by ``actor`` (``you``: their membership, if read).

    The actor is labelled as the request's resolver labelled them, else by their member email;
    the target (a member, an invitation) by the email its summary names.
    """
    target_label = (after or {}).get("email") or (before or {}).get("email") or None
    return AuditEntry(
        account_id=actor.account_id,
        entry_id=new_id(),
        at=at,
        action=action,
        via=actor.channel,
        actor=actor.who,
        actor_label=actor_label(actor, you),
        ip_address=actor.ip_address,
        target_type=target_type,
        target_id=target_id,
        before=before or {},
        after=after or {},
        target_label=target_label,
    )


def actor_label(actor: Actor, you: Membership | None) -> str | None:
    """Return what the audit log and invitations call the actor: a label, else their email."""
    return actor.label or (you.email if you else None)
