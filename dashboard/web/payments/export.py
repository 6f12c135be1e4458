"""CSV export of payments, safe to open in a spreadsheet."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from dashboard.domain.money import from_minor
from dashboard.domain.payments import Payment
from dashboard.web.csv_cells import FORMULA_STARTS, csv_text_lines, escape_cell

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
)


def payment_row(payment: Payment) -> list[str]:
    """Return one CSV row: ISO dates, the amount as a decimal with its currency."""
    cells = [
        payment.payment_id,
        payment.created_at.isoformat(),
        payment.reference,
        str(from_minor(payment.amount_minor, payment.currency)),
        payment.currency,
        payment.status.value,
        payment.payer_name or "",
        payment.payer_email or "",
        payment.expires_at.isoformat(),
        payment.updated_at.isoformat(),
        payment.link_url or "",
    ]
    return [escape_cell(cell) for cell in cells]


def csv_lines(payments: Iterable[Payment]) -> Iterator[str]:
    """Yield the CSV text line by line, so a large export never sits in memory whole."""
    return csv_text_lines(HEADER, (payment_row(payment) for payment in payments))
