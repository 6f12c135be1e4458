"""The Refunds filter of the payments list: one Query on RefundIndex per summary, newest first."""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from moto import mock_aws

from dashboard.core.ids import new_id
from dashboard.domain.actor import Actor
from dashboard.domain.payment_query import PaymentQuery
from dashboard.domain.payments import Payment, PaymentStatus, StatusGroup
from dashboard.domain.refunds import Refund, RefundStatus
from dashboard.domain.search import parse_search
from dashboard.domain.timezones import zone_named
from dashboard.services.payment_listing import (
    PaymentListing,
    PaymentListPage,
    ResultCount,
    StatusCounts,
    result_count,
)
from dashboard.services.payments import NewPaymentLink
from dashboard.store.cursors import CursorCodec, InvalidCursor
from dashboard.web.payment_filters import parse_filters
from tests.conftest import TEST_SECRET_KEY, MotoWorld, actor_for, moto_world
from tests.unit.api_support import api_key_for, assert_problem, bearer

MERCHANT = "alice@example.com"
TODAY = date(2026, 11, 20)
NOON_TODAY = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
_ticks = itertools.count(1)


@pytest.fixture
def world() -> Iterator[MotoWorld]:
    with mock_aws():
        yield moto_world("refund-filter-")


@pytest.fixture
def listing(world: MotoWorld) -> PaymentListing:
    store = world.store
    return PaymentListing(store.finder, store.rollups, CursorCodec(TEST_SECRET_KEY))


@pytest.fixture
def queries(world: MotoWorld) -> Iterator[list[dict[str, Any]]]:
    """The parameters of every Query (and the names of Scans) the store sends, in order."""
    sent: list[dict[str, Any]] = []
    events = world.store.client.meta.events

    def record(params: dict[str, Any], model: Any, **_kwargs: Any) -> None:
        if model.name in ("Query", "Scan"):
            sent.append({"operation": model.name, **params})

    events.register("provide-client-params.dynamodb", record)
    yield sent
    events.unregister("provide-client-params.dynamodb", record)


def paid(world: MotoWorld, days_ago: int = 0, amount_minor: int = 1000, **fields: Any) -> Payment:
    """Return a completed payment created ``days_ago`` days before today (each a second later)."""
    world.clock.now = NOON_TODAY - timedelta(days=days_ago) + timedelta(seconds=next(_ticks))
    request = NewPaymentLink(
        new_id(),
        amount_minor,
        fields.pop("currency", "GBP"),
        fields.pop("reference", "Invoice 42"),
        **fields,
    )
    payment = world.payments.create_payment_link(actor_for(MERCHANT), request)
    for event in world.sandbox.pay(payment.provider_link_id):
        world.payments.apply_provider_event(event)
    stored = world.store.payments.get(MERCHANT, payment.payment_id)
    assert stored is not None
    return stored


def with_refunds(world: MotoWorld, payment: Payment, *refunds: tuple[int, RefundStatus]) -> Payment:
    """Store ``payment`` with refunds of (amount, status), as the refund service leaves them."""
    stored = payment
    for amount_minor, status in refunds:
        refund = Refund(new_id(), amount_minor, status, world.clock.now, world.clock.now)
        stored = world.store.payments.save(stored, stored.with_refund(refund, world.clock.now))
    return stored


def query(**args: str) -> PaymentQuery:
    return parse_filters(args, TODAY, zone_named("Europe/London")).query


def ids(payments: list[Payment]) -> list[str]:
    return [p.payment_id for p in payments]


@pytest.fixture
def refund_mix(world: MotoWorld) -> dict[str, Payment]:
    """One payment of each kind, oldest first: refunded, partly, pending, failed, none."""
    return {
        "refunded": with_refunds(
            world, paid(world), (600, RefundStatus.EXECUTED), (400, RefundStatus.EXECUTED)
        ),
        "partly": with_refunds(
            world, paid(world), (300, RefundStatus.EXECUTED), (200, RefundStatus.PENDING)
        ),
        "pending": with_refunds(world, paid(world), (1000, RefundStatus.AUTHORIZED)),
        "failed": with_refunds(world, paid(world), (1000, RefundStatus.FAILED)),
        "none": paid(world),
    }


