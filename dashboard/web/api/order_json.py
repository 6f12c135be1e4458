"""Orders in and out of JSON: the new-order and change bodies, and an order's JSON form.

This module only reads JSON types (a string, a whole number, a decimal string for the price);
the order's rules are the model's ``check_order_fields``, shared with the web forms, so the API
and the pages can never disagree. Fields the server computes or owns (``total``, ``status``,
``number``...) are refused by name when sent, never silently dropped: a client that believes it
set a total must learn that it did not. Each JSON form sits next to its schema in the document.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from dashboard.domain.money import SUPPORTED_CURRENCIES, InvalidAmount, from_minor, parse_amount
from dashboard.domain.orders import (
    MAX_ADDRESS_LENGTH,
    MAX_NAME_LENGTH,
    MAX_QUANTITY,
    Order,
    OrderFields,
    OrderStatus,
    check_order_fields,
    shown_order_status,
)
from dashboard.domain.payments import Payment
from dashboard.web.api.inputs import text_field
from dashboard.web.api.openapi import nullable, ref
from dashboard.web.api.payment_json import api_time, payment_json
from dashboard.web.api.problems import ValidationProblem

EMAIL_MAX_LENGTH = 254
_TEXT_FIELDS = ("customer_name", "customer_email", "product_name", "currency", "shipping_address")
NEW_ORDER_FIELDS = (*_TEXT_FIELDS, "quantity", "unit_price")
CHANGEABLE_FIELDS = ("customer_name", "customer_email", "shipping_address", "quantity")
FIXED_FIELDS = ("product_name", "unit_price", "currency")
# What the server computes or owns; the answers carry these, a request may not.
SERVER_FIELDS = (
    "id",
    "number",
    "order_number",
    "status",
    "status_label",
    "unit_price_minor",
    "total",
    "total_minor",
    "payment_id",
    "payment",
    "refunded_amount",
    "refunded_amount_minor",
    "created_at",
    "updated_at",
    "version",
)
_QUANTITY_RANGE = f"Enter a whole number from 1 to {MAX_QUANTITY:,}."
_NOT_EMPTY = "This field cannot be empty."


def order_json(order: Order, status: OrderStatus | None = None) -> dict[str, Any]:
    """Return the API's JSON form of an order (``status``: the one to show, if not the stored)."""
    shown = status or order.status
    return {
        "id": order.order_id,
        "number": order.number_label,
        "status": shown.value,
        "status_label": shown.label,
        "customer_name": order.customer_name,
        "customer_email": order.customer_email,
        "product_name": order.product_name,
        "quantity": order.quantity,
        "unit_price": str(from_minor(order.unit_price_minor, order.currency)),
        "unit_price_minor": order.unit_price_minor,
        "total": str(from_minor(order.total_minor, order.currency)),
        "total_minor": order.total_minor,
        "currency": order.currency,
        "shipping_address": order.shipping_address,
        "payment_id": order.payment_id,
        "created_at": api_time(order.created_at),
        "updated_at": api_time(order.updated_at),
        "version": order.version,
    }


def order_detail_json(order: Order, payment: Payment | None, now: datetime) -> dict[str, Any]:
    """Return an order with its payment embedded, its status as the order page shows it."""
    payment_status = payment.effective_status(now) if payment else None
    refunded_minor = payment.refunded_minor if payment else 0
    return {
        **order_json(order, shown_order_status(order, payment_status)),
        "refunded_amount": str(from_minor(refunded_minor, order.currency)),
        "refunded_amount_minor": refunded_minor,
        "payment": payment_json(payment, now) if payment else None,
    }


def parse_new_order(body: Any) -> OrderFields:
    """Return the checked fields of a new order; raise ValidationProblem (422) naming each."""
    body = _json_object(body)
    errors = _refuse_other_fields(body, NEW_ORDER_FIELDS, "Computed by the server; do not send")
    text = {name: text_field(body, name, errors) for name in _TEXT_FIELDS}
    fields = OrderFields(
        customer_name=text["customer_name"],
        customer_email=text["customer_email"],
        product_name=text["product_name"],
        quantity=_quantity(body, errors),
        unit_price=_unit_price(body, text["currency"], errors),
        currency=text["currency"],
        shipping_address=text["shipping_address"],
    )
    _raise_with_rules(errors, fields, complete=True)
    return fields


