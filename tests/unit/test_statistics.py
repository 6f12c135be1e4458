"""Statistics from rollups: the range, the figures per currency, the page, and rebuild-stats."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path

import pytest

from dashboard.core.ids import new_id
from dashboard.domain.money import axis_money
from dashboard.domain.payments import StatusGroup
from dashboard.domain.timezones import zone_named
from dashboard.services.payments import NewPaymentLink
from dashboard.services.rollup_recount import recount_rollups
from dashboard.services.statistics import (
    StatsRange,
    StatsRangeError,
    parse_stats_range,
    payment_statistics,
)
from dashboard.store.index_items import hour_of, hour_rollup_key
from dashboard.web.stats.charts import bar_chart, nice_ceiling, stacked_chart
from tests.conftest import actor_for
from tests.unit.conftest import sign_in
from tests.unit.stats_support import refund_payment

TODAY = date(2026, 11, 20)
LONDON = zone_named("Europe/London")


@pytest.mark.parametrize(
    ("args", "first", "days"),
    [
        ({}, date(2026, 10, 22), 30),
        ({"days": "7"}, date(2026, 11, 14), 7),
        ({"days": "90"}, date(2026, 8, 23), 90),
        ({"from": "2026-11-01", "to": "2026-11-10"}, date(2026, 11, 1), 10),
        ({"from": "2026-11-01"}, date(2026, 11, 1), 20),
    ],
)
def test_the_range_is_read_from_the_url(args, first, days):
    period = parse_stats_range(args, TODAY, LONDON)

    assert period.first == first
    assert period.days == days


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"days": "5"}, "Choose 7, 14, 30 or 90 days"),
        ({"days": "abc"}, "Choose 7, 14, 30 or 90 days"),
        ({"from": "2026-11-10", "to": "2026-11-01"}, "before the start"),
        ({"from": "2025-01-01", "to": "2026-11-01"}, "at most 366 days"),
        ({"from": "22/11/2026"}, "look like 2026-11-22"),
        ({"to": "2026-11-01"}, "Choose a start date"),
    ],
)
def test_bad_ranges_say_what_is_wrong(args, message):
    with pytest.raises(StatsRangeError, match=message):
        parse_stats_range(args, TODAY, LONDON)


def test_the_previous_period_has_the_same_length_and_ends_the_day_before():
    period = StatsRange(date(2026, 11, 14), date(2026, 11, 20), LONDON)

    assert period.previous == StatsRange(date(2026, 11, 7), date(2026, 11, 13), LONDON)


def _create(service, clock, amount, currency="GBP"):
    return service.create_payment_link(
        actor_for("alice"), NewPaymentLink(new_id(), amount, currency, "Invoice 1")
    )


def _pay(service, sandbox, payment):
    for event in sandbox.pay(payment.provider_link_id):
        service.apply_provider_event(event)


def test_figures_are_per_currency_with_conversion_success_and_average(
    service, sandbox, clock, store
):
    paid = [_create(service, clock, amount) for amount in (1000, 2001)]
    for payment in paid:
        _pay(service, sandbox, payment)
    declined = _create(service, clock, 500)
    for event in sandbox.decline(declined.provider_link_id):
        service.apply_provider_event(event)
    _create(service, clock, 4200, "EUR")
    period = StatsRange(clock.now.date() - timedelta(days=6), clock.now.date(), LONDON)

    stats = payment_statistics(store.rollups, "alice", period, clock.now)

    gbp, eur = stats.currencies
    assert gbp.currency == "GBP"
    assert gbp.current.completed_minor == 3001
    assert gbp.conversion == Decimal("0.6667")
    assert gbp.attempt_success == Decimal("0.6667")  # 2 of 3 attempts
    assert gbp.average_completed == Decimal("15.00")  # 30.01 / 2, to the penny (half-even)
    assert gbp.current.by_group()[StatusGroup.FAILED] == 1
    assert eur.current.completed_minor == 0
    assert eur.current.by_group()[StatusGroup.PENDING] == 1
    assert eur.conversion == Decimal("0")
    assert eur.average_completed is None


def test_days_without_payments_are_zero_not_missing(service, sandbox, clock, store):
    _pay(service, sandbox, _create(service, clock, 1000))
    period = StatsRange(clock.now.date() - timedelta(days=6), clock.now.date(), LONDON)

    stats = payment_statistics(store.rollups, "alice", period, clock.now)

    volume = stats.currencies[0].volume_by_day
    assert len(volume) == 7
    assert volume[-1] == (clock.now.date(), 1000)
    assert all(value == 0 for _, value in volume[:-1])


def test_the_change_compares_with_the_period_before(service, sandbox, clock, store):
    _pay(service, sandbox, _create(service, clock, 1000))
    clock.advance(days=7)
    _pay(service, sandbox, _create(service, clock, 1500))
    period = StatsRange(clock.now.date() - timedelta(days=6), clock.now.date(), LONDON)

    gbp = payment_statistics(store.rollups, "alice", period, clock.now).currencies[0]

    assert gbp.previous.completed_minor == 1000
    assert gbp.volume_change == Decimal("0.5000")
    assert gbp.count_change == Decimal("0")


def test_refunds_give_refunded_volume_their_count_and_net_volume_per_currency(
    service, sandbox, clock, store
):
    partly, fully, returned = (_create(service, clock, amount) for amount in (1000, 2000, 500))
    for payment in (partly, fully, returned):
        _pay(service, sandbox, payment)
    _pay(service, sandbox, _create(service, clock, 4200, "EUR"))
    refund_payment(store.payments, "alice", partly.payment_id, 300, clock.now)
    refund_payment(store.payments, "alice", fully.payment_id, 2000, clock.now)
    # Returned by the payer's bank after it executed: it no longer counts.
    refund_payment(store.payments, "alice", returned.payment_id, 500, clock.now, returned=True)
    period = StatsRange(clock.now.date() - timedelta(days=6), clock.now.date(), LONDON)

    gbp, euro = payment_statistics(store.rollups, "alice", period, clock.now).currencies

    assert gbp.current.completed_minor == 3500
    assert gbp.current.refunded_minor == 2300
    assert gbp.current.refunds_executed == 2
    assert gbp.current.net_minor == 1200
    assert (euro.current.refunded_minor, euro.current.net_minor) == (0, 4200)


def test_a_later_refund_counts_on_its_payments_day_in_the_period_before(
    service, sandbox, clock, store
):
    older = _create(service, clock, 1000)
    _pay(service, sandbox, older)
    refund_payment(store.payments, "alice", older.payment_id, 200, clock.now)
    clock.advance(days=7)
    newer = _create(service, clock, 1500)
    _pay(service, sandbox, newer)
    refund_payment(store.payments, "alice", newer.payment_id, 300, clock.now)
    # This week, of last week's payment: last week's figures change, this week's do not.
    refund_payment(store.payments, "alice", older.payment_id, 200, clock.now)
    period = StatsRange(clock.now.date() - timedelta(days=6), clock.now.date(), LONDON)

    gbp = payment_statistics(store.rollups, "alice", period, clock.now).currencies[0]

    assert (gbp.previous.refunded_minor, gbp.previous.refunds_executed) == (400, 2)
    assert (gbp.current.refunded_minor, gbp.current.refunds_executed) == (300, 1)
    assert (gbp.previous.net_minor, gbp.current.net_minor) == (600, 1200)
    assert gbp.refunded_change == Decimal("-0.2500")
    assert gbp.refund_count_change == Decimal("-0.5000")
    assert gbp.net_change == Decimal("1.0000")


def test_charts_scale_to_round_numbers_and_keep_every_day():
    series = [(date(2026, 11, d), v) for d, v in ((1, 0), (2, 730), (3, 0))]

    chart = bar_chart(series, str)

    assert nice_ceiling(730) == 1000
    assert len(chart.bars) == 3
    assert chart.bars[0].height == 0
    assert [t.text for t in chart.y_ticks] == ["0", "500.0", "1000"]
    stacked = stacked_chart(
        [(date(2026, 11, 1), {"completed": 3, "failed": 1})], ["completed", "failed"]
    )
    assert [b.css_class for b in stacked.bars] == ["seg-completed", "seg-failed"]
    assert stacked.bars[1].y < stacked.bars[0].y  # failed sits on top of completed


def test_a_volume_chart_without_volume_reads_zero_to_one_major_unit():
    """No completed payments: the axis runs £0, £0.50, £1, not £0, £0, £0.01."""
    series = [(date(2026, 11, d), 0) for d in (1, 2, 3)]

    chart = bar_chart(series, partial(axis_money, currency="GBP"), smallest_top=100)

    assert [t.text for t in chart.y_ticks] == ["£0", "£0.5", "£1"]


def test_the_page_shows_figures_and_a_table_with_the_same_numbers(app, client):
    sign_in(client)
    with app.test_request_context():
        service = app.extensions["payment_service"]
        payment = service.create_payment_link(
            actor_for("alice@example.com"), NewPaymentLink(new_id(), 1250, "GBP", "Invoice 1")
        )
        for event in app.extensions["payment_provider"].pay(payment.provider_link_id):
            service.apply_provider_event(event)

    html = client.get("/stats?days=7").get_data(as_text=True)

    assert "Completed volume" in html
    assert html.count("£12.50") >= 2  # the figure, and the day's row in the data table
    assert re.search(r"<svg class=\"chart\"[^>]*role=\"img\"", html)
    assert "in the status it has now" in html
    for days in ("7 days", "14 days", "30 days", "90 days"):
        assert days in html


def test_the_page_shows_refunded_volume_refunds_and_net_volume_with_their_day_rule(app, client):
    sign_in(client)
    with app.test_request_context():
        service = app.extensions["payment_service"]
        payment = service.create_payment_link(
            actor_for("alice@example.com"), NewPaymentLink(new_id(), 1250, "GBP", "Invoice 1")
        )
        for event in app.extensions["payment_provider"].pay(payment.provider_link_id):
            service.apply_provider_event(event)
    store = app.extensions["store"]
    refund_payment(store.payments, "alice@example.com", payment.payment_id, 250, payment.created_at)

    html = client.get("/stats?days=7").get_data(as_text=True)
    gbp = html.split('id="cur-GBP"')[1].split("</section>")[0]

    tiles = dict(re.findall(r'kpi-name">([^<]+)</p>\s*<p class="kpi-value">([^<]+)<', gbp))
    assert tiles["Refunded volume"] == "£2.50"
    assert tiles["Refunds"] == "1"
    assert tiles["Net volume"] == "£10.00"
    assert "Refunds count on the day their payment was created, as every other figure does." in gbp


def test_an_empty_account_gets_a_friendly_empty_state(client):
    sign_in(client)

    html = client.get("/stats").get_data(as_text=True)

    assert "No payments in this period yet" in html
    assert 'href="/payments/new"' in html


@pytest.mark.parametrize(
    "query",
    [
        "days=5",
        "days=²",  # "²".isdigit() is True, yet it is no number
        "from=2026-13-01",
        "from=2026-11-10&to=2026-11-01",
        "currency=USD",
        "from=2024-01-01&to=2026-01-01",
    ],
)
def test_bad_input_is_a_400_fragment_with_a_message(client, query):
    sign_in(client)

    response = client.get(f"/stats?{query}", headers={"HX-Request": "true"})

    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'class="filter-errors"' in html
    assert "<html" not in html


def test_rebuild_stats_finds_and_repairs_a_broken_rollup(app, client):
    with app.test_request_context():
        service = app.extensions["payment_service"]
        payment = service.create_payment_link(
            actor_for("alice@example.com"), NewPaymentLink(new_id(), 1250, "GBP", "Invoice 1")
        )
    store = app.extensions["store"]
    hour = hour_rollup_key(hour_of(payment.created_at), "GBP")
    store.rollups.add_to("alice@example.com", hour, {"n_awaiting_payment": 5})
    assert recount_rollups(store.payments, store.rollups, "alice@example.com").differences

    result = app.test_cli_runner().invoke(args=["rebuild-stats"])

    assert "wrote or repaired 1 hour, 0 day and 0 all-time" in result.output, result.output
    assert "n_awaiting_payment': -5" in result.output
    assert recount_rollups(store.payments, store.rollups, "alice@example.com").differences == []


def test_rebuild_stats_restores_the_refund_counters(app):
    with app.test_request_context():
        service = app.extensions["payment_service"]
        payment = service.create_payment_link(
            actor_for("alice@example.com"), NewPaymentLink(new_id(), 1250, "GBP", "Invoice 1")
        )
        for event in app.extensions["payment_provider"].pay(payment.provider_link_id):
            service.apply_provider_event(event)
    store, at = app.extensions["store"], payment.created_at
    refund_payment(store.payments, "alice@example.com", payment.payment_id, 250, at)
    refund_payment(store.payments, "alice@example.com", payment.payment_id, 400, at, returned=True)
    hour = hour_rollup_key(hour_of(payment.created_at), "GBP")
    store.rollups.add_to("alice@example.com", hour, {"refundsExecuted": 3, "refundedMinor": -250})
    store.rollups.delete("alice@example.com", ["r#all#GBP"])

    result = app.test_cli_runner().invoke(args=["rebuild-stats"])

    assert "wrote or repaired 1 hour, 0 day and 1 all-time" in result.output, result.output
    refunds = {
        r.sk: (r.refunds_executed, r.refunded_minor)
        for r in store.rollups.every_rollup("alice@example.com")
    }
    assert refunds[hour] == refunds["r#all#GBP"] == (1, 250)
    assert refunds[f"r#day#{hour_of(payment.created_at)[:10]}#GBP"] == (1, 250)
    assert recount_rollups(store.payments, store.rollups, "alice@example.com").differences == []


def _pay_in(app, currency: str, amount: int) -> None:
    with app.test_request_context():
        service = app.extensions["payment_service"]
        payment = service.create_payment_link(
            actor_for("alice@example.com"), NewPaymentLink(new_id(), amount, currency, "Inv 1")
        )
        for event in app.extensions["payment_provider"].pay(payment.provider_link_id):
            service.apply_provider_event(event)


def test_completed_volume_is_drawn_in_the_completed_colour_used_everywhere(app, client):
    sign_in(client)
    _pay_in(app, "GBP", 1250)

    html = client.get("/stats?days=7").get_data(as_text=True)
    volume = html.split("Completed volume per day (GBP)")[1].split("</svg>")[0]
    css = (Path(app.static_folder) / "css" / "app.css").read_text()

    assert re.findall(r'<rect class="([^"]+)"', volume)  # the day's bar
    assert set(re.findall(r'<rect class="([^"]+)"', volume)) == {"seg-completed"}
    # One colour for Completed, for the bars, the mix chart's segments and the legend's dots.
    assert ".chart .seg-completed { fill: var(--pd-completed-mark); }" in css
    assert ".dot-completed { background: var(--pd-completed-mark); }" in css
    assert "#0172ad" not in css.split(".chart .axis")[1].split(".chart-box details")[0]


def test_a_currency_is_chosen_with_a_preset_range_and_no_dates_typed(app, client):
    sign_in(client)
    _pay_in(app, "GBP", 1250)
    _pay_in(app, "EUR", 990)

    seven_days = client.get("/stats?days=7").get_data(as_text=True)
    eur_link = re.search(r'<a href="(/stats\?[^"]*currency=EUR[^"]*)"', seven_days)

    assert eur_link
    assert "days=7" in eur_link.group(1)
    eur_only = client.get(eur_link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert 'id="cur-EUR"' in eur_only
    assert 'id="cur-GBP"' not in eur_only
    assert re.search(r'class="range-choice active" aria-current="page"[^>]*>7 days<', eur_only)
    back_to_both = re.search(r'<a href="(/stats\?days=7)"[^>]*>Both<', eur_only)
    assert back_to_both  # and back, keeping the range


def test_a_custom_range_keeps_its_dates_when_the_currency_changes(client):
    sign_in(client)

    html = client.get("/stats?from=2026-11-01&to=2026-11-10").get_data(as_text=True)

    assert re.search(r'href="/stats\?currency=EUR&amp;from=2026-11-01&amp;to=2026-11-10"', html)
