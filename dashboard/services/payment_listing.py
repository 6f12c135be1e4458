"""Finding payments: the list page's use cases (page, status counts, export).

Routes hand in a validated query; this plans the indexed lookups, continues from a cursor, and
reads the status counts from rollups, never from the payments themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from dashboard.domain.payment_query import PaymentQuery
from dashboard.domain.payments import Payment, StatusGroup
from dashboard.domain.search import SearchTerms, parse_search
from dashboard.store.cursors import CursorCodec, InvalidCursor
from dashboard.store.finder import PaymentFinder
from dashboard.store.rollups import RollupRepository

PAGE_SIZE = 25

__all__ = ["PAGE_SIZE", "InvalidCursor", "PaymentListing"]


@dataclass(frozen=True)
class StatusCounts:
    """How many payments each status group holds, for the active dates and currency."""

    by_group: dict[StatusGroup, int]

    @property
    def total(self) -> int:
        """Return the count of every group together."""
        return sum(self.by_group.values())


@dataclass(frozen=True)
class PaymentListPage:
    """One page of the list, with what is needed to show and continue it."""

    payments: list[Payment]
    next_cursor: str | None
    terms: SearchTerms
    plan: str
    words_truncated: bool
    items_read: int


class PaymentListing:
    """Lists, counts and exports one merchant's payments."""

    def __init__(self, finder: PaymentFinder, rollups: RollupRepository, cursors: CursorCodec):
        self._finder = finder
        self._rollups = rollups
        self._cursors = cursors

    def find_page(
        self,
        user_id: str,
        query: PaymentQuery,
        cursor: str | None = None,
        page_size: int = PAGE_SIZE,
    ) -> PaymentListPage:
        """Return the page of payments after ``cursor``; raise InvalidCursor for a bad one."""
        fingerprint = query.fingerprint()
        state = self._cursors.decode(cursor, user_id, fingerprint) if cursor else None
        terms = parse_search(query.search)
        plan = self._finder.plan(user_id, query, terms)
        found = self._finder.find(plan, query, terms, state, page_size)
        next_cursor = (
            self._cursors.encode(found.next_state, user_id, fingerprint)
            if found.next_state
            else None
        )
        return PaymentListPage(
            payments=found.payments,
            next_cursor=next_cursor,
            terms=terms,
            plan=plan.description,
            words_truncated=plan.words_truncated,
            items_read=found.items_read,
        )

    def status_counts(self, user_id: str, query: PaymentQuery) -> StatusCounts:
        """Return counts per status group for the query's dates and currency (from rollups)."""
        if query.days:
            first, last = query.days
            rollups = self._rollups.days(user_id, first, last, query.currency)
        else:
            rollups = self._rollups.all_time(user_id, query.currency)
        by_group = dict.fromkeys(StatusGroup, 0)
        for rollup in rollups:
            for status, count in rollup.counts.items():
                by_group[status.group] += count
        return StatusCounts(by_group)

    def export(self, user_id: str, query: PaymentQuery) -> Iterator[Payment]:
        """Yield every payment matching the query and its search, newest first, page by page."""
        terms = parse_search(query.search)
        plan = self._finder.plan(user_id, query, terms)
        yield from self._finder.iterate(plan, query, terms)
