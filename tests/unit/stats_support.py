"""Refunds for the statistics tests, stored as the refund service would leave them."""

from __future__ import annotations

from datetime import datetime

from dashboard.core.ids import new_id
from dashboard.domain.payments import Payment
from dashboard.domain.refunds import Refund, RefundStatus, RefundStep
from dashboard.store.payments import PaymentRepository


def refund_payment(
    payments: PaymentRepository,
    user_id: str,
    payment_id: str,
    amount_minor: int,
    at: datetime,
    *,
    returned: bool = False,
) -> Payment:
    """Store an executed refund of a stored payment (then its return, if ``returned``).

    No provider: the refund is saved executed straight away, as its last webhook would leave it.
    A return is a second save, executed → failed, so the rollups see both steps.
    """
    payment = payments.get(user_id, payment_id)
    assert payment is not None
    refund = Refund(
        new_id(),
        amount_minor,
        RefundStatus.EXECUTED,
        at,
        at,
        history=(RefundStep(RefundStatus.EXECUTED, at),),
    )
    payment = payments.save(payment, payment.with_refund(refund, at))
    if returned:
        back = refund.moved(RefundStatus.FAILED, at, failure_reason="returned")
        payment = payments.save(payment, payment.with_refund(back, at))
    return payment
