"""CSV export of the audit log, safe to open in a spreadsheet."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from dashboard.domain.audit import AuditEntry
from dashboard.web.csv_cells import csv_text_lines

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
)


def entry_row(entry: AuditEntry) -> list[str]:
    """Return one CSV row: the ISO time, then who, how, what; before and after as JSON."""
    return [
        entry.at.isoformat(),
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
    ]


def audit_csv_lines(entries: Iterable[AuditEntry]) -> Iterator[str]:
    """Yield the CSV text line by line, so a long log never sits in memory whole."""
    return csv_text_lines(HEADER, (entry_row(entry) for entry in entries))


def _summary(values: dict[str, str]) -> str:
    return json.dumps(values, ensure_ascii=False, sort_keys=True) if values else ""
