"""Team notifications: what a member may ask to be emailed about, for the account they are in.

Pure rules, no Flask or DynamoDB. Each member chooses their own (Settings → Notifications),
all off until they do. A notice is an email delivery like a receipt, made by the delivery
worker in the fan-out transaction of the event it reports. Its target is the member's own,
``email-member-{hash of their person key}``, never the payment's ``email-{payment id}``: the
payment page lists the emails to the payer, and a team's notices are not that.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from enum import StrEnum

from dashboard.core.errors import Forbidden
from dashboard.domain.actor import Person, Role
from dashboard.domain.emails import EMAIL_TARGET_PREFIX, EmailKind
from dashboard.domain.events import EventType
from dashboard.domain.permissions import Permission, role_can

MEMBER_TARGET_PREFIX = f"{EMAIL_TARGET_PREFIX}member-"


class Notice(StrEnum):
    """Something a member may ask to be emailed about."""

    PAYMENT_COMPLETED = "payment_completed"
    PAYMENT_FAILED = "payment_failed"
    REFUND = "refund"
    ENDPOINT_DISABLED = "endpoint_disabled"

    @property
    def label(self) -> str:
        """Return the choice as the Notifications page words it ("Email me when ...")."""
        return {
            "payment_completed": "a payment completes",
            "payment_failed": "a payment attempt fails",
            "refund": "a refund is executed or fails",
            "endpoint_disabled": "a webhook endpoint is disabled after 3 days of failures",
        }[self.value]

    @property
    def email_kind(self) -> EmailKind:
        """Return the kind of email this notice is sent as."""
        return {
            "payment_completed": EmailKind.NOTICE_PAYMENT_COMPLETED,
            "payment_failed": EmailKind.NOTICE_PAYMENT_FAILED,
            "refund": EmailKind.NOTICE_REFUND,
            "endpoint_disabled": EmailKind.NOTICE_ENDPOINT_DISABLED,
        }[self.value]


# The events a member can be told of, and under which choice.
NOTICE_OF_EVENT = {
    EventType.PAYMENT_COMPLETED: Notice.PAYMENT_COMPLETED,
    EventType.PAYMENT_FAILED: Notice.PAYMENT_FAILED,
    EventType.REFUND_EXECUTED: Notice.REFUND,
    EventType.REFUND_FAILED: Notice.REFUND,
}


class NoticeNotAllowed(Forbidden):
    """Raised when a member asks for a notice their role may not have."""

    message = "Only an Owner or an Admin can be emailed when a webhook endpoint is disabled."


def notices_for(role: Role) -> list[Notice]:
    """Return the notices a member with ``role`` may choose, in the page's order.

    A disabled endpoint is for those who can look into it and change the team's setup: Owners
    and Admins (who manage members), not Developers or Viewers.
    """
    return [
        notice
        for notice in Notice
        if notice is not Notice.ENDPOINT_DISABLED or role_can(role, Permission.MANAGE_MEMBERS)
    ]


def clean_notices(role: Role, chosen: Iterable[str]) -> frozenset[Notice]:
    """Return the chosen notices; raise NoticeNotAllowed for one the role may not have."""
    notices = frozenset(Notice(value) for value in chosen)
    if notices - set(notices_for(role)):
        raise NoticeNotAllowed()
    return notices


def wants(role: Role, notices: Iterable[Notice], notice: Notice) -> bool:
    """Return True when a member with ``role`` and ``notices`` is to get ``notice`` now.

    Checked again when sending: a member who chose a notice and then lost the role for it
    gets it no more.
    """
    return notice in set(notices) and notice in notices_for(role)


def member_target(person: Person) -> str:
    """Return the delivery target of one member's notices (a hash: keys hold '#' and URLs)."""
    digest = hashlib.sha256(person.key.encode("utf-8")).hexdigest()[:24]
    return f"{MEMBER_TARGET_PREFIX}{digest}"
