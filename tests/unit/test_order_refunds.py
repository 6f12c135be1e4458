"""Orders and refunds: an order refunded in full becomes ``refunded``, in its payment's write.

Refunds are made with the domain and stored with their payment (no provider needed): the
payment's own transaction moves its order and the order rollups, as it does for paid.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator

from dashboard.core.clock import utc_now
from dashboard.core.ids import new_id
from dashboard.domain.orders import Order, OrderStatus, order_status_for_payment
from dashboard.domain.payments import PaymentStatus, RefundSummary
from dashboard.domain.refunds import Refund, RefundStatus
from dashboard.services.order_rollup_recount import recount_order_rollups
from dashboard.services.orders import OrderQuery
from tests.conftest import actor_for, place_order
from tests.unit.api_support import ALICE, api_key_for, bearer
from tests.unit.conftest import csrf_token, sign_in


@pytest.fixture
def merchant(client: FlaskClient) -> FlaskClient:
    """Alice's browser, signed in."""
    return sign_in(client, ALICE)


@pytest.fixture
def alice(app: Flask) -> dict[str, str]:
    """Alice's API key headers."""
    return bearer(api_key_for(app, ALICE))


def _paid_order(app: Flask) -> Order:
    """Return a £20.00 order of Alice's whose payment link was paid (the sandbox's events)."""
    order = place_order(app, ALICE, new_id(), quantity=4)
    with app.test_request_context():
        payment = app.extensions["order_service"].request_payment(actor_for(ALICE), order.order_id)
    assert payment.provider_link_id
    for event in app.extensions["payment_provider"].pay(payment.provider_link_id):
        app.extensions["payment_service"].apply_provider_event(event)
    return _stored_order(app, order)


def _stored_order(app: Flask, order: Order) -> Order:
    return app.extensions["order_service"].get_order(ALICE, order.order_id)


def _refund(app: Flask, order: Order, amount_minor: int, at: datetime | None = None) -> Refund:
    """Store an executed refund of the order's payment, as the provider's report leaves it."""
    payments = app.extensions["store"].payments
    payment = payments.get(ALICE, order.payment_id)
    at = at or utc_now()
    refund = Refund(new_id(), amount_minor, RefundStatus.EXECUTED, at, at, requested_by=ALICE)
    payments.save(payment, payment.with_refund(refund, at))
    return refund


def _return(app: Flask, order: Order, refund: Refund) -> None:
    """The payer's bank sends an executed refund back: it fails, and no longer counts."""
    payments = app.extensions["store"].payments
    payment = payments.get(ALICE, order.payment_id)
    now = utc_now()
    returned = refund.moved(RefundStatus.FAILED, now, failure_reason="returned")
    payments.save(payment, payment.with_refund(returned, now))


def _counts(app: Flask) -> dict[OrderStatus, int]:
    return app.extensions["order_service"].status_counts(ALICE, OrderQuery()).by_status


def _rows(html: str) -> list[str]:
    return re.findall(r'class="order-number"><a class="row-link" href="[^"]+">(ORD-\d+)</a>', html)


def _tiles(html: str) -> dict[str, int]:
    found = re.findall(
        r'<span class="tile-name">([^<]+)</span> <span class="tile-count">(\d+)<', html
    )
    return {name: int(count) for name, count in found}


@pytest.mark.parametrize(
    ("summary", "expected"),
    [
        (None, OrderStatus.PAID),
        (RefundSummary.PENDING, OrderStatus.PAID),
        (RefundSummary.PARTLY_REFUNDED, OrderStatus.PAID),
        (RefundSummary.NOT_REFUNDED, OrderStatus.PAID),
        (RefundSummary.REFUNDED, OrderStatus.REFUNDED),
    ],
)
def test_only_a_completed_payment_refunded_in_full_makes_its_order_refunded(summary, expected):
    assert order_status_for_payment(PaymentStatus.COMPLETED, summary) is expected


def test_a_refund_in_full_makes_the_order_refunded_and_moves_its_counts(app):
    order = _paid_order(app)
    assert _counts(app)[OrderStatus.PAID] == 1

    _refund(app, order, 500)
    assert _stored_order(app, order).status is OrderStatus.PAID  # a part only
    _refund(app, order, 1500)

    assert _stored_order(app, order).status is OrderStatus.REFUNDED
    counts = _counts(app)
    assert counts[OrderStatus.REFUNDED] == 1
    assert counts[OrderStatus.PAID] == 0
    assert sum(counts.values()) == 1
    (rollup,) = app.extensions["store"].orders.rollups.all_time(ALICE, "GBP")
    assert rollup.totals_minor[OrderStatus.REFUNDED] == 2000
    assert recount_order_rollups(app.extensions["store"].orders, ALICE).differences == []


