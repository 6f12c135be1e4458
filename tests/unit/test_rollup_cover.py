"""A span of whole UTC hours read as UTC days plus and minus a few hours: exactly its hours.

What lets a 90-day statistics view read about one day item a day (and an hour or two at each
local midnight in the UK and the EU) instead of 24 hour items, however busy the account.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.domain.timezones import day_bounds
from dashboard.store.rollups import cover

HOUR = timedelta(hours=1)
BASE = datetime(2026, 1, 1, tzinfo=UTC)


def _hours_of(span) -> Counter:
    """Return each UTC hour the cover counts, with how many times it is counted."""
    counted: Counter = Counter()
    for day in span.days:
        midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
        counted.update(midnight + n * HOUR for n in range(24))
    counted.update(span.plus)
    counted.subtract(span.minus)
    return +counted  # drop hours counted zero times


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 24 * 400), st.integers(0, 24 * 120))
def test_a_cover_counts_every_hour_of_its_span_once_and_nothing_else(start_hour, length):
    start = BASE + start_hour * HOUR
    end = start + length * HOUR
    expected = Counter(start + n * HOUR for n in range(length))
    assert _hours_of(cover(start, end)) == expected


def test_a_paris_day_is_one_utc_day_and_an_hour_at_each_end():
    """2 June 2026 in Paris (UTC+2) runs from 22:00 UTC on 1 June to 22:00 UTC on 2 June."""
    span = cover(*day_bounds(date(2026, 6, 2), date(2026, 6, 2), ZoneInfo("Europe/Paris")))
    assert span.days == (date(2026, 6, 2),)
    assert span.plus == (datetime(2026, 6, 1, 22, tzinfo=UTC), datetime(2026, 6, 1, 23, tzinfo=UTC))
    assert span.minus == (
        datetime(2026, 6, 2, 22, tzinfo=UTC),
        datetime(2026, 6, 2, 23, tzinfo=UTC),
    )


def test_a_london_winter_day_is_its_utc_day_alone():
    span = cover(*day_bounds(date(2026, 12, 1), date(2026, 12, 1), ZoneInfo("Europe/London")))
    assert (span.days, span.plus, span.minus) == ((date(2026, 12, 1),), (), ())


def test_ninety_days_in_paris_need_about_one_day_and_two_hours_a_day():
    paris = ZoneInfo("Europe/Paris")
    days = [date(2026, 3, 1) + timedelta(days=n) for n in range(180)]  # across the spring change
    spans = [cover(*day_bounds(day, day, paris)) for day in days]
    assert len({d for s in spans for d in s.days}) == 180
    hours = {h for s in spans for h in (*s.plus, *s.minus)}
    assert len(hours) <= 2 * 181  # one or two per local midnight, shared by the days either side
