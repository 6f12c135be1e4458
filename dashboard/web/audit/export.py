"""CSV export of the audit log, safe to open in a spreadsheet."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from zoneinfo import ZoneInfo

from dashboard.domain.audit import AuditEntry
from dashboard.web.csv_cells import csv_text_lines, iso_time, spreadsheet_date_time

HEADER = (
    "at",
    "actor",
    "actor_label",
    "via",
    "ip_address",
    "action",
    "target_type",
    "target_id",
    "target_label",
    "before",
    "after",
    "entry_id",
    # Last, so that readers of the earlier columns by position keep working.
    "date",
    "time",
)


def entry_row(entry: AuditEntry, zone: ZoneInfo) -> list[str]:
    """Return one CSV row: the ISO time in ``zone``, who, how, what; before and after as JSON."""
    return [
        iso_time(entry.at, zone),
        entry.actor or "",
        entry.actor_label or "",
        entry.via.value,
        entry.ip_address or "",
        entry.action.value,
        entry.target_type,
        entry.target_id,
        entry.target_label or "",
        _summary(entry.before),
        _summary(entry.after),
        entry.entry_id,
        *spreadsheet_date_time(entry.at, zone),
    ]


def audit_csv_lines(entries: Iterable[AuditEntry], zone: ZoneInfo) -> Iterator[str]:
    """Yield the CSV text line by line, so a long log never sits in memory whole."""
    return csv_text_lines(HEADER, (entry_row(entry, zone) for entry in entries))


def _summary(values: dict[str, str]) -> str:
    return json.dumps(values, ensure_ascii=False, sort_keys=True) if values else ""
