"""The payment domain: statuses, the transition table, attempts, and how provider events apply.

Everything here is pure (no Flask, no DynamoDB) so that the rules can be tested on their own.
The repository enforces the same transition table again in its condition expressions, so a late
or repeated write can never move a stored payment backwards.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from dashboard.core.errors import Conflict
from dashboard.domain.refunds import Refund, RefundStatus, can_move, report_note

# What a merchant may type (forms and API check it). Search indexes every word of both, and all
# of a new payment's word items go in one transaction of at most 100 items: these bounds are what
# keeps them within it (dashboard/store/index_items.py, MAX_WORDS_PER_PAYMENT).
REFERENCE_MAX_LENGTH = 18
# TrueLayer's safe set for payment references: letters, digits, space and - . / ? : ( ) , ' +
REFERENCE_PATTERN = r"^[A-Za-z0-9 \-./?:(),'+]+$"
PAYER_NAME_MAX_LENGTH = 60


class PaymentStatus(StrEnum):
    """The status of a payment record (one payment link and its attempts)."""

    CREATING = "creating"
    CREATION_FAILED = "creation_failed"
    AWAITING_PAYMENT = "awaiting_payment"
    PROCESSING = "processing"
    ATTEMPT_FAILED = "attempt_failed"
    COMPLETED = "completed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"

    @property
    def group(self) -> StatusGroup:
        """Return the group this status is counted and filtered under."""
        return _GROUP_OF[self]

    @property
    def label(self) -> str:
        """Return the words a merchant sees on the badge."""
        return _LABEL_OF[self]

    @property
    def is_final(self) -> bool:
        """Return True when nothing can change this payment any more."""
        return self in FINAL_STATUSES


class StatusGroup(StrEnum):
    """The groups of statuses shown as tiles and offered as filters."""

    PENDING = "pending"
    FAILED = "failed"
    COMPLETED = "completed"
    ENDED = "ended"

    @property
    def label(self) -> str:
        """Return the group's name as the merchant sees it."""
        return self.value.capitalize()


_GROUP_OF = {
    PaymentStatus.CREATING: StatusGroup.PENDING,
    PaymentStatus.CREATION_FAILED: StatusGroup.FAILED,
    PaymentStatus.AWAITING_PAYMENT: StatusGroup.PENDING,
    PaymentStatus.PROCESSING: StatusGroup.PENDING,
    PaymentStatus.ATTEMPT_FAILED: StatusGroup.FAILED,
    PaymentStatus.COMPLETED: StatusGroup.COMPLETED,
    PaymentStatus.EXPIRED: StatusGroup.ENDED,
    PaymentStatus.CANCELLED: StatusGroup.ENDED,
}
_LABEL_OF = {
    PaymentStatus.CREATING: "Creating link",
    PaymentStatus.CREATION_FAILED: "Link not created",
    PaymentStatus.AWAITING_PAYMENT: "Awaiting payment",
    PaymentStatus.PROCESSING: "Processing",
    PaymentStatus.ATTEMPT_FAILED: "Attempt failed",
    PaymentStatus.COMPLETED: "Completed",
    PaymentStatus.EXPIRED: "Expired",
    PaymentStatus.CANCELLED: "Cancelled",
}
# Nothing the merchant or a new payer does can change these. Money still wins: an attempt that
# started before a link was cancelled or expired, and executes, moves either to completed.
FINAL_STATUSES = frozenset(
    {PaymentStatus.COMPLETED, PaymentStatus.EXPIRED, PaymentStatus.CANCELLED}
)
# A link that ended unpaid, which money arriving after all turns into a completed payment.
ENDED_UNPAID = frozenset({PaymentStatus.EXPIRED, PaymentStatus.CANCELLED})
# The statuses in which the link is live: a payer may start (another) attempt.
LIVE_STATUSES = frozenset(
    {PaymentStatus.AWAITING_PAYMENT, PaymentStatus.PROCESSING, PaymentStatus.ATTEMPT_FAILED}
)

