"""Payment use cases: create a link, retry, cancel, refresh, and apply what providers report.

Routes call these; these call the repository and the provider. Nothing here knows about HTTP.
Every write takes the actor (the account it works in and who acts); reads take the account id.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from dashboard.core.clock import utc_now
from dashboard.core.errors import Conflict, NotFound
from dashboard.domain.actor import Actor
from dashboard.domain.audit import AuditAction, AuditNote, audit_note, refund_audit_note
from dashboard.domain.payments import (
    InvalidTransition,
    Payment,
    PaymentStatus,
    ProviderEvent,
    ProviderEventKind,
    StatusChange,
    StatusGroup,
    apply_event,
    can_transition,
)
from dashboard.providers.base import (
    LinkRequest,
    PaymentProvider,
    ProviderRejected,
    ProviderUnavailable,
)
from dashboard.store.payments import (
    PaymentAlreadyExists,
    PaymentRepository,
    StaleWrite,
    attempt_lookup_key,
    link_lookup_key,
    payer_lookup_key,
)

log = logging.getLogger(__name__)

DEFAULT_LINK_LIFETIME = timedelta(hours=24)  # TrueLayer's default
MAX_LINK_LIFETIME = timedelta(days=30)
# A record left in "creating" this long was abandoned mid-request (a crash, a timeout); it may be
# retried. The provider call is idempotent, so a retry never makes a second link.
STUCK_CREATION_AFTER = timedelta(minutes=2)
# How long the sync goes on finishing a creation with its first idempotency key. TrueLayer keeps
# keys for 6 hours on one page of its documentation and 30 days on another: an hour is well
# inside both, so a late finish can only return the link the first request made, never a second.
RESUME_CREATION_WITHIN = timedelta(hours=1)
# How long a payment may sit unchanged before the sync polls it: past any webhook in flight and
# past a creation that is merely slow (STUCK_CREATION_AFTER), short enough that a payer's money
# never waits long behind a lost webhook. `sync-payments` uses it unless told otherwise.
SYNC_AFTER = timedelta(minutes=2)
_PAYER_IS_PAYING = "The payer is paying right now; wait for the result before cancelling."
_MAX_WRITE_ATTEMPTS = 5
# What a payment or order id (a UUIDv7) looks like: anything else is not looked up at all.
RECORD_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class PaymentNotFound(NotFound):
    """Raised when the payment does not exist or belongs to another merchant."""

    title = "Payment not found"
    message = "There is no such payment in your account."


def find_payment(repository: PaymentRepository, user_id: str, payment_id: str) -> Payment:
    """Return the merchant's payment; raise PaymentNotFound for unknown or foreign ids."""
    if not RECORD_ID.fullmatch(payment_id):
        raise PaymentNotFound(payment_id[:64])  # not even an id: no need to ask DynamoDB
    payment = repository.get(user_id, payment_id)
    if payment is None:
        raise PaymentNotFound(payment_id)
    return payment


class UnknownProviderLink(Exception):
    """Raised for a provider event about a link we have no record of (yet)."""


class ActionNotAllowed(Conflict):
    """Raised when the merchant asks for something the payment's status does not allow."""


class PayerIsPaying(ActionNotAllowed):
    """Raised when a cancel finds the payer at their bank: money may still arrive."""

    def __init__(self, payment: Payment):
        super().__init__(_PAYER_IS_PAYING)
        self.payment = payment


@dataclass(frozen=True)
class NewPaymentLink:
    """What the merchant asked for on the create form, already validated."""

    payment_id: str
    amount_minor: int
    currency: str
    reference: str
    payer_name: str | None = None
    payer_email: str | None = None
    expires_at: datetime | None = None
    order_id: str | None = None  # the merchant's order this link settles, if any


