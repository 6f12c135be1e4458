"""Payment statistics from the per-hour rollups: few items read, whatever the account's size.

A payment counts on the merchant's local day it was created (in the account's zone), in the
status it has now. A local day is the sum of its UTC hours' rollups, so a daylight-saving day
of 23 or 25 hours is exact and no zone needs items of its own. Currencies are never added
together: every figure is per currency. Refunds count on the day their payment was created,
as every other figure does: a refund made this week of a payment from last month changes last
month's figures, so a period's net volume is what its own payments brought in and kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from zoneinfo import ZoneInfo

from dashboard.core.side_reads import SideReads
from dashboard.domain.money import SUPPORTED_CURRENCIES, from_minor, minor_digits
from dashboard.domain.payments import PaymentStatus, StatusGroup
from dashboard.domain.timezones import EARLIEST_DAY, LATEST_DAY, day_bounds
from dashboard.store.rollups import Rollup, RollupRepository, cover

PRESET_DAYS = (7, 14, 30, 90)
MAX_DAYS = 366
# Links that never reached the payer are not "links created" for conversion.
_NOT_A_LINK = (PaymentStatus.CREATION_FAILED, PaymentStatus.CREATING)


class StatsRangeError(ValueError):
    """Raised when the requested range cannot be shown; the message says why."""


@dataclass(frozen=True)
class StatsRange:
    """Inclusive local days of ``zone``, and the period of the same length just before them."""

    first: date
    last: date
    zone: ZoneInfo
    preset: int | None = None

    @property
    def days(self) -> int:
        """Return how many days the range holds."""
        return (self.last - self.first).days + 1

    @property
    def previous(self) -> StatsRange:
        """Return the period of the same length that ends the day before this one starts."""
        last = self.first - timedelta(days=1)
        return StatsRange(last - timedelta(days=self.days - 1), last, self.zone)

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        """Return the UTC instants [start, end) the range's local days cover."""
        return day_bounds(self.first, self.last, self.zone)

    def each_day(self) -> list[date]:
        """Return every day of the range, in order."""
        return [self.first + timedelta(days=n) for n in range(self.days)]


def parse_stats_range(args: Mapping[str, str], today: date, zone: ZoneInfo) -> StatsRange:
    """Return the range asked for (default: the last 30 days); raise StatsRangeError.

    ``today`` is the merchant's date in ``zone`` (``local_today``), and every day is of ``zone``.
    """
    raw_days = (args.get("days") or "").strip()
    raw_from, raw_to = (args.get("from") or "").strip(), (args.get("to") or "").strip()
    if raw_from or raw_to:
        try:
            first = date.fromisoformat(raw_from) if raw_from else None
            last = date.fromisoformat(raw_to) if raw_to else today
        except ValueError:
            raise StatsRangeError("Dates must look like 2026-11-22.") from None
        if first is None:
            raise StatsRangeError("Choose a start date.")
        if first < EARLIEST_DAY:
            raise StatsRangeError(f"Choose a start date from {EARLIEST_DAY.isoformat()} on.")
        if last > LATEST_DAY:
            raise StatsRangeError(f"Choose an end date up to {LATEST_DAY.isoformat()}.")
        if first > last:
            raise StatsRangeError("The end date is before the start date.")
        if (last - first).days + 1 > MAX_DAYS:
            raise StatsRangeError(f"Choose at most {MAX_DAYS} days.")
        return StatsRange(first, last, zone)
    if not raw_days:
        return StatsRange(today - timedelta(days=29), today, zone, 30)
    # ASCII digits only: "²".isdigit() is True, yet int("²") fails.
    if not (raw_days.isascii() and raw_days.isdigit()) or int(raw_days) not in PRESET_DAYS:
        raise StatsRangeError("Choose 7, 14, 30 or 90 days, or a start and end date.")
    days = int(raw_days)
    return StatsRange(today - timedelta(days=days - 1), today, zone, days)


def _zeros() -> dict[PaymentStatus, int]:
    return dict.fromkeys(PaymentStatus, 0)


@dataclass
class CurrencyTotals:
    """The counters of one currency over a period."""

    counts: dict[PaymentStatus, int] = field(
        default_factory=lambda: dict.fromkeys(PaymentStatus, 0)
    )
    amounts_minor: dict[PaymentStatus, int] = field(
        default_factory=lambda: dict.fromkeys(PaymentStatus, 0)
    )
    attempts: int = 0
    attempts_succeeded: int = 0
    refunds_executed: int = 0
    refunded_minor: int = 0

    def add(self, rollup: Rollup, sign: int = 1) -> None:
        """Add one rollup (a day's or an hour's); ``sign`` −1 takes it away."""
        for status in PaymentStatus:
            self.counts[status] += sign * rollup.counts.get(status, 0)
            self.amounts_minor[status] += sign * rollup.amounts_minor.get(status, 0)
        self.attempts += sign * rollup.attempts
        self.attempts_succeeded += sign * rollup.attempts_succeeded
        self.refunds_executed += sign * rollup.refunds_executed
        self.refunded_minor += sign * rollup.refunded_minor

    def add_totals(self, other: CurrencyTotals) -> None:
        """Add another period's totals (a day's to its range's)."""
        for status in PaymentStatus:
            self.counts[status] += other.counts[status]
            self.amounts_minor[status] += other.amounts_minor[status]
        self.attempts += other.attempts
        self.attempts_succeeded += other.attempts_succeeded
        self.refunds_executed += other.refunds_executed
        self.refunded_minor += other.refunded_minor

    @property
    def links_created(self) -> int:
        """Return how many links reached the point of being shareable."""
        return sum(n for s, n in self.counts.items() if s not in _NOT_A_LINK)

    @property
    def completed(self) -> int:
        """Return how many payments completed."""
        return self.counts[PaymentStatus.COMPLETED]

    @property
    def completed_minor(self) -> int:
        """Return the completed volume in minor units."""
        return self.amounts_minor[PaymentStatus.COMPLETED]

    @property
    def net_minor(self) -> int:
        """Return the completed volume less what executed refunds gave back, in minor units."""
        return self.completed_minor - self.refunded_minor

    def by_group(self) -> dict[StatusGroup, int]:
        """Return the payment count of each status group."""
        groups = dict.fromkeys(StatusGroup, 0)
        for status, count in self.counts.items():
            groups[status.group] += count
        return groups

    @property
    def total(self) -> int:
        """Return how many payments were created in the period."""
        return sum(self.counts.values())