# The one transition table: for each status, the statuses a payment may move to from it.
ALLOWED_TRANSITIONS: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    PaymentStatus.CREATING: frozenset(
        {PaymentStatus.AWAITING_PAYMENT, PaymentStatus.CREATION_FAILED}
    ),
    PaymentStatus.CREATION_FAILED: frozenset({PaymentStatus.CREATING, PaymentStatus.CANCELLED}),
    PaymentStatus.AWAITING_PAYMENT: frozenset(
        {
            PaymentStatus.PROCESSING,
            PaymentStatus.ATTEMPT_FAILED,
            PaymentStatus.COMPLETED,
            PaymentStatus.EXPIRED,
            PaymentStatus.CANCELLED,
        }
    ),
    # Not expired while processing: the payer's bank is still deciding, and its answer must
    # land (an expired payment is final). The link shows as expired once the attempt ends.
    PaymentStatus.PROCESSING: frozenset({PaymentStatus.ATTEMPT_FAILED, PaymentStatus.COMPLETED}),
    PaymentStatus.ATTEMPT_FAILED: frozenset(
        {
            PaymentStatus.PROCESSING,
            PaymentStatus.COMPLETED,
            PaymentStatus.EXPIRED,
            PaymentStatus.CANCELLED,
        }
    ),
    PaymentStatus.COMPLETED: frozenset(),
    # Money wins: a payer whose bank executes an attempt that began before the link ended has
    # paid, and a payment that reached the merchant is never shown as expired or cancelled.
    PaymentStatus.EXPIRED: frozenset({PaymentStatus.COMPLETED}),
    PaymentStatus.CANCELLED: frozenset({PaymentStatus.COMPLETED}),
}


def can_transition(current: PaymentStatus, new: PaymentStatus) -> bool:
    """Return True when the transition table allows moving from ``current`` to ``new``."""
    return new in ALLOWED_TRANSITIONS[current]


def statuses_that_may_become(new: PaymentStatus) -> frozenset[PaymentStatus]:
    """Return every status from which ``new`` may be reached (used in condition expressions)."""
    return frozenset(s for s, targets in ALLOWED_TRANSITIONS.items() if new in targets)


class AttemptStatus(StrEnum):
    """The TrueLayer Payments API v3 status of one payment attempt, in the order it moves."""

    AUTHORIZATION_REQUIRED = "authorization_required"
    AUTHORIZING = "authorizing"
    AUTHORIZED = "authorized"
    EXECUTED = "executed"
    SETTLED = "settled"
    FAILED = "failed"

    @property
    def rank(self) -> int:
        """Return how far along the attempt is; an attempt's rank never goes down."""
        return _ATTEMPT_RANK[self]

    @property
    def is_final(self) -> bool:
        """Return True for settled and failed attempts, which never change again."""
        return self in (AttemptStatus.SETTLED, AttemptStatus.FAILED)

    @property
    def succeeded(self) -> bool:
        """Return True once the money has moved (executed or settled)."""
        return self in (AttemptStatus.EXECUTED, AttemptStatus.SETTLED)

    @property
    def in_flight(self) -> bool:
        """Return True while the payer's bank has not yet said whether the money moves."""
        return not (self.succeeded or self is AttemptStatus.FAILED)


_ATTEMPT_RANK = {
    AttemptStatus.AUTHORIZATION_REQUIRED: 0,
    AttemptStatus.AUTHORIZING: 1,
    AttemptStatus.AUTHORIZED: 2,
    AttemptStatus.EXECUTED: 3,
    # Settled follows executed. Failed is final too, but an executed payment cannot fail.
    AttemptStatus.SETTLED: 4,
    AttemptStatus.FAILED: 4,
}

