"""Payments in and out of JSON: the new-payment body and its checks, and a payment's JSON form.

The checks are the web form's (``web/payments/forms.py``): the same amount parsing, currencies,
reference pattern and length, payer name and email, and at most 30 days until expiry. Each JSON
form sits next to its schema in the OpenAPI document, so the two are read and changed together.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from email_validator import EmailNotValidError, validate_email

from dashboard.core.text import CONTROL_CHARACTERS_MESSAGE, has_control_characters
from dashboard.domain.money import (
    SUPPORTED_CURRENCIES,
    InvalidAmount,
    from_minor,
    parse_amount,
    to_minor,
)
from dashboard.domain.payments import (
    PAYER_NAME_MAX_LENGTH,
    REFERENCE_MAX_LENGTH,
    REFERENCE_PATTERN,
    Payment,
    PaymentStatus,
)
from dashboard.services.payments import MAX_LINK_LIFETIME, NewPaymentLink
from dashboard.web.api.inputs import text_field
from dashboard.web.api.openapi import nullable
from dashboard.web.api.problems import ValidationProblem
from dashboard.web.api.refund_json import payment_refund_fields, payment_refund_schema
from dashboard.web.api.times import api_time

PAYER_EMAIL_MAX_LENGTH = 254
_FIELDS = ("amount", "currency", "reference", "payer_name", "payer_email", "expires_at")
_REFERENCE = re.compile(REFERENCE_PATTERN)


# Days named in API queries (``from``/``to``) are UTC days, whatever zone the account's pages
# use: a client's result must not change when someone changes a setting on a page.
API_DAYS_ZONE = ZoneInfo("UTC")


def payment_json(payment: Payment, now: datetime) -> dict[str, Any]:
    """Return the API's JSON form of a payment (status as shown: a lapsed link is expired)."""
    status = payment.effective_status(now)
    return {
        "id": payment.payment_id,
        "status": status.value,
        "status_label": status.label,
        "amount": str(from_minor(payment.amount_minor, payment.currency)),
        "amount_minor": payment.amount_minor,
        "currency": payment.currency,
        "reference": payment.reference,
        "payer_name": payment.payer_name,
        "payer_email": payment.payer_email,
        "link_url": payment.link_url,
        "expires_at": api_time(payment.expires_at),
        "created_at": api_time(payment.created_at),
        "updated_at": api_time(payment.updated_at),
        "failure_reason": payment.failure_reason,
        "attempts": [
            {
                "provider_payment_id": a.provider_payment_id,
                "status": a.status.value,
                "failure_reason": a.failure_reason,
                "created_at": api_time(a.created_at),
                "updated_at": api_time(a.updated_at),
            }
            for a in payment.attempts
        ],
        "order_id": payment.order_id,
        **payment_refund_fields(payment),
        "version": payment.version,
    }


def parse_new_payment(body: Any, payment_id: str, now: datetime) -> NewPaymentLink:
    """Return the checked request to create a payment link; raise ValidationProblem (422)."""
    if not isinstance(body, Mapping):
        raise ValidationProblem({"body": "Send a JSON object."})
    errors: dict[str, str] = {
        name: "Unknown field." for name in body if name not in _FIELDS
    }  # a typo such as "payer_emial" must not be dropped silently
    text = {name: _text(body, name, errors) for name in _FIELDS}
    currency = text["currency"]
    if currency is None:
        errors.setdefault("currency", "Choose the currency: GBP or EUR.")
    elif currency not in SUPPORTED_CURRENCIES:
        errors["currency"] = "Choose GBP or EUR."
    amount_minor = _amount(text["amount"], currency, errors)
    reference = _reference(text["reference"], errors)
    payer_email = _email(text["payer_email"], errors)
    if text["payer_name"] and len(text["payer_name"]) > PAYER_NAME_MAX_LENGTH:
        errors["payer_name"] = f"Use at most {PAYER_NAME_MAX_LENGTH} characters."
    elif text["payer_name"] and has_control_characters(text["payer_name"]):
        errors["payer_name"] = CONTROL_CHARACTERS_MESSAGE
    expires_at = _expiry(text["expires_at"], now, errors)
    if errors:
        raise ValidationProblem(errors)
    return NewPaymentLink(
        payment_id=payment_id,
        amount_minor=amount_minor or 0,
        currency=currency or "",
        reference=reference or "",
        payer_name=text["payer_name"] or None,
        payer_email=payer_email,
        expires_at=expires_at,
    )


def _text(body: Mapping[str, Any], name: str, errors: dict[str, str]) -> str | None:
    """Return a field as stripped text, None when absent, null or blank."""
    not_text = 'Send a string, such as "12.50".' if name == "amount" else "Send a string."
    return text_field(body, name, errors, not_text)


def _amount(raw: str | None, currency: str | None, errors: dict[str, str]) -> int | None:
    if raw is None:
        errors.setdefault("amount", "Enter the amount to collect.")
        return None
    # As on the form: an unknown currency is reported once, and the amount read as GBP.
    checked = currency if currency in SUPPORTED_CURRENCIES else "GBP"
    try:
        return to_minor(parse_amount(raw, checked), checked)
    except InvalidAmount as exc:
        errors["amount"] = str(exc)
        return None


def _reference(raw: str | None, errors: dict[str, str]) -> str | None:
    if raw is None:
        errors.setdefault("reference", "Enter a reference the payer will recognise.")
    elif len(raw) > REFERENCE_MAX_LENGTH:
        errors["reference"] = f"Use at most {REFERENCE_MAX_LENGTH} characters."
    elif not _REFERENCE.fullmatch(raw):
        errors["reference"] = "Use letters, digits, spaces and - . / ? : ( ) , ' + only."
    return raw