def ratio(numerator: int, denominator: int) -> Decimal | None:
    """Return numerator ÷ denominator as a Decimal fraction, or None when undefined."""
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(Decimal("0.0001"))


def change(current: int | Decimal | None, previous: int | Decimal | None) -> Decimal | None:
    """Return the relative change from previous to current, or None when undefined."""
    if current is None or previous in (None, 0):
        return None
    return ((Decimal(current) - Decimal(previous)) / Decimal(previous)).quantize(Decimal("0.0001"))


@dataclass(frozen=True)
class CurrencyStatistics:
    """Everything the statistics page shows for one currency."""

    currency: str
    current: CurrencyTotals
    previous: CurrencyTotals
    volume_by_day: list[tuple[date, int]]
    groups_by_day: list[tuple[date, dict[StatusGroup, int]]]

    @property
    def conversion(self) -> Decimal | None:
        """Return completed ÷ links created."""
        return ratio(self.current.completed, self.current.links_created)

    @property
    def attempt_success(self) -> Decimal | None:
        """Return successful attempts ÷ attempts."""
        return ratio(self.current.attempts_succeeded, self.current.attempts)

    @property
    def average_completed(self) -> Decimal | None:
        """Return the average completed amount, rounded to the currency's minor unit."""
        if not self.current.completed:
            return None
        exponent = Decimal(1).scaleb(-minor_digits(self.currency))
        average = from_minor(self.current.completed_minor, self.currency) / self.current.completed
        return average.quantize(exponent, rounding=ROUND_HALF_EVEN)

    @property
    def volume_change(self) -> Decimal | None:
        """Return the completed volume's change against the previous period."""
        return change(self.current.completed_minor, self.previous.completed_minor)

    @property
    def count_change(self) -> Decimal | None:
        """Return the change in completed payments against the previous period."""
        return change(self.current.completed, self.previous.completed)

    @property
    def refunded_change(self) -> Decimal | None:
        """Return the refunded volume's change against the previous period."""
        return change(self.current.refunded_minor, self.previous.refunded_minor)

    @property
    def refund_count_change(self) -> Decimal | None:
        """Return the change in executed refunds against the previous period."""
        return change(self.current.refunds_executed, self.previous.refunds_executed)

    @property
    def net_change(self) -> Decimal | None:
        """Return the net volume's change against the previous period."""
        return change(self.current.net_minor, self.previous.net_minor)

    @property
    def conversion_change(self) -> Decimal | None:
        """Return the conversion's change against the previous period."""
        previous = ratio(self.previous.completed, self.previous.links_created)
        return change(self.conversion, previous)


@dataclass(frozen=True)
class Statistics:
    """The statistics page's figures: per currency, never mixed."""

    period: StatsRange
    currencies: list[CurrencyStatistics]
    computed_at: datetime

    @property
    def is_empty(self) -> bool:
        """Return True when no payment was created in the period or the one before."""
        return all(c.current.total == 0 and c.previous.total == 0 for c in self.currencies)


def payment_statistics(
    rollups: RollupRepository,
    user_id: str,
    period: StatsRange,
    now: datetime,
    side_reads: SideReads | None = None,
) -> Statistics:
    """Return the statistics of a period and the one before it, from two reads of rollups.

    Each local day (in the period's zone; every offered zone is whole hours from UTC) is its
    UTC day's rollup plus or minus the hours between UTC and local midnight (``cover``). The
    period before is only ever summed, so it is one span: its days and the hours at its two
    ends. A 90-day view reads about 180 day items and 90 midnights' hours per currency,
    however busy the account.
    """
    previous = period.previous
    before_span = cover(*day_bounds(previous.first, previous.last, period.zone))
    spans = {day: cover(*day_bounds(day, day, period.zone)) for day in period.each_day()}
    read = rollups.covering(
        user_id, [before_span, *spans.values()], SUPPORTED_CURRENCIES, side_reads
    )
    currencies = []
    for currency in SUPPORTED_CURRENCIES:
        current, before = CurrencyTotals(), CurrencyTotals()
        for sign, rollup in read.pieces(before_span, currency):
            before.add(rollup, sign)
        volume, groups = [], []
        for day, span in spans.items():
            day_totals = CurrencyTotals()
            for sign, rollup in read.pieces(span, currency):
                day_totals.add(rollup, sign)
            current.add_totals(day_totals)
            volume.append((day, day_totals.completed_minor))
            groups.append((day, day_totals.by_group()))
        currencies.append(CurrencyStatistics(currency, current, before, volume, groups))
    return Statistics(period, currencies, now)


class StatisticsService:
    """The statistics use case for the page and the API, over one merchant's rollups."""

    def __init__(self, rollups: RollupRepository, side_reads: SideReads | None = None):
        self._rollups = rollups
        self._side_reads = side_reads

    def for_period(self, user_id: str, period: StatsRange, now: datetime) -> Statistics:
        """Return the merchant's statistics of a period, compared with the period before it."""
        return payment_statistics(self._rollups, user_id, period, now, self._side_reads)
