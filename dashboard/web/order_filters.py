"""What the merchant asked to see on the orders list: filters and search, read from the URL.

The same vocabulary as the payments list (``status``, ``range``/``from``/``to``, ``currency``,
``q``), read as strictly: anything it cannot read is a message, never a guess. Days are the
merchant's, in the account's zone; the query hands the services UTC instants.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

from dashboard.domain.money import SUPPORTED_CURRENCIES
from dashboard.domain.orders import OrderStatus
from dashboard.domain.search import MAX_SEARCH_LENGTH
from dashboard.domain.timezones import day_bounds
from dashboard.services.orders import OrderQuery
from dashboard.web.payment_filters import PRESET_LABELS, FilterError, parse_created

__all__ = ["FilterError", "OrderFilters", "parse_order_filters"]


@dataclass(frozen=True)
class OrderFilters:
    """The active filters of the orders list; every field optional, any combination allowed."""

    status: OrderStatus | None = None
    date_range: str | None = None  # a preset name, "custom", or None for all time
    date_from: date | None = None  # inclusive local days
    date_to: date | None = None
    currency: str | None = None
    search: str = ""
    errors: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def is_filtered(self) -> bool:
        """Return True when anything narrows the list."""
        return bool(self.status or self.date_from or self.currency or self.search)

    @property
    def folded_count(self) -> int:
        """Return how many of the filters a phone folds away (dates, currency) are set."""
        return sum(map(bool, (self.date_from, self.currency)))

    def query(self, zone: ZoneInfo) -> OrderQuery:
        """Return the service's query: the local days as UTC instants [start, end)."""
        created = None
        if self.date_from and self.date_to:
            created = day_bounds(self.date_from, self.date_to, zone)
        return OrderQuery(
            status=self.status, search=self.search, currency=self.currency, created=created
        )

    def query_args(self, **changes: str | None) -> dict[str, str]:
        """Return the query string that shows these filters (with ``changes`` applied)."""
        custom = self.date_range == "custom"
        args = {
            "status": self.status.value if self.status else None,
            "range": self.date_range,
            "from": self.date_from.isoformat() if custom and self.date_from else None,
            "to": self.date_to.isoformat() if custom and self.date_to else None,
            "currency": self.currency,
            "q": self.search or None,
        }
        args.update(changes)
        return {k: v for k, v in args.items() if v}

    def descriptions(self, zone: ZoneInfo) -> list[tuple[str, dict[str, str]]]:
        """Return each active filter in words, with the query string that removes it."""
        found = []
        if self.status:
            found.append((f"Status: {self.status.label}", self.query_args(status=None)))
        if self.date_from and self.date_to:
            label = PRESET_LABELS.get(self.date_range or "", "")
            span = (
                f"{self.date_from:%-d %b %Y}"
                if self.date_from == self.date_to
                else f"{self.date_from:%-d %b %Y} – {self.date_to:%-d %b %Y}"
            )
            where = zone.key
            text = f"Created: {label} ({span}, {where})" if label else f"Created: {span} ({where})"
            found.append((text, self.query_args(range=None, **{"from": None, "to": None})))
        if self.currency:
            found.append((f"Currency: {self.currency}", self.query_args(currency=None)))
        if self.search:
            found.append((f"Search: “{self.search}”", self.query_args(q=None)))
        return found


def parse_order_filters(args: Mapping[str, str], today: date) -> OrderFilters:
    """Return the filters a query string asks for; raise FilterError listing every problem.

    ``today`` is the merchant's date (presets count back from it).
    """
    date_range, date_from, date_to, errors = parse_created(args, today)
    status = None
    raw_status = args.get("status", "").strip().lower()
    if raw_status and raw_status != "all":
        try:
            status = OrderStatus(raw_status)
        except ValueError:
            names = ", ".join(s.label for s in OrderStatus)
            errors["status"] = f"There is no such order status: choose All, {names}."
    currency = args.get("currency", "").strip().upper() or None
    if currency and currency not in SUPPORTED_CURRENCIES:
        errors["currency"] = f"Unknown currency “{currency[:10]}”: choose GBP or EUR."
        currency = None
    search = " ".join(args.get("q", "").split())
    if len(search) > MAX_SEARCH_LENGTH:
        errors["q"] = f"Search for at most {MAX_SEARCH_LENGTH} characters."
        search = ""
    if errors:
        raise FilterError(errors)
    return OrderFilters(
        status=status,
        date_range=date_range,
        date_from=date_from,
        date_to=date_to,
        currency=currency,
        search=search,
    )
