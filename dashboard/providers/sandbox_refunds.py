"""The sandbox's refund rules: what TrueLayer allows of a refund, on a sandbox link's attempts.

Pure functions over the stored link (no DynamoDB): ``SandboxProvider`` reads the link, applies
one of these and saves it. A refund is made ``pending``; the sandbox's controls page then
executes it (only once its payment has settled, as TrueLayer starts refunds only on settled
payments), fails it, or returns it after it was executed (the payer's bank sent it back).
"""

from __future__ import annotations

from dataclasses import dataclass

from dashboard.domain.payments import AttemptStatus
from dashboard.domain.refunds import RefundStatus
from dashboard.providers.base import ProviderRefund, ProviderRejected, RefundRequest
from dashboard.store.sandbox_links import SandboxAttempt, SandboxLink, SandboxRefund

INSUFFICIENT_FUNDS = "insufficient_funds"
RETURNED = "returned"


class RefundNotMovable(Exception):
    """Raised when a sandbox refund cannot take the step asked for (or does not exist)."""


class PaymentNotSettleable(Exception):
    """Raised when a sandbox attempt cannot settle: it is not executed (or does not exist)."""


@dataclass(frozen=True)
class RefundMove:
    """One step the controls page can make a refund take, and the event id it reports under."""

    from_statuses: frozenset[RefundStatus]
    to: RefundStatus
    event_suffix: str
    needs_settled_payment: bool = False


EXECUTE = RefundMove(
    frozenset({RefundStatus.PENDING, RefundStatus.AUTHORIZED}),
    RefundStatus.EXECUTED,
    "executed",
    needs_settled_payment=True,
)
FAIL = RefundMove(
    frozenset({RefundStatus.PENDING, RefundStatus.AUTHORIZED}), RefundStatus.FAILED, "failed"
)
# A return is a failure after execution: its own event id, so it is not taken for a repeat of
# a plain failure's webhook.
RETURN = RefundMove(frozenset({RefundStatus.EXECUTED}), RefundStatus.FAILED, RETURNED)


def find_attempt(link: SandboxLink, attempt_id: str) -> SandboxAttempt | None:
    """Return the link's attempt with this id, if it has one."""
    return next((a for a in link.attempts if a.payment_id == attempt_id), None)


def find_refund(attempt: SandboxAttempt, refund_id: str) -> SandboxRefund | None:
    """Return the attempt's refund with this (sandbox) id, if it has one."""
    return next((r for r in attempt.refunds if r.refund_id == refund_id), None)


def add_refund(
    link: SandboxLink, request: RefundRequest, refund_id: str, now: str
) -> SandboxRefund:
    """Add a pending refund to the attempt, or return the one this idempotency key made.

    Raises ProviderRejected, as TrueLayer answers 4xx, for a payment that has not succeeded, a
    non-positive amount, or more than is left of the payment after its not-failed refunds.
    """
    attempt = find_attempt(link, request.provider_payment_id)
    if attempt is None:
        raise ProviderRejected(f"payment {request.provider_payment_id} was not found")
    existing = find_refund(attempt, refund_id)
    if existing is not None:
        if existing.amount_minor != request.amount_minor:
            raise ProviderRejected("the idempotency key was used for a different refund")
        return existing
    if not AttemptStatus(attempt.status).succeeded:
        raise ProviderRejected(
            f"payment {attempt.payment_id} is {attempt.status}: only an executed or settled "
            "payment can be refunded"
        )
    if request.amount_minor <= 0:
        raise ProviderRejected("a refund's amount must be more than zero")
    if request.currency != link.currency:
        raise ProviderRejected(f"the payment is in {link.currency}, not {request.currency}")
    left = link.amount_minor - sum(
        r.amount_minor for r in attempt.refunds if r.status != RefundStatus.FAILED
    )
    if request.amount_minor > left:
        raise ProviderRejected(
            f"a refund of {request.amount_minor} is more than the {left} left of the payment"
        )
    refund = SandboxRefund(
        refund_id=refund_id,
        our_refund_id=request.refund_id,
        amount_minor=request.amount_minor,
        reference=request.reference,
        status=RefundStatus.PENDING.value,
        created_at=now,
        updated_at=now,
    )
    attempt.refunds.append(refund)
    return refund


def move_refund(
    link: SandboxLink,
    attempt_id: str,
    refund_id: str,
    move: RefundMove,
    now: str,
    failure_reason: str | None = None,
) -> SandboxRefund:
    """Make the refund take ``move``; raise RefundNotMovable when its state does not allow it."""
    attempt = find_attempt(link, attempt_id)
    refund = find_refund(attempt, refund_id) if attempt else None
    if attempt is None or refund is None:
        raise RefundNotMovable(f"refund {refund_id} of payment {attempt_id} was not found")
    if move.needs_settled_payment and attempt.status != AttemptStatus.SETTLED:
        raise RefundNotMovable(
            f"payment {attempt_id} is {attempt.status}: a refund starts once it has settled"
        )
    if RefundStatus(refund.status) not in move.from_statuses:
        raise RefundNotMovable(f"refund {refund_id} is {refund.status}: it cannot be {move.to}")
    refund.status = move.to.value
    refund.updated_at = now
    refund.failure_reason = failure_reason if move.to is RefundStatus.FAILED else None
    return refund


def settle_attempt(link: SandboxLink, attempt_id: str, now: str) -> SandboxAttempt:
    """Settle the executed attempt (the money reached the merchant's account)."""
    attempt = find_attempt(link, attempt_id)
    if attempt is None or attempt.status != AttemptStatus.EXECUTED:
        state = attempt.status if attempt else "not found"
        raise PaymentNotSettleable(f"payment {attempt_id} is {state}: only executed ones settle")
    attempt.status = AttemptStatus.SETTLED.value
    attempt.updated_at = now
    return attempt


def as_provider_refund(refund: SandboxRefund) -> ProviderRefund:
    """Return the refund as the PaymentProvider interface gives it."""
    return ProviderRefund(
        provider_refund_id=refund.refund_id,
        status=RefundStatus(refund.status),
        amount_minor=refund.amount_minor,
        refund_id=refund.our_refund_id,
        failure_reason=refund.failure_reason,
    )
