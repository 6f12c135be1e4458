"""Routes for refunds: the refund form of a payment, asking for a refund, retrying one.

Giving money back needs the Refund permission and a sign-in within 5 minutes (step-up), asked
before the form is shown as well as when it is sent. The service decides what may be refunded.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required

from dashboard.core.ids import new_id
from dashboard.core.signed_ids import FormExpired
from dashboard.domain.money import format_money, from_minor
from dashboard.domain.payments import Payment
from dashboard.domain.permissions import Permission
from dashboard.domain.refunds import RefundNotAllowed, RefundStatus, RefundTooLarge
from dashboard.services.payments import PaymentService
from dashboard.services.refunds import RefundService
from dashboard.web.actor import current_actor
from dashboard.web.permissions import requires
from dashboard.web.refunds.forms import RefundForm, sign_refund_id, unsign_refund_id
from dashboard.web.step_up import recent_sign_in_required

bp = Blueprint("refunds", __name__, url_prefix="/payments")


@bp.before_request
@login_required
def require_sign_in() -> None:
    """Every refund page is for a signed-in member only."""


def refund_service() -> RefundService:
    """Return the app's refund service."""
    return current_app.extensions["refund_service"]


def _payment(payment_id: str) -> Payment:
    service: PaymentService = current_app.extensions["payment_service"]
    return service.get_payment(current_actor().account_id, payment_id)


def _back_to(payment_id: str) -> ResponseReturnValue:
    return redirect(url_for("payments.show_payment", payment_id=payment_id, _anchor="refunds"), 303)


@bp.get("/<payment_id>/refund")
@requires(Permission.REFUND)
@recent_sign_in_required()  # asked before the form, so what is typed is never lost to it
def new_refund(payment_id: str) -> ResponseReturnValue:
    """Show the refund form, the amount set to all that is still refundable."""
    payment = _payment(payment_id)
    if payment.refundable_minor <= 0:
        flash(_not_refundable(payment), "warning")
        return _back_to(payment_id)
    form = RefundForm(currency=payment.currency)
    form.amount.data = str(from_minor(payment.refundable_minor, payment.currency))
    form.refund_token.data = sign_refund_id(new_id(), current_actor().account_id)
    return _form_page(payment, form)


@bp.post("/<payment_id>/refunds")
@requires(Permission.REFUND)
@recent_sign_in_required()
def create_refund(payment_id: str) -> ResponseReturnValue:
    """Ask for the refund, or show the form again with what was wrong and what was typed."""
    actor = current_actor()
    payment = _payment(payment_id)
    form = RefundForm(currency=payment.currency)
    try:
        refund_id = unsign_refund_id(form.refund_token.data or "", actor.account_id)
    except FormExpired:
        form.refund_token.data = sign_refund_id(new_id(), actor.account_id)
        flash("This form was open too long. Check the amount and submit again.", "warning")
        return _form_page(payment, form, 422)
    if not form.validate():
        return _form_page(payment, form, 422)
    try:
        stored = refund_service().request_refund(actor, payment_id, form.to_request(refund_id))
    except RefundTooLarge as exc:
        form.amount.errors = [exc.errors["amount"]]
        return _form_page(payment, form, 422)
    except RefundNotAllowed as exc:
        flash(str(exc), "error")
        return _back_to(payment_id)
    refund = stored.refund(refund_id)
    assert refund is not None  # the service stored it, or found it from a first submit
    amount = format_money(refund.amount_minor, stored.currency)
    if refund.status is RefundStatus.CREATION_FAILED:
        flash(f"The refund of {amount} could not be sent: {refund.failure_reason} "
              "Nothing was refunded; you can retry it.", "error")  # fmt: skip
    elif not stored.settled:
        flash(f"Refund of {amount} requested. It starts when the payment has settled into "
              "your merchant account.", "success")  # fmt: skip
    else:
        flash(f"Refund of {amount} requested. This page shows when it is done.", "success")
    return _back_to(payment_id)


@bp.post("/<payment_id>/refunds/<refund_id>/retry")
@requires(Permission.REFUND)
@recent_sign_in_required()
def retry_refund(payment_id: str, refund_id: str) -> ResponseReturnValue:
    """Send again a refund that could not be sent."""
    try:
        stored = refund_service().retry_refund(current_actor(), payment_id, refund_id)
    except (RefundNotAllowed, RefundTooLarge) as exc:
        flash(exc.explanation(), "error")
        return _back_to(payment_id)
    refund = stored.refund(refund_id)
    if refund is None or refund.status is RefundStatus.CREATION_FAILED:
        flash("The refund could still not be sent. Try again in a moment.", "error")
    else:
        # Sent again, or found at the provider (made after all): say where it stands now.
        flash(f"The refund reached the payment provider: {refund.status.label.lower()}.", "success")
    return _back_to(payment_id)


def _form_page(payment: Payment, form: RefundForm, status: int = 200) -> ResponseReturnValue:
    return render_template("payments/refund.html", payment=payment, form=form), status


def _not_refundable(payment: Payment) -> str:
    if payment.refunds and payment.refund_reserved_minor >= payment.amount_minor:
        return "Refunds already cover the whole payment: nothing is left to refund."
    return "Only a completed payment can be refunded."