class PaymentService:
    """The payment use cases of one deployment: one repository, one provider."""

    def __init__(
        self,
        repository: PaymentRepository,
        provider: PaymentProvider,
        return_uri_for: Callable[[str], str],
        clock: Callable[[], datetime] = utc_now,
    ):
        self._repository = repository
        self._provider = provider
        self._return_uri_for = return_uri_for
        self._now = clock
        self._order_payment_completed: list[Callable[[Actor, Payment], None]] = []
        self._refund_sync: Callable[[Actor, Payment], Payment] | None = None

    def with_clock(
        self, clock: Callable[[], datetime], provider: PaymentProvider | None = None
    ) -> PaymentService:
        """Return the same use cases on another clock (and provider), e.g. to seed demo data."""
        service = PaymentService(
            self._repository, provider or self._provider, self._return_uri_for, clock
        )
        service._order_payment_completed = list(self._order_payment_completed)
        service._refund_sync = self._refund_sync
        return service

    def sync_refunds_with(self, sync: Callable[[Actor, Payment], Payment]) -> None:
        """Let the sync and Refresh also bring a payment's refunds in flight up to date."""
        self._refund_sync = sync

    def when_an_order_payment_completes(self, callback: Callable[[Actor, Payment], None]) -> None:
        """Call ``callback`` with every completed payment of an order a provider event touches.

        It gets the actor whose request applied the event (the provider's webhook, the sync, or
        the merchant's refresh or cancel) and the payment as stored.

        Called again for repeated events, so a callback that failed (and made the webhook
        answer non-2xx) runs again on the provider's retry; it must be idempotent.
        """
        self._order_payment_completed.append(callback)

    # Reading ------------------------------------------------------------------------------

    def get_payment(self, user_id: str, payment_id: str) -> Payment:
        """Return the merchant's payment; raise PaymentNotFound for unknown or foreign ids."""
        return find_payment(self._repository, user_id, payment_id)

    def get_payments(self, user_id: str, payment_ids: list[str]) -> list[Payment]:
        """Return the merchant's payments among ``payment_ids`` (unknown ids are left out)."""
        return self._repository.get_many(
            user_id, [p for p in payment_ids if RECORD_ID.fullmatch(p)]
        )

    def payment_for_payer(self, payer_token: str) -> Payment:
        """Return the payment behind the payer's token; raise PaymentNotFound if none."""
        if len(payer_token) > 64:
            raise PaymentNotFound(payer_token[:64])
        owner = self._repository.find_owner(payer_lookup_key(payer_token))
        if owner is None:
            raise PaymentNotFound(payer_token)
        return self.get_payment(owner.user_id, owner.payment_id)

    # Creating -----------------------------------------------------------------------------

    def create_payment_link(self, actor: Actor, request: NewPaymentLink) -> Payment:
        """Record the payment in the actor's account, ask the provider for its link, return it.

        The record is written first (``creating``), so a link never exists without one. If the
        provider fails, the payment is stored as ``creation_failed`` and can be retried. A second
        submit of the same form (same payment id) returns the first payment unchanged.
        """
        user_id = actor.account_id
        now = self._now()
        payment = Payment(
            user_id=user_id,
            payment_id=request.payment_id,
            amount_minor=request.amount_minor,
            currency=request.currency,
            reference=request.reference,
            payer_name=request.payer_name,
            payer_email=request.payer_email,
            status=PaymentStatus.CREATING,
            created_at=now,
            updated_at=now,
            expires_at=request.expires_at or now + DEFAULT_LINK_LIFETIME,
            provider=self._provider.name,
            payer_token=secrets.token_urlsafe(24),
            order_id=request.order_id,
        )
        payment = dataclasses.replace(
            payment, status_history=(_history_entry(PaymentStatus.CREATING, now),)
        )
        audit = audit_note(actor, AuditAction.PAYMENT_LINK_CREATED, now)
        try:
            self._repository.add(payment, [payer_lookup_key(payment.payer_token)], audit)
        except PaymentAlreadyExists:
            existing = self._repository.get(user_id, request.payment_id)
            if existing is None:
                raise  # the id belongs to another merchant: never show or touch theirs
            log.info("Repeated submit of payment %s; showing the first one", request.payment_id)
            if self.is_stuck_creating(existing):
                # The first try was cut short before its link was stored: finish it (the
                # provider call is idempotent, so this is the same link, never a second).
                return self._request_link(existing)
            return existing
        return self._request_link(payment)

    def retry_link_creation(self, actor: Actor, payment_id: str) -> Payment:
        """Ask the provider again for a payment whose link could not be created."""
        payment = self.get_payment(actor.account_id, payment_id)
        audit = audit_note(actor, AuditAction.PAYMENT_LINK_RETRIED, self._now())
        if payment.status is PaymentStatus.CREATION_FAILED:
            retried = payment.with_status(PaymentStatus.CREATING, self._now())
            return self._request_link(self._repository.save(payment, retried, audit=audit))
        if not self.is_stuck_creating(payment):
            raise ActionNotAllowed("This payment link does not need to be created again.")
        # A stuck creation has nothing to write before the provider is asked: the entry goes
        # with the write of what the provider answered.
        return self._request_link(payment, audit)

    def finish_creation(self, actor: Actor, payment_id: str) -> Payment:
        """Finish a payment whose link creation was cut short, and return it.

        Only for a caller that knows no other request is still creating it (it is stuck, or its
        request ended: an Idempotency-Key retry). A payment no longer ``creating`` is returned
        as it is. The provider call is idempotent, so this never makes a second link.
        """
        payment = self.get_payment(actor.account_id, payment_id)
        if payment.status is not PaymentStatus.CREATING:
            return payment
        return self._request_link(payment)

    def is_stuck_creating(self, payment: Payment) -> bool:
        """Return True when a creation was abandoned mid-way and may be retried."""
        return (
            payment.status is PaymentStatus.CREATING
            and self._now() - payment.updated_at > STUCK_CREATION_AFTER
        )

    def link_request(self, payment: Payment) -> LinkRequest:
        """Return what the provider is asked for to create this payment's link."""
        return LinkRequest(
            payment_id=payment.payment_id,
            # Stable for every retry of this payment, so the provider makes at most one link.
            idempotency_key=f"create-link-{payment.payment_id}",
            amount_minor=payment.amount_minor,
            currency=payment.currency,
            reference=payment.reference,
            expires_at=payment.expires_at,
            return_uri=self._return_uri_for(payment.payer_token),
            payer_name=payment.payer_name,
            payer_email=payment.payer_email,
        )

    def _request_link(self, payment: Payment, audit: AuditNote | None = None) -> Payment:
        link_request = self.link_request(payment)
        try:
            link = self._provider.create_link(link_request)
        except (ProviderUnavailable, ProviderRejected) as exc:
            log.warning("Link creation failed for %s: %s", payment.payment_id, exc)
            note = (
                "The payment provider could not be reached."
                if isinstance(exc, ProviderUnavailable)
                else f"The payment provider refused the link: {exc}"
            )
            failed = payment.with_status(PaymentStatus.CREATION_FAILED, self._now(), note)
            failed = dataclasses.replace(failed, failure_reason=note)
            return self._repository.save(payment, failed, audit=audit)
        live = payment.with_status(PaymentStatus.AWAITING_PAYMENT, self._now())
        live = dataclasses.replace(
            live, provider_link_id=link.provider_link_id, link_url=link.url, failure_reason=None
        )
        lookup = link_lookup_key(payment.provider, link.provider_link_id)
        return self._repository.save(payment, live, (lookup,), audit)

    # Merchant actions ---------------------------------------------------------------------

    def cancel_payment(self, actor: Actor, payment_id: str) -> Payment:
        """Cancel an unpaid link: the provider stops accepting payments, the record ends.

        The provider is asked to disable the link, then what it holds is read back: a payment
        already at the payer's bank may still bring money, so then the payment is kept
        ``processing`` and PayerIsPaying is raised. What the read-back reports is applied first,
        so money that arrived while its webhook was in flight completes the payment.
        """
        payment = self.get_payment(actor.account_id, payment_id)
        if not self.can_cancel(payment):
            raise ActionNotAllowed(_cannot_cancel_reason(payment, self._now()))
        if payment.provider_link_id:
            self._provider.disable_link(payment.provider_link_id)
            state = self._provider.link_state(payment.provider_link_id)
            for event in state.events:
                if event.kind is ProviderEventKind.ATTEMPT_UPDATED:  # the closing is ours to write
                    payment = self._apply_to(actor, payment_id, event)
            if payment.status is PaymentStatus.COMPLETED:
                # The money arrived before its webhook did.
                raise ActionNotAllowed(_cannot_cancel_reason(payment, self._now()))
            if state.payer_is_paying:
                raise PayerIsPaying(self._keep_processing(payment))
        audit = audit_note(actor, AuditAction.PAYMENT_LINK_CANCELLED, self._now())
        for _ in range(_MAX_WRITE_ATTEMPTS):
            try:
                cancelled = payment.with_status(
                    PaymentStatus.CANCELLED, self._now(), "Cancelled by the merchant."
                )
                return self._repository.save(payment, cancelled, audit=audit)
            except StaleWrite:
                payment = self.get_payment(actor.account_id, payment_id)
            except InvalidTransition as exc:
                # An event landed between the read and the write (e.g. the payer just paid).
                raise ActionNotAllowed(_cannot_cancel_reason(payment, self._now())) from exc
        raise StaleWrite(payment_id)

    def _keep_processing(self, payment: Payment) -> Payment:
        """Store a payment whose payer is at their bank as processing (if not already further)."""
        for _ in range(_MAX_WRITE_ATTEMPTS):
            if not can_transition(payment.status, PaymentStatus.PROCESSING):
                return payment  # processing or completed already: nothing to add
            note = "The payer was paying when the link was cancelled; waiting for their bank."
            try:
                return self._repository.save(
                    payment, payment.with_status(PaymentStatus.PROCESSING, self._now(), note)
                )
            except StaleWrite:
                payment = self.get_payment(payment.user_id, payment.payment_id)
        raise StaleWrite(payment.payment_id)

    def can_cancel(self, payment: Payment) -> bool:
        """Return True when the merchant may cancel the payment now."""
        effective = payment.effective_status(self._now())
        return effective in (
            PaymentStatus.AWAITING_PAYMENT,
            PaymentStatus.ATTEMPT_FAILED,
            PaymentStatus.CREATION_FAILED,
        )

    def refresh_payment(self, actor: Actor, payment_id: str) -> Payment:
        """Ask the provider for the link's current state and apply it; return the payment."""
        payment = self.get_payment(actor.account_id, payment_id)
        if not payment.provider_link_id:
            return payment
        for event in self._provider.link_state(payment.provider_link_id).events:
            payment = self._apply_to(actor, payment_id, event)
        if self._refund_sync is not None:
            payment = self._refund_sync(actor, payment)
        return payment

    # Provider events ----------------------------------------------------------------------

    def apply_provider_event(self, event: ProviderEvent) -> Payment:
        """Apply a provider's status report to our payment and return the payment as stored.

        Finds the payment through the lookup item written with the link, or with the attempt for
        events that name only the provider's payment (a strongly consistent GetItem). Raises
        UnknownProviderLink when there is none yet, so a webhook can answer non-2xx and be
        retried. Repeated, late and out-of-order events change nothing. The provider is the actor.
        """
        return self._apply_reported(event, Actor.for_webhook)

    def _apply_reported(self, event: ProviderEvent, actor_for: Callable[[str], Actor]) -> Payment:
        """Apply an event to the payment its link or attempt names, as ``actor_for(account)``."""
        if event.provider_link_id:
            key = link_lookup_key(event.provider, event.provider_link_id)
        else:
            key = attempt_lookup_key(event.provider, event.provider_payment_id or "")
        owner = self._repository.find_owner(key)
        if owner is None:
            raise UnknownProviderLink(event.provider_link_id or event.provider_payment_id)
        return self._apply_to(actor_for(owner.user_id), owner.payment_id, event)

    def _apply_to(self, actor: Actor, payment_id: str, event: ProviderEvent) -> Payment:
        """Apply an event about a payment already known (no lookup); return it as stored."""
        for _ in range(_MAX_WRITE_ATTEMPTS):
            payment = self.get_payment(actor.account_id, payment_id)
            updated = apply_event(payment, event, self._now())
            audit = _refund_change_note(actor, payment, updated, self._now())
            try:
                stored = (
                    payment
                    if updated is None
                    else self._repository.save(payment, updated, audit=audit)
                )
            except StaleWrite:
                continue  # another event won the race; re-read and decide again
            if stored.status is PaymentStatus.COMPLETED and stored.order_id:
                for callback in self._order_payment_completed:
                    callback(actor, stored)
            return stored
        raise StaleWrite(payment_id)

    # Safety net ---------------------------------------------------------------------------

    def sync_open_payments(self, updated_before: datetime) -> SyncSummary:
        """Poll the provider for every live link not heard of since ``updated_before``.

        Applies what the provider reports (as ``refresh_payment`` does) and records links past
        their expiry as expired. Webhooks are the main path; this catches what they missed. The
        system is the actor.
        """
        summary = SyncSummary()
        for payment in self._repository.open_payments(updated_before):
            if payment.provider != self._provider.name:
                summary.skipped += 1
                continue
            summary.checked += 1
            try:
                if payment.status is PaymentStatus.CREATING:
                    synced = self._finish_or_fail_creation(payment)
                else:
                    synced = self.refresh_payment(Actor.system(payment.user_id), payment.payment_id)
                    synced = self.record_expiry_if_due(synced)
                if synced.status != payment.status:
                    summary.changed.append((payment.payment_id, payment.status, synced.status))
            except (ProviderUnavailable, ProviderRejected, StaleWrite) as exc:
                summary.errors.append((payment.payment_id, str(exc)))
            except Exception as exc:
                # One payment that breaks (a bug, bad data) must not stop the sync of the rest:
                # lost money further down the index would wait for a fix. Logged in full.
                log.exception("Sync of payment %s failed", payment.payment_id)
                summary.errors.append((payment.payment_id, f"unexpected error: {exc!r}"))
        return summary

    def add_missing_to_open_index(self, user_id: str) -> tuple[int, int]:
        """Put the merchant's open payments that predate their index entry into it.

        Creating payments and ended links with an attempt at the bank joined the open index
        later than the live ones; this finds them with one StatusIndex Query per group. Returns
        (payments looked at, payments added). Safe to repeat: added ones are not looked at again.
        """
        looked_at = added = 0
        for group in (StatusGroup.PENDING, StatusGroup.ENDED):
            for payment in self._repository.not_yet_in_open_index(user_id, group):
                looked_at += 1
                if payment.is_open and self._repository.add_to_open_index(payment):
                    added += 1
        return looked_at, added

    def _finish_or_fail_creation(self, payment: Payment) -> Payment:
        """Finish a creation that was cut short, or, past the key's safe age, record it failed.

        A failed one is never sent again by the sync; the merchant may still press Retry.
        """
        if self._now() - payment.created_at < RESUME_CREATION_WITHIN:
            return self._request_link(payment)
        note = "The link was not created in time; it was never sent to the payer."
        failed = payment.with_status(PaymentStatus.CREATION_FAILED, self._now(), note)
        return self._save(payment, dataclasses.replace(failed, failure_reason=note))

    def record_expiry_if_due(self, payment: Payment) -> Payment:
        """Store a link that is past its expiry, with nobody paying, as expired; return it.

        The provider's own event does the same later; recording it now lets what depends on the
        payment (its order, the tiles) move on without waiting for that event or the sync. Time
        ran out, so the system is the actor, whichever request noticed it.
        """
        unpaid = payment.status in (PaymentStatus.AWAITING_PAYMENT, PaymentStatus.ATTEMPT_FAILED)
        if unpaid and self._now() >= payment.expires_at:
            return self._apply_reported(_expiry_event(payment, self._now()), Actor.system)
        return payment

    def _save(self, before: Payment, after: Payment, lookup_keys: tuple[str, ...] = ()) -> Payment:
        return self._repository.save(before, after, lookup_keys)


