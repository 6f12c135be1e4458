"""Refunds: money a merchant gives back from a completed payment, in whole or in parts.

Pure rules, no Flask or DynamoDB. A payment holds its refunds (``Payment.refunds``); every
refund change is a write of the payment, conditional on its version, so the amount reserved by
refunds in flight is always read and written together with the refunds themselves: two refunds
asked for at once cannot both pass (``dashboard.services.refunds``).

States (the README's refund table says the same)::

    creating ─┬─> pending ─> authorized ─> executed ─> failed   (a return: the one step back)
              │      └──────────┴─────────────┴──> failed        (final)
              └─> creation_failed ─> creating                  (the merchant retries)

TrueLayer reports ``pending``, ``authorized``, ``executed`` and ``failed``; ``creating`` and
``creation_failed`` are ours (asked for, and not accepted by the provider yet or ever). A
refund that failed, or whose creation failed, reserves nothing.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from dashboard.core.errors import Conflict, InvalidInput

REFUND_REASON_MAX_LENGTH = 140


class RefundStatus(StrEnum):
    """Where one refund is."""

    CREATING = "creating"
    CREATION_FAILED = "creation_failed"
    PENDING = "pending"
    AUTHORIZED = "authorized"
    EXECUTED = "executed"
    FAILED = "failed"

    @property
    def label(self) -> str:
        """Return the words a merchant sees on the refund's badge."""
        return _LABELS[self]

    @property
    def step_label(self) -> str:
        """Return how the payment's timeline names the refund reaching this status."""
        return _STEP_LABELS[self]

    @property
    def reserves(self) -> bool:
        """Return True while the refund holds part of the payment (it may still send money)."""
        return self not in (RefundStatus.FAILED, RefundStatus.CREATION_FAILED)

    @property
    def in_flight(self) -> bool:
        """Return True while the provider may still move the refund (the sync watches it)."""
        return self in (RefundStatus.CREATING, RefundStatus.PENDING, RefundStatus.AUTHORIZED)


_LABELS = {
    RefundStatus.CREATING: "Sending",
    RefundStatus.CREATION_FAILED: "Not sent",
    RefundStatus.PENDING: "Pending",
    RefundStatus.AUTHORIZED: "Authorised",
    RefundStatus.EXECUTED: "Refunded",
    RefundStatus.FAILED: "Failed",
}

_STEP_LABELS = {
    RefundStatus.CREATING: "Refund requested",
    RefundStatus.CREATION_FAILED: "Refund not sent",
    RefundStatus.PENDING: "Refund pending",
    RefundStatus.AUTHORIZED: "Refund authorised",
    RefundStatus.EXECUTED: "Refund executed",
    RefundStatus.FAILED: "Refund failed",
}

# The one transition table. The provider's reports may skip steps (a webhook for ``executed``
# can come before the answer to our request is stored), so any step forward is allowed.
ALLOWED_REFUND_TRANSITIONS: dict[RefundStatus, frozenset[RefundStatus]] = {
    RefundStatus.CREATING: frozenset(
        {
            RefundStatus.PENDING,
            RefundStatus.AUTHORIZED,
            RefundStatus.EXECUTED,
            RefundStatus.FAILED,
            RefundStatus.CREATION_FAILED,
        }
    ),
    RefundStatus.CREATION_FAILED: frozenset({RefundStatus.CREATING}),
    RefundStatus.PENDING: frozenset(
        {RefundStatus.AUTHORIZED, RefundStatus.EXECUTED, RefundStatus.FAILED}
    ),
    RefundStatus.AUTHORIZED: frozenset({RefundStatus.EXECUTED, RefundStatus.FAILED}),
    # A return: the payer's bank sent the money back. Unlike a pay-in attempt, whose failure
    # after execution is a stale report, a refund's is news, and reverses what it counted.
    RefundStatus.EXECUTED: frozenset({RefundStatus.FAILED}),
    RefundStatus.FAILED: frozenset(),
}


def can_move(current: RefundStatus, new: RefundStatus) -> bool:
    """Return True when the refund table allows ``current`` to become ``new``."""
    return new in ALLOWED_REFUND_TRANSITIONS[current]


