"""Routes for the merchant's orders. They parse input and render; the order service decides."""

from __future__ import annotations

import dataclasses
import itertools
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
from dashboard.domain.orders import InvalidOrder, Order, OrderStatus, shown_order_status
from dashboard.domain.permissions import Permission
from dashboard.domain.timezones import local_today
from dashboard.services.orders import OrderCounts, OrderPage, OrderService, order_result_count
from dashboard.services.payments import ActionNotAllowed
from dashboard.store.cursors import InvalidCursor
from dashboard.store.orders import OrderAlreadyExists, StaleOrder
from dashboard.web.actor import current_actor
from dashboard.web.confirm import Confirmation, confirm_page
from dashboard.web.htmx import render_page_or_block
from dashboard.web.order_filters import FilterError, OrderFilters, parse_order_filters
from dashboard.web.orders.export import order_csv_lines
from dashboard.web.orders.forms import EditOrderForm, NewOrderForm, sign_order_id, unsign_order_id
from dashboard.web.payment_filters import PRESET_LABELS
from dashboard.web.permissions import requires
from dashboard.web.zone import current_zone

bp = Blueprint("orders", __name__, url_prefix="/orders")


@bp.before_request
@login_required
def require_sign_in() -> None:
    """Every orders page is for the signed-in merchant only."""


def order_service() -> OrderService:
    """Return the app's order service."""
    return current_app.extensions["order_service"]


def new_order_id() -> str:
    """Return a fresh order id: a UUIDv7, like payment ids, so ids sort in creation order."""
    return new_id()


# Listing -----------------------------------------------------------------------------------


@bp.get("")
@requires(Permission.READ)
def list_orders() -> ResponseReturnValue:
    """List the merchant's orders, newest first: filters, search, tiles and page in the URL."""
    account_id = current_actor().account_id
    zone = current_zone()
    try:
        filters = parse_order_filters(request.args, local_today(utc_now(), zone))
    except FilterError as exc:
        return _list_response(OrderFilters(errors=exc.messages), None, None, status=400)
    service = order_service()
    query = filters.query(zone)
    try:
        page = service.list_orders(account_id, query, request.args.get("cursor") or None)
    except InvalidCursor as exc:
        errors = {"cursor": f"{exc} Start again from the first page."}
        return _list_response(dataclasses.replace(filters, errors=errors), None, None, status=400)
    return _list_response(filters, page, service.status_counts(account_id, query))


# The tiles in the order of the payments list's (Pending, Failed, Completed, Ended).
TILE_ORDER = (
    OrderStatus.PENDING,
    OrderStatus.PAYMENT_REQUESTED,
    OrderStatus.FAILED,
    OrderStatus.PAID,
    OrderStatus.REFUNDED,
    OrderStatus.CANCELLED,
)


def _list_response(
    filters: OrderFilters,
    page: OrderPage | None,
    counts: OrderCounts | None,
    status: int = 200,
) -> ResponseReturnValue:
    """Render the list: the whole page, the results (filters, search, tiles), or more rows."""
    continuing = bool(request.args.get("cursor"))
    zone = current_zone()
    shown = order_service().shown_statuses(page.orders, utc_now()) if page else {}
    context = {
        "filters": filters,
        "page": page,
        "counts": counts,
        "statuses": TILE_ORDER,
        "OrderStatus": OrderStatus,
        "shown": shown,
        "lapsed": [o for o in page.orders if shown[o.order_id] != o.status] if page else [],
        "continuing": continuing,
        "presets": PRESET_LABELS,
        "currencies": SUPPORTED_CURRENCIES,
        "zone_name": zone.key,
        "descriptions": filters.descriptions(zone),
        "result": order_result_count(filters.query(zone), counts, page, continuing)
        if page and counts
        else None,
    }
    # "Load more" asks for the next rows only, appended in place of its own row.
    block = "more_rows" if request.headers.get("HX-Target") == "load-more" else "list_body"
    return render_page_or_block("orders/list.html", block, status=status, **context)


