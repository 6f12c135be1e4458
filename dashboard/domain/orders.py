"""The order domain: what an order is, its statuses, and how they follow the order's payment.

Pure (no Flask, no DynamoDB), so the rules are testable alone. The web form and the JSON API both
check new orders and changes with ``check_order_fields``, so the two can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from email_validator import EmailNotValidError, validate_email

from dashboard.core.errors import InvalidInput
from dashboard.core.text import CONTROL_CHARACTERS_MESSAGE, has_control_characters
from dashboard.domain.money import (
    MAX_AMOUNT,
    SUPPORTED_CURRENCIES,
    format_money,
    minor_digits,
    to_minor,
)
from dashboard.domain.payments import PaymentStatus, RefundSummary, StatusGroup

ORDER_NUMBER_PREFIX = "ORD-"
# Order numbers start here, so the first order of a merchant reads ORD-1001, not ORD-1.
FIRST_ORDER_NUMBER = 1001
MAX_QUANTITY = 100_000
MAX_NAME_LENGTH = 140
MAX_EMAIL_LENGTH = 254
MAX_ADDRESS_LENGTH = 500


class OrderStatus(StrEnum):
    """Where an order stands; from ``payment_requested`` on, it follows its payment.

    ``refunded`` is reached from ``paid`` only, when the payment is refunded in full.
    """

    PENDING = "pending"
    PAYMENT_REQUESTED = "payment_requested"
    PAID = "paid"
    CANCELLED = "cancelled"
    FAILED = "failed"
    REFUNDED = "refunded"

    @property
    def label(self) -> str:
        """Return the badge words a merchant sees."""
        return _LABELS[self]

    @property
    def is_unpaid(self) -> bool:
        """Return True while the order may still change or be cancelled."""
        return self in (OrderStatus.PENDING, OrderStatus.PAYMENT_REQUESTED, OrderStatus.FAILED)

    @property
    def was_paid(self) -> bool:
        """Return True once the order's money reached the merchant, even if refunded since.

        Such an order is the record of a payment: it is never changed, cancelled or deleted.
        """
        return self in (OrderStatus.PAID, OrderStatus.REFUNDED)

    @property
    def group(self) -> StatusGroup:
        """Return what the status means as a payment's group does: its badge's and tile's colour.

        So Pending is one colour on every page, Paid is Completed's green, and so on.
        """
        return _GROUPS[self]


_LABELS = {
    OrderStatus.PENDING: "Pending",
    OrderStatus.PAYMENT_REQUESTED: "Payment requested",
    OrderStatus.PAID: "Paid",
    OrderStatus.CANCELLED: "Cancelled",
    OrderStatus.FAILED: "Payment failed",
    OrderStatus.REFUNDED: "Refunded",
}


_GROUPS = {
    OrderStatus.PENDING: StatusGroup.PENDING,
    OrderStatus.PAYMENT_REQUESTED: StatusGroup.PENDING,
    OrderStatus.PAID: StatusGroup.COMPLETED,
    OrderStatus.CANCELLED: StatusGroup.ENDED,
    OrderStatus.FAILED: StatusGroup.FAILED,
    # The money went back: the order is over, as a cancelled one is.
    OrderStatus.REFUNDED: StatusGroup.ENDED,
}


def order_status_for_payment(
    status: PaymentStatus, refund_summary: RefundSummary | None = None
) -> OrderStatus:
    """Return the status an order takes when its payment has ``status`` and ``refund_summary``.

    A failed attempt leaves the order waiting: the payer may try again on the same link. A link
    that ended unpaid (expired, cancelled, never created) fails the order, which may then ask for
    payment again with a new link. A completed payment refunded in full makes the order
    refunded; a partial refund leaves it paid, and a return that undoes a full refund makes it
    paid again.
    """
    if status is PaymentStatus.COMPLETED:
        return (
            OrderStatus.REFUNDED if refund_summary is RefundSummary.REFUNDED else OrderStatus.PAID
        )
    if status in (PaymentStatus.EXPIRED, PaymentStatus.CANCELLED, PaymentStatus.CREATION_FAILED):
        return OrderStatus.FAILED
    return OrderStatus.PAYMENT_REQUESTED


def shown_order_status(order: Order, payment_status: PaymentStatus | None) -> OrderStatus:
    """Return the status to show for an order, given its payment's status as shown.

    An order waiting on a link that has lapsed shows as failed at once, as its payment shows as
    expired at once, before the provider's event or the sync records either.
    """
    if order.status is OrderStatus.PAYMENT_REQUESTED and payment_status is not None:
        return order_status_for_payment(payment_status)
    return order.status


def format_order_number(number: int) -> str:
    """Return the order number as merchants and payers read it: ``ORD-1042``."""
    return f"{ORDER_NUMBER_PREFIX}{number}"


@dataclass(frozen=True)
class Order:
    """A merchant's order: who buys what, for how much, and the payment that settles it."""

    user_id: str
    order_id: str
    order_number: int
    customer_name: str
    customer_email: str
    product_name: str
    quantity: int
    unit_price_minor: int
    currency: str
    status: OrderStatus
    created_at: datetime
    updated_at: datetime
    shipping_address: str | None = None
    payment_id: str | None = None
    # Payments that completed for the order besides the one that settles it: money that arrived
    # on an earlier link after the order moved on (paid twice, or paid after it was cancelled).
    extra_payment_ids: tuple[str, ...] = ()
    version: int = 1

    @property
    def total_minor(self) -> int:
        """Return the total in minor units: always computed, never taken from input."""
        return self.unit_price_minor * self.quantity

    @property
    def number_label(self) -> str:
        """Return the order number as shown, e.g. ``ORD-1042``; also the payment reference."""
        return format_order_number(self.order_number)

    @property
    def total_label(self) -> str:
        """Return the total formatted for its currency."""
        return format_money(self.total_minor, self.currency)

    @property
    def can_request_payment(self) -> bool:
        """Return True when a (new) payment link may be made for the order."""
        return self.status in (OrderStatus.PENDING, OrderStatus.FAILED)

    @property
    def can_change_quantity(self) -> bool:
        """Return True while no live payment link carries the order's total."""
        return self.status in (OrderStatus.PENDING, OrderStatus.FAILED)


