"""CSV export of payments, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from dashboard.domain.money import from_minor
from dashboard.domain.payments import Payment
from dashboard.web.csv_cells import FORMULA_STARTS, escape_cell

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
    buffer = io.StringIO()
    # Every cell quoted, so a separator or line break inside a value never starts a new cell.
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)

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
