"""Emails about payments: the merchant emails the payer the link; the payment page says which
emails went and which are still trying.

An email is queued as a delivery (``dashboard.domain.emails``) with its audit entry in one
transaction, and the delivery worker sends it (``dashboard.services.deliveries``), so a
mail server that is down never fails the merchant's action: the page shows "Not sent yet,
retrying" until it is back. A retried request (same request id) queues nothing more.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from dashboard.core.clock import utc_now
from dashboard.core.errors import Conflict
from dashboard.core.ids import new_id
from dashboard.domain.actor import Actor
from dashboard.domain.audit import AuditAction, AuditNote
from dashboard.domain.business import BusinessProfile
from dashboard.domain.deliveries import Delivery, DeliveryState
from dashboard.domain.emails import (
    MAX_EMAILS_PER_ACCOUNT_PER_DAY,
    MAX_LINK_EMAILS_PER_PAYMENT,
    Email,
    EmailKind,
    email_target,
)
from dashboard.domain.payments import Payment, PaymentStatus
from dashboard.domain.webhook_endpoints import WebhookEndpoint
from dashboard.services.payments import find_payment
from dashboard.store.business import BusinessRepository
from dashboard.store.deliveries import DeliveryRepository, StoredDelivery
from dashboard.store.payments import PaymentRepository

# Renders one kind of email about a payment (and, for a refund receipt, the refund's id), in
# the account's business name.
EmailRenderer = Callable[[EmailKind, Payment, BusinessProfile | None, str | None], Email]

# Renders one team notice: (kind, the member's address, the payment or the disabled endpoint,
# the business profile, the refund's id).
NoticeRenderer = Callable[
    [EmailKind, str, Payment | None, WebhookEndpoint | None, BusinessProfile | None, str | None],
    Email,
]

_LINK_IS_LIVE = (PaymentStatus.AWAITING_PAYMENT, PaymentStatus.ATTEMPT_FAILED)


class EmailNotAllowed(Conflict):
    """Raised when the payment cannot be emailed now; the message says why."""

    title = "Email not sent"


def take_daily_quota(deliveries: DeliveryRepository, account_id: str, now: datetime) -> bool:
    """Count one email against the account's UTC day; False once the day's limit is reached."""
    return deliveries.take_email_quota(
        account_id, now.strftime("%Y-%m-%d"), MAX_EMAILS_PER_ACCOUNT_PER_DAY
    )


class PaymentEmails:
    """The merchant's emails to payers."""

    def __init__(
        self,
        payments: PaymentRepository,
        deliveries: DeliveryRepository,
        business: BusinessRepository,
        render: EmailRenderer,
        clock: Callable[[], datetime] = utc_now,
        wake: Callable[[], None] = lambda: None,
    ):
        self._payments = payments
        self._deliveries = deliveries
        self._business = business
        self._render = render
        self._now = clock
        self._wake = wake

    def emails_of(self, account_id: str, payment_id: str) -> list[Delivery]:
        """Return the emails about a payment, newest first (one Query)."""
        return self._deliveries.for_target(account_id, email_target(payment_id))

    def email_link(self, actor: Actor, payment_id: str, sent_before: int) -> Delivery:
        """Queue an email of the payment's link to its payer; return it.

        ``sent_before`` is how many link emails of this payment the merchant's page showed:
        a request sent twice from one page (a double click, a retry) queues one email, and the
        second gets that one back. Raise PaymentNotFound, or EmailNotAllowed for a payment
        with no payer email or no live link, or past the limits.
        """
        payment = find_payment(self._payments, actor.account_id, payment_id)
        now = self._now()
        links = self._link_emails(actor.account_id, payment.payment_id)
        if len(links) > sent_before:
            return links[0]  # this page's request was queued already
        if not payment.payer_email:
            raise EmailNotAllowed("Add the payer's email to the payment first: it has none.")
        if payment.effective_status(now) not in _LINK_IS_LIVE or not payment.link_url:
            raise EmailNotAllowed("Only a live link can be emailed: this one cannot be paid.")
        if len(links) >= MAX_LINK_EMAILS_PER_PAYMENT:
            raise EmailNotAllowed(
                f"This link was emailed {MAX_LINK_EMAILS_PER_PAYMENT} times already, the most "
                "for one payment. Copy the link and send it yourself instead."
            )
        if not take_daily_quota(self._deliveries, actor.account_id, now):
            raise EmailNotAllowed(
                f"Your account sent {MAX_EMAILS_PER_ACCOUNT_PER_DAY} emails today, the most a "
                "day. Try again tomorrow, or copy the link and send it yourself."
            )
        stored = self._business.get_profile(actor.account_id)
        profile = stored.profile if stored else None
        message = self._render(EmailKind.PAYMENT_LINK, payment, profile, None)
        delivery = Delivery(
            account_id=actor.account_id,
            endpoint_id=email_target(payment.payment_id),
            event_id=new_id(),
            event_type=EmailKind.PAYMENT_LINK.value,
            state=DeliveryState.PENDING,
            created_at=now,
            next_attempt_at=now,
        )
        entry = AuditNote(actor, AuditAction.EMAIL_REQUESTED, now).entry(
            "payment",
            payment.payment_id,
            after={"email": EmailKind.PAYMENT_LINK.label, "to": payment.payer_email},
            target_label=payment.reference,
        )
        queued = self._deliveries.add_email(
            StoredDelivery(delivery, message.to_json(), 1),
            entry,
            slot=(payment.payment_id, len(links)),
        )
        if not queued:
            # The same page's other request won the race: answer the email it queued.
            return self._link_emails(actor.account_id, payment.payment_id)[0]
        self._wake()
        return delivery

    def _link_emails(self, account_id: str, payment_id: str) -> list[Delivery]:
        return [
            e
            for e in self.emails_of(account_id, payment_id)
            if e.event_type == EmailKind.PAYMENT_LINK
        ]