def _email(raw: str | None, errors: dict[str, str]) -> str | None:
    if raw is None:
        return None
    if len(raw) > PAYER_EMAIL_MAX_LENGTH:
        errors["payer_email"] = f"Use at most {PAYER_EMAIL_MAX_LENGTH} characters."
        return None
    try:
        validate_email(raw, check_deliverability=False)
    except EmailNotValidError:
        errors["payer_email"] = "Enter an email address such as name@example.com."
        return None
    return raw.lower()


def _expiry(raw: str | None, now: datetime, errors: dict[str, str]) -> datetime | None:
    if raw is None:
        return None
    try:
        expires = datetime.fromisoformat(raw)
    except ValueError:
        errors["expires_at"] = "Send a time such as 2026-11-22T18:00:00Z."
        return None
    if expires.tzinfo is None:
        errors["expires_at"] = "Include the time zone, such as Z for UTC."
        return None
    expires = expires.astimezone(UTC)
    if expires <= now:
        errors["expires_at"] = "Choose a time in the future."
    elif expires > now + MAX_LINK_LIFETIME:
        errors["expires_at"] = "A link can stay open for at most 30 days."
    return expires


# Events come in no set order: a resource's version tells which of two states came later.
_VERSION = {
    "type": "integer",
    "minimum": 1,
    "description": "Goes up by at least one with every change: of two copies of the resource "
    "(two webhook events, say), the higher version is the newer.",
}


def openapi_schemas() -> dict[str, Any]:
    """Return the component schemas of payments: Payment, PaymentList and NewPayment."""
    text, time = {"type": "string"}, {"type": "string", "format": "date-time"}
    attempt = {
        "type": "object",
        "required": ["provider_payment_id", "status", "created_at", "updated_at"],
        "properties": {
            "provider_payment_id": text,
            "status": {
                "type": "string",
                "enum": [
                    "authorization_required",
                    "authorizing",
                    "authorized",
                    "executed",
                    "settled",
                    "failed",
                ],
            },
            "failure_reason": nullable(text),
            "created_at": time,
            "updated_at": time,
        },
    }
    refunds = payment_refund_schema()
    payment = {
        "type": "object",
        "required": [
            "id",
            "status",
            "status_label",
            "amount",
            "amount_minor",
            "currency",
            "reference",
            "payer_name",
            "payer_email",
            "link_url",
            "expires_at",
            "created_at",
            "updated_at",
            "failure_reason",
            "attempts",
            "order_id",
            *refunds["required"],
            "version",
        ],
        "properties": {
            "id": {"type": "string", "format": "uuid", "description": "A UUIDv7."},
            "status": {"type": "string", "enum": [s.value for s in PaymentStatus]},
            "status_label": {"type": "string", "examples": ["Awaiting payment"]},
            "amount": {"type": "string", "pattern": r"^[0-9]+\.[0-9]{2}$", "examples": ["12.50"]},
            "amount_minor": {"type": "integer", "minimum": 1, "examples": [1250]},
            "currency": {"type": "string", "enum": list(SUPPORTED_CURRENCIES)},
            "reference": text,
            "payer_name": nullable(text),
            "payer_email": nullable(text),
            "link_url": nullable({"type": "string", "format": "uri"}),
            "expires_at": time,
            "created_at": time,
            "updated_at": time,
            "failure_reason": nullable(text),
            "attempts": {"type": "array", "items": attempt},
            "order_id": nullable(text),
            **refunds["properties"],
            "version": _VERSION,
        },
    }
    return {
        "Payment": payment,
        "PaymentList": {
            "type": "object",
            "required": ["data", "next_cursor"],
            "properties": {
                "data": {"type": "array", "items": {"$ref": "#/components/schemas/Payment"}},
                "next_cursor": nullable(
                    {
                        "type": "string",
                        "description": "Pass as `cursor` for the next page; null at the end.",
                    }
                ),
            },
        },
        "NewPayment": NEW_PAYMENT_SCHEMA,
    }


NEW_PAYMENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["amount", "currency", "reference"],
    "additionalProperties": False,
    "properties": {
        "amount": {
            "type": "string",
            "pattern": r"^[0-9]{1,7}(\.[0-9]{1,2})?$",
            "description": "A decimal string: more than 0, at most 1000000.00, two decimals.",
            "examples": ["12.50"],
        },
        "currency": {"type": "string", "enum": list(SUPPORTED_CURRENCIES)},
        "reference": {
            "type": "string",
            "minLength": 1,
            "maxLength": REFERENCE_MAX_LENGTH,
            "pattern": REFERENCE_PATTERN,
            "description": "Shown to the payer: letters, digits, spaces, - . / ? : ( ) , ' +",
        },
        "payer_name": nullable(
            {
                "type": "string",
                "maxLength": PAYER_NAME_MAX_LENGTH,
                "description": "No line breaks, tabs or other control characters.",
            }
        ),
        "payer_email": nullable(
            {"type": "string", "format": "email", "maxLength": PAYER_EMAIL_MAX_LENGTH}
        ),
        "expires_at": nullable(
            {
                "type": "string",
                "format": "date-time",
                "description": "When the link stops accepting payment (default: in 24 hours, "
                "at most 30 days ahead).",
            }
        ),
    },
}
