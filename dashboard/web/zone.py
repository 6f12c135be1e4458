"""The time zone a request shows times in and reads days in: the account's.

Only what is shown and what is typed is local: everything stored is UTC, and the store and the
services are handed UTC instants (``dashboard.domain.timezones.day_bounds``).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import g

from dashboard.domain.timezones import zone_named
from dashboard.web.actor import resolve_actor


def current_zone() -> ZoneInfo:
    """Return the signed-in account's zone; the default zone for a visitor or a payer."""
    if "time_zone" not in g:
        actor = resolve_actor().actor
        g.time_zone = zone_named(actor.time_zone if actor else None)
    return g.time_zone