# TrueLayer's failure reasons, in the merchant's words. Unknown reasons are shown as given.
FAILURE_REASON_WORDS = {
    "authorization_failed": "The payer did not complete the authorisation at their bank.",
    "provider_rejected": "The payer's bank declined the payment.",
    "user_canceled": "The payer cancelled at their bank.",
    "expired": "The payer did not finish in time.",
    "insufficient_funds": "The payer's account did not have enough money.",
    "provider_error": "The payer's bank had a technical problem.",
    "internal_server_error": "The payment provider had a technical problem.",
    "scheme_unavailable": "The payment scheme was unavailable.",
    "blocked": "The payment was blocked by the provider's checks.",
}


# The same reasons told to the payer, on their own result page.
FAILURE_REASON_WORDS_FOR_PAYER = {
    "authorization_failed": "The payment was not authorised at your bank.",
    "provider_rejected": "Your bank declined the payment.",
    "user_canceled": "You cancelled the payment at your bank.",
    "expired": "The payment was not finished in time.",
    "insufficient_funds": "Your account did not have enough money.",
    "provider_error": "Your bank had a technical problem.",
    "internal_server_error": "The payment service had a technical problem.",
    "scheme_unavailable": "The payment system was unavailable.",
    "blocked": "The payment was blocked by the payment service's checks.",
}


def describe_failure_to_payer(reason: str | None) -> str:
    """Return a failure reason in words spoken to the payer ("Your bank declined…")."""
    return FAILURE_REASON_WORDS_FOR_PAYER.get(reason or "", "The payment did not go through.")


def describe_failure_reason(reason: str | None) -> str:
    """Return a failure reason in words a merchant understands."""
    if not reason:
        return "The payment failed."
    return FAILURE_REASON_WORDS.get(reason, f"The payment failed ({reason}).")


@dataclass(frozen=True)
class StatusChange:
    """One line of a payment's timeline."""

    status: str
    at: datetime
    note: str = ""


@dataclass(frozen=True)
class PaymentAttempt:
    """One try by the payer to pay the link, as the provider reports it."""

    provider_payment_id: str
    status: AttemptStatus
    created_at: datetime
    updated_at: datetime
    failure_reason: str | None = None