@pytest.mark.parametrize(
    ("choice", "expected"),
    [("refunded", "refunded"), ("partly_refunded", "partly"), ("refund_pending", "pending")],
)
def test_each_refund_summary_is_one_query_on_the_refund_index(
    listing, refund_mix, queries, choice, expected
):
    page = listing.find_page(MERCHANT, query(refund=choice))

    assert ids(page.payments) == [refund_mix[expected].payment_id]
    assert page.next_cursor is None
    [sent] = queries
    assert sent["operation"] == "Query"
    assert sent["IndexName"] == "RefundIndex"
    assert sent["ExpressionAttributeValues"][":lo"] == {"S": f"{choice}#"}
    assert page.plan == "RefundIndex (refund summary)"


def test_any_refund_lists_every_payment_a_refund_was_asked_for_newest_first(
    listing, refund_mix, queries
):
    page = listing.find_page(MERCHANT, query(refund="any"))

    kinds = ["failed", "pending", "partly", "refunded"]  # newest first; "none" is left out
    assert ids(page.payments) == [refund_mix[kind].payment_id for kind in kinds]
    assert {q["operation"] for q in queries} == {"Query"}
    assert {q["IndexName"] for q in queries} == {"RefundIndex"}
    assert len(queries) == 4  # one per refund summary, merged by creation time
    assert page.plan == "RefundIndex (4 refund summaries)"


def test_a_date_range_is_part_of_the_refund_key_condition(world, listing, queries):
    with_refunds(world, paid(world, days_ago=40), (1000, RefundStatus.EXECUTED))
    recent = with_refunds(world, paid(world, days_ago=2), (1000, RefundStatus.EXECUTED))
    with_refunds(world, paid(world, days_ago=1), (500, RefundStatus.EXECUTED))  # partly

    page = listing.find_page(MERCHANT, query(refund="refunded", range="7d"))

    assert ids(page.payments) == [recent.payment_id]
    [sent] = queries
    assert "refundSort BETWEEN :lo AND :hi" in sent["KeyConditionExpression"]
    low = sent["ExpressionAttributeValues"][":lo"]["S"]
    high = sent["ExpressionAttributeValues"][":hi"]["S"]
    assert low.startswith("refunded#2026-11-14")
    assert high.startswith("refunded#2026-11-20")
    assert "FilterExpression" not in sent  # the dates are in the key, nothing is read and dropped
    assert page.plan == "RefundIndex (refund summary + dates)"


def test_currency_amount_and_status_are_a_filter_expression_on_the_refund_query(
    world, listing, queries
):
    euros = with_refunds(
        world, paid(world, amount_minor=5000, currency="EUR"), (5000, RefundStatus.EXECUTED)
    )
    with_refunds(world, paid(world, amount_minor=5000), (5000, RefundStatus.EXECUTED))
    with_refunds(world, paid(world, amount_minor=100, currency="EUR"), (100, RefundStatus.EXECUTED))

    page = listing.find_page(
        MERCHANT, query(refund="refunded", currency="EUR", min="10", status="completed")
    )

    assert ids(page.payments) == [euros.payment_id]
    [sent] = queries
    assert sent["IndexName"] == "RefundIndex"
    assert "#st IN (" in sent["FilterExpression"]
    assert "#cur = :cur" in sent["FilterExpression"]
    assert page.plan.endswith("filter expression on status, currency, amount")
    assert listing.find_page(MERCHANT, query(refund="refunded", status="pending")).payments == []


def test_paging_a_refund_filter_shows_each_payment_once_newest_first(world, listing):
    made = [with_refunds(world, paid(world), (1000, RefundStatus.EXECUTED)) for _ in range(7)]
    with_refunds(world, paid(world), (10, RefundStatus.EXECUTED))  # partly: not listed

    pages = all_pages(listing, query(refund="refunded"), page_size=3)

    assert [len(page.payments) for page in pages] == [3, 3, 1]
    assert [p.payment_id for page in pages for p in page.payments] == ids(made[::-1])


