"""Independent reads go at the same time: the list's page and its status counts.

The list page's Query and the status tiles' rollups do not depend on each other, so the counts
are read on a worker thread while the request's own thread reads the page. A busy pool never
makes a request slower than reading one after the other, and a bad cursor reads nothing.
"""

from __future__ import annotations

import contextvars
import threading

import pytest

from dashboard.core.side_reads import SideReads
from dashboard.domain.payment_query import PaymentQuery
from dashboard.domain.payments import PaymentStatus, StatusGroup
from dashboard.services.payment_listing import InvalidCursor, PaymentListing
from dashboard.store.cursors import CursorCodec
from dashboard.store.finder import FoundPage, Plan

WAIT = 5  # seconds: far longer than either read takes; only a broken test waits this long


@pytest.fixture
def side_reads():
    reads = SideReads(workers=2)
    yield reads
    reads.shutdown()


def test_a_side_read_gives_its_result_and_sees_the_callers_context(side_reads):
    request_id = contextvars.ContextVar("request_id")
    request_id.set("req-42")

    read = side_reads.start(lambda: (request_id.get(), threading.current_thread().name))

    seen, thread = read.result()
    assert seen == "req-42"  # what it logs carries the request's id
    assert thread.startswith("side-read")


def test_a_side_read_raises_what_the_read_raised(side_reads):
    def failing():
        raise LookupError("store down")

    with pytest.raises(LookupError, match="store down"):
        side_reads.start(failing).result()


def test_a_read_queued_behind_busy_workers_is_run_by_the_caller():
    reads = SideReads(workers=1)
    release = threading.Event()
    try:
        busy = reads.start(lambda: release.wait(WAIT))  # the only worker is taken
        queued = reads.start(lambda: threading.current_thread().name)

        assert queued.result() == threading.current_thread().name  # not left waiting in line
        release.set()
        assert busy.result() is True
    finally:
        release.set()
        reads.shutdown()


_PLAN = Plan(sources=[], description="CreatedAtIndex")


class _Rollup:
    def __init__(self, counts):
        self.counts = counts


class _SlowRollups:
    """Rollups whose read waits until the page's Query has started: only parallel reads finish."""

    def __init__(self, query_started: threading.Event):
        self.query_started = query_started
        self.started = threading.Event()
        self.calls = 0

    def all_time(self, _user_id, _currency):
        self.calls += 1
        self.started.set()
        assert self.query_started.wait(WAIT), "the counts waited for the page's Query to end"
        return [_Rollup({PaymentStatus.COMPLETED: 3, PaymentStatus.AWAITING_PAYMENT: 2})]


class _SlowFinder:
    """A finder whose Query waits until the counts' read has started, then finds nothing."""

    def __init__(self):
        self.query_started = threading.Event()
        self.rollups: _SlowRollups | None = None

    def plan(self, _user_id, _query, _terms):
        return _PLAN

    def find(self, _plan, _query, _terms, _state, _page_size):
        self.query_started.set()
        assert self.rollups is not None
        assert self.rollups.started.wait(WAIT), "the page's Query ran before the counts began"
        return FoundPage(payments=[], next_state=None, items_read=0, plan=_PLAN)


def _listing(side_reads):
    finder = _SlowFinder()
    rollups = _SlowRollups(finder.query_started)
    finder.rollups = rollups
    listing = PaymentListing(finder, rollups, CursorCodec("test-secret-0123456789"), side_reads)
    return listing, finder, rollups


def test_the_list_reads_its_page_and_its_counts_at_the_same_time(side_reads):
    listing, _finder, _rollups = _listing(side_reads)

    view = listing.find_page_and_counts("acct_1", PaymentQuery())

    assert view.page.payments == []
    assert view.counts.by_group[StatusGroup.COMPLETED] == 3
    assert view.counts.total == 5


def test_a_bad_cursor_is_refused_before_anything_is_read(side_reads):
    listing, finder, rollups = _listing(side_reads)

    with pytest.raises(InvalidCursor):
        listing.find_page_and_counts("acct_1", PaymentQuery(), cursor="not-a-cursor")

    assert rollups.calls == 0
    assert not finder.query_started.is_set()


def test_without_side_reads_the_same_view_is_read_in_turn():
    class Rollups:
        def all_time(self, _user_id, _currency):
            return [_Rollup({PaymentStatus.ATTEMPT_FAILED: 2})]

    class Finder:
        def plan(self, *_args):
            return _PLAN

        def find(self, *_args):
            return FoundPage(payments=[], next_state=None, items_read=0, plan=_PLAN)

    listing = PaymentListing(Finder(), Rollups(), CursorCodec("test-secret-0123456789"))

    view = listing.find_page_and_counts("acct_1", PaymentQuery())

    assert view.counts.by_group[StatusGroup.FAILED] == 2
