"""Which of a merchant's payments to list: the plain query the store and the listing read.

The web layer parses the URL into ``PaymentFilters`` (which also knows how to write itself back
into a query string); what the lookups need from it is this, and nothing of the URL.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from dashboard.domain.payments import Payment, RefundSummary, StatusGroup


@dataclass(frozen=True)
class PaymentQuery:
    """Every criterion optional: a status group, creation instants, a currency, amounts, search,
    and the refund summaries a payment's refunds must have reached (empty: refunds or none).

    ``created_from`` and ``created_before`` are UTC instants, [from, before): the web layer
    makes them from the merchant's local days, so the store never needs to know a zone.
    Either may be None (no bound on that side).
    """

    group: StatusGroup | None = None
    created_from: datetime | None = None
    created_before: datetime | None = None
    currency: str | None = None
    amount_min_minor: int | None = None
    amount_max_minor: int | None = None
    search: str = ""
    refund_summaries: frozenset[RefundSummary] = frozenset()

    @property
    def has_created_range(self) -> bool:
        """Return True when the query bounds the creation time on either side."""
        return self.created_from is not None or self.created_before is not None

    def created_within(self, instant: datetime) -> bool:
        """Return True when ``instant`` is inside [created_from, created_before)."""
        if self.created_from is not None and instant < self.created_from:
            return False
        return self.created_before is None or instant < self.created_before

    @property
    def has_amount_range(self) -> bool:
        """Return True when either amount bound is set."""
        return self.amount_min_minor is not None or self.amount_max_minor is not None

    def refund_matches(self, payment: Payment) -> bool:
        """Return True when the payment's refunds are what the refund filter asks for (if any)."""
        return not self.refund_summaries or payment.refund_summary in self.refund_summaries

    def fingerprint(self) -> str:
        """Return a short digest of the query, to bind a cursor to the list it continues."""
        fields: dict[str, object] = {
            "g": self.group.value if self.group else None,
            "f": self.created_from.isoformat() if self.created_from else None,
            "t": self.created_before.isoformat() if self.created_before else None,
            "c": self.currency,
            "lo": self.amount_min_minor,
            "hi": self.amount_max_minor,
            "q": self.search,
        }
        if self.refund_summaries:
            # Only when set, so that the cursors of lists without it keep their digest.
            fields["r"] = sorted(self.refund_summaries)
        canonical = json.dumps(fields, sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]
