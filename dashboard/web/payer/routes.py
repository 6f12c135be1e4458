"""The payer's result page: where the provider sends the payer back (the ``return_uri``)."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask.typing import ResponseReturnValue

from dashboard.core.clock import utc_now
from dashboard.domain.payments import AttemptStatus, Payment, PaymentStatus
from dashboard.services.payments import PaymentNotFound
from dashboard.web.permissions import public
from dashboard.web.request_log import secret_in_path

bp = Blueprint("payer", __name__, url_prefix="/pay")


@bp.get("/<token>")
@public
@secret_in_path("token")  # whoever holds the token sees the payment
def payment_result(token: str) -> ResponseReturnValue:
    """Show the payer the amount, reference and status of their payment, and nothing else."""
    service = current_app.extensions["payment_service"]
    try:
        payment = service.payment_for_payer(token)
    except PaymentNotFound:
        return render_template(
            "payer/not_found.html",
            business=None,
            title="Payment not found",
            message="This payment link is not valid. Check the link you were sent.",
        ), 404
    status = _status_for_payer(payment, request.args.get("payment_id", "")[:128])
    can_try_again = status in (PaymentStatus.ATTEMPT_FAILED, PaymentStatus.AWAITING_PAYMENT)
    return render_template(
        "payer/result.html",
        payment=payment,
        status=status,
        can_try_again=can_try_again,
        business=current_app.extensions["business"].profile(payment.user_id),
    )


def _status_for_payer(payment: Payment, returned_attempt: str) -> PaymentStatus:
    """Return the status to show a payer coming back from their bank with an attempt's id.

    Until the bank's answer about that attempt has reached us (its webhook may be delayed or
    retried), the payer sees it as processing: never an invitation to pay a second time.
    """
    status = payment.effective_status(utc_now())
    if returned_attempt and status in (
        PaymentStatus.AWAITING_PAYMENT,
        PaymentStatus.ATTEMPT_FAILED,
    ):
        attempt = payment.attempt(returned_attempt)
        if attempt is None or attempt.status is not AttemptStatus.FAILED:
            return PaymentStatus.PROCESSING
    return status