class InvalidOrder(InvalidInput, ValueError):
    """Raised when an order's fields break a rule; ``errors`` maps each field to a message."""


@dataclass(frozen=True)
class OrderFields:
    """What a merchant may set on an order; None means "not given" (keep it, for changes)."""

    customer_name: str | None = None
    customer_email: str | None = None
    product_name: str | None = None
    quantity: int | None = None
    unit_price: Decimal | None = None
    currency: str | None = None
    shipping_address: str | None = None


def check_order_fields(fields: OrderFields, *, complete: bool) -> dict[str, str]:
    """Return a message per field that breaks a rule (empty when all is well).

    ``complete`` asks for every required field (a new order); otherwise only the fields given
    are checked (a change). The total is checked when quantity and unit price are both known.
    """
    errors: dict[str, str] = {}
    required = ("customer_name", "customer_email", "product_name", "quantity", "unit_price")
    if complete:
        missing = [name for name in required if _blank(fields, name)]
        errors.update(dict.fromkeys(missing, "This field is required."))
        if fields.currency is None:
            errors["currency"] = "This field is required."
    _check_text(errors, "customer_name", fields.customer_name, MAX_NAME_LENGTH)
    _check_text(errors, "product_name", fields.product_name, MAX_NAME_LENGTH)
    _check_text(errors, "customer_email", fields.customer_email, MAX_EMAIL_LENGTH)
    address = fields.shipping_address
    if address is not None and len(address) > MAX_ADDRESS_LENGTH:
        errors["shipping_address"] = f"Use at most {MAX_ADDRESS_LENGTH} characters."
    elif address is not None and has_control_characters(address, allowed="\r\n"):
        errors["shipping_address"] = "Use letters, digits, spaces, punctuation and new lines only."
    if fields.customer_email and "customer_email" not in errors:
        try:
            validate_email(fields.customer_email, check_deliverability=False)
        except EmailNotValidError:
            errors["customer_email"] = "Enter an email address such as name@example.com."
    if fields.currency is not None and fields.currency not in SUPPORTED_CURRENCIES:
        errors["currency"] = f"Choose one of {', '.join(SUPPORTED_CURRENCIES)}."
    quantity = fields.quantity
    if quantity is not None and (
        type(quantity) is not int or not 1 <= quantity <= MAX_QUANTITY  # bool is not a count
    ):
        errors["quantity"] = f"Enter a whole number from 1 to {MAX_QUANTITY:,}."
    if fields.unit_price is not None:
        problem = _unit_price_problem(fields.unit_price, fields.currency)
        if problem:
            errors["unit_price"] = problem
    return errors


def _unit_price_problem(price: Decimal, currency: str | None) -> str | None:
    if not isinstance(price, Decimal) or not price.is_finite():
        return "Enter an amount such as 12.50."
    if price <= 0:
        return "The unit price must be more than zero."
    if price > MAX_AMOUNT:
        return f"The unit price can be at most {MAX_AMOUNT:,}."
    if currency in SUPPORTED_CURRENCIES:
        try:
            to_minor(price, currency)
        except ValueError:
            return (
                f"{currency} amounts have at most {minor_digits(currency)} digits after the point."
            )
    return None


def check_total(quantity: int, unit_price_minor: int, currency: str) -> dict[str, str]:
    """Return an error on ``quantity`` when the order's total would pass the maximum."""
    if unit_price_minor * quantity > to_minor(MAX_AMOUNT, currency):
        limit = format_money(to_minor(MAX_AMOUNT, currency), currency)
        return {"quantity": f"The order total can be at most {limit}."}
    return {}


def _blank(fields: OrderFields, name: str) -> bool:
    value = getattr(fields, name)
    return value is None or (isinstance(value, str) and not value.strip())


def _check_text(errors: dict[str, str], name: str, value: str | None, limit: int) -> None:
    if value is None:
        return
    if not value.strip():
        errors[name] = "This field is required."
    elif len(value) > limit:
        errors[name] = f"Use at most {limit} characters."
    elif has_control_characters(value):
        errors[name] = CONTROL_CHARACTERS_MESSAGE