# TrueLayer's refund failure reasons, in the merchant's words. Unknown ones are shown as given.
REFUND_FAILURE_WORDS = {
    "blocked": "The refund was blocked by the provider's checks.",
    "insufficient_funds": "The merchant account did not hold enough money for the refund.",
    "invalid_iban": "The payer's account details were not accepted.",
    "returned": "The payer's bank returned the money.",
    "scheme_error": "The payment scheme could not process the refund.",
    "provider_error": "The payment provider had a technical problem.",
    "unknown": "The refund failed for a reason the provider did not give.",
}


def describe_refund_failure(reason: str | None) -> str:
    """Return why a refund failed, in words a merchant understands."""
    if not reason:
        return "The refund failed."
    return REFUND_FAILURE_WORDS.get(reason, f"The refund failed ({reason}).")


@dataclass(frozen=True)
class RefundStep:
    """One line of a refund's history: the status it reached, when, and why."""

    status: RefundStatus
    at: datetime
    note: str = ""


@dataclass(frozen=True)
class Refund:
    """One refund of a payment, as stored with it.

    ``refund_id`` is ours (a UUIDv7 minted when the form or API request was made, so a double
    submit is one refund); ``provider_refund_id`` is the provider's, once it accepted it.
    ``requested_by`` is who asked (a person's email or an API key's name), for the page.
    """

    refund_id: str
    amount_minor: int
    status: RefundStatus
    created_at: datetime
    updated_at: datetime
    requested_by: str | None = None
    reason: str | None = None
    provider_refund_id: str | None = None
    failure_reason: str | None = None
    history: tuple[RefundStep, ...] = ()
    # Not sent for certain: the provider did not answer, so it may have made the refund after
    # all. Until its list of refunds says otherwise, the refund keeps its reservation and its
    # webhooks are waited for (so money that went back is never dropped or paid out twice).
    in_doubt: bool = False

    @property
    def reserved_minor(self) -> int:
        """Return what this refund holds of the payment (nothing once it surely failed)."""
        return self.amount_minor if self.status.reserves or self.in_doubt else 0

    @property
    def needs_checking(self) -> bool:
        """Return True while the provider may still move it, or may hold it unbeknown to us."""
        return self.status.in_flight or self.in_doubt

    @property
    def executed_minor(self) -> int:
        """Return what this refund has given back (executed and not returned)."""
        return self.amount_minor if self.status is RefundStatus.EXECUTED else 0

    def moved(
        self, new: RefundStatus, at: datetime, note: str = "", failure_reason: str | None = None
    ) -> Refund:
        """Return a copy moved to ``new``, the step in its history; raise if not allowed.

        A step is never dated before the one it follows: a provider's time for it can be
        earlier than ours for the step before (its webhook beat our request's answer).
        """
        if not can_move(self.status, new):
            raise InvalidRefundTransition(self.status, new)
        at = max(at, self.updated_at)
        return dataclasses.replace(
            self,
            status=new,
            updated_at=at,
            in_doubt=False,
            # Why it failed, or why it could not be sent: both are shown with the refund.
            failure_reason=failure_reason if not new.reserves else None,
            history=(*self.history, RefundStep(new, at, note)),
        )


class InvalidRefundTransition(Conflict):
    """Raised when a refund status change is not in the refund table."""

    def __init__(self, current: RefundStatus, new: RefundStatus):
        super().__init__(f"A refund cannot move from {current.value} to {new.value}")


class RefundNotAllowed(Conflict):
    """Raised when the payment cannot be refunded (not completed, nothing left): a 409."""

    title = "Not refundable"


class RefundTooLarge(InvalidInput):
    """Raised when the amount asked for is more than is still refundable: a 422."""

    def __init__(self, refundable_minor: int, message: str):
        super().__init__({"amount": message})
        self.refundable_minor = refundable_minor


def report_note(new: RefundStatus, previous: RefundStatus, failure_reason: str | None) -> str:
    """Return the timeline note of a status the provider reported for a refund."""
    if new is RefundStatus.FAILED:
        words = describe_refund_failure(failure_reason)
        if previous is RefundStatus.EXECUTED:
            return f"Returned after it was executed. {words}"
        return words
    if new is RefundStatus.EXECUTED:
        return "The money was sent back to the payer."
    return ""
