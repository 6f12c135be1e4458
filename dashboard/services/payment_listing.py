"""Finding payments: the list page's use cases (page, status counts, export).

Routes hand in a validated query; this plans the indexed lookups, continues from a cursor, and
reads the status counts from rollups, never from the payments themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from dashboard.core.clock import utc_now
from dashboard.core.side_reads import SideReads
from dashboard.domain.money import SUPPORTED_CURRENCIES
from dashboard.domain.payment_query import PaymentQuery
from dashboard.domain.payments import Payment, StatusGroup
from dashboard.domain.search import SearchTerms, parse_search
from dashboard.store.cursors import CursorCodec, InvalidCursor
from dashboard.store.finder import PaymentFinder
from dashboard.store.rollups import Rollup, RollupRepository, cover

PAGE_SIZE = 25
_DAY = timedelta(days=1)

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

    Without search, amounts or refunds the rollups count exactly what the list's Query lists
    (the same stored status, days and currency); otherwise only a last first page is an exact
    count (no rollup counts payments by their refunds).
    """
    shown, more = len(page.payments), page.next_cursor is not None
    if not query.search and not query.has_amount_range and not query.refund_summaries:
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

        From rollups, never the payments: the UTC days of [from, before) and the few hours at
        its ends (``store.rollups.cover``), in two reads. With no start, the span from
        ``created_before`` to tomorrow is taken away from the all-time counts (no payment is
        created later than now), so the reads follow the time since that day, not the
        account's age.
        """
        by_group = dict.fromkeys(StatusGroup, 0)

        def add(rollups: Iterable[tuple[int, Rollup]]) -> None:
            for sign, rollup in rollups:
                for status, count in rollup.counts.items():
                    by_group[status.group] += sign * count

        def add_span(start: datetime, end: datetime, sign: int) -> None:
            span = cover(start, end)
            codes = [currency] if currency else SUPPORTED_CURRENCIES
            read = self._rollups.covering(user_id, [span], codes)
            for code in codes:
                add((sign * piece_sign, rollup) for piece_sign, rollup in read.pieces(span, code))

        start, end, currency = query.created_from, query.created_before, query.currency
        if start is not None and end is not None:
            add_span(start, end, 1)
        elif start is not None:
            add((1, rollup) for rollup in self._rollups.hours(user_id, start, None, currency))
        else:
            add((1, rollup) for rollup in self._rollups.all_time(user_id, currency))
            if end is not None:
                after_now = utc_now().replace(minute=0, second=0, microsecond=0) + _DAY
                if end < after_now:
                    add_span(end, after_now, -1)
        return StatusCounts(by_group)

    def export(self, user_id: str, query: PaymentQuery) -> Iterator[Payment]:
        """Yield every payment matching the query and its search, newest first, page by page."""
        terms = parse_search(query.search)
        plan = self._finder.plan(user_id, query, terms)
        yield from self._finder.iterate(plan, query, terms)
