"""``/api/v1/payments``: create, list, read and cancel payment links, and their OpenAPI entries.

Routes parse input, call the payment service or listing, and answer JSON; errors the services
raise (PaymentNotFound, ActionNotAllowed...) become problem details in ``problems.py``.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, request, url_for
from flask.typing import ResponseReturnValue

from dashboard.core.clock import utc_now
from dashboard.domain.money import SUPPORTED_CURRENCIES
from dashboard.domain.payments import StatusGroup
from dashboard.domain.permissions import Permission
from dashboard.domain.search import MAX_SEARCH_LENGTH
from dashboard.domain.timezones import local_today
from dashboard.services.payment_listing import PAGE_SIZE, InvalidCursor, PaymentListing
from dashboard.services.payments import PaymentService
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
from dashboard.web.api.payment_json import API_DAYS_ZONE, parse_new_payment, payment_json
from dashboard.web.api.payment_json import openapi_schemas as payment_schemas
from dashboard.web.api.problems import ValidationProblem
from dashboard.web.payment_filters import REFUND_CHOICES, FilterError, parse_filters
from dashboard.web.permissions import requires

OPENAPI_TAG = {"name": "Payments", "description": "Payment links: create, find, cancel."}


def payment_service() -> PaymentService:
    """Return the app's payment service."""
    return current_app.extensions["payment_service"]


def payment_listing() -> PaymentListing:
    """Return the app's payment listing (find, count, export)."""
    return current_app.extensions["payment_listing"]


@bp.post("/payments")
@requires(Permission.TAKE_PAYMENTS)
@idempotent
def create_payment() -> ResponseReturnValue:
    """Create a payment link; 201 with the payment and its Location."""
    actor = current_actor()
    # A retry with the Idempotency-Key of a failed run gets that run's payment id, and with it
    # the payment that run recorded (the service returns it), never a second one.
    new_link = parse_new_payment(json_request_body(), idempotent_resource_id(), utc_now())
    payment = payment_service().create_payment_link(actor, new_link)
    if resumes_an_ended_run():
        payment = payment_service().finish_creation(actor, payment.payment_id)
    location = url_for("api.get_payment", payment_id=payment.payment_id)
    return payment_json(payment, utc_now()), 201, {"Location": location}


@bp.get("/payments")
@requires(Permission.READ)
def list_payments() -> ResponseReturnValue:
    """List the caller's payments, newest first, with the list page's filters; paged."""
    now = utc_now()
    try:
        filters = parse_filters(request.args, local_today(now, API_DAYS_ZONE), API_DAYS_ZONE)
    except FilterError as exc:
        raise ValidationProblem(exc.messages, status=400) from None
    try:
        page = payment_listing().find_page(
            current_actor().account_id,
            filters.query,
            request.args.get("cursor") or None,
            page_size(PAGE_SIZE),
        )
    except InvalidCursor as exc:
        raise ValidationProblem(
            {"cursor": f"{exc} Start again from the first page."}, 400
        ) from None
    return {"data": [payment_json(p, now) for p in page.payments], "next_cursor": page.next_cursor}


@bp.get("/payments/<payment_id>")
@requires(Permission.READ)
def get_payment(payment_id: str) -> ResponseReturnValue:
    """Return one of the caller's payments; another merchant's is a 404."""
    payment = payment_service().get_payment(current_actor().account_id, payment_id)
    return payment_json(payment, utc_now())


@bp.post("/payments/<payment_id>/cancel")
@requires(Permission.TAKE_PAYMENTS)
@idempotent
def cancel_payment(payment_id: str) -> ResponseReturnValue:
    """Cancel an unpaid link; 409 when its status does not allow it."""
    payment = payment_service().cancel_payment(current_actor(), payment_id)
    return payment_json(payment, utc_now())


openapi_schemas = payment_schemas


def openapi_endpoints() -> list[Endpoint]:
    """Return the OpenAPI operations of the routes above."""
    payment_id = path_param("payment_id", "The payment's id (a UUID).", {"type": "string"})
    payment = json_response("The payment.", ref("Payment"))
    return [
        endpoint(
            "post",
            "/payments",
            "createPayment",
            "Create a payment link",
            tag="Payments",
            idempotent=True,
            description="Creates the payment and asks the provider for its link. If the "
            "provider fails, the payment is still created, with status `creation_failed`.",
            body=json_body(
                "NewPayment", {"amount": "12.50", "currency": "GBP", "reference": "Invoice 42"}
            ),
            responses={
                "201": json_response(
                    "Created.", ref("Payment"), Location="The payment's URL in this API."
                ),
                **problems(400, 415, 422),
            },
        ),
        endpoint(
            "get",
            "/payments",
            "listPayments",
            "List payments",
            tag="Payments",
            parameters=_list_parameters(),
            description="Newest first, with the same filters as the Payments page. Follow "
            "`next_cursor` (same filters) until it is null.",
            responses={
                "200": json_response("A page of payments.", ref("PaymentList")),
                **problems(400),
            },
        ),
        endpoint(
            "get",
            "/payments/{payment_id}",
            "getPayment",
            "Get a payment",
            tag="Payments",
            parameters=[payment_id],
            responses={"200": payment, **problems(404)},
        ),
        endpoint(
            "post",
            "/payments/{payment_id}/cancel",
            "cancelPayment",
            "Cancel a payment link",
            tag="Payments",
            parameters=[payment_id],
            idempotent=True,
            description="Only an unpaid link (awaiting payment, attempt failed, link not "
            "created) can be cancelled; anything else is a 409. The link is disabled and read "
            "back first: when the payer is paying right now, the answer is a 409 and the "
            "payment stays `processing`. A cancelled (or expired) payment can still become "
            "`completed` if money that was already on its way arrives.",
            responses={"200": payment, **problems(404, 409, 502)},
        ),
    ]


def _list_parameters() -> list[dict[str, Any]]:
    day = {"type": "string", "format": "date"}
    amount = {"type": "string", "pattern": r"^[0-9][0-9,]*(\.[0-9]{1,2})?$", "examples": ["12.50"]}
    return [
        query(
            "status",
            "Status group.",
            {"type": "string", "enum": ["all", *(g.value for g in StatusGroup)]},
        ),
        query(
            "range",
            "Created in the last days (UTC days), or `custom` with from/to.",
            {"type": "string", "enum": ["today", "7d", "30d", "90d", "custom", "all"]},
        ),
        query("from", "Created on or after this day (a UTC day).", day),
        query("to", "Created on or before this day (a UTC day).", day),
        query(
            "currency",
            "Only this currency.",
            {"type": "string", "enum": list(SUPPORTED_CURRENCIES)},
        ),
        query("min", "Amount at least.", amount),
        query("max", "Amount at most.", amount),
        query(
            "refund",
            "Only payments with refunds: any, or how refunded they are.",
            {"type": "string", "enum": ["all", *REFUND_CHOICES]},
        ),
        query(
            "q",
            "Search: payment id, amount, payer email, words of reference or payer.",
            {"type": "string", "maxLength": MAX_SEARCH_LENGTH},
        ),
        query("cursor", "The `next_cursor` of the previous page.", {"type": "string"}),
        query(
            "limit",
            f"Page size (default {PAGE_SIZE}).",
            {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
        ),
    ]
