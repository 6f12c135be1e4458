"""Routes for the merchant's payments. They parse input and render; the service decides."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import datetime
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import login_required

from dashboard.core.clock import utc_now
from dashboard.core.ids import new_id
from dashboard.core.signed_ids import FormExpired
from dashboard.domain.money import SUPPORTED_CURRENCIES
from dashboard.domain.orders import Order
from dashboard.domain.payments import REFERENCE_MAX_LENGTH, Payment, StatusGroup
from dashboard.domain.permissions import Permission
from dashboard.services.emails import EmailNotAllowed, PaymentEmails
from dashboard.services.orders import OrderNotFound
from dashboard.services.payment_listing import (
    InvalidCursor,
    PaymentListing,
    PaymentListPage,
    StatusCounts,
    result_count,
)
from dashboard.services.payments import ActionNotAllowed, PaymentService
from dashboard.store.payments import PaymentAlreadyExists
from dashboard.web.actor import current_actor
from dashboard.web.confirm import Confirmation, confirm_page
from dashboard.web.header import start_account_choices
from dashboard.web.htmx import render_page_or_block, request_is_partial
from dashboard.web.payment_filters import (
    PRESET_LABELS,
    REFUND_CHOICES,
    FilterError,
    PaymentFilters,
    merchant_filters,
)
from dashboard.web.payments.export import csv_lines
from dashboard.web.payments.forms import (
    REFERENCE_RULE,
    NewPaymentLinkForm,
    sign_payment_id,
    unsign_payment_id,
)
from dashboard.web.payments.qr_codes import qr_code_svg
from dashboard.web.permissions import requires
from dashboard.web.zone import current_zone

bp = Blueprint("payments", __name__, url_prefix="/payments")


@bp.before_request
@login_required
def require_sign_in() -> None:
    """Every payments page is for the signed-in merchant only."""


def payment_service() -> PaymentService:
    """Return the app's payment service."""
    return current_app.extensions["payment_service"]


def payment_listing() -> PaymentListing:
    """Return the app's listing service (find, count, export)."""
    return current_app.extensions["payment_listing"]


@bp.get("")
@requires(Permission.READ)
def list_payments() -> ResponseReturnValue:
    """List the merchant's payments: filters, search, status tiles, pages; all in the URL."""
    account_id = current_actor().account_id
    if not request_is_partial():
        start_account_choices()  # the header's Query, while this page reads its own
    now = utc_now()
    try:
        filters = merchant_filters(request.args, now)
    except FilterError as exc:
        return _list_response(PaymentFilters(errors=exc.messages), None, None, now, status=400)
    cursor = request.args.get("cursor") or None
    try:
        view = payment_listing().find_page_and_counts(account_id, filters.query, cursor)
    except InvalidCursor as exc:
        errors = {"cursor": f"{exc} Start again from the first page."}
        return _list_response(
            dataclasses.replace(filters, errors=errors), None, None, now, status=400
        )
    return _list_response(filters, view.page, view.counts, now)


def _continuing() -> bool:
    """Return True when the list continues from a cursor (Load more, or a link past page one)."""
    return bool(request.args.get("cursor"))


def _list_response(
    filters: PaymentFilters,
    page: PaymentListPage | None,
    counts: StatusCounts | None,
    now: datetime,
    status: int = 200,
) -> ResponseReturnValue:
    """Render the list: the whole page, the list body (filters/search), or more rows."""
    context = {
        "filters": filters,
        "page": page,
        "counts": counts,
        "now": now,
        "groups": list(StatusGroup),
        "presets": PRESET_LABELS,
        "currencies": SUPPORTED_CURRENCIES,
        "refund_choices": REFUND_CHOICES,
        "continuing": _continuing(),
        "result": result_count(filters.query, counts, page, _continuing())
        if page and counts
        else None,
        "lapsed": page.lapsed(now) if page else [],
    }
    # "Load more" asks for the next rows only, appended in place of its own button.
    block = "more_rows" if request.headers.get("HX-Target") == "load-more" else "list_body"
    return render_page_or_block("payments/list.html", block, status=status, **context)


