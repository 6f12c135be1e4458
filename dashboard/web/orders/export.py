"""CSV export of orders, through the same spreadsheet-safe writer as payments and the audit log."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from dashboard.domain.money import from_minor
from dashboard.domain.orders import Order
from dashboard.web.csv_cells import csv_text_lines

HEADER = (
    "order_id",
    "order_number",
    "created_at",
    "customer_name",
    "customer_email",
    "product",
    "quantity",
    "unit_price",
    "total",
    "currency",
    "status",
    "payment_id",
    "updated_at",
)


def order_row(order: Order) -> list[str]:
    """Return one CSV row: ISO times, amounts as decimals in the order's currency."""
    return [
        order.order_id,
        order.number_label,
        order.created_at.isoformat(),
        order.customer_name,
        order.customer_email,
        order.product_name,
        str(order.quantity),
        str(from_minor(order.unit_price_minor, order.currency)),
        str(from_minor(order.total_minor, order.currency)),
        order.currency,
        order.status.value,
        order.payment_id or "",
        order.updated_at.isoformat(),
    ]


def order_csv_lines(orders: Iterable[Order]) -> Iterator[str]:
    """Yield the CSV text line by line, so a large export never sits in memory whole."""
    return csv_text_lines(HEADER, (order_row(order) for order in orders))