@bp.get("/export.csv")
@requires(Permission.READ)
def export_orders() -> ResponseReturnValue:
    """Download every order matching the filters and search as CSV, streamed."""
    zone = current_zone()
    try:
        filters = parse_order_filters(request.args, local_today(utc_now(), zone))
    except FilterError as exc:
        return {"error": "Invalid filters", "detail": exc.messages}, 400
    rows = order_service().export_orders(current_actor().account_id, filters.query(zone))
    first = next(rows, None)
    if first is None:
        # A header-only file helps nobody: say so on the list it was asked from.
        flash("No orders match these filters, so there is nothing to export.", "warning")
        list_args: dict[str, Any] = filters.query_args()
        return redirect(url_for("orders.list_orders", **list_args), 303)
    filename = f"orders-{utc_now():%Y%m%d-%H%M%S}.csv"
    return Response(
        stream_with_context(order_csv_lines(itertools.chain([first], rows), current_zone())),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


# Creating ----------------------------------------------------------------------------------


@bp.get("/new")
@requires(Permission.TAKE_PAYMENTS)
def new_order() -> ResponseReturnValue:
    """Show the new order form, with a fresh order id minted for this submit."""
    form = NewOrderForm()
    form.order_token.data = sign_order_id(new_order_id(), current_actor().account_id)
    return render_template("orders/new.html", form=form)


@bp.post("")
@requires(Permission.TAKE_PAYMENTS)
def create_order() -> ResponseReturnValue:
    """Create an order from the form, or show the form again with what was wrong."""
    actor = current_actor()
    form = NewOrderForm()
    try:
        order_id = unsign_order_id(form.order_token.data or "", actor.account_id)
    except FormExpired:
        form.order_token.data = sign_order_id(new_order_id(), actor.account_id)
        flash("This form was open too long. Check the details and submit again.", "warning")
        return render_template("orders/new.html", form=form), 422
    if form.check():
        try:
            order = order_service().create_order(actor, order_id, form.to_fields())
        except InvalidOrder as exc:
            form.add_errors(exc.errors)  # the total: only known once price and quantity are
        except OrderAlreadyExists:
            abort(409)
        else:
            flash(f"Order {order.number_label} created.", "success")
            return redirect(url_for("orders.show_order", order_id=order.order_id), 303)
    return render_template("orders/new.html", form=form), 422


# One order ---------------------------------------------------------------------------------


@bp.get("/<order_id>")
@requires(Permission.READ)
def show_order(order_id: str) -> ResponseReturnValue:
    """Show one order and its payment; htmx polls ask only for the order panel."""
    service = order_service()
    order = service.get_order(current_actor().account_id, order_id)
    payment = service.order_payment(order)
    now = utc_now()
    payment_status = payment.effective_status(now) if payment else None
    return render_page_or_block(
        "orders/detail.html",
        "order_panel",
        order=order,
        order_status=shown_order_status(order, payment_status),
        can_request_payment=service.can_request_payment(order, payment, now),
        payment=payment,
        payment_status=payment_status,
        now=now,
        OrderStatus=OrderStatus,
        cancel_confirmation=_cancel_confirmation(order),
        delete_confirmation=_delete_confirmation(order),
    )


@bp.post("/<order_id>/request-payment")
@requires(Permission.TAKE_PAYMENTS)
def request_payment(order_id: str) -> ResponseReturnValue:
    """Create the payment link for the order's total (or hand back the live one)."""
    try:
        payment = order_service().request_payment(current_actor(), order_id)
    except ActionNotAllowed as exc:
        flash(str(exc), "error")
    else:
        if payment.link_url:
            flash("Payment link created. Share it with your customer.", "success")
        else:
            flash("The payment link could not be created. Try again in a moment.", "error")
    return redirect(url_for("orders.show_order", order_id=order_id), 303)


@bp.route("/<order_id>/edit", methods=["GET", "POST"])
@requires(Permission.TAKE_PAYMENTS)
def edit_order(order_id: str) -> ResponseReturnValue:
    """Change the customer, address or quantity of an unpaid order."""
    actor = current_actor()
    order = order_service().get_order(actor.account_id, order_id)
    if not order.status.is_unpaid:
        flash(f"A {order.status.label.lower()} order cannot be changed.", "error")
        return redirect(url_for("orders.show_order", order_id=order_id), 303)
    form = EditOrderForm(order=order)
    if request.method == "GET":
        return render_template("orders/edit.html", form=form, order=order)
    if form.check():
        try:
            order_service().update_order(actor, order_id, form.changes())
        except InvalidOrder as exc:
            form.add_errors(exc.errors)
        except ActionNotAllowed as exc:  # e.g. a payment link went live meanwhile
            flash(str(exc), "error")
            return redirect(url_for("orders.show_order", order_id=order_id), 303)
        except StaleOrder:
            flash("The order changed meanwhile; look again and retry.", "error")
            return redirect(url_for("orders.show_order", order_id=order_id), 303)
        else:
            flash("Order updated.", "success")
            return redirect(url_for("orders.show_order", order_id=order_id), 303)
    return render_template("orders/edit.html", form=form, order=order), 422


# Orders that may be deleted: never paid, and no payment link that could still be paid.
DELETABLE = (OrderStatus.PENDING, OrderStatus.FAILED, OrderStatus.CANCELLED)


def _cancel_confirmation(order: Order) -> Confirmation:
    """Return what cancelling the order does, for its dialog and its confirm page."""
    return Confirmation(
        dialog_id="confirm-cancel-order",
        title=f"Cancel {order.number_label}?",
        consequence=(
            f"{order.number_label} is cancelled and its payment link, if it has one, stops "
            f"working: {order.customer_name} can no longer pay it. This cannot be undone."
        ),
        action_url=url_for("orders.cancel_order", order_id=order.order_id),
        confirm_url=url_for("orders.confirm_cancel_order", order_id=order.order_id),
        confirm_label="Cancel order",
        cancel_url=url_for("orders.show_order", order_id=order.order_id),
    )


def _delete_confirmation(order: Order) -> Confirmation:
    """Return what deleting the order does, for its dialog and its confirm page."""
    return Confirmation(
        dialog_id="confirm-delete-order",
        title=f"Delete {order.number_label}?",
        consequence=f"{order.number_label} is deleted for good. This cannot be undone.",
        action_url=url_for("orders.delete_order", order_id=order.order_id),
        confirm_url=url_for("orders.confirm_delete_order", order_id=order.order_id),
        confirm_label="Delete order",
        cancel_url=url_for("orders.show_order", order_id=order.order_id),
    )


@bp.get("/<order_id>/cancel/confirm")
@requires(Permission.TAKE_PAYMENTS)
def confirm_cancel_order(order_id: str) -> ResponseReturnValue:
    """Ask before cancelling an order (the page without JavaScript; the dialog says the same)."""
    order = order_service().get_order(current_actor().account_id, order_id)
    if not order.status.is_unpaid:
        flash("This order can no longer be cancelled.", "error")
        return redirect(url_for("orders.show_order", order_id=order_id), 303)
    return confirm_page(_cancel_confirmation(order))


@bp.get("/<order_id>/delete/confirm")
@requires(Permission.TAKE_PAYMENTS)
def confirm_delete_order(order_id: str) -> ResponseReturnValue:
    """Ask before deleting an order (the page without JavaScript; the dialog says the same)."""
    order = order_service().get_order(current_actor().account_id, order_id)
    if order.status not in DELETABLE:
        flash("This order cannot be deleted.", "error")
        return redirect(url_for("orders.show_order", order_id=order_id), 303)
    return confirm_page(_delete_confirmation(order))


@bp.post("/<order_id>/cancel")
@requires(Permission.TAKE_PAYMENTS)
def cancel_order(order_id: str) -> ResponseReturnValue:
    """Cancel an unpaid order (and its live payment link)."""
    try:
        order_service().cancel_order(current_actor(), order_id)
        flash("The order is cancelled.", "success")
    except ActionNotAllowed as exc:
        flash(str(exc), "error")
    return redirect(url_for("orders.show_order", order_id=order_id), 303)


@bp.post("/<order_id>/delete")
@requires(Permission.TAKE_PAYMENTS)
def delete_order(order_id: str) -> ResponseReturnValue:
    """Delete an order that was never paid and has no live payment link."""
    actor = current_actor()
    service = order_service()
    try:
        order = service.get_order(actor.account_id, order_id)
        service.delete_order(actor, order_id)
    except ActionNotAllowed as exc:
        flash(str(exc), "error")
        return redirect(url_for("orders.show_order", order_id=order_id), 303)
    flash(f"Order {order.number_label} deleted.", "success")
    return redirect(url_for("orders.list_orders"), 303)