@dataclass(frozen=True)
class Payment:
    """A payment link and everything that happened to it, as stored."""

    user_id: str
    payment_id: str
    amount_minor: int
    currency: str
    reference: str
    status: PaymentStatus
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    provider: str
    payer_token: str
    payer_name: str | None = None
    payer_email: str | None = None
    provider_link_id: str | None = None
    link_url: str | None = None
    failure_reason: str | None = None
    order_id: str | None = None  # set when the link was requested for one of the merchant's orders
    attempts: tuple[PaymentAttempt, ...] = ()
    status_history: tuple[StatusChange, ...] = ()
    refunds: tuple[Refund, ...] = ()  # in the order they were asked for
    version: int = 1

    def effective_status(self, now: datetime) -> PaymentStatus:
        """Return the status to show: a live link past its expiry is expired at once.

        The stored status follows when the provider's event or the sync command records it.
        """
        # Not while processing: the payer's bank may still complete it.
        unpaid = self.status in (PaymentStatus.AWAITING_PAYMENT, PaymentStatus.ATTEMPT_FAILED)
        if unpaid and now >= self.expires_at:
            return PaymentStatus.EXPIRED
        return self.status

    @property
    def is_open(self) -> bool:
        """Return True while the provider may still change this payment, so the sync watches it.

        A live link, a creation in flight, and a link that ended with an attempt still at the
        payer's bank (whose money would complete it) are open.
        """
        if self.status in LIVE_STATUSES or self.status is PaymentStatus.CREATING:
            return True
        if any(r.needs_checking for r in self.refunds):
            return True  # a refund the provider has not finished: the sync polls it too
        return self.status in ENDED_UNPAID and any(a.status.in_flight for a in self.attempts)

    # Refunds --------------------------------------------------------------------------------

    @property
    def succeeded_attempt(self) -> PaymentAttempt | None:
        """Return the attempt whose money reached the merchant (refunds are made against it)."""
        return next((a for a in self.attempts if a.status.succeeded), None)

    @property
    def settled(self) -> bool:
        """Return True once the money is in the merchant account, so a refund can start."""
        attempt = self.succeeded_attempt
        return attempt is not None and attempt.status is AttemptStatus.SETTLED

    @property
    def refund_reserved_minor(self) -> int:
        """Return what refunds hold of the payment: every one not failed, in flight or executed."""
        return sum(r.reserved_minor for r in self.refunds)

    @property
    def refunded_minor(self) -> int:
        """Return what executed refunds gave back (a returned refund no longer counts)."""
        return sum(r.executed_minor for r in self.refunds)

    @property
    def refundable_minor(self) -> int:
        """Return what may still be refunded: the amount less every refund that holds some."""
        if self.status is not PaymentStatus.COMPLETED or self.succeeded_attempt is None:
            return 0
        return max(self.amount_minor - self.refund_reserved_minor, 0)

    @property
    def refund_summary(self) -> RefundSummary | None:
        """Return how refunded the payment is, or None when no refund was ever asked for."""
        if not self.refunds:
            return None
        if self.refunded_minor >= self.amount_minor:
            return RefundSummary.REFUNDED
        if self.refunded_minor > 0:
            return RefundSummary.PARTLY_REFUNDED
        if any(r.needs_checking for r in self.refunds):
            return RefundSummary.PENDING
        return RefundSummary.NOT_REFUNDED

    def refund(self, refund_id: str) -> Refund | None:
        """Return the refund with our id, if the payment has it."""
        return next((r for r in self.refunds if r.refund_id == refund_id), None)

    def with_refund(self, refund: Refund, at: datetime) -> Payment:
        """Return a copy with ``refund`` added, or put in place of the one with its id."""
        others = tuple(r for r in self.refunds if r.refund_id != refund.refund_id)
        if len(others) == len(self.refunds):
            refunds = (*self.refunds, refund)
        else:
            refunds = tuple(refund if r.refund_id == refund.refund_id else r for r in self.refunds)
        return dataclasses.replace(self, refunds=refunds, updated_at=at)

    def timeline(self) -> list[TimelineEntry]:
        """Return the payment's status changes and its refunds' steps, oldest first.

        Stable: entries of one instant keep the order they were stored in (payment first).
        """
        entries = [
            TimelineEntry(c.at, PaymentStatus(c.status).label, c.note) for c in self.status_history
        ]
        for refund in self.refunds:
            entries += [
                TimelineEntry(
                    step.at,
                    step.status.step_label,
                    step.note,
                    refund_id=refund.refund_id,
                )
                for step in refund.history
            ]
        return sorted(entries, key=lambda e: e.at)

    def attempt(self, provider_payment_id: str) -> PaymentAttempt | None:
        """Return the attempt with this provider payment id, if the record has it."""
        return next(
            (a for a in self.attempts if a.provider_payment_id == provider_payment_id), None
        )

    def with_status(self, new: PaymentStatus, at: datetime, note: str = "") -> Payment:
        """Return a copy moved to ``new`` with the change on the timeline.

        Raises InvalidTransition when the transition table does not allow it.
        """
        if not can_transition(self.status, new):
            raise InvalidTransition(self.status, new)
        return dataclasses.replace(
            self,
            status=new,
            updated_at=at,
            status_history=(*self.status_history, StatusChange(new.value, at, note)),
        )


class RefundSummary(StrEnum):
    """How much of a payment went back to the payer: its refund badge and the refund filter."""

    REFUNDED = "refunded"
    PARTLY_REFUNDED = "partly_refunded"
    PENDING = "refund_pending"
    NOT_REFUNDED = "refund_failed"  # refunds were asked for, and every one failed

    @property
    def label(self) -> str:
        """Return the words of the badge."""
        return _SUMMARY_LABELS[self]


