"""Order use cases on moto: numbering, totals, finding, changing, and following the payment."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from dashboard.core.ids import new_id
from dashboard.domain.actor import Actor
from dashboard.domain.orders import InvalidOrder, OrderFields, OrderStatus
from dashboard.domain.payments import PaymentStatus
from dashboard.providers.base import ProviderUnavailable
from dashboard.services import orders as order_service_module
from dashboard.services.orders import OrderNotFound, OrderQuery, OrderService
from dashboard.services.payments import ActionNotAllowed
from dashboard.store.cursors import CursorCodec, InvalidCursor
from tests.conftest import TEST_SECRET_KEY, actor_for

# Alice, signed in: the actor of the writes below (reads take her account id, "alice").
ALICE = actor_for("alice")


@pytest.fixture
def orders(store, service, clock) -> OrderService:
    """The order use cases over moto, the sandbox-backed payment service and the test clock."""
    return OrderService(store.orders, service, CursorCodec(TEST_SECRET_KEY), clock)


def fields(**changes) -> OrderFields:
    values = {
        "customer_name": "Ada Lovelace",
        "customer_email": "Ada@Example.com",
        "product_name": "Analytical engine manual",
        "quantity": 3,
        "unit_price": Decimal("12.50"),
        "currency": "GBP",
    }
    return OrderFields(**{**values, **changes})


def place(orders: OrderService, user: str = "alice", **changes):
    return orders.create_order(actor_for(user), new_id(), fields(**changes))


def test_orders_are_numbered_per_merchant_and_the_total_is_computed(orders):
    first = place(orders)
    second = place(orders)
    other = place(orders, user="bob")

    assert (first.number_label, second.number_label, other.number_label) == (
        "ORD-1001",
        "ORD-1002",
        "ORD-1001",
    )
    assert first.total_minor == 3750
    assert first.customer_email == "ada@example.com"
    assert first.status is OrderStatus.PENDING


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"customer_name": "  "}, "customer_name"),
        ({"customer_email": "not-an-email"}, "customer_email"),
        ({"quantity": 0}, "quantity"),
        ({"unit_price": Decimal("-1")}, "unit_price"),
        ({"currency": "USD"}, "currency"),
        ({"quantity": 2, "unit_price": Decimal("600000")}, "quantity"),  # total over 1,000,000
    ],
)
def test_an_invalid_order_is_refused_with_the_field_named_and_nothing_written(
    orders, store, changes, field
):
    with pytest.raises(InvalidOrder) as refused:
        place(orders, **changes)

    assert field in refused.value.errors
    assert orders.list_orders("alice", OrderQuery()).orders == []
    assert store.orders.next_order_number("alice") == 1001  # no number was used up


def test_submitting_the_same_order_form_twice_gives_one_order(orders):
    order_id = new_id()
    first = orders.create_order(ALICE, order_id, fields())
    second = orders.create_order(ALICE, order_id, fields())

    assert second == first
    assert len(orders.list_orders("alice", OrderQuery()).orders) == 1


def test_a_merchant_cannot_see_another_merchants_order(orders):
    order = place(orders)

    with pytest.raises(OrderNotFound):
        orders.get_order("mallory", order.order_id)
    assert orders.list_orders("mallory", OrderQuery(search="ada")).orders == []


def test_the_list_is_newest_first_and_pages_to_the_end(orders, clock):
    placed = []
    for _ in range(7):
        placed.append(place(orders).order_id)
        clock.advance(seconds=1)

    seen, cursor, pages = [], None, 0
    while True:
        page = orders.list_orders("alice", OrderQuery(), cursor, page_size=3)
        seen += [o.order_id for o in page.orders]
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break

    assert seen == list(reversed(placed))
    assert pages == 3


def test_a_page_that_ends_exactly_offers_no_more(orders):
    for _ in range(3):
        place(orders)

    page = orders.list_orders("alice", OrderQuery(), page_size=3)

    assert len(page.orders) == 3
    assert page.next_cursor is None


def test_a_cursor_cannot_continue_another_list(orders):
    for _ in range(3):
        place(orders)
    cursor = orders.list_orders("alice", OrderQuery(), page_size=2).next_cursor

    with pytest.raises(InvalidCursor):
        orders.list_orders("alice", OrderQuery(status=OrderStatus.PAID), cursor)
    with pytest.raises(InvalidCursor):
        orders.list_orders("bob", OrderQuery(), cursor)


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("grace", ["ORD-1003", "ORD-1002"]),
        ("Gra", ["ORD-1003", "ORD-1002"]),  # a prefix, any case
        ("engine", ["ORD-1003", "ORD-1001"]),
        ("engine hopper", ["ORD-1003"]),  # every word must match
        ("ORD-1002", ["ORD-1002"]),
        ("1003", ["ORD-1003"]),
        ("example.org", ["ORD-1002"]),  # the customer's email
        ("nobody", []),
    ],
)
def test_searching_by_customer_product_or_order_number(orders, search, expected):
    place(orders)
    place(
        orders,
        customer_name="Grace Hopper",
        customer_email="grace@example.org",
        product_name="Compiler",
    )
    place(orders, customer_name="Grace Hopper", product_name="Difference engine")

    found = orders.list_orders("alice", OrderQuery(search=search)).orders

    assert [o.number_label for o in found] == expected


def test_search_pages_to_the_end(orders):
    for _ in range(5):
        place(orders)

    first = orders.list_orders("alice", OrderQuery(search="ada"), page_size=2)
    second = orders.list_orders("alice", OrderQuery(search="ada"), first.next_cursor, page_size=2)
    third = orders.list_orders("alice", OrderQuery(search="ada"), second.next_cursor, page_size=2)

    numbers = [o.order_number for page in (first, second, third) for o in page.orders]
    assert numbers == [1005, 1004, 1003, 1002, 1001]
    assert third.next_cursor is None


def test_requesting_payment_makes_a_link_for_the_total_with_the_order_number(orders):
    order = place(orders)

    payment = orders.request_payment(ALICE, order.order_id)

    assert payment.amount_minor == 3750
    assert payment.currency == "GBP"
    assert payment.reference == "ORD-1001"
    assert (payment.payer_name, payment.payer_email) == ("Ada Lovelace", "ada@example.com")
    assert payment.order_id == order.order_id
    assert payment.status is PaymentStatus.AWAITING_PAYMENT
    requested = orders.get_order("alice", order.order_id)
    assert requested.status is OrderStatus.PAYMENT_REQUESTED
    assert requested.payment_id == payment.payment_id


def test_requesting_payment_twice_gives_the_same_link(orders, store):
    order = place(orders)

    first = orders.request_payment(ALICE, order.order_id)
    second = orders.request_payment(ALICE, order.order_id)

    assert second.payment_id == first.payment_id
    assert len(list(store.payments.each_payment("alice"))) == 1


def test_the_order_is_paid_when_its_payment_completes(orders, service, sandbox):
    order = place(orders)
    payment = orders.request_payment(ALICE, order.order_id)

    for event in sandbox.decline(payment.provider_link_id):
        service.apply_provider_event(event)
    assert orders.get_order("alice", order.order_id).status is OrderStatus.PAYMENT_REQUESTED

    for event in sandbox.pay(payment.provider_link_id):
        service.apply_provider_event(event)
    paid = orders.get_order("alice", order.order_id)
    assert paid.status is OrderStatus.PAID
    assert orders.list_orders("alice", OrderQuery(status=OrderStatus.PAID)).orders == [paid]


def test_an_order_whose_link_failed_can_request_payment_again(
    orders, service, sandbox, monkeypatch
):
    order = place(orders)

    def unavailable(_request):
        raise ProviderUnavailable("connection refused")

    monkeypatch.setattr(sandbox, "create_link", unavailable)
    failed = orders.request_payment(ALICE, order.order_id)
    assert failed.status is PaymentStatus.CREATION_FAILED
    assert orders.get_order("alice", order.order_id).status is OrderStatus.FAILED

    monkeypatch.undo()
    again = orders.request_payment(ALICE, order.order_id)

    assert again.payment_id != failed.payment_id
    assert again.status is PaymentStatus.AWAITING_PAYMENT
    # The first link can never come back to life and be paid as well.
    assert service.get_payment("alice", failed.payment_id).status is PaymentStatus.CANCELLED
    assert orders.get_order("alice", order.order_id).payment_id == again.payment_id
    assert orders.get_order("alice", order.order_id).status is OrderStatus.PAYMENT_REQUESTED


def test_an_expired_link_fails_the_order(orders, service, clock):
    order = place(orders)
    payment = orders.request_payment(ALICE, order.order_id)

    clock.advance(hours=25)
    service.sync_open_payments(clock.now)

    assert service.get_payment("alice", payment.payment_id).status is PaymentStatus.EXPIRED
    assert orders.get_order("alice", order.order_id).status is OrderStatus.FAILED


def test_cancelling_an_order_cancels_its_live_link(orders, service):
    order = place(orders)
    payment = orders.request_payment(ALICE, order.order_id)

    cancelled = orders.cancel_order(ALICE, order.order_id)

    assert cancelled.status is OrderStatus.CANCELLED
    assert service.get_payment("alice", payment.payment_id).status is PaymentStatus.CANCELLED
    with pytest.raises(ActionNotAllowed):
        orders.request_payment(ALICE, order.order_id)


def test_a_paid_order_can_be_neither_cancelled_changed_nor_deleted(orders, service, sandbox):
    order = place(orders)
    payment = orders.request_payment(ALICE, order.order_id)
    for event in sandbox.pay(payment.provider_link_id):
        service.apply_provider_event(event)

    with pytest.raises(ActionNotAllowed, match="cannot be deleted"):
        orders.delete_order(ALICE, order.order_id)
    with pytest.raises(ActionNotAllowed):
        orders.cancel_order(ALICE, order.order_id)
    with pytest.raises(ActionNotAllowed):
        orders.update_order(ALICE, order.order_id, OrderFields(customer_name="Someone"))
    assert orders.get_order("alice", order.order_id).status is OrderStatus.PAID


def test_changing_an_order_updates_its_search_words(orders):
    order = place(orders)

    changed = orders.update_order(
        ALICE,
        order.order_id,
        OrderFields(customer_name="Charles Babbage", quantity=4, shipping_address="1 Dorset St"),
    )

    assert changed.total_minor == 5000
    assert changed.shipping_address == "1 Dorset St"
    assert changed.version == order.version + 1
    assert [
        o.order_id for o in orders.list_orders("alice", OrderQuery(search="babbage")).orders
    ] == [order.order_id]
    assert orders.list_orders("alice", OrderQuery(search="lovelace")).orders == []


def test_the_quantity_is_fixed_while_a_link_for_the_total_is_live(orders):
    order = place(orders)
    orders.request_payment(ALICE, order.order_id)

    with pytest.raises(ActionNotAllowed, match="quantity"):
        orders.update_order(ALICE, order.order_id, OrderFields(quantity=5))
    renamed = orders.update_order(ALICE, order.order_id, OrderFields(customer_name="Ada King"))
    assert renamed.customer_name == "Ada King"


def test_the_product_and_price_cannot_be_changed(orders):
    order = place(orders)

    with pytest.raises(InvalidOrder) as refused:
        orders.update_order(ALICE, order.order_id, OrderFields(unit_price=Decimal("1.00")))

    assert "unit_price" in refused.value.errors


def test_deleting_an_unpaid_order_removes_it_from_lists_and_search(orders):
    order = place(orders)

    orders.delete_order(ALICE, order.order_id)

    with pytest.raises(OrderNotFound):
        orders.get_order("alice", order.order_id)
    assert orders.list_orders("alice", OrderQuery(search="ada")).orders == []
    assert orders.list_orders("alice", OrderQuery(search="ORD-1001")).orders == []


def test_an_order_with_a_live_link_must_be_cancelled_before_it_is_deleted(orders):
    order = place(orders)
    orders.request_payment(ALICE, order.order_id)

    with pytest.raises(ActionNotAllowed, match="Cancel the order first"):
        orders.delete_order(ALICE, order.order_id)


def test_a_deleted_orders_payment_still_takes_its_events(orders, service, sandbox):
    order = place(orders)
    payment = orders.request_payment(ALICE, order.order_id)
    orders.cancel_order(ALICE, order.order_id)
    orders.delete_order(ALICE, order.order_id)

    # The cancelled link takes no payment, but a late event for it must not break anything.
    assert service.get_payment("alice", payment.payment_id).status is PaymentStatus.CANCELLED


def test_an_order_whose_link_lapsed_can_ask_again_before_any_event_says_so(orders, service, clock):
    order = place(orders)
    first = orders.request_payment(ALICE, order.order_id)
    clock.advance(hours=25)  # past the link's expiry; no webhook, no sync yet

    again = orders.request_payment(ALICE, order.order_id)

    assert again.payment_id != first.payment_id
    assert again.status is PaymentStatus.AWAITING_PAYMENT
    assert service.get_payment("alice", first.payment_id).status is PaymentStatus.EXPIRED
    assert orders.get_order("alice", order.order_id).payment_id == again.payment_id


def _failed_link(orders, sandbox, monkeypatch):
    """An order whose payment link the provider could not create (the order is failed)."""
    order = place(orders)

    def unavailable(_request):
        raise ProviderUnavailable("connection refused")

    monkeypatch.setattr(sandbox, "create_link", unavailable)
    failed = orders.request_payment(ALICE, order.order_id)
    monkeypatch.undo()
    assert failed.status is PaymentStatus.CREATION_FAILED
    return order, failed


def test_a_new_total_ends_the_old_link_so_it_can_never_settle_the_order(
    orders, service, sandbox, monkeypatch
):
    order, failed = _failed_link(orders, sandbox, monkeypatch)

    changed = orders.update_order(ALICE, order.order_id, OrderFields(quantity=10))

    assert changed.total_minor == 12500
    assert service.get_payment("alice", failed.payment_id).status is PaymentStatus.CANCELLED
    with pytest.raises(ActionNotAllowed):
        service.retry_link_creation(ALICE, failed.payment_id)  # Retry on its payment page
    assert orders.request_payment(ALICE, order.order_id).amount_minor == 12500


def test_a_deleted_orders_failed_link_cannot_be_revived(orders, service, sandbox, monkeypatch):
    order, failed = _failed_link(orders, sandbox, monkeypatch)

    orders.delete_order(ALICE, order.order_id)

    with pytest.raises(ActionNotAllowed):
        service.retry_link_creation(ALICE, failed.payment_id)


def test_an_order_never_follows_a_payment_for_another_amount(orders, service, sandbox, store):
    order = place(orders)
    payment = orders.request_payment(ALICE, order.order_id)
    # Whatever path led here, the stored order now asks for another total than its link.
    requested = orders.get_order("alice", order.order_id)
    store.orders.save(requested, dataclasses.replace(requested, quantity=9))

    for event in sandbox.pay(payment.provider_link_id):
        service.apply_provider_event(event)

    assert service.get_payment("alice", payment.payment_id).status is PaymentStatus.COMPLETED
    assert orders.get_order("alice", order.order_id).status is OrderStatus.PAYMENT_REQUESTED


def test_a_search_that_matches_too_much_shows_the_newest_and_says_so(orders, clock, monkeypatch):
    monkeypatch.setattr(order_service_module, "MAX_SEARCH_MATCHES", 3)
    placed = []
    for _ in range(5):
        placed.append(place(orders).order_id)
        clock.advance(seconds=1)

    page = orders.list_orders("alice", OrderQuery(search="ada"))

    assert [o.order_id for o in page.orders] == placed[:1:-1]  # the newest three
    assert page.search_truncated
    assert not orders.list_orders("alice", OrderQuery(search="ORD-1001")).search_truncated


def test_a_request_for_payment_cut_short_is_finished_by_the_next(orders, service, store, clock):
    order = place(orders)
    # A request that crashed after the order recorded its payment id, before the payment existed.
    requested = dataclasses.replace(
        order, status=OrderStatus.PAYMENT_REQUESTED, payment_id=new_id()
    )
    store.orders.save(order, requested)

    with pytest.raises(ActionNotAllowed, match="being created"):
        orders.cancel_order(ALICE, order.order_id)
    assert orders.can_request_payment(requested, None)
    payment = orders.request_payment(ALICE, order.order_id)

    assert payment.payment_id == requested.payment_id
    assert payment.status is PaymentStatus.AWAITING_PAYMENT


def test_a_link_stuck_in_creation_is_finished_by_request_payment(
    orders, service, sandbox, clock, monkeypatch
):
    order = place(orders)

    def crash(_request):
        raise RuntimeError("the process died mid-request")

    monkeypatch.setattr(sandbox, "create_link", crash)
    with pytest.raises(RuntimeError):
        orders.request_payment(ALICE, order.order_id)
    monkeypatch.undo()
    stuck = service.get_payment("alice", orders.get_order("alice", order.order_id).payment_id)
    assert stuck.status is PaymentStatus.CREATING
    clock.advance(minutes=5)

    assert orders.can_request_payment(orders.get_order("alice", order.order_id), stuck)
    finished = orders.request_payment(ALICE, order.order_id)

    assert finished.payment_id == stuck.payment_id
    assert finished.status is PaymentStatus.AWAITING_PAYMENT


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        (OrderFields(customer_name="   "), "customer_name"),
        (OrderFields(customer_email=" "), "customer_email"),
        (OrderFields(quantity=True), "quantity"),
        (OrderFields(quantity=Decimal("2.5")), "quantity"),
        (OrderFields(customer_name="Ada\x00"), "customer_name"),
        (OrderFields(shipping_address="1 Road\x07"), "shipping_address"),
    ],
)
def test_a_change_that_breaks_a_rule_is_refused_with_the_field_named(orders, changes, field):
    order = place(orders)

    with pytest.raises(InvalidOrder) as refused:
        orders.update_order(ALICE, order.order_id, changes)

    assert field in refused.value.errors
    assert orders.get_order("alice", order.order_id) == order


@pytest.mark.parametrize("price", ["9.999", "NaN", "Infinity", "-0", "1000000.01"])
def test_an_unreadable_unit_price_is_a_field_error(orders, price):
    with pytest.raises(InvalidOrder) as refused:
        place(orders, unit_price=Decimal(price))

    assert "unit_price" in refused.value.errors


def test_an_address_may_span_lines(orders):
    order = place(orders, shipping_address="1 Dorset Street\nLondon")

    assert order.shipping_address == "1 Dorset Street\nLondon"


def _a_link_that_lapsed_while_its_payer_was_at_the_bank(orders, service, sandbox, clock):
    """Return the order, its first payment and the attempt its payer started on it.

    The attempt's webhooks were lost, so the link lapsed as unpaid, the order failed, and the
    merchant requested payment again with a second link.
    """
    order = place(orders)
    first = orders.request_payment(ALICE, order.order_id)
    attempt = sandbox.start_attempt(first.provider_link_id)[-1].provider_payment_id
    clock.advance(hours=25)
    # As a page view does for a lapsed link, without asking the provider.
    service.record_expiry_if_due(first)
    assert service.get_payment("alice", first.payment_id).status is PaymentStatus.EXPIRED
    return order, first, attempt


def test_late_money_on_an_earlier_link_settles_an_unpaid_order_and_ends_its_new_link(
    orders, service, sandbox, clock
):
    order, first, attempt = _a_link_that_lapsed_while_its_payer_was_at_the_bank(
        orders, service, sandbox, clock
    )
    second = orders.request_payment(ALICE, order.order_id)

    for event in sandbox.finish_attempt(first.provider_link_id, attempt, paid=True):
        service.apply_provider_event(event)

    assert service.get_payment("alice", first.payment_id).status is PaymentStatus.COMPLETED
    settled = orders.get_order("alice", order.order_id)
    assert settled.status is OrderStatus.PAID
    assert settled.payment_id == first.payment_id
    assert settled.extra_payment_ids == ()
    assert service.get_payment("alice", second.payment_id).status is PaymentStatus.CANCELLED


def test_late_money_on_an_order_paid_by_its_new_link_shows_it_was_paid_twice(
    orders, service, sandbox, clock
):
    order, first, attempt = _a_link_that_lapsed_while_its_payer_was_at_the_bank(
        orders, service, sandbox, clock
    )
    second = orders.request_payment(ALICE, order.order_id)
    for event in sandbox.pay(second.provider_link_id):
        service.apply_provider_event(event)

    events = sandbox.finish_attempt(first.provider_link_id, attempt, paid=True)
    for event in events + events:  # and a repeated webhook changes nothing more
        service.apply_provider_event(event)

    paid = orders.get_order("alice", order.order_id)
    assert paid.status is OrderStatus.PAID
    assert paid.payment_id == second.payment_id
    assert paid.extra_payment_ids == (first.payment_id,)


def test_late_money_settling_an_order_ends_its_new_link_even_after_a_provider_hiccup(
    orders, service, sandbox, clock, monkeypatch
):
    order, first, attempt = _a_link_that_lapsed_while_its_payer_was_at_the_bank(
        orders, service, sandbox, clock
    )
    second = orders.request_payment(ALICE, order.order_id)
    events = sandbox.finish_attempt(first.provider_link_id, attempt, paid=True)
    real_disable = sandbox.disable_link
    calls = []

    def unavailable_once(link_id):
        calls.append(link_id)
        if len(calls) == 1:
            raise ProviderUnavailable("TrueLayer answered 503")
        return real_disable(link_id)

    monkeypatch.setattr(sandbox, "disable_link", unavailable_once)
    # The late money's webhook meets the hiccup and is answered non-2xx ...
    *authorised, executed = events
    for event in authorised:
        service.apply_provider_event(event)
    with pytest.raises(ProviderUnavailable):
        service.apply_provider_event(executed)
    # ... and the provider delivers it again.
    for event in events:
        service.apply_provider_event(event)

    settled = orders.get_order("alice", order.order_id)
    assert settled.status is OrderStatus.PAID
    assert settled.payment_id == first.payment_id
    assert service.get_payment("alice", second.payment_id).status is PaymentStatus.CANCELLED


def _actors_of(monkeypatch, service, method: str) -> list[Actor]:
    """Record the actor of each call to the payment service's ``method``, which still runs."""
    actors: list[Actor] = []
    real = getattr(service, method)

    def recording(actor, *args, **kwargs):
        actors.append(actor)
        return real(actor, *args, **kwargs)

    monkeypatch.setattr(service, method, recording)
    return actors


