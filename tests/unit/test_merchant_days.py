"""A merchant's days are its zone's days, each the sum of its UTC hours' rollups.

The list's date filter, its status counts and the statistics all read days this way, so a
daylight-saving day of 23 or 25 hours is exact and a change of zone re-buckets nothing.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.core.ids import new_id
from dashboard.core.side_reads import SideReads
from dashboard.domain.timezones import day_bounds, zone_named
from dashboard.services.payment_listing import PaymentListing
from dashboard.services.payments import NewPaymentLink
from dashboard.services.statistics import StatsRange, payment_statistics
from dashboard.store import rollups as rollups_module
from dashboard.store.cursors import CursorCodec
from dashboard.web.payment_filters import parse_filters
from tests.conftest import FakeClock, actor_for
from tests.unit.conftest import sign_in

LONDON = zone_named("Europe/London")
PARIS = zone_named("Europe/Paris")
UTC_ZONE = zone_named("UTC")
LATE_ON_1_JUNE = datetime(2026, 6, 1, 23, 30, tzinfo=UTC)  # 2 June, 01:30, in Paris


def _create_at(service, clock, instant, merchant="alice", amount=1000):
    clock.now = instant
    return service.create_payment_link(
        actor_for(merchant), NewPaymentLink(new_id(), amount, "GBP", "Invoice 1")
    )


def _pay(service, sandbox, payment):
    for event in sandbox.pay(payment.provider_link_id):
        service.apply_provider_event(event)


def _listing(store) -> PaymentListing:
    return PaymentListing(store.finder, store.rollups, CursorCodec("merchant-days-secret"))


def _days(first: str, last: str, zone, **more: str):
    args = {"from": first, "to": last, **more}
    return parse_filters(args, date(2026, 12, 1), zone).query


def _totals_by_day(stats) -> list[tuple[date, int]]:
    [gbp, _eur] = stats.currencies
    return [(day, sum(groups.values())) for day, groups in gbp.groups_by_day]


@pytest.mark.parametrize(
    ("day", "hours"),
    [(date(2026, 3, 29), 23), (date(2026, 10, 25), 25), (date(2026, 6, 2), 24)],
)
def test_a_london_day_around_a_clock_change_sums_its_23_or_25_hours(
    service, clock, store, day, hours
):
    """One payment in every hour of the day, and one on either side: the day holds its hours."""
    start, end = day_bounds(day, day, LONDON)
    instant = start - timedelta(minutes=30)
    while instant < end + timedelta(hours=1):
        _create_at(service, clock, instant)
        instant += timedelta(hours=1)
    listing = _listing(store)
    query = _days(day.isoformat(), day.isoformat(), LONDON)

    stats = payment_statistics(store.rollups, "alice", StatsRange(day, day, LONDON), clock.now)

    assert end - start == timedelta(hours=hours)
    assert _totals_by_day(stats) == [(day, hours)]
    assert listing.status_counts("alice", query).total == hours
    assert len(listing.find_page("alice", query, page_size=100).payments) == hours


def test_a_payment_at_2330_utc_on_1_june_counts_on_2_june_in_paris(service, sandbox, clock, store):
    """Listed, counted and charted on Paris's 2 June, not on the UTC date."""
    payment = _create_at(service, clock, LATE_ON_1_JUNE, amount=1250)
    _pay(service, sandbox, payment)
    listing = _listing(store)
    second, first = (
        _days("2026-06-02", "2026-06-02", PARIS),
        _days("2026-06-01", "2026-06-01", PARIS),
    )

    june = payment_statistics(
        store.rollups, "alice", StatsRange(date(2026, 6, 1), date(2026, 6, 2), PARIS), clock.now
    )

    assert [p.payment_id for p in listing.find_page("alice", second).payments] == [
        payment.payment_id
    ]
    assert listing.find_page("alice", first).payments == []
    assert listing.status_counts("alice", second).total == 1
    assert listing.status_counts("alice", first).total == 0
    # The status index and the search items bound their keys by the same instants.
    for more in ({"status": "completed"}, {"q": "invoice"}):
        assert (
            len(
                listing.find_page(
                    "alice", _days("2026-06-02", "2026-06-02", PARIS, **more)
                ).payments
            )
            == 1
        )
        assert (
            listing.find_page("alice", _days("2026-06-01", "2026-06-01", PARIS, **more)).payments
            == []
        )
    assert june.currencies[0].volume_by_day == [(date(2026, 6, 1), 0), (date(2026, 6, 2), 1250)]