def test_a_return_of_the_refund_in_full_makes_the_order_paid_again(app):
    order = _paid_order(app)
    refund = _refund(app, order, 2000)
    assert _stored_order(app, order).status is OrderStatus.REFUNDED

    _return(app, order, refund)

    assert _stored_order(app, order).status is OrderStatus.PAID
    counts = _counts(app)
    assert (counts[OrderStatus.PAID], counts[OrderStatus.REFUNDED]) == (1, 0)
    assert recount_order_rollups(app.extensions["store"].orders, ALICE).differences == []


def test_a_partial_refund_leaves_the_order_paid_and_its_page_shows_how_much(merchant, app):
    order = _paid_order(app)
    path = f"/orders/{order.order_id}"
    paid_line = re.compile(r"Ada Lovelace paid £20\.00 on (.+?)\.</p>")
    before = paid_line.search(merchant.get(path).get_data(as_text=True))
    assert before

    _refund(app, order, 500, at=utc_now() + timedelta(days=2))

    html = merchant.get(path).get_data(as_text=True)
    assert ">Paid</span>" in html
    assert "Refunded £5.00 of £20.00." in html
    after = paid_line.search(html)
    assert after
    assert after.group(1) == before.group(1)  # still when it was paid, not when refunded


def test_a_refunded_order_says_so_and_is_never_deleted(merchant, app):
    order = _paid_order(app)
    _refund(app, order, 2000)
    path = f"/orders/{order.order_id}"

    html = merchant.get(path).get_data(as_text=True)
    assert 'order-status-refunded">Refunded</span>' in html
    assert "Refunded in full: £20.00 went back to Ada Lovelace." in html
    assert "Delete order" not in html

    deleted = merchant.post(f"{path}/delete", data={"csrf_token": csrf_token(merchant)})
    assert deleted.status_code == 303
    shown = merchant.get(path).get_data(as_text=True)
    assert "A refunded order is a record of a payment and cannot be deleted." in shown
    assert _stored_order(app, order).status is OrderStatus.REFUNDED


def test_the_refunded_tab_lists_and_counts_only_refunded_orders(merchant, app):
    refunded = _paid_order(app)
    _refund(app, refunded, 2000)
    partly = _paid_order(app)
    _refund(app, partly, 500)
    place_order(app, ALICE, new_id())

    html = merchant.get("/orders?status=refunded").get_data(as_text=True)

    assert _rows(html) == [refunded.number_label]
    assert _tiles(html)["Refunded"] == 1
    assert _tiles(html)["Paid"] == 1
    assert 'href="/orders?status=refunded"' in merchant.get("/orders").get_data(as_text=True)


def test_the_csv_export_has_the_status_and_the_refunded_amount(merchant, app):
    _refund(app, _paid_order(app), 2000)
    _refund(app, _paid_order(app), 500)
    place_order(app, ALICE, new_id())

    response = merchant.get("/orders/export.csv")

    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [(r["status"], r["refunded_amount"]) for r in rows] == [
        ("pending", "0.00"),
        ("paid", "5.00"),
        ("refunded", "20.00"),
    ]


def test_the_api_shows_a_refunded_order_and_what_its_refunds_gave_back(app, client, alice):
    refunded = _paid_order(app)
    _refund(app, refunded, 2000)
    partly = _paid_order(app)
    _refund(app, partly, 500)
    spec = client.get("/api/v1/openapi.json").json
    schema = {"$ref": "#/components/schemas/OrderDetail", "components": spec["components"]}
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)

    full = client.get(f"/api/v1/orders/{refunded.order_id}", headers=alice).json
    part = client.get(f"/api/v1/orders/{partly.order_id}", headers=alice).json
    listed = client.get("/api/v1/orders?status=refunded", headers=alice).json["data"]

    assert (full["status"], full["status_label"], full["refunded_amount"]) == (
        "refunded",
        "Refunded",
        "20.00",
    )
    assert (part["status"], part["refunded_amount"], part["refunded_amount_minor"]) == (
        "paid",
        "5.00",
        500,
    )
    validator.validate(full)
    validator.validate(part)
    assert [o["id"] for o in listed] == [refunded.order_id]


def test_the_openapi_document_offers_the_refunded_status(client):
    spec = client.get("/api/v1/openapi.json").json

    assert "refunded" in spec["components"]["schemas"]["Order"]["properties"]["status"]["enum"]
    parameters = spec["paths"]["/orders"]["get"]["parameters"]
    (status,) = [p for p in parameters if p["name"] == "status"]
    assert "refunded" in status["schema"]["enum"]
