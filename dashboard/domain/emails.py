"""Emails the app sends: what each kind is, what one message holds, and the limits on sending.

Pure rules, no Flask, DynamoDB or SMTP. An email is a delivery like a webhook's
(``dashboard.domain.deliveries``): made in the transaction of what caused it, sent by the
delivery worker at least once and retried on the same schedule. The emails about one payment
share one delivery "target", ``email-{payment id}``, so the payment page reads them with one
Query and says which are not sent yet.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from enum import StrEnum

EMAIL_TARGET_PREFIX = "email-"
# A merchant emailing a payer the same link again and again is a mistake or an abuse.
MAX_LINK_EMAILS_PER_PAYMENT = 5
# Whatever causes them (a loop in a client of the API, a flood of payments), an account sends at
# most this many emails a UTC day; past it, link emails are refused and receipts skipped.
MAX_EMAILS_PER_ACCOUNT_PER_DAY = 500


class EmailNotSent(Exception):
    """Raised by a mail sender when one message could not be handed over; says why, safely."""


class EmailKind(StrEnum):
    """Every kind of email the app sends."""

    PAYMENT_LINK = "email.payment_link"  # the merchant sends the payer the link
    RECEIPT = "email.receipt"  # to the payer when the payment completes
    REFUND_RECEIPT = "email.refund_receipt"  # to the payer when a refund reaches them
    # To team members who asked for them (Settings → Notifications), never to the payer.
    NOTICE_PAYMENT_COMPLETED = "email.notice.payment_completed"
    NOTICE_PAYMENT_FAILED = "email.notice.payment_failed"
    NOTICE_REFUND = "email.notice.refund"
    NOTICE_ENDPOINT_DISABLED = "email.notice.endpoint_disabled"

    @property
    def label(self) -> str:
        """Return the kind as the payment page names it."""
        return {
            "email.payment_link": "Payment link",
            "email.receipt": "Receipt",
            "email.refund_receipt": "Refund receipt",
            "email.notice.payment_completed": "Team notice: payment completed",
            "email.notice.payment_failed": "Team notice: payment attempt failed",
            "email.notice.refund": "Team notice: refund",
            "email.notice.endpoint_disabled": "Team notice: webhook endpoint disabled",
        }[self.value]


@dataclass(frozen=True)
class Email:
    """One message, rendered: who it goes to, in whose name, and its two bodies."""

    kind: EmailKind
    to: str
    subject: str
    text: str
    html: str
    sender_name: str  # the account's business name: the From header's display name
    reply_to: str | None = None  # the account's support email
    # What the email is about, as its audit entry names it; None: the payment its target names.
    about_type: str | None = None
    about_id: str | None = None

    def to_json(self) -> str:
        """Return the message as a delivery's payload holds it."""
        return json.dumps(asdict(self), separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, payload: str) -> Email:
        """Return the message a delivery's payload holds."""
        values = json.loads(payload)
        return cls(**{**values, "kind": EmailKind(values["kind"])})


def email_target(payment_id: str) -> str:
    """Return the delivery target of the emails about one payment."""
    return f"{EMAIL_TARGET_PREFIX}{payment_id}"


def is_email_target(target: str) -> bool:
    """Return True for the target of emails (not a webhook endpoint's id)."""
    return target.startswith(EMAIL_TARGET_PREFIX)
