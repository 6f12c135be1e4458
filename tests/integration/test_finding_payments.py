"""Finding payments on a real DynamoDB Local: the planner, pages, filters, search, counts."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from dashboard.app import create_app
from dashboard.core.ids import new_id
from dashboard.domain.payments import PaymentStatus, StatusGroup
from dashboard.domain.refunds import Refund, RefundStatus
from dashboard.domain.search import parse_search
from dashboard.domain.timezones import zone_named
from dashboard.providers.sandbox import SandboxProvider
from dashboard.services.payment_listing import PaymentListing
from dashboard.services.payments import NewPaymentLink, PaymentService
from dashboard.store.cursors import CursorCodec, InvalidCursor
from dashboard.web.payment_filters import parse_filters
from tests.conftest import FakeClock, actor_for

pytestmark = pytest.mark.integration
TODAY = date(2026, 11, 20)


@pytest.fixture(scope="module")
def app(live_settings):
    app = create_app(live_settings)
    app.extensions["store"].ensure_tables()
    return app


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 20, 12, 0, tzinfo=UTC))


@pytest.fixture
def merchant() -> str:
    """A fresh merchant per test: the tests share one DynamoDB Local."""
    return f"merchant-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def sandbox(app, clock) -> SandboxProvider:
    return SandboxProvider(
        app.extensions["store"].sandbox_links,
        secret=b"integration",
        hosted_page_url=lambda link_id: f"http://testserver/sandbox/links/{link_id}",
        clock=clock,
    )


@pytest.fixture
def service(app, sandbox, clock) -> PaymentService:
    return PaymentService(
        app.extensions["store"].payments,
        sandbox,
        return_uri_for=lambda token: f"http://testserver/pay/{token}",
        clock=clock,
    )


@pytest.fixture
def listing(app) -> PaymentListing:
    store = app.extensions["store"]
    return PaymentListing(store.finder, store.rollups, CursorCodec("integration-secret"))


def make(service, clock, merchant, days_ago=0, **fields):
    """Create a payment ``days_ago`` days before the test's today (at noon, then a minute on)."""
    clock.now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC) - timedelta(days=days_ago)
    clock.advance(seconds=next(_ticks))
    request = NewPaymentLink(
        payment_id=new_id(),
        amount_minor=fields.pop("amount_minor", 1250),
        currency=fields.pop("currency", "GBP"),
        reference=fields.pop("reference", "Invoice 42"),
        **fields,
    )
    return service.create_payment_link(actor_for(merchant), request)


_ticks = itertools.count(1)


def filters(**args):
    return parse_filters(
        {k: str(v) for k, v in args.items()}, TODAY, zone_named("Europe/London")
    ).query


def all_pages(listing, merchant, page_filters, page_size=25):
    pages, cursor = [], None
    while True:
        page = listing.find_page(merchant, page_filters, cursor, page_size)
        pages.append(page)
        cursor = page.next_cursor
        if cursor is None:
            return pages


def test_the_planner_picks_the_index_that_fits_the_filters(app, merchant):
    finder = app.extensions["store"].finder

    def plan(**args):
        found = filters(**args)
        return finder.plan(merchant, found, parse_search(found.search)).description

    assert plan().startswith("CreatedAtIndex (newest first)")
    assert plan(status="failed").startswith("StatusIndex (status group)")
    assert plan(status="failed", range="7d").startswith("StatusIndex (status group + dates)")
    assert plan(range="30d").startswith("CreatedAtIndex (dates)")
    assert plan(range="30d", currency="EUR", min="5").endswith(
        "filter expression on currency, amount"
    )
    assert plan(q="12.50") == "Search: amount"
    assert plan(q="bob@example.com") == "Search: payer email"
    assert plan(q="inv") == "Search: 0 word(s) beginning “inv”"
    assert plan(refund="refunded", status="failed") == (
        "RefundIndex (refund summary); filter expression on status"
    )
    assert plan(refund="any", range="7d") == "RefundIndex (4 refund summaries + dates)"


