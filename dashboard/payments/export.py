"""CSV export of payments, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from dashboard.money import from_minor
from dashboard.payments.model import Payment

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
# A cell starting with one of these is read as a formula by spreadsheet programs (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(value: str) -> str:
    """Return a cell that a spreadsheet shows as text, never runs as a formula."""
    if value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


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
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(HEADER)
    yield flush()
    for payment in payments:
        writer.writerow(payment_row(payment))
        yield flush()