_SUMMARY_LABELS = {
    RefundSummary.REFUNDED: "Refunded",
    RefundSummary.PARTLY_REFUNDED: "Partly refunded",
    RefundSummary.PENDING: "Refund pending",
    RefundSummary.NOT_REFUNDED: "Refund failed",
}


@dataclass(frozen=True)
class TimelineEntry:
    """One line of a payment page's timeline: a status change of the payment or a refund."""

    at: datetime
    label: str
    note: str = ""
    refund_id: str | None = None


class InvalidTransition(Conflict):
    """Raised when a status change is not in the transition table."""

    def __init__(self, current: PaymentStatus, new: PaymentStatus):
        super().__init__(f"A payment cannot move from {current.value} to {new.value}")
        self.current = current
        self.new = new


class ProviderEventKind(StrEnum):
    """What a provider tells us about a link or one of its payment attempts."""

    ATTEMPT_UPDATED = "attempt_updated"
    LINK_DISABLED = "link_disabled"
    REFUND_UPDATED = "refund_updated"


@dataclass(frozen=True)
class ProviderEvent:
    """A status report from a payment provider, in the provider's ids (not ours)."""

    event_id: str
    provider: str
    kind: ProviderEventKind
    provider_link_id: str | None  # None: TrueLayer's payment webhooks name only the payment
    occurred_at: datetime
    provider_payment_id: str | None = None
    attempt_status: AttemptStatus | None = None
    failure_reason: str | None = None
    disabled_reason: str | None = None
    provider_refund_id: str | None = None  # refund events: the provider's refund
    refund_status: RefundStatus | None = None
    refund_id: str | None = None  # ours, when the provider carries it back (its refund list)
    extra: dict[str, str] = field(default_factory=dict)


def apply_event(payment: Payment, event: ProviderEvent, now: datetime) -> Payment | None:
    """Return the payment as it is after the event, or None when the event changes nothing.

    Late, repeated and out-of-order events are harmless: an attempt's status only moves forward,
    and the record's status only moves along the transition table.
    """
    if event.kind is ProviderEventKind.LINK_DISABLED:
        return _apply_link_disabled(payment, event, now)
    if event.kind is ProviderEventKind.REFUND_UPDATED:
        return _apply_refund_update(payment, event, now)
    return _apply_attempt_update(payment, event, now)


class UnknownRefund(Exception):
    """Raised for a refund event naming a refund the payment does not have yet.

    A refund of ours still ``creating`` has no provider id stored until the provider's answer
    is written; its webhook may come first, so it should be delivered again later.
    """


def _apply_refund_update(payment: Payment, event: ProviderEvent, now: datetime) -> Payment | None:
    if not (event.provider_refund_id and event.refund_status):
        raise ValueError("A refund event needs the provider refund id and its status")
    refund = next(
        (r for r in payment.refunds if r.provider_refund_id == event.provider_refund_id), None
    )
    if refund is None and event.refund_id:
        refund = payment.refund(event.refund_id)
    if refund is None:
        if any(r.status is RefundStatus.CREATING or r.in_doubt for r in payment.refunds):
            # Perhaps one of ours whose provider id is not stored yet (its answer is on its
            # way, or was lost): asked again later, by then it is stored or adopted.
            raise UnknownRefund(event.provider_refund_id)
        # Not one of ours (made in the provider's console, say): nothing here holds its amount.
        return None
    if refund.status is RefundStatus.CREATION_FAILED:
        # The provider made it after all (its answer was lost): it is ours, adopted.
        refund = refund.moved(RefundStatus.CREATING, event.occurred_at, "Found at the provider.")
    new = event.refund_status
    if new == refund.status or not can_move(refund.status, new):
        return None  # repeated, late or out of order: failed is final, and nothing goes back
    moved = refund.moved(
        new,
        event.occurred_at,
        report_note(new, refund.status, event.failure_reason),
        failure_reason=event.failure_reason,
    )
    moved = dataclasses.replace(
        moved, provider_refund_id=refund.provider_refund_id or event.provider_refund_id
    )
    return payment.with_refund(moved, now)


