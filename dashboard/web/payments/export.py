"""CSV export of payments, safe to open in a spreadsheet."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from zoneinfo import ZoneInfo

from dashboard.domain.money import from_minor
from dashboard.domain.payments import Payment
from dashboard.web.csv_cells import (
    FORMULA_STARTS,
    csv_text_lines,
    escape_cell,
    iso_time,
    spreadsheet_date_time,
)

__all__ = ["FORMULA_STARTS", "HEADER", "csv_lines", "escape_cell", "payment_row"]

HEADER = (
    "payment_id",
    "created_at",
    "reference",
    "amount",
    "currency",
    "status",
    "payer_name",
    "payer_email",
    "expires_at",
    "updated_at",
    "link_url",
    # Last, so that readers of the earlier columns by position keep working.
    "created_date",
    "created_time",
    # Added after those, for the same reason: what executed refunds gave back (0.00 without
    # any), and the payment's refund summary (empty when no refund was asked for).
    "refunded_amount",
    "refund_status",
)


def payment_row(payment: Payment, zone: ZoneInfo) -> list[str]:
    """Return one CSV row: ISO times in ``zone``, amounts as decimals with their currency."""
    cells = [
        payment.payment_id,
        iso_time(payment.created_at, zone),
        payment.reference,
        str(from_minor(payment.amount_minor, payment.currency)),
        payment.currency,
        payment.status.value,
        payment.payer_name or "",
        payment.payer_email or "",
        iso_time(payment.expires_at, zone),
        iso_time(payment.updated_at, zone),
        payment.link_url or "",
        *spreadsheet_date_time(payment.created_at, zone),
        str(from_minor(payment.refunded_minor, payment.currency)),
        payment.refund_summary.value if payment.refund_summary else "",
    ]
    return [escape_cell(cell) for cell in cells]


def csv_lines(payments: Iterable[Payment], zone: ZoneInfo) -> Iterator[str]:
    """Yield the CSV text line by line, so a large export never sits in memory whole."""
    return csv_text_lines(HEADER, (payment_row(payment, zone) for payment in payments))
