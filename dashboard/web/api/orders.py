"""``/api/v1/orders``: create, list, read, change and delete orders, request their payment link.

Routes parse input (``order_json.py``), call the order service and answer JSON; errors the
service raises (OrderNotFound, InvalidOrder, ActionNotAllowed, StaleOrder) become problem
details in ``problems.py``.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, request, url_for
from flask.typing import ResponseReturnValue

from dashboard.core.clock import utc_now
from dashboard.domain.orders import OrderStatus
from dashboard.domain.permissions import Permission
from dashboard.domain.search import MAX_SEARCH_LENGTH
from dashboard.services.orders import PAGE_SIZE, OrderQuery, OrderService
from dashboard.store.cursors import InvalidCursor
from dashboard.web.actor import current_actor
from dashboard.web.api.blueprint import bp
from dashboard.web.api.idempotency import idempotent, idempotent_resource_id, resumes_an_ended_run
from dashboard.web.api.inputs import MAX_PAGE_SIZE, json_request_body, page_size
from dashboard.web.api.openapi import (
    Endpoint,
    endpoint,
    json_body,
    json_response,
    path_param,
    problems,
    query,
    ref,
)
from dashboard.web.api.order_json import openapi_schemas as order_schemas
from dashboard.web.api.order_json import (
    order_detail_json,
    order_json,
    parse_new_order,
    parse_order_changes,
)
from dashboard.web.api.payment_json import payment_json
from dashboard.web.api.problems import ValidationProblem
from dashboard.web.permissions import requires

OPENAPI_TAG = {
    "name": "Orders",
    "description": "Orders and their payment links: create, find, change, delete, get paid.",
}


def order_service() -> OrderService:
    """Return the app's order service."""
    return current_app.extensions["order_service"]


@bp.post("/orders")
@requires(Permission.TAKE_PAYMENTS)
@idempotent
def create_order() -> ResponseReturnValue:
    """Create an order (its total computed, never read); 201 with the order and its Location."""
    fields = parse_new_order(json_request_body())
    # Order ids are UUIDv7 like payment ids. A retry with the Idempotency-Key of a failed run
    # gets that run's id, so the service returns the order it may have made, not a second one.
    order_id = idempotent_resource_id()
    order = order_service().create_order(current_actor(), order_id, fields)
    location = url_for("api.get_order", order_id=order.order_id)
    return order_json(order), 201, {"Location": location}


@bp.get("/orders")
@requires(Permission.READ)
def list_orders() -> ResponseReturnValue:
    """List the caller's orders, newest first, of one status or matching a search; paged."""
    query = _order_query()
    size = page_size(PAGE_SIZE)
    try:
        page = order_service().list_orders(
            current_actor().account_id, query, request.args.get("cursor") or None, size
        )
    except InvalidCursor as exc:
        raise ValidationProblem(
            {"cursor": f"{exc} Start again from the first page."}, 400
        ) from None
    shown = order_service().shown_statuses(page.orders, utc_now())
    return {
        "data": [order_json(o, shown[o.order_id]) for o in page.orders],
        "next_cursor": page.next_cursor,
        "search_truncated": page.search_truncated,
    }


def _order_query() -> OrderQuery:
    """Return the list's filters from the query string, as the Orders page reads them; or 400."""
    errors: dict[str, str] = {}
    status = None
    raw_status = request.args.get("status") or ""
    if raw_status:
        try:
            status = OrderStatus(raw_status)
        except ValueError:
            errors["status"] = f"Use one of: {', '.join(s.value for s in OrderStatus)}."
    search = (request.args.get("q") or "").strip()
    if len(search) > MAX_SEARCH_LENGTH:
        errors["q"] = f"Use at most {MAX_SEARCH_LENGTH} characters."
    if errors:
        raise ValidationProblem(errors, 400)
    return OrderQuery(status, search)


@bp.get("/orders/<order_id>")
@requires(Permission.READ)
def get_order(order_id: str) -> ResponseReturnValue:
    """Return one of the caller's orders with its payment; another merchant's is a 404."""
    service = order_service()
    order = service.get_order(current_actor().account_id, order_id)
    return order_detail_json(order, service.order_payment(order), utc_now())


@bp.patch("/orders/<order_id>")
@requires(Permission.TAKE_PAYMENTS)
def update_order(order_id: str) -> ResponseReturnValue:
    """Change the customer, shipping address or quantity of an unpaid order."""
    changes = parse_order_changes(json_request_body())
    order = order_service().update_order(current_actor(), order_id, changes)
    return order_json(order)


@bp.delete("/orders/<order_id>")
@requires(Permission.TAKE_PAYMENTS)
def delete_order(order_id: str) -> ResponseReturnValue:
    """Delete an order never paid and without a live payment link; 204."""
    order_service().delete_order(current_actor(), order_id)
    return "", 204


@bp.post("/orders/<order_id>/cancel")
@requires(Permission.TAKE_PAYMENTS)
@idempotent
def cancel_order(order_id: str) -> ResponseReturnValue:
    """Cancel an unpaid order, and its live payment link first; the order as it is now."""
    order = order_service().cancel_order(current_actor(), order_id)
    return order_json(order)