def parse_order_changes(body: Any) -> OrderFields:
    """Return the changes a PATCH asks for (None: keep); raise ValidationProblem (422).

    ``shipping_address`` null (or blank) clears it, as "" does for the service; the customer's
    name and email cannot be cleared.
    """
    body = _json_object(body)
    errors = _refuse_other_fields(body, CHANGEABLE_FIELDS, "Set by the server; it cannot change")
    for name in FIXED_FIELDS:
        if name in body:
            errors[name] = "Fixed once the order exists; create a new order instead."
    text = {name: text_field(body, name, errors) for name in CHANGEABLE_FIELDS[:3]}
    for name in ("customer_name", "customer_email"):
        if name in body and text[name] is None:
            errors.setdefault(name, _NOT_EMPTY)
    if "quantity" in body and body["quantity"] is None:
        errors["quantity"] = _QUANTITY_RANGE
    address = None
    if "shipping_address" in body:
        address = text["shipping_address"] or ""  # null or blank: "" clears it
    fields = OrderFields(
        customer_name=text["customer_name"],
        customer_email=text["customer_email"],
        quantity=_quantity(body, errors),
        shipping_address=address,
    )
    _raise_with_rules(errors, fields, complete=False)
    return fields


def _json_object(body: Any) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise ValidationProblem({"body": "Send a JSON object."})
    return body


def _refuse_other_fields(body: Mapping[str, Any], allowed: tuple[str, ...], owned: str) -> dict:
    """Return an error for each field the body may not carry (a typo must not pass silently)."""
    errors: dict[str, str] = {}
    for name in body:
        if name in allowed or name in FIXED_FIELDS:
            continue
        if name in ("total", "total_minor"):
            errors[name] = "The total is always computed: quantity × unit price. Do not send it."
        elif name in SERVER_FIELDS:
            errors[name] = f"{owned}."
        else:
            errors[name] = "Unknown field."
    return errors


def _raise_with_rules(errors: dict[str, str], fields: OrderFields, *, complete: bool) -> None:
    # What could not be read is None in ``fields`` and keeps its own message.
    for name, message in check_order_fields(fields, complete=complete).items():
        errors.setdefault(name, message)
    if errors:
        raise ValidationProblem(errors)


def _quantity(body: Mapping[str, Any], errors: dict[str, str]) -> int | None:
    value = body.get("quantity")
    if value is None:
        return None
    whole = isinstance(value, int) and not isinstance(value, bool)
    # JSON Schema counts 3.0 as an integer; parse_float=Decimal keeps it exact.
    whole = whole or (
        isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value()
    )
    if not whole:
        errors["quantity"] = "Send a whole number, such as 3."
        return None
    if not 1 <= value <= MAX_QUANTITY:  # compared before int(): 1e999999 must stay a Decimal
        errors["quantity"] = _QUANTITY_RANGE
        return None
    return int(value)


def _unit_price(
    body: Mapping[str, Any], currency: str | None, errors: dict[str, str]
) -> Decimal | None:
    value = body.get("unit_price")
    if value is None:
        return None
    if not isinstance(value, str):
        # As for payment amounts: a string reaches us exactly as the client wrote it, whatever
        # its JSON library does with numbers.
        errors["unit_price"] = 'Send a string, such as "12.50".'
        return None
    # As on the form: an unknown currency is reported once, and the price read as GBP.
    checked = currency if currency in SUPPORTED_CURRENCIES else "GBP"
    try:
        return parse_amount(value, checked)
    except InvalidAmount as exc:
        errors["unit_price"] = str(exc)
        return None


def openapi_schemas() -> dict[str, Any]:
    """Return the component schemas of orders (Order, OrderDetail, OrderList, NewOrder...)."""
    return {
        "Order": ORDER_SCHEMA,
        "OrderDetail": {
            "description": "An order with its payment link embedded (null before any was asked "
            "for); its `status` as the order page shows it, and what its refunds gave back.",
            "allOf": [
                ref("Order"),
                {
                    "type": "object",
                    "required": ["payment", "refunded_amount", "refunded_amount_minor"],
                    "properties": {
                        "payment": {"anyOf": [ref("Payment"), {"type": "null"}]},
                        "refunded_amount": {
                            **_AMOUNT,
                            "description": "What the payment's executed refunds gave back "
                            "(a returned refund no longer counts); equal to `total` once the "
                            "order is `refunded`.",
                            "examples": ["5.00"],
                        },
                        "refunded_amount_minor": {
                            "type": "integer",
                            "minimum": 0,
                            "examples": [500],
                        },
                    },
                },
            ],
        },
        "OrderList": {
            "type": "object",
            "required": ["data", "next_cursor", "search_truncated"],
            "properties": {
                "data": {"type": "array", "items": ref("Order")},
                "search_truncated": {
                    "type": "boolean",
                    "description": "True when the search matched more orders than one search "
                    "reads, so some are missing: add a word or search by order number.",
                },
                "next_cursor": nullable(
                    {
                        "type": "string",
                        "description": "Pass as `cursor` for the next page; null at the end.",
                    }
                ),
            },
        },
        "NewOrder": NEW_ORDER_SCHEMA,
        "OrderChanges": ORDER_CHANGES_SCHEMA,
    }


