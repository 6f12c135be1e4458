"""Finding payments: the list page's use cases (page, status counts, export).

Routes hand in a validated query; this plans the indexed lookups, continues from a cursor, and
reads the status counts from rollups, never from the payments themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dashboard.core.side_reads import SideReads
from dashboard.domain.payment_query import PaymentQuery
from dashboard.domain.payments import Payment, StatusGroup
from dashboard.domain.search import SearchTerms, parse_search
from dashboard.store.cursors import CursorCodec, InvalidCursor
from dashboard.store.finder import PaymentFinder
from dashboard.store.rollups import Rollup, RollupRepository

PAGE_SIZE = 25

__all__ = [
    "PAGE_SIZE",
    "InvalidCursor",
    "ListingView",
    "PaymentListing",
    "ResultCount",
    "result_count",
]


@dataclass(frozen=True)
class StatusCounts:
    """How many payments each status group holds, for the active dates and currency."""

    by_group: dict[StatusGroup, int]

    @property
    def total(self) -> int:
        """Return the count of every group together."""
        return sum(self.by_group.values())

    @property
    def may_hold_lapsed_links(self) -> bool:
        """Return True when some counted payment could be a link past its unrecorded expiry."""
        return bool(self.by_group[StatusGroup.PENDING] or self.by_group[StatusGroup.FAILED])


@dataclass(frozen=True)
class ResultCount:
    """How many payments the list holds: exact when known, else how many are shown so far."""

    shown: int
    matched: int | None  # None: more match than are shown, and counting them would cost reads
    more_below: bool


def result_count(
    query: PaymentQuery, counts: StatusCounts, page: PaymentListPage, continuing: bool
) -> ResultCount:
    """Return what the list holds, without reading anything more than the page and tiles did.

    Without search or amounts the rollups count exactly what the list's Query lists (the same
    stored status, days and currency); otherwise only a last first page is an exact count.
    """
    shown, more = len(page.payments), page.next_cursor is not None
    if not query.search and not query.has_amount_range:
        matched = counts.by_group[query.group] if query.group else counts.total
        return ResultCount(shown, matched, more)
    if not more and not continuing:
        return ResultCount(shown, shown, more)
    return ResultCount(shown, None, more)


@dataclass(frozen=True)
class PaymentListPage:
    """One page of the list, with what is needed to show and continue it."""

    payments: list[Payment]
    next_cursor: str | None
    terms: SearchTerms
    plan: str
    words_truncated: bool
    items_read: int

    def lapsed(self, now: datetime) -> list[Payment]:
        """Return the payments shown as Expired whose expiry is not yet recorded (nor counted)."""
        return [p for p in self.payments if p.effective_status(now) != p.status]


@dataclass(frozen=True)
class ListingView:
    """What the list page shows: one page of payments and the status tiles' counts."""

    page: PaymentListPage
    counts: StatusCounts


class PaymentListing:
    """Lists, counts and exports one merchant's payments."""

    def __init__(
        self,
        finder: PaymentFinder,
        rollups: RollupRepository,
        cursors: CursorCodec,
        side_reads: SideReads | None = None,
    ):
        self._finder = finder
        self._rollups = rollups
        self._cursors = cursors
        self._side_reads = side_reads

    def find_page_and_counts(
        self,
        user_id: str,
        query: PaymentQuery,
        cursor: str | None = None,
        page_size: int = PAGE_SIZE,
    ) -> ListingView:
        """Return the page after ``cursor`` and the status counts; raise InvalidCursor first.

        The counts (rollup items) do not depend on the page (payment items): with side reads,
        they are read on a worker thread while this one queries the page, so the list waits
        for the slower read, not for both in turn. A bad cursor is refused before either read.
        """
        state = self._cursor_state(user_id, query, cursor)
        if self._side_reads is None:
            page = self._page_from(user_id, query, state, page_size)
            return ListingView(page, self.status_counts(user_id, query))
        counts = self._side_reads.start(lambda: self.status_counts(user_id, query))
        try:
            page = self._page_from(user_id, query, state, page_size)
        except BaseException:
            counts.abandon()
            raise
        return ListingView(page, counts.result())

    def find_page(
        self,
        user_id: str,
        query: PaymentQuery,
        cursor: str | None = None,
        page_size: int = PAGE_SIZE,
    ) -> PaymentListPage:
        """Return the page of payments after ``cursor``; raise InvalidCursor for a bad one."""
        state = self._cursor_state(user_id, query, cursor)
        return self._page_from(user_id, query, state, page_size)

    def _cursor_state(
        self, user_id: str, query: PaymentQuery, cursor: str | None
    ) -> dict[str, Any] | None:
        """Return where a cursor continues from (None: the first page); InvalidCursor if bad."""
        return self._cursors.decode(cursor, user_id, query.fingerprint()) if cursor else None

    def _page_from(
        self, user_id: str, query: PaymentQuery, state: dict[str, Any] | None, page_size: int
    ) -> PaymentListPage:
        fingerprint = query.fingerprint()
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
        """Return counts per status group for the query's creation instants and currency.

        From rollups, never the payments: the hours of [from, before) in one Query. With no
        start, the hours from ``created_before`` on are taken from the all-time counts, so the
        reads follow the time since that day rather than the account's age.
        """
        by_group = dict.fromkeys(StatusGroup, 0)

        def add(rollups: list[Rollup], sign: int) -> None:
            for rollup in rollups:
                for status, count in rollup.counts.items():
                    by_group[status.group] += sign * count

        start, end, currency = query.created_from, query.created_before, query.currency
        if start is not None:
            add(self._rollups.hours(user_id, start, end, currency), 1)
        else:
            add(self._rollups.all_time(user_id, currency), 1)
            if end is not None:
                add(self._rollups.hours(user_id, end, None, currency), -1)
        return StatusCounts(by_group)

    def export(self, user_id: str, query: PaymentQuery) -> Iterator[Payment]:
        """Yield every payment matching the query and its search, newest first, page by page."""
        terms = parse_search(query.search)
        plan = self._finder.plan(user_id, query, terms)
        yield from self._finder.iterate(plan, query, terms)