@bp.post("/orders/<order_id>/payment-link")
@requires(Permission.TAKE_PAYMENTS)
@idempotent
def request_order_payment(order_id: str) -> ResponseReturnValue:
    """Create the order's payment link (201), or return its live one (200)."""
    service = order_service()
    actor = current_actor()
    before = service.get_order(actor.account_id, order_id)
    payment = service.request_payment(actor, order_id, resume=resumes_an_ended_run())
    # A new link has a new payment id. (A link whose creation an earlier request began and this
    # one finished keeps the id that request recorded: it answers 200, as that link's retry.)
    created = payment.payment_id != before.payment_id
    location = url_for("api.get_payment", payment_id=payment.payment_id)
    return payment_json(payment, utc_now()), 201 if created else 200, {"Location": location}


openapi_schemas = order_schemas


def openapi_endpoints() -> list[Endpoint]:
    """Return the OpenAPI operations of the routes above."""
    order_id = path_param("order_id", "The order's id (a UUID).", {"type": "string"})
    order = json_response("The order.", ref("Order"))
    payment_location = "The payment's URL in this API."
    return [
        endpoint(
            "post",
            "/orders",
            "createOrder",
            "Create an order",
            tag="Orders",
            idempotent=True,
            description="Creates a `pending` order with the merchant's next order number. The "
            "total is always quantity × unit price: a `total`, `status` or other field the "
            "server sets is refused (422, naming it), as is any unknown field.",
            body=json_body(
                "NewOrder",
                {
                    "customer_name": "Ada Lovelace",
                    "customer_email": "ada@example.com",
                    "product_name": "Analytical engine manual",
                    "quantity": 3,
                    "unit_price": "12.50",
                    "currency": "GBP",
                    "shipping_address": "12 St James's Square, London",
                },
            ),
            responses={
                "201": json_response(
                    "Created.", ref("Order"), Location="The order's URL in this API."
                ),
                **problems(400, 415, 422),
            },
        ),
        endpoint(
            "get",
            "/orders",
            "listOrders",
            "List orders",
            tag="Orders",
            parameters=_list_parameters(),
            description="Newest first, with the Orders page's status tabs and search. Follow "
            "`next_cursor` (same filters) until it is null.",
            responses={
                "200": json_response("A page of orders.", ref("OrderList")),
                **problems(400),
            },
        ),
        endpoint(
            "get",
            "/orders/{order_id}",
            "getOrder",
            "Get an order and its payment",
            tag="Orders",
            parameters=[order_id],
            responses={
                "200": json_response("The order and its payment link.", ref("OrderDetail")),
                **problems(404),
            },
        ),
        endpoint(
            "patch",
            "/orders/{order_id}",
            "updateOrder",
            "Change an order",
            tag="Orders",
            parameters=[order_id],
            description="Changes the customer, the shipping address (null clears it) or the "
            "quantity of an unpaid order; only the fields sent change. The product, unit price "
            "and currency are fixed (422). A paid or cancelled order, or a quantity change "
            "while the order's payment link is live, is a 409.",
            body=json_body("OrderChanges", {"quantity": 4, "shipping_address": None}),
            responses={"200": order, **problems(400, 404, 409, 415, 422)},
        ),
        endpoint(
            "delete",
            "/orders/{order_id}",
            "deleteOrder",
            "Delete an order",
            tag="Orders",
            parameters=[order_id],
            description="Deletes an order that was never paid and has no live payment link. A "
            "paid order, refunded or not, is a record of a payment and is never deleted (409). "
            "An order with a live payment link is a 409 too: cancel the order first "
            "(`POST /orders/{order_id}/cancel`), then delete it.",
            responses={"204": {"description": "Deleted; no body."}, **problems(404, 409)},
        ),
        endpoint(
            "post",
            "/orders/{order_id}/cancel",
            "cancelOrder",
            "Cancel an order",
            tag="Orders",
            parameters=[order_id],
            idempotent=True,
            description="Cancels an unpaid order (no body). A live payment link for it is "
            "cancelled first, so it can no longer be paid. Cancelling a cancelled order returns "
            "it unchanged. A paid order, or one whose payer is paying right now, is a 409.",
            responses={
                "200": json_response("The cancelled order.", ref("Order")),
                **problems(404, 409),
            },
        ),
        endpoint(
            "post",
            "/orders/{order_id}/payment-link",
            "requestOrderPayment",
            "Request payment for an order",
            tag="Orders",
            parameters=[order_id],
            idempotent=True,
            description="Creates a payment link for the order's total, with the order number "
            "as its reference and the customer as the payer (201), or returns the order's "
            "live link (200); no body. From then on the order's status follows the payment's. "
            "A paid or cancelled order is a 409. If the provider fails, the payment is still "
            "created, with status `creation_failed`, and the order can ask again.",
            responses={
                "200": json_response(
                    "The order's live payment link.", ref("Payment"), Location=payment_location
                ),
                "201": json_response(
                    "A new payment link.", ref("Payment"), Location=payment_location
                ),
                **problems(404, 409, 502),
            },
        ),
    ]


def _list_parameters() -> list[dict[str, Any]]:
    return [
        query(
            "status",
            "Only orders with this status (stored).",
            {"type": "string", "enum": [s.value for s in OrderStatus]},
        ),
        query(
            "q",
            "Search: an order number (`ORD-1042` or `1042`), or the start of a word of the "
            "customer's name or email or of the product; several words must all match.",
            {"type": "string", "maxLength": MAX_SEARCH_LENGTH},
        ),
        query("cursor", "The `next_cursor` of the previous page.", {"type": "string"}),
        query(
            "limit",
            f"Page size (default {PAGE_SIZE}).",
            {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
        ),
    ]
