"""What the audit log is asked to show, read from the URL (page, CSV and API), and who may ask.

The query string is the state, as on the payments list: ``actor`` (``Actor.who``: a person's
``issuer#sub`` or an API key id), ``action`` (an ``AuditAction`` value), ``from`` and ``to``
(the merchant's days, inclusive). Anything unreadable is a message, never a guess.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

from dashboard.domain.audit import AuditAction
from dashboard.domain.timezones import EARLIEST_DAY, LATEST_DAY
from dashboard.services.audit import AuditQuery
from dashboard.web.payment_filters import FilterError

MAX_ACTOR_LENGTH = 300
# The days a filter may name: stored times are fixed-width only for four-digit years, and nothing
# was recorded before the audit log existed.
FIRST_DAY, LAST_DAY = EARLIEST_DAY, LATEST_DAY
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class AuditFilters:
    """The audit log's active filters, as read from the URL."""

    actor: str | None = None
    action: AuditAction | None = None
    date_from: date | None = None
    date_to: date | None = None
    errors: dict[str, str] = field(default_factory=dict, compare=False)

    def query(self, zone: ZoneInfo) -> AuditQuery:
        """Return the service's query for these filters, the days read in ``zone``."""
        return AuditQuery(self.actor, self.action, self.date_from, self.date_to, zone)

    @property
    def is_filtered(self) -> bool:
        """Return True when anything narrows the log."""
        return any((self.actor, self.action, self.date_from, self.date_to))

    def query_args(self, **changes: str | None) -> dict[str, str]:
        """Return the filters as URL arguments (empty ones left out), with ``changes`` applied."""
        args = {
            "actor": self.actor or "",
            "action": self.action.value if self.action else "",
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
        }
        args.update({name: value or "" for name, value in changes.items()})
        return {name: value for name, value in args.items() if value}


def parse_audit_filters(args: Mapping[str, str]) -> AuditFilters:
    """Return the filters the URL asks for; raise FilterError saying what cannot be read."""
    errors: dict[str, str] = {}
    actor = args.get("actor", "").strip() or None
    if actor is not None and (len(actor) > MAX_ACTOR_LENGTH or not actor.isprintable()):
        errors["actor"] = "Choose someone from the list."
    action = None
    raw_action = args.get("action", "").strip()
    if raw_action:
        try:
            action = AuditAction(raw_action)
        except ValueError:
            errors["action"] = "Choose an action from the list."
    date_from = _parse_day(args.get("from", ""), "from", "The start date", errors)
    date_to = _parse_day(args.get("to", ""), "to", "The end date", errors)
    if date_from and date_to and date_from > date_to:
        errors["to"] = "The end date is before the start date."
    if errors:
        raise FilterError(errors)
    return AuditFilters(actor, action, date_from, date_to)


def _parse_day(raw: str, name: str, label: str, errors: dict[str, str]) -> date | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        if not _ISO_DATE.fullmatch(raw):
            raise ValueError(raw)
        day = date.fromisoformat(raw)
    except ValueError:
        errors[name] = f"{label} must be a date like 2026-11-22."
        return None
    if not FIRST_DAY <= day <= LAST_DAY:
        errors[name] = f"{label} must be between 2000 and 2999."
        return None
    return day
