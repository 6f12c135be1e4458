"""CSV export of orders, through the same spreadsheet-safe writer as payments and the audit log."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from zoneinfo import ZoneInfo

from dashboard.domain.money import from_minor
from dashboard.services.orders import ExportedOrder
from dashboard.web.csv_cells import csv_text_lines, iso_time, spreadsheet_date_time

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
    # As in the payments' export: the local date and time, which spreadsheets read as such.
    "created_date",
    "created_time",
    # Last, so the columns of earlier exports keep their places.
    "refunded_amount",
)


def order_row(exported: ExportedOrder, zone: ZoneInfo) -> list[str]:
    """Return one CSV row: ISO times in ``zone``, amounts as decimals in the order's currency."""
    order = exported.order
    return [
        order.order_id,
        order.number_label,
        iso_time(order.created_at, zone),
        order.customer_name,
        order.customer_email,
        order.product_name,
        str(order.quantity),
        str(from_minor(order.unit_price_minor, order.currency)),
        str(from_minor(order.total_minor, order.currency)),
        order.currency,
        order.status.value,
        order.payment_id or "",
        iso_time(order.updated_at, zone),
        *spreadsheet_date_time(order.created_at, zone),
        str(from_minor(exported.refunded_minor, order.currency)),
    ]


def order_csv_lines(orders: Iterable[ExportedOrder], zone: ZoneInfo) -> Iterator[str]:
    """Yield the CSV text line by line, so a large export never sits in memory whole."""
    return csv_text_lines(HEADER, (order_row(exported, zone) for exported in orders))