def test_changing_the_zone_rebuckets_nothing_only_the_sums_differ(service, clock, store):
    """The same items read as UTC days and as Paris days: nothing is written either way."""
    _create_at(service, clock, datetime(2026, 6, 1, 12, 0, tzinfo=UTC))
    _create_at(service, clock, LATE_ON_1_JUNE)
    stored = [(r.sk, r.counts) for r in store.rollups.every_rollup("alice")]
    june = (date(2026, 6, 1), date(2026, 6, 2))

    in_utc = payment_statistics(store.rollups, "alice", StatsRange(*june, UTC_ZONE), clock.now)
    in_paris = payment_statistics(store.rollups, "alice", StatsRange(*june, PARIS), clock.now)

    assert _totals_by_day(in_utc) == [(june[0], 2), (june[1], 0)]
    assert _totals_by_day(in_paris) == [(june[0], 1), (june[1], 1)]
    assert [(r.sk, r.counts) for r in store.rollups.every_rollup("alice")] == stored
    assert [sk for sk, _ in stored] == [
        "r#all#GBP",
        "r#day#2026-06-01#GBP",
        "r#hour#2026-06-01T12#GBP",
        "r#hour#2026-06-01T23#GBP",
    ]


def test_a_date_filter_with_only_an_end_day_counts_everything_before_its_local_midnight(
    service, clock, store
):
    """'Until 1 June' in Paris ends at 31 May 22:00 UTC (the tiles: all time minus later hours)."""
    _create_at(service, clock, datetime(2026, 5, 31, 21, 30, tzinfo=UTC))  # 23:30 in Paris
    _create_at(service, clock, datetime(2026, 5, 31, 22, 30, tzinfo=UTC))  # 2 June in Paris
    _create_at(service, clock, LATE_ON_1_JUNE)
    query = parse_filters({"to": "2026-05-31"}, date(2026, 12, 1), PARIS).query

    assert _listing(store).status_counts("alice", query).total == 1
    assert len(_listing(store).find_page("alice", query).payments) == 1


# Random payments, random zones: the hours of a local day are exactly its payments.

_WINDOWS = [
    (datetime(2026, 3, 26), datetime(2026, 4, 7)),  # Europe, then Sydney and Auckland, change
    (datetime(2026, 10, 23), datetime(2026, 11, 3)),  # Europe, then New York, change back
]
_ZONES = ["UTC", "Europe/London", "Europe/Paris", "America/New_York", "Asia/Tokyo",
          "Australia/Sydney", "Pacific/Auckland"]  # fmt: skip


@st.composite
def _instants(draw):
    low, high = draw(st.sampled_from(_WINDOWS))
    moments = st.datetimes(min_value=low, max_value=high, timezones=st.just(UTC))
    return draw(st.lists(moments, min_size=1, max_size=10))


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(instants=_instants(), zone_name=st.sampled_from(_ZONES))
def test_the_hours_of_a_local_day_hold_exactly_the_payments_of_that_local_date(
    service, clock, store, instants, zone_name
):
    merchant = f"prop-{new_id()}"  # the store lives across examples: one merchant each
    for instant in instants:
        _create_at(service, clock, instant, merchant)
    zone = zone_named(zone_name)
    wanted = Counter(instant.astimezone(zone).date() for instant in instants)
    first, last = min(wanted) - timedelta(days=1), max(wanted) + timedelta(days=1)

    for offset in range((last - first).days + 1):
        day = first + timedelta(days=offset)
        start, end = day_bounds(day, day, zone)
        hours = store.rollups.hours(merchant, start, end, None)
        assert sum(sum(r.counts.values()) for r in hours) == wanted[day], day
    stats = payment_statistics(store.rollups, merchant, StatsRange(first, last, zone), clock.now)
    assert dict(_totals_by_day(stats)) == {
        first + timedelta(days=n): wanted[first + timedelta(days=n)]
        for n in range((last - first).days + 1)
    }