def test_the_refund_filter_pages_through_its_index_with_dates_and_filters(
    app, service, sandbox, clock, merchant, listing
):
    repository = app.extensions["store"].payments

    def refunded(days_ago, refund_minor, status=RefundStatus.EXECUTED, **fields):
        payment = make(service, clock, merchant, days_ago=days_ago, amount_minor=1000, **fields)
        for event in sandbox.pay(payment.provider_link_id):
            service.apply_provider_event(event)
        stored = repository.get(merchant, payment.payment_id)
        refund = Refund(new_id(), refund_minor, status, clock.now, clock.now)
        return repository.save(stored, stored.with_refund(refund, clock.now))

    old = refunded(days_ago=40, refund_minor=1000)
    recent = [refunded(days_ago=3, refund_minor=1000) for _ in range(5)]
    partly = refunded(days_ago=2, refund_minor=300, currency="EUR")
    pending = refunded(days_ago=1, refund_minor=1000, status=RefundStatus.PENDING)
    make(service, clock, merchant)  # never refunded

    week = all_pages(listing, merchant, filters(refund="refunded", range="7d"), page_size=2)
    every = all_pages(listing, merchant, filters(refund="any"), page_size=3)
    euros = listing.find_page(merchant, filters(refund="any", currency="EUR", status="completed"))

    assert [p.payment_id for page in week for p in page.payments] == [
        p.payment_id for p in reversed(recent)
    ]
    assert [p.payment_id for page in every for p in page.payments] == [
        p.payment_id for p in [pending, partly, *reversed(recent), old]
    ]
    assert [p.payment_id for p in euros.payments] == [partly.payment_id]


def test_paging_walks_every_payment_once_newest_first(service, clock, merchant, listing):
    made = [make(service, clock, merchant, reference=f"Order {n}") for n in range(57)]

    pages = all_pages(listing, merchant, filters())

    assert [len(p.payments) for p in pages] == [25, 25, 7]
    listed = [p.payment_id for page in pages for p in page.payments]
    assert listed == [p.payment_id for p in reversed(made)]


def test_a_status_filter_and_a_date_range_combine(service, sandbox, clock, merchant, listing):
    def paid(days_ago):
        payment = make(service, clock, merchant, days_ago=days_ago)
        for event in sandbox.pay(payment.provider_link_id):
            service.apply_provider_event(event)
        return payment

    paid(days_ago=40)
    new_paid = paid(days_ago=2)
    new_open = make(service, clock, merchant, days_ago=1)

    completed_week = listing.find_page(merchant, filters(status="completed", range="7d"))
    pending_all = listing.find_page(merchant, filters(status="pending"))

    assert [p.payment_id for p in completed_week.payments] == [new_paid.payment_id]
    assert [p.payment_id for p in pending_all.payments] == [new_open.payment_id]


def test_currency_and_amount_filters(service, clock, merchant, listing):
    make(service, clock, merchant, amount_minor=500, currency="GBP")
    euros = make(service, clock, merchant, amount_minor=2000, currency="EUR")
    make(service, clock, merchant, amount_minor=9000, currency="EUR")

    found = listing.find_page(merchant, filters(currency="EUR", min="10", max="50"))

    assert [p.payment_id for p in found.payments] == [euros.payment_id]


def test_a_page_is_never_empty_while_more_results_exist(service, clock, merchant, listing):
    wanted = make(service, clock, merchant, days_ago=10, currency="EUR")
    for _ in range(60):
        make(service, clock, merchant, currency="GBP")

    page = listing.find_page(merchant, filters(currency="EUR"), page_size=10)

    assert [p.payment_id for p in page.payments] == [wanted.payment_id]
    assert page.next_cursor is None


def test_search_understands_words_amounts_emails_and_ids(
    service, sandbox, clock, merchant, listing
):
    invoice = make(service, clock, merchant, reference="Invoice 42", amount_minor=1250)
    order = make(service, clock, merchant, reference="Order 7", amount_minor=4200, currency="EUR",
                 payer_name="Chloé Martin", payer_email="Chloe@Example.com")  # fmt: skip
    other = make(service, clock, merchant, reference="Invited talk", amount_minor=999)

    def ids(text, **args):
        return {p.payment_id for p in listing.find_page(merchant, filters(q=text, **args)).payments}

    assert ids("inv") == {invoice.payment_id, other.payment_id}
    assert ids("INVOICE") == {invoice.payment_id}
    assert ids("invoice 4") == {invoice.payment_id}
    assert ids("chloe") == {order.payment_id}
    assert ids("12.50") == {invoice.payment_id}
    assert ids("£42") == set()  # 42.00 exists only in euros
    assert ids("42") == {invoice.payment_id, order.payment_id}  # word "42" and €42.00
    assert ids("chloe@example.com") == {order.payment_id}
    assert ids(invoice.payment_id[:13]) == {invoice.payment_id}
    assert ids(order.provider_link_id) == {order.payment_id}
    assert ids("inv", status="pending", currency="GBP") == {invoice.payment_id, other.payment_id}
    assert ids("nothing-like-this") == set()