_TEXT = {"type": "string"}
_AMOUNT = {"type": "string", "pattern": r"^[0-9]+\.[0-9]{2}$", "examples": ["12.50"]}
_NAME = {"type": "string", "minLength": 1, "maxLength": MAX_NAME_LENGTH}
_EMAIL = {"type": "string", "format": "email", "maxLength": EMAIL_MAX_LENGTH}
_QUANTITY = {"type": "integer", "minimum": 1, "maximum": MAX_QUANTITY, "examples": [3]}
_ADDRESS = nullable({"type": "string", "maxLength": MAX_ADDRESS_LENGTH})

ORDER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "id",
        "number",
        "status",
        "status_label",
        "customer_name",
        "customer_email",
        "product_name",
        "quantity",
        "unit_price",
        "unit_price_minor",
        "total",
        "total_minor",
        "currency",
        "shipping_address",
        "payment_id",
        "created_at",
        "updated_at",
        "version",
    ],
    "properties": {
        "id": {"type": "string", "format": "uuid", "description": "A UUIDv7."},
        "number": {
            "type": "string",
            "pattern": "^ORD-[0-9]+$",
            "description": "The merchant's order number; the reference of its payment link.",
            "examples": ["ORD-1042"],
        },
        "status": {
            "type": "string",
            "enum": [s.value for s in OrderStatus],
            "description": "From `payment_requested` on, it follows the order's payment; a "
            "`paid` order becomes `refunded` when its payment is refunded in full (and `paid` "
            "again if a return undoes that). Lists show the stored status; a single order's "
            "answer shows a lapsed link's order as `failed` at once.",
        },
        "status_label": {"type": "string", "examples": ["Payment requested"]},
        "customer_name": _TEXT,
        "customer_email": _TEXT,
        "product_name": _TEXT,
        "quantity": {"type": "integer", "minimum": 1, "maximum": MAX_QUANTITY},
        "unit_price": _AMOUNT,
        "unit_price_minor": {"type": "integer", "minimum": 1, "examples": [1250]},
        "total": {**_AMOUNT, "description": "Quantity × unit price, always computed."},
        "total_minor": {"type": "integer", "minimum": 1, "examples": [3750]},
        "currency": {"type": "string", "enum": list(SUPPORTED_CURRENCIES)},
        "shipping_address": nullable(_TEXT),
        "payment_id": nullable(
            {"type": "string", "description": "The order's latest payment link, if any."}
        ),
        "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
        "version": {
            "type": "integer",
            "minimum": 1,
            "description": "Goes up by at least one with every change: of two copies of the "
            "order (two webhook events, say), the higher version is the newer.",
        },
    },
}

NEW_ORDER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "The total is always computed. `total`, `status`, `number` and the other "
    "fields the server sets are refused (422, naming them), as is any unknown field.",
    "required": [
        "customer_name",
        "customer_email",
        "product_name",
        "quantity",
        "unit_price",
        "currency",
    ],
    "additionalProperties": False,
    "properties": {
        "customer_name": _NAME,
        "customer_email": _EMAIL,
        "product_name": _NAME,
        "quantity": {
            **_QUANTITY,
            "description": "A whole number; the total is at most 1000000.00.",
        },
        "unit_price": {
            "type": "string",
            "pattern": r"^[0-9]{1,7}(\.[0-9]{1,2})?$",
            "description": "The price of one item as a decimal string: more than 0, at most "
            "1000000.00, two decimals. A JSON number is refused.",
            "examples": ["12.50"],
        },
        "currency": {"type": "string", "enum": list(SUPPORTED_CURRENCIES)},
        "shipping_address": {**_ADDRESS, "description": "Optional."},
    },
}

ORDER_CHANGES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Only the fields sent change. The product, unit price and currency are fixed "
    "(422); the quantity cannot change while a payment link is live (409).",
    "additionalProperties": False,
    "properties": {
        "customer_name": _NAME,
        "customer_email": _EMAIL,
        "shipping_address": {**_ADDRESS, "description": "null clears it."},
        "quantity": {
            **_QUANTITY,
            "description": "Not while a payment link is live; the total is at most 1000000.00.",
        },
    },
}
