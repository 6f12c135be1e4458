"""The payments list never contradicts itself: result counts, the tiles' scope, export, expiry."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from dashboard.core.clock import utc_now
from dashboard.core.ids import new_id
from dashboard.domain.actor import Actor
from dashboard.services.payments import NewPaymentLink

ALICE = "alice@example.com"


def _add_payments(app: Flask, references: list[str], amount_minor: int = 1250) -> None:
    service = app.extensions["payment_service"]
    with app.test_request_context(base_url="http://localhost"):
        for reference in references:
            service.create_payment_link(
                Actor.system(ALICE), NewPaymentLink(new_id(), amount_minor, "GBP", reference)
            )


def _list(client: FlaskClient, query: str = "") -> str:
    response = client.get(f"/payments?{query}", headers={"HX-Request": "true"})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _result_count(html: str) -> str:
    found = re.search(r'<p class="result-count"[^>]*>(.*?)</p>', html, re.S)
    assert found, "the list says how many payments it holds"
    return " ".join(found.group(1).split())


def test_a_search_says_how_many_payments_match_not_the_tiles_total(app, merchant):
    _add_payments(app, ["Rent March", "Rent April", "Invoice 1", "Invoice 2", "Invoice 3"])

    html = _list(merchant, "q=rent")

    assert _result_count(html) == "2 payments match"
    assert "The tiles count every payment of all time, both currencies, not only those" in html
    assert "matching the search." in html


def test_an_amount_filter_counts_what_it_shows(app, merchant):
    _add_payments(app, ["Invoice 1", "Invoice 2"], amount_minor=500)
    _add_payments(app, ["Invoice 3"], amount_minor=9000)

    html = _list(merchant, "min=50")

    assert _result_count(html) == "1 payment matches"
    assert "not only those matching the amounts." in html


def test_without_search_the_count_is_the_tiles_exact_figure_even_beyond_one_page(app, merchant):
    _add_payments(app, [f"Invoice {n}" for n in range(27)])

    assert _result_count(_list(merchant)) == "27 payments, 25 shown, more below"
    assert _result_count(_list(merchant, "status=pending")) == (
        "27 payments match, 25 shown, more below"
    )
    assert "Counts cover all time, both currencies." in _list(merchant)


def test_a_search_with_more_than_a_page_says_more_are_below_without_counting(app, merchant):
    _add_payments(app, [f"Invoice {n}" for n in range(27)])

    assert _result_count(_list(merchant, "q=invoice")) == "25+ shown, more below"


def test_an_empty_result_offers_no_export_and_says_why(app, merchant):
    _add_payments(app, ["Invoice 1"])

    html = _list(merchant, "q=nothing-like-this")

    assert "No payments match" in html
    assert "/payments/export.csv" not in html
    assert "Export CSV is not offered: no payments match." in html
    assert "result-count" not in html  # the empty state says it, once
    assert "/payments/export.csv" in _list(merchant, "q=invoice")


def test_exporting_an_empty_result_returns_to_the_list_with_a_message(app, merchant):
    _add_payments(app, ["Invoice 1"])

    response = merchant.get("/payments/export.csv?q=nothing-like-this")

    assert response.status_code == 303
    assert response.headers["Location"] == "/payments?q=nothing-like-this"
    html = merchant.get(response.headers["Location"]).get_data(as_text=True)
    assert "nothing to export" in html
    exported = merchant.get("/payments/export.csv?q=invoice")
    assert exported.status_code == 200
    assert "Invoice 1" in exported.get_data(as_text=True)


def test_a_link_past_its_expiry_is_said_to_be_counted_pending(app, merchant, monkeypatch):
    _add_payments(app, ["Invoice 1"])
    before = " ".join(_list(merchant).split())
    assert "is counted as Pending (or Failed) until its expiry is recorded." in before
    assert "shown here" not in before

    later = utc_now() + timedelta(days=31)
    monkeypatch.setattr("dashboard.web.payments.routes.utc_now", lambda: later)
    html = _list(merchant)

    assert "Expired" in html
    assert re.search(r'tile-pending[^>]*>.*?tile-count">1<', html, re.S)
    assert (
        "1 payment shown here is past its expiry: shown as Expired, but counted as Pending"
        in " ".join(html.split())
    )


def test_an_account_without_open_payments_has_no_expiry_note(merchant):
    assert "expiry" not in _list(merchant)


@pytest.mark.parametrize("currency", ["", "GBP"])
def test_the_status_counts_are_read_in_one_batch_get(app, merchant, currency):
    _add_payments(app, ["Invoice 1"])
    calls: list[str] = []
    events = app.extensions["store"].client.meta.events

    def record(model, **_kwargs):
        calls.append(model.name)

    events.register("before-call.dynamodb", record)
    try:
        html = _list(merchant, f"currency={currency}")
    finally:
        events.unregister("before-call.dynamodb", record)

    assert re.search(r'tile-pending[^>]*>.*?tile-count">1<', html, re.S)
    assert calls.count("BatchGetItem") == 1
    # The session and the membership are the only GetItems; the page's one Query lists it.
    assert calls.count("GetItem") == 2
    assert calls.count("Query") == 1
    assert "Scan" not in calls
