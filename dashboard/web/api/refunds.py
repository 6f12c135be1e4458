"""``/api/v1/payments/{payment_id}/refunds``: ask for, list, read and retry refunds.

Routes parse input, call the refund service, and answer JSON; what it raises (PaymentNotFound,
RefundNotFound, RefundNotAllowed, RefundTooLarge) becomes problem details in ``web/errors.py``.
Asking and retrying move money back to the payer: they need ``Permission.REFUND`` and, with the
browser session, a recent sign-in.
"""

from __future__ import annotations

from flask import current_app, request, url_for
from flask.typing import ResponseReturnValue

from dashboard.domain.payments import Payment
from dashboard.domain.permissions import Permission
from dashboard.domain.refunds import Refund
from dashboard.services.payments import PaymentService
from dashboard.services.refunds import RefundNotFound, RefundService
from dashboard.web.actor import current_actor
from dashboard.web.api.blueprint import bp
from dashboard.web.api.idempotency import idempotent, idempotent_resource_id
from dashboard.web.api.inputs import json_request_body
from dashboard.web.api.openapi import Endpoint, endpoint, json_response, path_param, problems, ref
from dashboard.web.api.refund_json import openapi_schemas as refund_schemas
from dashboard.web.api.refund_json import parse_new_refund, refund_json
from dashboard.web.permissions import requires
from dashboard.web.step_up import recent_sign_in_required

OPENAPI_TAG = {"name": "Refunds", "description": "Give back all or part of a completed payment."}


def refund_service() -> RefundService:
    """Return the app's refund service."""
    return current_app.extensions["refund_service"]


def payment_service() -> PaymentService:
    """Return the app's payment service."""
    return current_app.extensions["payment_service"]


@bp.post("/payments/<payment_id>/refunds")
@requires(Permission.REFUND)
@recent_sign_in_required()
@idempotent
def create_refund(payment_id: str) -> ResponseReturnValue:
    """Ask for a refund of the payment; 201 with the refund (even one not sent) and its Location."""
    actor = current_actor()
    payment = payment_service().get_payment(actor.account_id, payment_id)
    # Every field is optional, so no body at all is a refund of everything still refundable.
    body = json_request_body() if request.get_data(cache=True) else {}
    # A retry with the Idempotency-Key of a failed run names the refund that run asked for:
    # the service then returns it instead of asking for a second one.
    new_refund = parse_new_refund(body, idempotent_resource_id(), payment)
    payment = refund_service().request_refund(actor, payment_id, new_refund)
    refund = _refund_of(payment, new_refund.refund_id)
    location = url_for("api.get_refund", payment_id=payment_id, refund_id=refund.refund_id)
    return refund_json(refund, payment.currency), 201, {"Location": location}


@bp.get("/payments/<payment_id>/refunds")
@requires(Permission.READ)
def list_refunds(payment_id: str) -> ResponseReturnValue:
    """List the payment's refunds, oldest first (a payment has few: no paging)."""
    payment = payment_service().get_payment(current_actor().account_id, payment_id)
    return {"data": [refund_json(r, payment.currency) for r in payment.refunds]}


@bp.get("/payments/<payment_id>/refunds/<refund_id>")
@requires(Permission.READ)
def get_refund(payment_id: str, refund_id: str) -> ResponseReturnValue:
    """Return one refund of the payment; 404 for an unknown one."""
    payment = payment_service().get_payment(current_actor().account_id, payment_id)
    return refund_json(_refund_of(payment, refund_id), payment.currency)


@bp.post("/payments/<payment_id>/refunds/<refund_id>/retry")
@requires(Permission.REFUND)
@recent_sign_in_required()
@idempotent
def retry_refund(payment_id: str, refund_id: str) -> ResponseReturnValue:
    """Send again a refund that could not be sent; 409 for one that was sent."""
    payment = refund_service().retry_refund(current_actor(), payment_id, refund_id)
    return refund_json(_refund_of(payment, refund_id), payment.currency)


def _refund_of(payment: Payment, refund_id: str) -> Refund:
    """Return the payment's refund with our id; raise RefundNotFound (404) if it has none."""
    refund = payment.refund(refund_id)
    if refund is None:
        raise RefundNotFound(refund_id[:64])
    return refund


openapi_schemas = refund_schemas


def openapi_endpoints() -> list[Endpoint]:
    """Return the OpenAPI operations of the routes above."""
    payment_id = path_param("payment_id", "The payment's id (a UUID).", {"type": "string"})
    refund_id = path_param("refund_id", "The refund's id (a UUID).", {"type": "string"})
    refund = json_response("The refund.", ref("Refund"))
    return [
        endpoint(
            "post",
            "/payments/{payment_id}/refunds",
            "createRefund",
            "Refund a payment",
            tag="Refunds",
            parameters=[payment_id],
            idempotent=True,
            step_up=True,
            description="Gives back all or part of a completed payment, in its currency: "
            "without `amount`, all that is still refundable. A payment that is not completed, "
            "or has nothing left to refund, is a 409; more than is left, a 422. If the "
            "provider cannot be reached or refuses, the refund is still created, with status "
            "`creation_failed` (nothing was refunded; retry it). A retry with the same "
            "Idempotency-Key never asks for a second refund.",
            body={
                "required": False,
                "content": {
                    "application/json": {
                        "schema": ref("NewRefund"),
                        "example": {"amount": "5.00", "reason": "Returned one item"},
                    }
                },
            },
            responses={
                "201": json_response(
                    "Created.", ref("Refund"), Location="The refund's URL in this API."
                ),
                **problems(404, 415),
            },
        ),
        endpoint(
            "get",
            "/payments/{payment_id}/refunds",
            "listRefunds",
            "List a payment's refunds",
            tag="Refunds",
            parameters=[payment_id],
            description="Oldest first, all of them (a payment has few: no paging).",
            responses={
                "200": json_response("The payment's refunds.", ref("RefundList")),
                **problems(404),
            },
        ),
        endpoint(
            "get",
            "/payments/{payment_id}/refunds/{refund_id}",
            "getRefund",
            "Get a refund",
            tag="Refunds",
            parameters=[payment_id, refund_id],
            responses={"200": refund, **problems(404)},
        ),
        endpoint(
            "post",
            "/payments/{payment_id}/refunds/{refund_id}/retry",
            "retryRefund",
            "Retry a refund that was not sent",
            tag="Refunds",
            parameters=[payment_id, refund_id],
            idempotent=True,
            step_up=True,
            description="Only a refund in `creation_failed` can be retried; any other is a "
            "409, as is one for which too little is left now. The provider's refunds are "
            "read first: one it made after all is recorded, never sent twice. If the provider "
            "fails again, the answer is a 200 with the refund still `creation_failed`.",
            responses={"200": refund, **problems(404)},
        ),
    ]
