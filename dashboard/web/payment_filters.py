"""What the merchant asked to see on the payments list: filters and search, read from the URL.

The query string is the state (reload, back button and bookmarks restore exactly what was shown),
so parsing is strict: anything it cannot read is a clear message, never a guess.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from dashboard.domain.money import SUPPORTED_CURRENCIES, InvalidAmount, parse_amount, to_minor
from dashboard.domain.payment_query import PaymentQuery
from dashboard.domain.payments import RefundSummary, StatusGroup
from dashboard.domain.search import MAX_SEARCH_LENGTH
from dashboard.domain.timezones import (
    EARLIEST_DAY,
    LATEST_DAY,
    day_bounds,
    local_today,
    zone_named,
)
from dashboard.web.zone import current_zone

DATE_PRESETS = {"today": 1, "7d": 7, "30d": 30, "90d": 90}
PRESET_LABELS = {"today": "Today", "7d": "7 days", "30d": "30 days", "90d": "90 days"}
MAX_RANGE_DAYS = 3660
ANY_REFUND = "any"
# The Refunds choices, by their value in the URL: "any" is every payment a refund was asked for
# (failed refunds too); the others are refund summaries.
REFUND_CHOICES: dict[str, str] = {
    ANY_REFUND: "Any refund",
    **{
        summary.value: summary.label
        for summary in (
            RefundSummary.REFUNDED,
            RefundSummary.PARTLY_REFUNDED,
            RefundSummary.PENDING,
        )
    },
}


class FilterError(ValueError):
    """Raised when the URL asks for something that cannot be shown; says what and why."""

    def __init__(self, messages: dict[str, str]):
        super().__init__("; ".join(messages.values()))
        self.messages = messages


@dataclass(frozen=True)
class PaymentFilters:
    """The active filters; every field optional, any combination allowed."""

    group: StatusGroup | None = None
    date_range: str | None = None  # a preset name, "custom", or None for all time
    date_from: date | None = None  # inclusive local days of ``zone``
    date_to: date | None = None
    currency: str | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    search: str = ""
    refund: str | None = None  # a key of REFUND_CHOICES
    zone: ZoneInfo = field(default_factory=lambda: zone_named(None))  # the days' zone
    errors: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def amount_min_minor(self) -> int | None:
        """Return the lower amount bound in minor units (both currencies have two digits)."""
        return None if self.amount_min is None else to_minor(self.amount_min, "GBP")

    @property
    def amount_max_minor(self) -> int | None:
        """Return the upper amount bound in minor units."""
        return None if self.amount_max is None else to_minor(self.amount_max, "GBP")

    @property
    def refund_summaries(self) -> frozenset[RefundSummary]:
        """Return the refund summaries the Refunds choice lists (empty: no refund filter)."""
        if self.refund is None:
            return frozenset()
        if self.refund == ANY_REFUND:
            return frozenset(RefundSummary)
        return frozenset({RefundSummary(self.refund)})

    @property
    def is_filtered(self) -> bool:
        """Return True when anything narrows the list."""
        return bool(self.group or self.date_from or self.currency or self.search) or (
            self.amount_min is not None or self.amount_max is not None or self.refund is not None
        )

    @property
    def folded_count(self) -> int:
        """Return how many folded filters (dates, currency, amounts, refunds) are set."""
        amounts = self.amount_min is not None or self.amount_max is not None
        return sum(map(bool, (self.date_from, self.currency, amounts, self.refund)))

    def query_args(self, **changes: str | None) -> dict[str, str]:
        """Return the query string that shows these filters (with ``changes`` applied)."""
        custom = self.date_range == "custom"
        args = {
            "status": self.group.value if self.group else None,
            "range": self.date_range,
            "from": self.date_from.isoformat() if custom and self.date_from else None,
            "to": self.date_to.isoformat() if custom and self.date_to else None,
            "currency": self.currency,
            "min": str(self.amount_min) if self.amount_min is not None else None,
            "max": str(self.amount_max) if self.amount_max is not None else None,
            "refund": self.refund,
            "q": self.search or None,
        }
        args.update(changes)
        return {k: v for k, v in args.items() if v}

    @property
    def query(self) -> PaymentQuery:
        """Return what the lookups need from these filters, without the URL's vocabulary.

        The local days become UTC instants here, in the merchant's zone; an end date alone
        leaves the start open.
        """
        created_from = created_before = None
        if self.date_from and self.date_to:
            created_from, created_before = day_bounds(self.date_from, self.date_to, self.zone)
            if self.date_from <= EARLIEST_DAY:
                created_from = None
        return PaymentQuery(
            group=self.group,
            created_from=created_from,
            created_before=created_before,
            currency=self.currency,
            amount_min_minor=self.amount_min_minor,
            amount_max_minor=self.amount_max_minor,
            search=self.search,
            refund_summaries=self.refund_summaries,
        )

    def fingerprint(self) -> str:
        """Return a short digest of the filters, to bind a cursor to the list it continues."""
        return self.query.fingerprint()

    def descriptions(self) -> list[tuple[str, dict[str, str]]]:
        """Return each active filter in words, with the query string that removes it."""
        found = []
        if self.group:
            found.append((f"Status: {self.group.label}", self.query_args(status=None)))
        if self.date_from:
            label = PRESET_LABELS.get(self.date_range or "", "")
            span = (
                f"{self.date_from:%-d %b %Y}"
                if self.date_from == self.date_to
                else f"{self.date_from:%-d %b %Y} – {self.date_to:%-d %b %Y}"
            )
            text = f"Created: {label} ({span})" if label else f"Created: {span}"
            found.append((text, self.query_args(range=None, **{"from": None, "to": None})))
        if self.currency:
            found.append((f"Currency: {self.currency}", self.query_args(currency=None)))
        if self.amount_min is not None or self.amount_max is not None:
            low = f"{self.amount_min}" if self.amount_min is not None else "0"
            high = f"{self.amount_max}" if self.amount_max is not None else "any"
            found.append((f"Amount: {low} – {high}", self.query_args(min=None, max=None)))
        if self.refund:
            found.append((f"Refunds: {REFUND_CHOICES[self.refund]}", self.query_args(refund=None)))
        if self.search:
            found.append((f"Search: “{self.search}”", self.query_args(q=None)))
        return found


def parse_filters(args: Mapping[str, str], today: date, zone: ZoneInfo) -> PaymentFilters:
    """Return the filters a query string asks for; raise FilterError listing every problem.

    ``today`` is the merchant's date in ``zone`` (``local_today``): presets end on it, and
    every day typed or implied is a day of that zone.
    """
    errors: dict[str, str] = {}
    group = _parse_group(args.get("status", ""), errors)
    date_range, date_from, date_to = _parse_dates(args, today, errors)
    currency = args.get("currency", "").strip().upper() or None
    if currency and currency not in SUPPORTED_CURRENCIES:
        errors["currency"] = f"Unknown currency “{currency[:10]}”: choose GBP or EUR."
        currency = None
    amount_min = _parse_bound(args.get("min", ""), "min", "From amount", errors)
    amount_max = _parse_bound(args.get("max", ""), "max", "To amount", errors)
    if amount_min is not None and amount_max is not None and amount_min > amount_max:
        errors["max"] = "The “to” amount is smaller than the “from” amount."
    refund = _parse_refund(args.get("refund", ""), errors)
    search = " ".join(args.get("q", "").split())
    if len(search) > MAX_SEARCH_LENGTH:
        errors["q"] = f"Search for at most {MAX_SEARCH_LENGTH} characters."
        search = ""
    filters = PaymentFilters(
        group=group,
        date_range=date_range,
        date_from=date_from,
        date_to=date_to,
        currency=currency,
        amount_min=amount_min,
        amount_max=amount_max,
        search=search,
        refund=refund,
        zone=zone,
        errors=errors,
    )
    if errors:
        raise FilterError(errors)
    return filters


def merchant_filters(args: Mapping[str, str], now: datetime) -> PaymentFilters:
    """Return the filters of a request, its days read in the signed-in account's zone."""
    zone = current_zone()
    return parse_filters(args, local_today(now, zone), zone)


