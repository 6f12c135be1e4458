"""CSV export of payments, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator

from dashboard.domain.money import from_minor
from dashboard.domain.payments import Payment

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
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Where a spreadsheet may begin a cell inside one value: at its start, and after a separator or a
# line break when it splits on another separator than ours (``;`` in many locales) and so stops
# honouring the quotes. CSV readers skip quotes there before the cell's text begins.
_CELL_START = re.compile(rf'((?:^|[,;\t\r\n])"*)(?=[{re.escape("".join(FORMULA_STARTS))}])')


def escape_cell(value: str) -> str:
    """Return a cell that a spreadsheet shows as text, never runs as a formula.

    A ``'`` goes before every formula character that could begin a cell: the value's first one,
    as OWASP advises, and one after a ``,`` ``;`` tab or line break (a payer name ``;=1+1``),
    since the file may be split on ``;``. With every cell quoted, nothing else changes.
    """
    return _CELL_START.sub(r"\1'", value)


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
