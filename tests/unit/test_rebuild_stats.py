"""``rebuild-stats`` backfills the hour rollups from the payments and repairs every rollup.

A deployment upgraded from per-day rollups holds ``r#day#…`` items and no hours for its older
payments; the command recounts each merchant and writes what differs (the hours), keeping the
day items, which the reads use beside the hours. It can be stopped anywhere and run again.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

import pytest

from dashboard.core.ids import new_id
from dashboard.domain.timezones import zone_named
from dashboard.providers.sandbox import SandboxProvider
from dashboard.services.payments import NewPaymentLink
from dashboard.services.statistics import StatsRange, payment_statistics
from tests.conftest import FakeClock, actor_for

MERCHANTS = ("m-1@example.com", "m-2@example.com")
START = datetime(2026, 10, 24, 21, 15, tzinfo=UTC)


def _counters(rollup) -> dict[str, int]:
    counters = {f"n_{s.value}": n for s, n in rollup.counts.items() if n}
    counters |= {f"m_{s.value}": n for s, n in rollup.amounts_minor.items() if n}
    if rollup.attempts:
        counters["attempts"] = rollup.attempts
    if rollup.attempts_succeeded:
        counters["attemptsSucceeded"] = rollup.attempts_succeeded
    return counters


def _as_before_the_hours(store, merchant) -> None:
    """Leave the merchant's rollups as the per-day version wrote them: day items, no hours."""
    hours = [r for r in store.rollups.every_rollup(merchant) if r.scope == "hour"]
    store.rollups.delete(merchant, [r.sk for r in hours])


def _stored(store, merchant) -> dict[str, dict[str, int]]:
    return {r.sk: _counters(r) for r in store.rollups.every_rollup(merchant)}


@pytest.fixture
def upgraded(app):
    """Two merchants with payments over several hours and days, and only old day rollups.

    Returns the rollups the write path had made for them (what the backfill must restore).
    """
    expected = {}
    with app.test_request_context():
        for merchant in MERCHANTS:
            clock = FakeClock(START)
            store = app.extensions["store"]
            # The sandbox on the same clock, so a link made in October is not expired to it.
            provider = SandboxProvider(
                store.sandbox_links, b"s", lambda link: f"http://t/{link}", clock
            )
            service = app.extensions["payment_service"].with_clock(clock, provider)
            for n in range(7):
                clock.advance(hours=5, minutes=7)
                payment = service.create_payment_link(
                    actor_for(merchant),
                    NewPaymentLink(new_id(), 1000 + n, "GBP" if n % 3 else "EUR", f"Inv {n}"),
                )
                if n % 2:
                    for event in provider.pay(payment.provider_link_id):
                        service.apply_provider_event(event)
            expected[merchant] = _stored(app.extensions["store"], merchant)
            _as_before_the_hours(app.extensions["store"], merchant)
    return expected


def test_the_backfill_writes_the_hours_keeps_the_days_and_a_second_run_changes_nothing(
    app, upgraded
):
    store = app.extensions["store"]
    assert all(sk.startswith(("r#day#", "r#all#")) for sk in _stored(store, MERCHANTS[0]))

    first = app.test_cli_runner().invoke(args=["rebuild-stats"])

    assert first.exit_code == 0, first.output
    for merchant in MERCHANTS:
        assert _stored(store, merchant) == upgraded[merchant]
        hours = sum(1 for sk in upgraded[merchant] if sk.startswith("r#hour#"))
        assert hours
        assert (
            f"{merchant}: 7 payment(s) read, {hours} hour, 0 day and 0 all-time rollup(s)"
            in first.output
        )
    assert "14 payment(s) read" in first.output
    second = app.test_cli_runner().invoke(args=["rebuild-stats"])
    assert second.exit_code == 0, second.output
    assert (
        "2 merchant(s) checked, 14 payment(s) read; wrote or repaired 0 hour, 0 day and "
        "0 all-time rollup(s)." in second.output
    )
    assert all(_stored(store, m) == upgraded[m] for m in MERCHANTS)


def test_a_dry_run_reports_and_writes_nothing(app, upgraded):
    store = app.extensions["store"]
    before = {m: _stored(store, m) for m in MERCHANTS}

    result = app.test_cli_runner().invoke(args=["rebuild-stats", "--dry-run"])

    assert result.exit_code == 0, result.output
    assert "would write or repair" in result.output
    assert {m: _stored(store, m) for m in MERCHANTS} == before


def test_a_run_stopped_after_the_first_merchant_is_finished_by_resuming(app, upgraded, monkeypatch):
    store = app.extensions["store"]
    real = store.rollups.add_to
    written = []

    def fail_on_the_second(merchant, sk, deltas):
        if merchant == MERCHANTS[1] and written.count(MERCHANTS[1]) == 2:
            raise RuntimeError("connection lost")
        written.append(merchant)
        return real(merchant, sk, deltas)

    monkeypatch.setattr(store.rollups, "add_to", fail_on_the_second)
    stopped = app.test_cli_runner().invoke(args=["rebuild-stats"])
    monkeypatch.setattr(store.rollups, "add_to", real)

    assert stopped.exit_code != 0
    assert f"resume with --from-merchant {MERCHANTS[1]}" in stopped.output
    assert _stored(store, MERCHANTS[0]) == upgraded[MERCHANTS[0]]
    assert _stored(store, MERCHANTS[1]) != upgraded[MERCHANTS[1]]  # stopped part-way

    resumed = app.test_cli_runner().invoke(args=["rebuild-stats", "--from-merchant", MERCHANTS[1]])

    assert resumed.exit_code == 0, resumed.output
    assert "1 merchant(s) checked, 7 payment(s) read" in resumed.output
    assert all(_stored(store, m) == upgraded[m] for m in MERCHANTS)


def test_after_the_backfill_london_days_around_the_clock_change_hold_their_payments(app, upgraded):
    """The payments straddle 25 October (25 hours in London): each counts on its local day."""
    store = app.extensions["store"]
    app.test_cli_runner().invoke(args=["rebuild-stats"])
    london = zone_named("Europe/London")
    payments = list(store.payments.each_payment(MERCHANTS[0]))
    first, last = date(2026, 10, 24), date(2026, 10, 27)

    stats = payment_statistics(
        store.rollups, MERCHANTS[0], StatsRange(first, last, london), datetime.now(UTC)
    )

    wanted = Counter(p.created_at.astimezone(london).date() for p in payments)
    by_day: Counter = Counter()
    for figures in stats.currencies:
        for day, groups in figures.groups_by_day:
            by_day[day] += sum(groups.values())
    assert +by_day == wanted
    assert sum(wanted.values()) == 7