@dataclass
class SyncSummary:
    """What one sync run did."""

    checked: int = 0
    skipped: int = 0
    changed: list[tuple[str, PaymentStatus, PaymentStatus]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)


def _refund_change_note(
    actor: Actor, before: Payment, after: Payment | None, now: datetime
) -> AuditNote | None:
    """Return the audit note of a refund a provider's report moved (refunds are always audited)."""
    if after is None:
        return None
    old = {r.refund_id: r.status for r in before.refunds}
    for refund in after.refunds:
        if old.get(refund.refund_id) is not refund.status:
            return refund_audit_note(
                actor, AuditAction.REFUND_STATUS_CHANGED, now, refund.refund_id
            )
    return None


def _expiry_event(payment: Payment, now: datetime) -> ProviderEvent:
    return ProviderEvent(
        event_id=f"sync:{payment.payment_id}:expired",
        provider=payment.provider,
        kind=ProviderEventKind.LINK_DISABLED,
        provider_link_id=payment.provider_link_id,
        disabled_reason="expired",
        occurred_at=now,
    )


def _history_entry(status: PaymentStatus, at: datetime) -> StatusChange:
    return StatusChange(status.value, at, "")


def _cannot_cancel_reason(payment: Payment, now: datetime) -> str:
    status = payment.effective_status(now)
    if status is PaymentStatus.PROCESSING:
        return _PAYER_IS_PAYING
    if status is PaymentStatus.CREATING:
        return "The link is still being created."
    if status is PaymentStatus.COMPLETED:
        return "This payment has been paid: it can no longer be cancelled."
    return f"A payment that is {status.label.lower()} cannot be cancelled."
