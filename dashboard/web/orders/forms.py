"""The order forms: what a merchant may type for a new order or a change, and what it accepts.

The forms only read what was typed (a whole number, an amount); the order's rules live in
``check_order_fields`` (shared with the JSON API), whose messages are shown on the same fields.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, TypeVar

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, ValidationError

from dashboard.core.signed_ids import sign_new_id, unsign_new_id
from dashboard.domain.money import (
    SUPPORTED_CURRENCIES,
    InvalidAmount,
    format_money,
    parse_amount,
    to_minor,
)
from dashboard.domain.orders import (
    MAX_ADDRESS_LENGTH,
    MAX_NAME_LENGTH,
    MAX_QUANTITY,
    Order,
    OrderFields,
    check_order_fields,
)
from dashboard.web.secret_key import secret_key

T = TypeVar("T")

_ORDER_ID_PURPOSE = "new-order-id"
_WHOLE_NUMBER = re.compile(r"[0-9]{1,9}")
_QUANTITY_MESSAGE = f"Enter a whole number from 1 to {MAX_QUANTITY:,}."


def sign_order_id(order_id: str, user_id: str) -> str:
    """Return the hidden-field value that carries an order id minted for this merchant."""
    return sign_new_id(secret_key(), order_id, user_id, _ORDER_ID_PURPOSE)


def unsign_order_id(token: str, user_id: str) -> str:
    """Return the order id in a signed token, or raise FormExpired."""
    return unsign_new_id(secret_key(), token, user_id, _ORDER_ID_PURPOSE)


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class _CustomerForm(FlaskForm):
    """The fields a new order and a change share: the customer, the address, the quantity."""

    customer_name = StringField(
        "Customer name",
        filters=[_strip],
        validators=[DataRequired("Enter the customer's name.")],
        render_kw={"maxlength": MAX_NAME_LENGTH, "autocomplete": "off"},
    )
    customer_email = EmailField(
        "Customer email",
        filters=[_strip],
        validators=[DataRequired("Enter the customer's email address.")],
        render_kw={"autocomplete": "off", "placeholder": "name@example.com"},
    )
    quantity = StringField(
        "Quantity",
        filters=[_strip],
        validators=[DataRequired("Enter how many the customer buys.")],
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    shipping_address = TextAreaField(
        "Shipping address (optional)",
        filters=[_strip],
        render_kw={"rows": 3, "maxlength": MAX_ADDRESS_LENGTH},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._quantity: int | None = None

    def validate_quantity(self, field: StringField) -> None:
        """Read the quantity as a whole number; its range is the order's rule."""
        if not _WHOLE_NUMBER.fullmatch(field.data or ""):
            raise ValidationError(_QUANTITY_MESSAGE)
        self._quantity = int(field.data)

    def add_errors(self, errors: dict[str, str]) -> None:
        """Show each rule's message on its field; one no field shows goes above the form."""
        for name, message in errors.items():
            field = self._fields.get(name)
            if field is None or isinstance(field, HiddenField):
                self.form_errors.append(message)
            elif not field.errors:
                field.errors = [message]

    def _obeys_order_rules(self, fields: OrderFields, *, complete: bool) -> bool:
        """Show the order rules' messages for what the form read; True when there are none.

        Run after ``validate()``, so every message shows at once. What the form could not read
        is None in ``fields`` and already has its own message.
        """
        rule_errors = check_order_fields(fields, complete=complete)
        self.add_errors(rule_errors)
        return not rule_errors


class NewOrderForm(_CustomerForm):
    """A new order: the customer, what they buy, how many, at what price."""

    order_token = HiddenField()
    product_name = StringField(
        "Product",
        filters=[_strip],
        validators=[DataRequired("Enter what the customer buys.")],
        render_kw={"maxlength": MAX_NAME_LENGTH, "autocomplete": "off"},
    )
    unit_price = StringField(
        "Unit price",
        filters=[_strip],
        validators=[DataRequired("Enter the price of one item.")],
        render_kw={"inputmode": "decimal", "autocomplete": "off", "placeholder": "12.50"},
    )
    currency = SelectField(
        "Currency", choices=[SelectChoice(c, c) for c in SUPPORTED_CURRENCIES], default="GBP"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._unit_price: Decimal | None = None

    def validate_unit_price(self, field: StringField) -> None:
        """Read the price in the chosen currency (Decimal, never float)."""
        currency = self.currency.data if self.currency.data in SUPPORTED_CURRENCIES else "GBP"
        try:
            self._unit_price = parse_amount(field.data or "", currency)
        except InvalidAmount as exc:
            raise ValidationError(str(exc)) from None

    def check(self) -> bool:
        """Return True when the input makes a valid order; otherwise messages are on fields."""
        valid = self.validate()
        return self._obeys_order_rules(self.to_fields(), complete=True) and valid

    def to_fields(self) -> OrderFields:
        """Return what was typed as the service's input (None for what could not be read)."""
        return OrderFields(
            customer_name=self.customer_name.data or None,
            customer_email=self.customer_email.data or None,
            product_name=self.product_name.data or None,
            quantity=self._quantity,
            unit_price=self._unit_price,
            currency=self.currency.data,
            shipping_address=self.shipping_address.data or None,
        )

    def total_label(self) -> str | None:
        """Return the order's total as it would be, once quantity and price were readable."""
        if self._quantity is None or self._unit_price is None:
            return None
        if self.currency.data not in SUPPORTED_CURRENCIES:
            return None
        minor = to_minor(self._unit_price, self.currency.data) * self._quantity
        return format_money(minor, self.currency.data)


class EditOrderForm(_CustomerForm):
    """A change to an unpaid order. The quantity is locked while a payment link carries it."""

    def __init__(self, *args: Any, order: Order, **kwargs: Any) -> None:
        kwargs.setdefault(
            "data",
            {
                "customer_name": order.customer_name,
                "customer_email": order.customer_email,
                "quantity": str(order.quantity),
                "shipping_address": order.shipping_address or "",
            },
        )
        super().__init__(*args, **kwargs)
        self.order = order
        self.quantity_locked = not order.can_change_quantity
        if self.quantity_locked:
            # A disabled input is not submitted: keep the stored quantity, check nothing.
            self.quantity.validators = ()
            self.quantity.data = str(order.quantity)

    def validate_quantity(self, field: StringField) -> None:
        """Read the quantity, unless it is locked."""
        if not self.quantity_locked:
            super().validate_quantity(field)

    def check(self) -> bool:
        """Return True when the changes are valid; otherwise messages are on fields."""
        valid = self.validate()
        return self._obeys_order_rules(self.changes(), complete=False) and valid

    def changes(self) -> OrderFields:
        """Return only what differs from the stored order (None for what stays)."""
        order = self.order

        def changed(new: T | None, old: T | None) -> T | None:
            return new if new is not None and new != old else None

        email = (self.customer_email.data or "").lower() or None
        return OrderFields(
            customer_name=changed(self.customer_name.data or None, order.customer_name),
            customer_email=changed(email, order.customer_email),
            shipping_address=changed(
                self.shipping_address.data or "", order.shipping_address or ""
            ),
            quantity=None if self.quantity_locked else changed(self._quantity, order.quantity),
        )

    def total_label(self) -> str:
        """Return the order's total with the quantity typed (or the stored one)."""
        quantity = self._quantity if self._quantity is not None else self.order.quantity
        return format_money(self.order.unit_price_minor * quantity, self.order.currency)
