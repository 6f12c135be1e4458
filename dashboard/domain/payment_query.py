"""Which of a merchant's payments to list: the plain query the store and the listing read.

The web layer parses the URL into ``PaymentFilters`` (which also knows how to write itself back
into a query string); what the lookups need from it is this, and nothing of the URL.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date

from dashboard.domain.payments import StatusGroup


@dataclass(frozen=True)
class PaymentQuery:
    """Every criterion optional: a status group, UTC days, a currency, amounts, search text."""

    group: StatusGroup | None = None
    date_from: date | None = None  # inclusive UTC days; both set or neither
    date_to: date | None = None
    currency: str | None = None
    amount_min_minor: int | None = None
    amount_max_minor: int | None = None
    search: str = ""

    @property
    def days(self) -> tuple[date, date] | None:
        """Return the first and last UTC day asked for, or None when the query names no days."""
        if self.date_from is None or self.date_to is None:
            return None
        return self.date_from, self.date_to

    @property
    def has_amount_range(self) -> bool:
        """Return True when either amount bound is set."""
        return self.amount_min_minor is not None or self.amount_max_minor is not None

    def fingerprint(self) -> str:
        """Return a short digest of the query, to bind a cursor to the list it continues."""
        canonical = json.dumps(
            {
                "g": self.group.value if self.group else None,
                "f": self.date_from.isoformat() if self.date_from else None,
                "t": self.date_to.isoformat() if self.date_to else None,
                "c": self.currency,
                "lo": self.amount_min_minor,
                "hi": self.amount_max_minor,
                "q": self.search,
            },
            sort_keys=True,
        )
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]