def test_an_orders_link_is_made_and_ended_as_the_merchant_who_asked(orders, service, monkeypatch):
    made = _actors_of(monkeypatch, service, "create_payment_link")
    ended = _actors_of(monkeypatch, service, "cancel_payment")
    order = place(orders)

    orders.request_payment(ALICE, order.order_id)
    orders.cancel_order(ALICE, order.order_id)

    assert made == [ALICE]
    assert ended == [ALICE]


def test_late_money_ends_the_new_link_as_the_provider_that_reported_it(
    orders, service, sandbox, clock, monkeypatch
):
    order, first, attempt = _a_link_that_lapsed_while_its_payer_was_at_the_bank(
        orders, service, sandbox, clock
    )
    orders.request_payment(ALICE, order.order_id)
    ended = _actors_of(monkeypatch, service, "cancel_payment")

    for event in sandbox.finish_attempt(first.provider_link_id, attempt, paid=True):
        service.apply_provider_event(event)

    # (Asked twice: cancelling the new link moves the order, so settling it reads it again.)
    assert set(ended) == {Actor.for_webhook("alice")}


_LONG_PRODUCT = " ".join(f"part{n:02d}" for n in range(1, 31))  # 30 words, 179 characters


def test_every_word_of_a_long_product_finds_the_order(orders):
    placed = place(orders, product_name=_LONG_PRODUCT[:140])

    found = orders.list_orders("alice", OrderQuery(search="part20")).orders

    assert [o.order_id for o in found] == [placed.order_id]