def parse_created(
    args: Mapping[str, str], today: date
) -> tuple[str | None, date | None, date | None, dict[str, str]]:
    """Return the ``range``, ``from`` and ``to`` a query string asks for, with any problems.

    The same reading for every list with a Created filter (payments, orders): a preset name
    counts back from ``today``, custom days are inclusive, only ``to`` means up to that day.
    """
    errors: dict[str, str] = {}
    date_range, date_from, date_to = _parse_dates(args, today, errors)
    return date_range, date_from, date_to, errors


def _parse_group(raw: str, errors: dict[str, str]) -> StatusGroup | None:
    raw = raw.strip().lower()
    if not raw or raw == "all":
        return None
    try:
        return StatusGroup(raw)
    except ValueError:
        errors["status"] = "Unknown status: choose All, Pending, Completed, Failed or Ended."
        return None


def _parse_refund(raw: str, errors: dict[str, str]) -> str | None:
    raw = raw.strip().lower()
    if not raw or raw == "all":
        return None
    if raw not in REFUND_CHOICES:
        *others, last = REFUND_CHOICES.values()
        errors["refund"] = f"Unknown refund filter: choose {', '.join(others)} or {last}."
        return None
    return raw


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


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
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        errors[name] = f"{label} must be from {EARLIEST_DAY:%-d %b %Y} to {LATEST_DAY:%-d %b %Y}."
        return None
    return day


def _parse_dates(
    args: Mapping[str, str], today: date, errors: dict[str, str]
) -> tuple[str | None, date | None, date | None]:
    preset = args.get("range", "").strip().lower()
    if preset in DATE_PRESETS:
        return preset, today - timedelta(days=DATE_PRESETS[preset] - 1), today
    if preset not in ("", "all", "custom"):
        errors["range"] = "Unknown date range: choose Today, 7 days, 30 days, 90 days or dates."
        return None, None, None
    date_from = _parse_day(args.get("from", ""), "from", "The start date", errors)
    date_to = _parse_day(args.get("to", ""), "to", "The end date", errors)
    if date_from is None and date_to is None:
        return None, None, None
    both_given = date_from is not None and date_to is not None
    date_from = date_from or EARLIEST_DAY  # only an end date: everything up to it
    date_to = date_to or today
    if date_from > date_to:
        errors["to"] = "The end date is before the start date."
    elif both_given and (date_to - date_from).days > MAX_RANGE_DAYS:
        errors["from"] = "Choose a range of at most ten years."
    return "custom", date_from, date_to


def _parse_bound(raw: str, name: str, label: str, errors: dict[str, str]) -> Decimal | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        # Both currencies have two minor digits; the bound applies to whichever is shown.
        return parse_amount(raw, "GBP")
    except InvalidAmount as exc:
        errors[name] = f"{label}: {exc}"
        return None
