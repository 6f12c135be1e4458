"""The Orders list as the Payments list: tiles with counts, dates, currency, search, CSV."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient

from dashboard.store.schema import ORDER_CURRENCY_INDEX, ORDER_CURRENCY_STATUS_INDEX
from tests.conftest import actor_for, id_at, place_order
from tests.unit.conftest import sign_in

MERCHANT = "alice@example.com"


@pytest.fixture
def merchant(client: FlaskClient) -> FlaskClient:
    return sign_in(client, MERCHANT)


def _place(app: Flask, at: datetime, **changes):
    """Create an order whose id was minted at ``at``, through the service."""
    return place_order(app, MERCHANT, id_at(at), **changes)


def _tiles(html: str) -> dict[str, int]:
    found = re.findall(
        r'<span class="tile-name">([^<]+)</span> <span class="tile-count">([\d,]+)<', html
    )
    return {name: int(count.replace(",", "")) for name, count in found}


def _numbers(html: str) -> list[str]:
    return re.findall(r'class="order-number"><a class="row-link" href="[^"]+">(ORD-\d+)</a>', html)


def _queries(app: Flask, monkeypatch) -> list[dict]:
    """Record every Query the app sends to DynamoDB."""
    client = app.extensions["store"].client
    real = client.query
    sent: list[dict] = []

    def spy(**request):
        sent.append(request)
        return real(**request)

    monkeypatch.setattr(client, "query", spy)
    return sent


NOON = datetime(2026, 6, 1, 12, tzinfo=UTC)


def test_the_tiles_count_each_status_and_say_what_they_count(merchant, app):
    _place(app, NOON)
    _place(app, NOON, currency="EUR")
    order = _place(app, NOON)
    with app.test_request_context():
        app.extensions["order_service"].cancel_order(actor_for(MERCHANT), order.order_id)

    html = merchant.get("/orders").get_data(as_text=True)

    assert _tiles(html) == {
        "All": 3,
        "Pending": 2,
        "Payment requested": 0,
        "Paid": 0,
        "Refunded": 0,
        "Cancelled": 1,
        "Payment failed": 0,
    }
    assert "Counts cover all time, both currencies." in html
    assert '<p class="result-count" id="result-count">3 orders</p>' in html
    # Each tile takes its status's colour: Cancelled is Ended's grey, as on payments.
    assert 'class="tile tile-ended"' in html


def test_the_date_filter_is_the_merchants_local_days(merchant, app, monkeypatch):
    # Europe/London is UTC+1 in June: 1 June runs from 31 May 23:00 UTC to 1 June 23:00 UTC.
    _place(app, datetime(2026, 5, 31, 22, 30, tzinfo=UTC))  # 31 May, 23:30 local
    inside = _place(app, datetime(2026, 5, 31, 23, 30, tzinfo=UTC))  # 1 June, 00:30 local
    _place(app, datetime(2026, 6, 1, 23, 30, tzinfo=UTC))  # 2 June, 00:30 local
    sent = _queries(app, monkeypatch)

    html = merchant.get("/orders?range=custom&from=2026-06-01&to=2026-06-01").get_data(as_text=True)

    assert _numbers(html) == [inside.number_label]
    assert _tiles(html)["All"] == 1
    assert "Created: 1 Jun 2026 (Europe/London)" in html
    # A key range on the UUIDv7 order id, in the one Query that lists, no filter expression.
    listing = next(q for q in sent if "order#" in str(q["ExpressionAttributeValues"]))
    assert "BETWEEN" in listing["KeyConditionExpression"]
    assert "FilterExpression" not in listing
    low, high = (
        listing["ExpressionAttributeValues"][":lo"]["S"],
        listing["ExpressionAttributeValues"][":hi"]["S"],
    )
    assert low <= f"order#{inside.order_id}" <= high


def test_the_currency_filter_reads_an_index_keyed_by_account_and_currency(
    merchant, app, monkeypatch
):
    _place(app, NOON)
    euro = _place(app, NOON, currency="EUR")
    sent = _queries(app, monkeypatch)

    html = merchant.get("/orders?currency=EUR").get_data(as_text=True)
    with_status = merchant.get("/orders?currency=EUR&status=pending").get_data(as_text=True)

    assert _numbers(html) == [euro.number_label]
    assert _numbers(with_status) == [euro.number_label]
    assert _tiles(html)["All"] == 1
    assert "Counts cover all time in EUR." in html
    indexes = [q.get("IndexName") for q in sent]
    assert ORDER_CURRENCY_INDEX in indexes
    assert ORDER_CURRENCY_STATUS_INDEX in indexes
    assert not any("FilterExpression" in q for q in sent)


def test_search_narrows_the_rows_while_the_tiles_keep_counting_all(merchant, app):
    _place(app, NOON, customer_name="Charles Babbage")
    _place(app, NOON)

    html = merchant.get("/orders?q=babbage").get_data(as_text=True)

    assert len(_numbers(html)) == 1
    assert _tiles(html)["All"] == 2
    assert "not only those matching the search" in html
    assert '<p class="result-count" id="result-count">1 order matches</p>' in html


def test_an_htmx_search_swaps_the_results_and_the_filter_count_not_the_form(merchant, app):
    _place(app, NOON)

    response = merchant.get("/orders?q=ada&currency=GBP", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)

    assert html.lstrip().startswith('<div id="order-list-body"')
    assert '<form id="order-filters"' not in html
    assert 'id="order-search"' not in html
    # The Filters button's count follows the results (one folded filter: the currency).
    assert (
        '<span id="order-filters-count" class="filter-count" hx-swap-oob="true"><span class="count-badge">1</span>'
        in html
    )


def test_the_csv_export_has_every_matching_order(merchant, app):
    _place(app, NOON, customer_name="=HYPERLINK(1)", quantity=2)
    _place(app, NOON, currency="EUR")

    response = merchant.get("/orders/export.csv?currency=GBP")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:3] == ["order_id", "order_number", "created_at"]
    assert len(rows) == 2
    header = rows[0]
    row = dict(zip(header, rows[1], strict=True))
    assert row["customer_name"] == "'=HYPERLINK(1)"  # never run as a formula
    assert (row["quantity"], row["unit_price"], row["total"], row["currency"]) == (
        "2",
        "5.00",
        "10.00",
        "GBP",
    )
    assert "Export CSV" in merchant.get("/orders?currency=GBP").get_data(as_text=True)


def test_an_empty_result_offers_no_export_and_refuses_one(merchant, app):
    _place(app, NOON)

    html = merchant.get("/orders?currency=EUR").get_data(as_text=True)
    response = merchant.get("/orders/export.csv?currency=EUR")

    assert "Export CSV is not offered: no orders match." in html
    assert 'href="/orders/export.csv' not in html
    assert response.status_code == 303
    assert response.headers["Location"] == "/orders?currency=EUR"
    assert "nothing to export" in merchant.get("/orders?currency=EUR").get_data(as_text=True)


def test_the_columns_read_in_the_order_of_the_payments_list(merchant, app):
    _place(app, NOON)

    html = merchant.get("/orders").get_data(as_text=True)

    heads = re.findall(r'<th scope="col"[^>]*>([^<]+)</th>', html)
    assert heads == ["Created", "Order", "Customer", "Product", "Total", "Status"]


def test_unreadable_filters_are_a_400_with_a_message(merchant):
    response = merchant.get("/orders?currency=USD&from=yesterday")

    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "Unknown currency" in text
    assert "must be a date like" in text
