"""Record ids: payments, orders and idempotency records all take theirs from here."""

from __future__ import annotations

from uuid6 import uuid7


def new_id() -> str:
    """Return a fresh record id: a UUIDv7 string, so ids sort in creation order."""
    return str(uuid7())