def test_paging_any_refund_merges_the_summaries_without_gaps_or_repeats(world, listing):
    statuses = itertools.cycle(
        [RefundStatus.EXECUTED, RefundStatus.PENDING, RefundStatus.FAILED, RefundStatus.EXECUTED]
    )
    made = []
    for n in range(11):
        amount = 1000 if n % 4 == 0 else 400
        made.append(with_refunds(world, paid(world), (amount, next(statuses))))
    paid(world)  # never refunded

    pages = all_pages(listing, query(refund="any"), page_size=4)

    assert [len(page.payments) for page in pages] == [4, 4, 3]
    assert [p.payment_id for page in pages for p in page.payments] == ids(made[::-1])


def test_a_search_with_a_refund_filter_lists_only_matches_with_those_refunds(world, listing):
    wanted = with_refunds(world, paid(world, reference="Rent May"), (1000, RefundStatus.EXECUTED))
    with_refunds(world, paid(world, reference="Rent June"), (100, RefundStatus.EXECUTED))
    paid(world, reference="Rent July")
    with_refunds(world, paid(world, reference="Invoice 9"), (1000, RefundStatus.EXECUTED))

    page = listing.find_page(MERCHANT, query(q="rent", refund="refunded"))

    assert ids(page.payments) == [wanted.payment_id]


def test_a_cursor_of_one_refund_filter_does_not_continue_another(world, listing):
    for _ in range(3):
        with_refunds(world, paid(world), (1000, RefundStatus.EXECUTED))
    cursor = listing.find_page(MERCHANT, query(refund="refunded"), page_size=1).next_cursor

    with pytest.raises(InvalidCursor):
        listing.find_page(MERCHANT, query(refund="any"), cursor)
    with pytest.raises(InvalidCursor):
        listing.find_page(MERCHANT, query(), cursor)


def test_an_export_with_a_refund_filter_holds_only_those_payments(world, listing, refund_mix):
    exported = list(listing.export(MERCHANT, query(refund="partly_refunded")))

    assert ids(exported) == [refund_mix["partly"].payment_id]


def all_pages(listing: PaymentListing, page_query: PaymentQuery, page_size: int) -> list[Any]:
    pages, cursor = [], None
    while True:
        page = listing.find_page(MERCHANT, page_query, cursor, page_size)
        pages.append(page)
        cursor = page.next_cursor
        if cursor is None:
            return pages


# The list page and the export


def _pay_in_app(app: Flask, reference: str, *refunds: tuple[int, RefundStatus]) -> Payment:
    """Create, pay and refund a £10.00 payment in the app, as its services would."""
    service = app.extensions["payment_service"]
    with app.test_request_context(base_url="http://localhost"):
        payment = service.create_payment_link(
            Actor.system(MERCHANT), NewPaymentLink(new_id(), 1000, "GBP", reference)
        )
        for event in app.extensions["payment_provider"].pay(payment.provider_link_id):
            service.apply_provider_event(event)
    repository = app.extensions["store"].payments
    stored = repository.get(MERCHANT, payment.payment_id)
    for amount_minor, status in refunds:
        now = datetime.now(UTC)
        refund = Refund(new_id(), amount_minor, status, now, now)
        stored = repository.save(stored, stored.with_refund(refund, now))
    return stored


def _list_html(client: FlaskClient, query_string: str = "") -> str:
    response = client.get(f"/payments?{query_string}")
    assert response.status_code == 200
    return " ".join(response.get_data(as_text=True).split())


def test_a_payment_with_refunds_shows_how_refunded_it_is_beside_its_status(app, merchant):
    _pay_in_app(app, "Full", (1000, RefundStatus.EXECUTED))
    _pay_in_app(app, "Part", (250, RefundStatus.EXECUTED))
    _pay_in_app(app, "Asked", (1000, RefundStatus.PENDING))
    _pay_in_app(app, "Kept")

    html = _list_html(merchant)

    rows = [row for row in re.findall(r"<tr>(.*?)</tr>", html) if "row-link" in row]
    by_reference = {re.search(r'class="row-link"[^>]*>(\w+)<', row).group(1): row for row in rows}
    assert 'badge badge-refund refund-badge refund-refunded">Refunded<' in by_reference["Full"]
    assert 'refund-partly_refunded">Partly refunded<' in by_reference["Part"]
    pending_badge = 'badge badge-pending refund-badge refund-refund_pending">Refund pending<'
    assert pending_badge in by_reference["Asked"]
    assert "refund-badge" not in by_reference["Kept"]
    assert all('status-completed">Completed<' in row for row in by_reference.values())


