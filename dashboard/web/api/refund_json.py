"""Refunds in and out of JSON: the new-refund body and its checks, a refund's JSON form, schemas.

A refund's amount takes the money shape of the payment's (``amount`` as a decimal string,
``amount_minor`` beside it, in the payment's currency). Each JSON form sits next to its schema,
so the two are read and changed together.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dashboard.core.text import CONTROL_CHARACTERS_MESSAGE, has_control_characters
from dashboard.domain.money import (
    SUPPORTED_CURRENCIES,
    InvalidAmount,
    from_minor,
    parse_amount,
    to_minor,
)
from dashboard.domain.payments import Payment, RefundSummary
from dashboard.domain.refunds import REFUND_REASON_MAX_LENGTH, Refund, RefundStatus
from dashboard.services.refunds import NewRefund
from dashboard.web.api.inputs import text_field
from dashboard.web.api.openapi import nullable, ref
from dashboard.web.api.problems import ValidationProblem
from dashboard.web.api.times import api_time

_FIELDS = ("amount", "reason")
_MONEY = {"type": "string", "pattern": r"^[0-9]+\.[0-9]{2}$", "examples": ["12.50"]}


def refund_json(refund: Refund, currency: str) -> dict[str, Any]:
    """Return the API's JSON form of one refund of a payment in ``currency``."""
    return {
        "id": refund.refund_id,
        "status": refund.status.value,
        "status_label": refund.status.label,
        "amount": str(from_minor(refund.amount_minor, currency)),
        "amount_minor": refund.amount_minor,
        "currency": currency,
        "reason": refund.reason,
        "failure_reason": refund.failure_reason,
        "requested_by": refund.requested_by,
        "created_at": api_time(refund.created_at),
        "updated_at": api_time(refund.updated_at),
    }


def payment_refund_fields(payment: Payment) -> dict[str, Any]:
    """Return what a payment's JSON says of its refunds: each one, and how much went back."""
    summary = payment.refund_summary
    return {
        "refunds": [refund_json(r, payment.currency) for r in payment.refunds],
        "refunded_amount": str(from_minor(payment.refunded_minor, payment.currency)),
        "refunded_amount_minor": payment.refunded_minor,
        "refundable_amount": str(from_minor(payment.refundable_minor, payment.currency)),
        "refundable_amount_minor": payment.refundable_minor,
        "refund_status": summary.value if summary is not None else None,
    }


def parse_new_refund(body: Any, refund_id: str, payment: Payment) -> NewRefund:
    """Return the checked refund request for ``payment``; raise ValidationProblem (422).

    Without an amount, the refund is of all that is still refundable; whether that (or the
    amount given) may be refunded now is the refund service's to decide.
    """
    if not isinstance(body, Mapping):
        raise ValidationProblem({"body": "Send a JSON object."})
    errors = {name: "Unknown field." for name in body if name not in _FIELDS}
    raw_amount = text_field(body, "amount", errors, 'Send a string, such as "12.50".')
    reason = text_field(body, "reason", errors)
    amount_minor = payment.refundable_minor
    if raw_amount is not None:
        try:
            amount_minor = to_minor(parse_amount(raw_amount, payment.currency), payment.currency)
        except InvalidAmount as exc:
            errors["amount"] = str(exc)
    if reason is not None and len(reason) > REFUND_REASON_MAX_LENGTH:
        errors["reason"] = f"Use at most {REFUND_REASON_MAX_LENGTH} characters."
    elif reason is not None and has_control_characters(reason):
        errors["reason"] = CONTROL_CHARACTERS_MESSAGE
    if errors:
        raise ValidationProblem(errors)
    return NewRefund(refund_id=refund_id, amount_minor=amount_minor, reason=reason)


def payment_refund_schema() -> dict[str, Any]:
    """Return the payment schema's refund fields: their names (all required) and schemas."""
    properties = {
        "refunds": {"type": "array", "items": ref("Refund"), "description": "Oldest first."},
        "refunded_amount": {
            **_MONEY,
            "description": "What executed refunds gave back (a returned one no longer counts).",
        },
        "refunded_amount_minor": {"type": "integer", "minimum": 0},
        "refundable_amount": {
            **_MONEY,
            "description": "What may still be refunded: 0.00 until the payment is completed.",
        },
        "refundable_amount_minor": {"type": "integer", "minimum": 0},
        "refund_status": {
            "type": ["string", "null"],
            "enum": [*(s.value for s in RefundSummary), None],
            "description": "How refunded the payment is; null when no refund was asked for.",
        },
    }
    return {"required": list(properties), "properties": properties}


def openapi_schemas() -> dict[str, Any]:
    """Return the component schemas of refunds: Refund, RefundList and NewRefund."""
    text, time = {"type": "string"}, {"type": "string", "format": "date-time"}
    refund = {
        "type": "object",
        "required": [
            "id",
            "status",
            "status_label",
            "amount",
            "amount_minor",
            "currency",
            "reason",
            "failure_reason",
            "requested_by",
            "created_at",
            "updated_at",
        ],
        "properties": {
            "id": {"type": "string", "format": "uuid", "description": "A UUIDv7."},
            "status": {
                "type": "string",
                "enum": [s.value for s in RefundStatus],
                "description": "`creation_failed`: the provider could not be reached or "
                "refused; nothing was refunded, and it can be retried.",
            },
            "status_label": {"type": "string", "examples": ["Refunded"]},
            "amount": _MONEY,
            "amount_minor": {"type": "integer", "minimum": 1, "examples": [1250]},
            "currency": {"type": "string", "enum": list(SUPPORTED_CURRENCIES)},
            "reason": nullable(text),
            "failure_reason": nullable(text),
            "requested_by": nullable(
                {"type": "string", "description": "A person's email or an API key's name."}
            ),
            "created_at": time,
            "updated_at": time,
        },
    }
    return {
        "Refund": refund,
        "RefundList": {
            "type": "object",
            "required": ["data"],
            "properties": {"data": {"type": "array", "items": ref("Refund")}},
        },
        "NewRefund": NEW_REFUND_SCHEMA,
    }


NEW_REFUND_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "amount": nullable(
            {
                "type": "string",
                "pattern": r"^[0-9]{1,7}(\.[0-9]{1,2})?$",
                "description": "A decimal string in the payment's currency, more than 0 and "
                "at most what is still refundable. Left out: all that is still refundable.",
                "examples": ["5.00"],
            }
        ),
        "reason": nullable(
            {
                "type": "string",
                "maxLength": REFUND_REASON_MAX_LENGTH,
                "description": "Why, for the payment's page and the audit log. No line breaks, "
                "tabs or other control characters.",
            }
        ),
    },
}