def test_search_finds_a_payment_by_its_providers_payment_id(
    service, sandbox, merchant, listing, clock
):
    payment = make(service, clock, merchant)
    events = sandbox.pay(payment.provider_link_id)
    for event in events:
        service.apply_provider_event(event)

    found = listing.find_page(merchant, filters(q=events[0].provider_payment_id))

    assert [p.payment_id for p in found.payments] == [payment.payment_id]


def test_search_pages_through_many_matches(service, clock, merchant, listing):
    for n in range(30):
        make(service, clock, merchant, reference=f"Invoice {n}")
        make(service, clock, merchant, reference=f"Order {n}")

    pages = all_pages(listing, merchant, filters(q="invoice"), page_size=25)

    assert [len(p.payments) for p in pages] == [25, 5]
    references = [p.reference for page in pages for p in page.payments]
    assert references == [f"Invoice {n}" for n in reversed(range(30))]


def test_another_merchants_cursor_is_refused(service, clock, merchant, listing):
    for _ in range(3):
        make(service, clock, merchant)
    cursor = listing.find_page(merchant, filters(), page_size=1).next_cursor

    with pytest.raises(InvalidCursor):
        listing.find_page("mallory", filters(), cursor)
    with pytest.raises(InvalidCursor):
        listing.find_page(merchant, filters(status="pending"), cursor)
    with pytest.raises(InvalidCursor):
        listing.find_page(merchant, filters(), cursor[:-5] + "AAAAA")


def test_status_counts_come_from_rollups_and_match_a_recount(
    service, sandbox, clock, merchant, listing
):
    payments = [make(service, clock, merchant, days_ago=d, currency=c)
                for d, c in [(0, "GBP"), (1, "EUR"), (3, "GBP"), (20, "GBP")]]  # fmt: skip
    for event in sandbox.pay(payments[0].provider_link_id):
        service.apply_provider_event(event)
    service.cancel_payment(actor_for(merchant), payments[1].payment_id)
    for event in sandbox.decline(payments[2].provider_link_id):
        service.apply_provider_event(event)

    week = listing.status_counts(merchant, filters(range="7d"))
    week_gbp = listing.status_counts(merchant, filters(range="7d", currency="GBP"))
    ever = listing.status_counts(merchant, filters())

    assert week.by_group == {StatusGroup.PENDING: 0, StatusGroup.FAILED: 1,
                             StatusGroup.COMPLETED: 1, StatusGroup.ENDED: 1}  # fmt: skip
    assert week_gbp.total == 2
    assert ever.total == 4
    assert ever.by_group[StatusGroup.PENDING] == 1
    assert payments[3].status is PaymentStatus.AWAITING_PAYMENT


def test_an_export_streams_every_match_across_pages(service, clock, merchant, listing):
    for n in range(130):
        make(service, clock, merchant, reference=f"Invoice {n}")

    exported = list(listing.export(merchant, filters(q="invoice")))

    assert len(exported) == 130
    assert len({p.payment_id for p in exported}) == 130


def test_a_reference_with_dashes_is_found_as_typed(service, clock, merchant, listing):
    dashed = make(service, clock, merchant, reference="INV-2026-001")
    make(service, clock, merchant, reference="INV-2026-002")

    found = listing.find_page(merchant, filters(q="INV-2026-001"))

    assert [p.payment_id for p in found.payments] == [dashed.payment_id]


def test_payments_created_at_the_same_instant_are_each_listed_once(
    service, clock, merchant, listing
):
    made = [
        service.create_payment_link(
            actor_for(merchant), NewPaymentLink(new_id(), 100 + n, "GBP", f"Tie {n}")
        )
        for n in range(30)
    ]  # the clock does not move: every createdAt is the same
    assert len({p.created_at for p in made}) == 1

    pages = all_pages(listing, merchant, filters(), page_size=7)

    listed = [p.payment_id for page in pages for p in page.payments]
    assert sorted(listed) == sorted(p.payment_id for p in made)
    assert len(listed) == 30


def test_a_long_fruitless_search_stops_and_offers_to_keep_searching(
    service, clock, merchant, listing, monkeypatch
):
    from dashboard.store import finder

    monkeypatch.setattr(finder, "EMPTY_PAGE_BUDGET", 20)
    wanted = make(service, clock, merchant, days_ago=30, currency="EUR")
    for _ in range(60):
        make(service, clock, merchant, currency="GBP")

    first = listing.find_page(merchant, filters(currency="EUR"), page_size=10)

    assert first.payments == []
    assert first.next_cursor is not None
    assert first.items_read < 60
    found = [p.payment_id for page in all_pages(listing, merchant, filters(currency="EUR"), 10)
             for p in page.payments]  # fmt: skip
    assert found == [wanted.payment_id]