@bp.get("/export.csv")
@requires(Permission.READ)
def export_payments() -> ResponseReturnValue:
    """Download every payment matching the filters and search as CSV, streamed."""
    try:
        filters = merchant_filters(request.args, utc_now())
    except FilterError as exc:
        return {"error": "Invalid filters", "detail": exc.messages}, 400
    rows = payment_listing().export(current_actor().account_id, filters.query)
    first = next(rows, None)
    if first is None:
        # A header-only file helps nobody: say so on the list it was asked from.
        flash("No payments match these filters, so there is nothing to export.", "warning")
        list_args: dict[str, Any] = filters.query_args()
        return redirect(url_for("payments.list_payments", **list_args), 303)
    rows = itertools.chain([first], rows)
    filename = f"payments-{utc_now():%Y%m%d-%H%M%S}.csv"
    return Response(
        stream_with_context(csv_lines(rows, current_zone())),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@bp.get("/new")
@requires(Permission.TAKE_PAYMENTS)
def new_payment() -> ResponseReturnValue:
    """Show the create form, with a fresh payment id minted for this submit."""
    form = NewPaymentLinkForm(zone=current_zone())
    form.payment_token.data = sign_payment_id(new_id(), current_actor().account_id)
    return _form_page(form)


def _form_page(form: NewPaymentLinkForm, status: int = 200) -> ResponseReturnValue:
    """Render the new-payment-link form, with the reference's rule and limit for its count."""
    page = render_template(
        "payments/new.html",
        form=form,
        reference_rule=REFERENCE_RULE,
        reference_max=REFERENCE_MAX_LENGTH,
    )
    return page, status


# The form posts to its own address, so a 422 that shows it again keeps the URL the merchant
# opened; ``POST /payments`` stays for the clients and tests that already use it.
@bp.post("/new")
@bp.post("")
@requires(Permission.TAKE_PAYMENTS)
def create_payment() -> ResponseReturnValue:
    """Create a payment link from the form, or show the form again with what was wrong."""
    actor = current_actor()
    form = NewPaymentLinkForm(zone=current_zone())
    try:
        payment_id = unsign_payment_id(form.payment_token.data or "", actor.account_id)
    except FormExpired:
        form.payment_token.data = sign_payment_id(new_id(), actor.account_id)
        flash("This form was open too long. Check the details and submit again.", "warning")
        return _form_page(form, 422)
    if not form.validate():
        return _form_page(form, 422)
    try:
        payment = payment_service().create_payment_link(actor, form.to_request(payment_id))
    except PaymentAlreadyExists:
        abort(409)
    if payment.link_url:
        flash("Payment link created. Share it with your payer.", "success")
    return redirect(url_for("payments.show_payment", payment_id=payment.payment_id), 303)


@bp.get("/<payment_id>")
@requires(Permission.READ)
def show_payment(payment_id: str) -> ResponseReturnValue:
    """Show one payment; htmx polls ask only for its status panel."""
    service = payment_service()
    payment = service.get_payment(current_actor().account_id, payment_id)
    return render_page_or_block(
        "payments/detail.html",
        "status_panel",
        payment=payment,
        now=utc_now(),
        can_cancel=service.can_cancel(payment),
        cancel_confirmation=_cancel_confirmation(payment),
        can_retry=payment.status.value == "creation_failed" or service.is_stuck_creating(payment),
        qr_svg=qr_code_svg(payment.link_url) if payment.link_url else None,
        order=_order_of(payment),
        sandbox_controls_url=_sandbox_controls_url(payment),
        emails=payment_emails().emails_of(payment.user_id, payment.payment_id),
    )


def payment_emails() -> PaymentEmails:
    """Return the app's emails to payers."""
    return current_app.extensions["payment_emails"]


@bp.post("/<payment_id>/email-link")
@requires(Permission.TAKE_PAYMENTS)
def email_payment_link(payment_id: str) -> ResponseReturnValue:
    """Queue an email of the link to the payer; the page shows when it went."""
    try:
        sent_before = int(request.form.get("sent_before", "0"))
    except ValueError:
        sent_before = 0
    try:
        payment_emails().email_link(current_actor(), payment_id, max(sent_before, 0))
        flash("The payment link is on its way to the payer's email.", "success")
    except EmailNotAllowed as exc:
        flash(str(exc), "error")
    shown = url_for("payments.show_payment", payment_id=payment_id)
    return redirect(f"{shown}#payment-emails", 303)


def _sandbox_controls_url(payment: Payment) -> str | None:
    """Return the sandbox's page that settles this payment and moves its refunds, if any.

    Only where the sandbox runs (development and tests), for a sandbox payment that was paid.
    """
    attempt = payment.succeeded_attempt
    if (
        attempt is None
        or not payment.provider_link_id
        or payment.provider != "sandbox"
        or "sandbox.payment_controls" not in current_app.view_functions
    ):
        return None
    return url_for(
        "sandbox.payment_controls",
        link_id=payment.provider_link_id,
        attempt_id=attempt.provider_payment_id,
    )


def _order_of(payment: Payment) -> Order | None:
    """Return the order the payment settles, or None if it has none or it was deleted."""
    if not payment.order_id:
        return None
    try:
        return current_app.extensions["order_service"].get_order(payment.user_id, payment.order_id)
    except OrderNotFound:
        return None


def _cancel_confirmation(payment: Payment) -> Confirmation:
    """Return what cancelling the payment's link does, for its dialog and its confirm page."""
    return Confirmation(
        dialog_id="confirm-cancel-link",
        title="Cancel this payment link?",
        consequence=(
            f"The link for {payment.reference} stops working: the payer can no longer pay it. "
            "This cannot be undone; you can create a new link."
        ),
        action_url=url_for("payments.cancel_payment", payment_id=payment.payment_id),
        confirm_url=url_for("payments.confirm_cancel_payment", payment_id=payment.payment_id),
        confirm_label="Cancel link",
        cancel_url=url_for("payments.show_payment", payment_id=payment.payment_id),
    )


@bp.get("/<payment_id>/cancel/confirm")
@requires(Permission.TAKE_PAYMENTS)
def confirm_cancel_payment(payment_id: str) -> ResponseReturnValue:
    """Ask before cancelling a link (the page without JavaScript; the dialog says the same)."""
    service = payment_service()
    payment = service.get_payment(current_actor().account_id, payment_id)
    if not service.can_cancel(payment):
        flash("This link can no longer be cancelled.", "error")
        return redirect(url_for("payments.show_payment", payment_id=payment_id), 303)
    return confirm_page(_cancel_confirmation(payment))


@bp.post("/<payment_id>/cancel")
@requires(Permission.TAKE_PAYMENTS)
def cancel_payment(payment_id: str) -> ResponseReturnValue:
    """Cancel an unpaid link."""
    try:
        payment_service().cancel_payment(current_actor(), payment_id)
        flash("The payment link is cancelled; it can no longer be paid.", "success")
    except ActionNotAllowed as exc:
        flash(str(exc), "error")
    return redirect(url_for("payments.show_payment", payment_id=payment_id), 303)


@bp.post("/<payment_id>/retry")
@requires(Permission.TAKE_PAYMENTS)
def retry_payment(payment_id: str) -> ResponseReturnValue:
    """Try again to create the link of a payment whose creation failed."""
    try:
        payment = payment_service().retry_link_creation(current_actor(), payment_id)
        if payment.link_url:
            flash("Payment link created. Share it with your payer.", "success")
        else:
            flash("The link could still not be created. Try again in a moment.", "error")
    except ActionNotAllowed as exc:
        flash(str(exc), "error")
    return redirect(url_for("payments.show_payment", payment_id=payment_id), 303)


@bp.post("/<payment_id>/refresh")
@requires(Permission.TAKE_PAYMENTS)
def refresh_payment(payment_id: str) -> ResponseReturnValue:
    """Ask the provider for the payment's latest status."""
    payment_service().refresh_payment(current_actor(), payment_id)
    flash("Status refreshed from the payment provider.", "success")
    return redirect(url_for("payments.show_payment", payment_id=payment_id), 303)
