"""CSV that is safe to open in a spreadsheet: cells that never run as formulas, streamed."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

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


def iso_time(value: datetime, zone: ZoneInfo) -> str:
    """Return an ISO 8601 time in the merchant's zone, with its offset (``…T15:05:09+01:00``)."""
    return value.astimezone(zone).isoformat()


def spreadsheet_date_time(value: datetime, zone: ZoneInfo) -> tuple[str, str]:
    """Return the local date and time as two cells a spreadsheet reads as a date and a time.

    Spreadsheets parse ``2026-11-22`` and ``15:05:09`` but not an ISO time with an offset, which
    they keep as text: these columns are for sorting and summing, the ISO one for machines.
    """
    local = value.astimezone(zone)
    return local.date().isoformat(), local.strftime("%H:%M:%S")


def csv_text_lines(header: Sequence[str], rows: Iterable[Sequence[str]]) -> Iterator[str]:
    """Yield the CSV text line by line (every cell quoted and escaped), never all in memory."""
    buffer = io.StringIO()
    # Every cell quoted, so a separator or line break inside a value never starts a new cell.
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(header)
    yield flush()
    for row in rows:
        writer.writerow([escape_cell(cell) for cell in row])
        yield flush()