# Through the pages and the API, in the account's zone


@pytest.fixture
def in_paris(monkeypatch):
    """Every account reads as Paris, whatever its setting (the default is London)."""
    monkeypatch.setattr("dashboard.web.zone.zone_named", lambda _name: PARIS)


def _created_late_on_1_june(app) -> None:
    # 22:30 UTC: still 1 June in London (23:30), already 2 June in Paris (00:30).
    with app.test_request_context():
        clock = FakeClock(datetime(2026, 6, 1, 22, 30, tzinfo=UTC))
        service = app.extensions["payment_service"].with_clock(clock)
        service.create_payment_link(
            actor_for("alice@example.com"), NewPaymentLink(new_id(), 1250, "GBP", "Invoice 7")
        )


def test_the_list_reads_its_dates_and_tiles_in_the_accounts_zone(app, client, in_paris):
    sign_in(client)
    _created_late_on_1_june(app)

    second = client.get("/payments?from=2026-06-02&to=2026-06-02").get_data(as_text=True)
    first = client.get("/payments?from=2026-06-01&to=2026-06-01").get_data(as_text=True)

    assert "Invoice 7" in second
    assert "Invoice 7" not in first
    all_tile = r'<span class="tile-name">All</span> <span class="tile-count">(\d+)</span>'
    assert re.search(all_tile, second).group(1) == "1"
    assert re.search(all_tile, first).group(1) == "0"
    assert "Created: 2 Jun 2026" in second
    assert "UTC)" not in second


def test_the_statistics_page_uses_the_accounts_zone_and_the_api_utc_days(app, client, in_paris):
    """The page counts Paris days; the API's days are UTC days, whatever the setting, so a
    client's figures never change when someone changes the account's zone."""
    sign_in(client)
    _created_late_on_1_june(app)

    page = client.get("/stats?from=2026-06-01&to=2026-06-02").get_data(as_text=True)
    stats = client.get("/api/v1/stats?from=2026-06-01&to=2026-06-02").get_json()

    assert "counted on the day it was created, in Europe/Paris" in page
    assert stats["time_zone"] == "UTC"
    [gbp] = [c for c in stats["currencies"] if c["currency"] == "GBP"]
    assert [(d["date"], d["by_group"]["pending"]) for d in gbp["daily"]] == [
        ("2026-06-01", 1),
        ("2026-06-02", 0),
    ]


def test_the_hours_read_beside_the_days_give_the_same_statistics(
    service, clock, store, monkeypatch
):
    """With side reads the hours' BatchGetItem runs on a worker thread: the figures are the same."""
    for hour in (0, 21, 22, 23):
        _create_at(service, clock, datetime(2026, 6, 1, hour, 30, tzinfo=UTC))
    period = StatsRange(date(2026, 5, 30), date(2026, 6, 3), PARIS)
    threads: list[str] = []
    real_batch_get = rollups_module.batch_get

    def recording(*args, **kwargs):
        threads.append(threading.current_thread().name)
        return real_batch_get(*args, **kwargs)

    monkeypatch.setattr(rollups_module, "batch_get", recording)
    side_reads = SideReads()
    try:
        alone = payment_statistics(store.rollups, "alice", period, clock.now)
        beside = payment_statistics(store.rollups, "alice", period, clock.now, side_reads)
    finally:
        side_reads.shutdown()

    assert _totals_by_day(alone) == _totals_by_day(beside)
    # 21:30 and 22:30 UTC are 1 June 23:30 and 2 June 00:30 in Paris (UTC+2).
    assert [n for _, n in _totals_by_day(beside)] == [0, 0, 2, 2, 0]
    assert threads[0] == threading.current_thread().name
    assert threads[1].startswith("side-read")