def test_the_refunds_choice_is_in_the_form_the_url_and_the_active_filters(app, merchant):
    wanted = _pay_in_app(app, "Full", (1000, RefundStatus.EXECUTED))
    other = _pay_in_app(app, "Halfway", (250, RefundStatus.EXECUTED))

    html = _list_html(merchant, "refund=refunded")

    assert '<select name="refund" >' in html
    assert '<option value="">All payments</option>' in html
    assert '<option value="refunded" selected>Refunded</option>' in html
    assert '<option value="any" >Any refund</option>' in html
    assert f"/payments/{wanted.payment_id}" in html
    assert f"/payments/{other.payment_id}" not in html
    assert 'title="Remove this filter">Refunds: Refunded' in html
    assert 'href="/payments/export.csv?refund=refunded"' in html
    assert "/payments?status=completed&amp;refund=refunded" in html  # tiles keep the filter
    assert '<p class="result-count" id="result-count">1 payment matches</p>' in html
    assert "not only those matching the refund filter." in html


def test_an_unknown_refunds_choice_is_a_message_not_a_guess(merchant):
    response = merchant.get("/payments?refund=maybe")

    assert response.status_code == 400
    assert "Unknown refund filter" in response.get_data(as_text=True)


def test_the_count_of_a_refund_filter_beyond_one_page_is_not_the_tiles_figure():
    """The rollups count payments by status, not by refunds: past one page, say 25+."""
    refunds = parse_filters({"refund": "any"}, TODAY, zone_named("Europe/London")).query
    counts = StatusCounts(dict.fromkeys(StatusGroup, 10))
    page = PaymentListPage([_a_payment()] * 25, "next", parse_search(""), "", False, 26)

    assert result_count(refunds, counts, page, continuing=False) == ResultCount(25, None, True)
    assert result_count(PaymentQuery(), counts, page, continuing=False).matched == 40


def test_the_export_of_a_refund_filter_has_its_refund_columns(app, merchant):
    part = _pay_in_app(app, "Part", (250, RefundStatus.EXECUTED), (100, RefundStatus.PENDING))
    _pay_in_app(app, "Kept")

    response = merchant.get("/payments/export.csv?refund=partly_refunded")

    assert response.status_code == 200
    header, *rows = csv.reader(io.StringIO(response.get_data(as_text=True)))
    assert header[-2:] == ["refunded_amount", "refund_status"]
    assert [(row[0], row[-2], row[-1]) for row in rows] == [
        (part.payment_id, "2.50", "partly_refunded")
    ]


def _a_payment() -> Payment:
    now = datetime.now(UTC)
    return Payment(
        user_id=MERCHANT,
        payment_id=new_id(),
        amount_minor=1000,
        currency="GBP",
        reference="Invoice 1",
        status=PaymentStatus.COMPLETED,
        created_at=now,
        updated_at=now,
        expires_at=now,
        provider="sandbox",
        payer_token="token",
    )


def test_the_api_lists_payments_by_refunds_with_the_same_choices(app, client):
    alice = bearer(api_key_for(app, MERCHANT))
    full = _pay_in_app(app, "Full", (1000, RefundStatus.EXECUTED))
    asked = _pay_in_app(app, "Asked", (1000, RefundStatus.PENDING))
    _pay_in_app(app, "Kept")

    refunded = client.get("/api/v1/payments?refund=refunded", headers=alice).json
    anything = client.get("/api/v1/payments?refund=any", headers=alice).json

    assert [p["id"] for p in refunded["data"]] == [full.payment_id]
    assert [p["id"] for p in anything["data"]] == [asked.payment_id, full.payment_id]
    refused = client.get("/api/v1/payments?refund=maybe", headers=alice)
    assert "refund" in assert_problem(refused, 400, "validation-error")["errors"]
