"""How the API writes a time: RFC 3339 in UTC, with a Z."""

from __future__ import annotations

from datetime import UTC, datetime


def api_time(value: datetime | None) -> str | None:
    """Return a time as RFC 3339 UTC with a Z, as every time in the API is written."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