def test_an_order_with_more_words_than_search_indexes_is_refused_with_a_message(orders):
    wordy = " ".join(str(n) for n in range(60))  # 50 distinct words in its first 140 characters

    with pytest.raises(InvalidOrder) as refused:
        place(orders, product_name=wordy[:140])

    assert "at most 45" in refused.value.errors["product_name"]
    assert orders.list_orders("alice", OrderQuery()).orders == []


def test_reindex_search_writes_the_words_orders_made_before_were_not_found_by(app):
    from dashboard.store.dynamo import to_item
    from dashboard.store.index_items import merchant_registry_item
    from dashboard.store.orders import order_word_items

    service = app.extensions["order_service"]
    order = service.create_order(
        actor_for("alice@example.com"), new_id(), fields(product_name=_LONG_PRODUCT[:140])
    )
    store = app.extensions["store"]
    for item in order_word_items(order)[12:]:  # as the 12-word cap left it
        store.client.delete_item(
            TableName=store.tables.orders, Key={"userId": item["userId"], "sk": item["sk"]}
        )
    store.client.put_item(  # the merchant registry the command walks (written with payments)
        TableName=store.tables.index, Item=to_item(merchant_registry_item("alice@example.com"))
    )
    assert service.list_orders("alice@example.com", OrderQuery(search="part20")).orders == []

    result = app.test_cli_runner().invoke(args=["reindex-search"])

    assert result.exit_code == 0, result.output
    assert "1 order(s)" in result.output
    found = service.list_orders("alice@example.com", OrderQuery(search="part20")).orders
    assert [o.order_id for o in found] == [order.order_id]
