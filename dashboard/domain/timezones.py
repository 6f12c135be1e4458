"""The merchant's time zone: which zones are offered, local days as UTC instants, local input.

Everything is stored in UTC. A merchant's *day* is the span of UTC instants whose local date is
that day: 23, 24 or 25 hours long around a daylight-saving change. The statistics rollups are
kept per UTC hour, so a local day is the sum of its hours when the zone's offset is a whole
number of hours all year: that is why only those zones are offered (the UK's and the EU's are).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

DEFAULT_ZONE = "Europe/London"
# The days anyone may ask about. Nothing is stored from before 2000, and the zones are checked
# to be whole hours from UTC from then on (Paris was +00:09:21 before 1911); a day far ahead
# would overflow the next day's midnight.
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2999, 12, 31)
# Region prefixes of the IANA names people choose from; "Etc/GMT+5" and the old "US/Eastern"
# style aliases name the same rules and would only make the list longer and stranger.
_REGIONS = (
    "Africa/",
    "America/",
    "Antarctica/",
    "Asia/",
    "Atlantic/",
    "Australia/",
    "Europe/",
    "Indian/",
    "Pacific/",
)


class NonexistentLocalTime(ValueError):
    """Raised for a local time that the clocks skip (a daylight-saving gap)."""


@cache
def offered_zones() -> tuple[str, ...]:
    """Return the zone names offered, each whole hours from UTC all year; sorted by name.

    Checked every day of this year and the next (at noon UTC, and an offset change always
    holds for longer than a day), which catches a half-hour daylight-saving rule too, and every
    week back to ``EARLIEST_DAY``, since a date filter may reach back that far: Caracas was
    UTC−04:30 from 2007 to 2016, so it is not offered.
    """
    year = datetime.now(UTC).year
    start = datetime(year, 1, 1, 12, tzinfo=UTC)
    instants = [start + timedelta(days=n) for n in range(0, 731)]
    past = datetime.combine(EARLIEST_DAY, time(12), UTC)
    instants += [past + timedelta(weeks=n) for n in range((start - past) // timedelta(weeks=1))]
    names = [name for name in available_timezones() if name.startswith(_REGIONS)]
    return ("UTC", *sorted(name for name in names if _whole_hours(ZoneInfo(name), instants)))


def _whole_hours(zone: ZoneInfo, instants: list[datetime]) -> bool:
    for instant in instants:
        offset = instant.astimezone(zone).utcoffset()
        if offset is None or offset.total_seconds() % 3600:
            return False
    return True


def is_offered(name: str) -> bool:
    """Return True when ``name`` is one of the zones a merchant may choose."""
    return name in offered_zones()


def zone_named(name: str | None) -> ZoneInfo:
    """Return the zone called ``name``, or the default zone for a name unknown or not offered."""
    if name and is_offered(name):
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo(DEFAULT_ZONE)


def local_today(now: datetime, zone: ZoneInfo) -> date:
    """Return the merchant's date at the instant ``now``."""
    return now.astimezone(zone).date()


def start_of_day(day: date, zone: ZoneInfo) -> datetime:
    """Return the first instant (UTC) of the local ``day``.

    Where the clocks skip midnight, fold=0 reads 00:00 with the offset in force before the gap,
    which is the instant the day begins (the end of the gap); where midnight happens twice,
    fold=0 is the earlier, which is when the day begins.
    """
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def day_bounds(first: date, last: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Return the UTC instants [start, end) of the local days ``first`` to ``last``, inclusive."""
    return start_of_day(first, zone), start_of_day(last + timedelta(days=1), zone)


def local_to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """Return the UTC instant of a naive local time; the earlier one if the time happens twice.

    Raises NonexistentLocalTime for a time in a daylight-saving gap, such as 01:30 on the last
    Sunday of March in Europe/London, when the clocks go from 01:00 straight to 02:00.
    """
    aware = local.replace(tzinfo=zone, fold=0)
    instant = aware.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise NonexistentLocalTime(
            f"{local:%H:%M} on {local:%-d %b %Y} does not exist in {zone.key}: "
            "the clocks skip it. Choose a time after the change."
        )
    return instant


def offset_label(zone: ZoneInfo, at: datetime) -> str:
    """Return the zone's offset at ``at`` as ``UTC+01:00`` (``UTC+00:00`` when it is zero)."""
    offset = at.astimezone(zone).utcoffset() or timedelta(0)
    sign = "+" if offset >= timedelta(0) else "-"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"
