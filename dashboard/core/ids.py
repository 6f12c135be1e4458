"""Record ids: payments, orders and idempotency records all take theirs from here.

A UUIDv7 begins with its creation time in milliseconds (48 bits, the first 12 hex digits), so
the ids of a span of time are one range of strings: a date filter is a key range on the id.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from uuid6 import uuid7


def new_id() -> str:
    """Return a fresh record id: a UUIDv7 string, so ids sort in creation order."""
    return str(uuid7())


def id_minted_at(instant: datetime) -> str:
    """Return a fresh UUIDv7 string as if minted at ``instant`` (demo data from the past).

    The time is the instant's; the rest is random, as ``new_id``'s (version 7, RFC variant).
    """
    return _uuid7(_millis(instant), secrets.token_hex(10))


def id_derived_at(instant: datetime, name: str) -> str:
    """Return the UUIDv7 string of ``instant`` whose other bits are derived from ``name``.

    The same instant and name always give the same id (a record written again, such as a
    change sent once more, keeps its id); it still sorts by time like ``new_id``'s.
    """
    return _uuid7(_millis(instant), hashlib.sha256(name.encode()).hexdigest()[:20])


def _uuid7(millis: int, tail: str) -> str:
    """Return a UUIDv7 string of ``millis`` with its other bits from 20 hex digits ``tail``."""
    variant = "89ab"[int(tail[3], 16) % 4]
    return f"{_time_prefix(millis)}-7{tail[:3]}-{variant}{tail[4:7]}-{tail[8:20]}"


def _millis(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)


def _time_prefix(millis: int) -> str:
    digits = f"{millis:012x}"
    return f"{digits[:8]}-{digits[8:]}"


def id_time(record_id: str) -> datetime:
    """Return the instant (UTC, to the millisecond) a UUIDv7 id was minted at."""
    digits = record_id[:8] + record_id[9:13]
    return datetime.fromtimestamp(int(digits, 16) / 1000, UTC)


def id_range(start: datetime, end: datetime) -> tuple[str, str]:
    """Return the lowest and highest UUIDv7 strings minted in [start, end), for BETWEEN.

    Lower-case, as ``new_id`` writes them; the range is empty (low > high) when end <= start.
    """
    low = _time_prefix(_millis(start)) + "-0000-0000-000000000000"
    high = _time_prefix(_millis(end) - 1) + "-ffff-ffff-ffffffffffff"
    return low, high