# What providers call a link the merchant disabled: the sandbox says "cancelled", TrueLayer
# echoes the reason sent with the disable request.
CANCELLED_LINK_REASONS = frozenset({"cancelled", "merchant_cancelled"})


def _apply_link_disabled(payment: Payment, event: ProviderEvent, now: datetime) -> Payment | None:
    # A link that was paid or cancelled stays so; only a still-unpaid link ends as expired.
    # A link disabled for another reason (e.g. its payment completing) waits for that news.
    if event.disabled_reason in CANCELLED_LINK_REASONS:
        return _apply_link_cancelled(payment, now)
    if event.disabled_reason not in (None, "expired"):
        return None
    if not can_transition(payment.status, PaymentStatus.EXPIRED):
        return None
    return payment.with_status(PaymentStatus.EXPIRED, now, "The link expired unpaid.")


def _apply_link_cancelled(payment: Payment, now: datetime) -> Payment | None:
    """Finish a cancel that waited for the payer's bank: the link closed and no money came."""
    if any(a.status.in_flight for a in payment.attempts):
        return None  # the bank's answer comes first; the link stays "disabling" until then
    if not can_transition(payment.status, PaymentStatus.CANCELLED):
        return None
    return payment.with_status(PaymentStatus.CANCELLED, now, "Cancelled by the merchant.")


def _apply_attempt_update(payment: Payment, event: ProviderEvent, now: datetime) -> Payment | None:
    if not (event.provider_payment_id and event.attempt_status):
        raise ValueError("An attempt event needs the provider payment id and its status")
    existing = payment.attempt(event.provider_payment_id)
    if existing is not None and (
        event.attempt_status.rank <= existing.status.rank
        # Money that moved stays moved: a failure report for an executed attempt is stale.
        or (existing.status.succeeded and event.attempt_status is AttemptStatus.FAILED)
    ):
        return None  # a late or repeated report: the attempt is already at least this far
    attempt = PaymentAttempt(
        provider_payment_id=event.provider_payment_id,
        status=event.attempt_status,
        created_at=existing.created_at if existing else event.occurred_at,
        updated_at=event.occurred_at,
        failure_reason=event.failure_reason
        if event.attempt_status is AttemptStatus.FAILED
        else None,
    )
    others = tuple(
        a for a in payment.attempts if a.provider_payment_id != attempt.provider_payment_id
    )
    updated = dataclasses.replace(payment, attempts=(*others, attempt), updated_at=now)

    target = _record_status_for(updated, attempt)
    if target is None or target == payment.status or not can_transition(payment.status, target):
        # The attempt is recorded, but the record's own status stays (e.g. an old attempt
        # failing after another attempt completed the payment).
        return updated
    note = ""
    if target is PaymentStatus.ATTEMPT_FAILED:
        note = describe_failure_reason(attempt.failure_reason)
    elif payment.status in ENDED_UNPAID:
        ended = "cancelled" if payment.status is PaymentStatus.CANCELLED else "expired"
        note = f"Paid after the link was {ended}."
    moved = updated.with_status(target, now, note)
    if target is PaymentStatus.ATTEMPT_FAILED:
        moved = dataclasses.replace(moved, failure_reason=attempt.failure_reason)
    return moved


def _record_status_for(payment: Payment, attempt: PaymentAttempt) -> PaymentStatus | None:
    """Return the record status that the latest news about an attempt implies."""
    if attempt.status.succeeded:
        return PaymentStatus.COMPLETED
    if attempt.status is AttemptStatus.FAILED:
        # Another attempt may still be in flight; only the last one in progress decides.
        in_flight = any(a.status.in_flight for a in payment.attempts)
        return PaymentStatus.PROCESSING if in_flight else PaymentStatus.ATTEMPT_FAILED
    return PaymentStatus.PROCESSING
