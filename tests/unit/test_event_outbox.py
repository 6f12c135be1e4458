"""The outbox on moto: every change the event table maps writes its event in the change's own
transaction, once, and no other change writes one (payments, refunds, orders)."""

from __future__ import annotations

import contextlib
import dataclasses
from decimal import Decimal

import pytest
from hypothesis import Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from moto import mock_aws

from dashboard.core.errors import Conflict
from dashboard.core.ids import new_id
from dashboard.domain.events import EventType
from dashboard.domain.orders import OrderFields, OrderStatus
from dashboard.domain.payments import Payment, ProviderEvent, UnknownRefund
from dashboard.domain.refunds import RefundNotAllowed, RefundTooLarge
from dashboard.providers.sandbox import LinkNotPayable
from dashboard.providers.sandbox_refunds import PaymentNotSettleable, RefundNotMovable
from dashboard.services.refunds import NewRefund, RefundService
from dashboard.store.dynamo import from_item, to_item
from dashboard.store.events import StoredEvent
from tests.conftest import actor_for, moto_world
from tests.unit.test_payment_service import a_request

ACCOUNT = "alice"
ALICE = actor_for(ACCOUNT)

# What the payment's own record says happened, as the event each step must have made.
_STATUS_EVENTS = {
    "awaiting_payment": EventType.PAYMENT_CREATED,
    "attempt_failed": EventType.PAYMENT_FAILED,
    "completed": EventType.PAYMENT_COMPLETED,
    "expired": EventType.PAYMENT_EXPIRED,
    "cancelled": EventType.PAYMENT_CANCELLED,
}
_REFUND_EVENTS = {"executed": EventType.REFUND_EXECUTED, "failed": EventType.REFUND_FAILED}


def all_events(world, account: str = ACCOUNT) -> list[StoredEvent]:
    """Return every event of the account's outbox, oldest first, reading page after page."""
    events: list[StoredEvent] = []
    after = None
    while True:
        page = world.store.events.after(account, after, 2, now=world.clock.now)
        events += page.events
        if not page.more:
            return events
        after = page.events[-1].event_id


def expected_payment_events(payment: Payment) -> list[tuple[EventType, str | None]]:
    """Return the events a payment's history says were made: its statuses and refund steps."""
    made: list[tuple[EventType, str | None]] = [
        (_STATUS_EVENTS[change.status], None)
        for change in payment.status_history
        if change.status in _STATUS_EVENTS
    ]
    made += [
        (_REFUND_EVENTS[step.status.value], refund.refund_id)
        for refund in payment.refunds
        for step in refund.history
        if step.status.value in _REFUND_EVENTS
    ]
    return made


class PaymentChangesMachine(RuleBasedStateMachine):
    """Random payment changes; after each, the outbox holds exactly the events they made."""

    @initialize(paid=st.booleans())
    def start(self, paid):
        self.aws = mock_aws()
        self.aws.start()
        self.world = moto_world("events-")
        self.refunds = RefundService(
            self.world.store.payments, self.world.sandbox, self.world.clock
        )
        self.payment_id = self.world.payments.create_payment_link(ALICE, a_request()).payment_id
        self.events: list[ProviderEvent] = []
        if paid:  # half the runs start paid and settled, so refunds get their share of steps
            self.attempt(paid=True, now=True)
            self.settle(now=True)

    def teardown(self):
        if hasattr(self, "aws"):
            self.aws.stop()

    def _payment(self) -> Payment:
        return self.world.payments.get_payment(ACCOUNT, self.payment_id)

    def _sent(self, events: list[ProviderEvent], now: bool) -> None:
        """Deliver the provider's events now (kept to be delivered again), or leave them queued."""
        self.events += events
        for event in events if now else []:
            with contextlib.suppress(UnknownRefund):
                self.world.payments.apply_provider_event(event)

    @rule(paid=st.booleans(), now=st.booleans())
    def attempt(self, paid, now):
        link_id = self._payment().provider_link_id
        with contextlib.suppress(LinkNotPayable):
            sandbox = self.world.sandbox
            self._sent(sandbox.pay(link_id) if paid else sandbox.decline(link_id), now)

    @rule()
    def cancel(self):
        with contextlib.suppress(Conflict):
            self.world.payments.cancel_payment(ALICE, self.payment_id)

    @rule(hours=st.sampled_from([1, 25]))
    def time_passes(self, hours):
        self.world.clock.advance(hours=hours)
        self.world.payments.sync_open_payments(self.world.clock.now)

    @rule(now=st.booleans())
    def settle(self, now):
        payment = self._payment()
        if payment.succeeded_attempt is not None:
            with contextlib.suppress(PaymentNotSettleable):
                attempt_id = payment.succeeded_attempt.provider_payment_id
                self._sent(self.world.sandbox.settle(payment.provider_link_id, attempt_id), now)

    @rule(amount=st.integers(1, 1300))
    def ask_refund(self, amount):
        with contextlib.suppress(RefundTooLarge, RefundNotAllowed):
            self.refunds.request_refund(ALICE, self.payment_id, NewRefund(new_id(), amount))

    @rule(
        which=st.integers(0, 5),
        move=st.sampled_from(["execute", "fail", "return"]),
        now=st.booleans(),
    )
    def provider_moves_refund(self, which, move, now):
        payment = self._payment()
        if payment.succeeded_attempt is None:
            return
        link_id, attempt_id = (
            payment.provider_link_id,
            payment.succeeded_attempt.provider_payment_id,
        )
        made = self.world.sandbox.refunds(attempt_id, link_id)
        if not made:
            return
        sandbox = self.world.sandbox
        action = {
            "execute": sandbox.execute_refund,
            "fail": sandbox.fail_refund,
            "return": sandbox.return_refund,
        }[move]
        with contextlib.suppress(RefundNotMovable):
            self._sent(action(link_id, attempt_id, made[which % len(made)].provider_refund_id), now)

    @rule(pick=st.integers(0, 100), keep=st.booleans())
    def deliver(self, pick, keep):
        if not self.events:
            return
        event = self.events[pick % len(self.events)]  # late, reordered, or again (kept)
        with contextlib.suppress(UnknownRefund):
            self.world.payments.apply_provider_event(event)
            if not keep:
                self.events.remove(event)

    @invariant()
    def the_outbox_holds_one_event_per_mapped_change(self):
        if not hasattr(self, "world"):
            return
        payment = self._payment()
        stored = all_events(self.world)
        made = [(e.type, e.refund_id) for e in stored]
        assert sorted(made, key=str) == sorted(expected_payment_events(payment), key=str)
        for event in stored:
            # Each shows the payment as the change that made it stored it.
            assert event.payment is not None
            assert event.resource_version == event.payment.version
            if event.refund_id is None:
                assert _STATUS_EVENTS[event.payment.status.value] is event.type
            else:
                refund = event.payment.refund(event.refund_id)
                assert _REFUND_EVENTS[refund.status.value] is event.type
        assert [e.event_id for e in stored] == sorted({e.event_id for e in stored})


PaymentChangesMachine.TestCase.settings = settings(
    max_examples=20,
    stateful_step_count=20,
    deadline=None,
    # No shrinking: on moto it takes minutes; the failing steps are printed as they ran.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
TestPaymentChanges = PaymentChangesMachine.TestCase


@pytest.fixture
def world():
    with mock_aws():
        yield moto_world("events-")


def _order(world, order_id: str):
    fields = OrderFields(
        customer_name="Ada Lovelace",
        customer_email="ada@example.com",
        product_name="Manual",
        quantity=1,
        unit_price=Decimal("5.00"),
        currency="GBP",
    )
    return world.orders.create_order(ALICE, order_id, fields)


def test_an_order_paid_through_its_link_makes_one_order_paid_event(world):
    order = _order(world, new_id())
    link = world.orders.request_payment(ALICE, order.order_id)
    events = world.sandbox.pay(link.provider_link_id)
    for event in events + events:  # every provider event twice: a duplicate makes nothing
        world.payments.apply_provider_event(event)

    order_events = [e for e in all_events(world) if e.type.startswith("order.")]
    assert [(e.type, e.resource_id, e.order_status) for e in order_events] == [
        (EventType.ORDER_PAID, order.order_id, OrderStatus.PAID)
    ]
    assert order_events[0].payment is None  # the order is shown as it is now


def test_a_cancelled_order_makes_order_cancelled_and_its_live_link_payment_cancelled(world):
    order = _order(world, new_id())
    world.orders.request_payment(ALICE, order.order_id)
    cancelled = world.orders.cancel_order(ALICE, order.order_id)

    made = [(e.type, e.resource_id, e.resource_version) for e in all_events(world)]
    assert (EventType.ORDER_CANCELLED, order.order_id, cancelled.version) in made
    assert [t for t, _, _ in made].count(EventType.PAYMENT_CANCELLED) == 1
    assert [t for t, _, _ in made].count(EventType.ORDER_CANCELLED) == 1


def test_a_follower_dropped_from_the_change_drops_its_order_event_with_it(world):
    order = _order(world, new_id())
    link = world.orders.request_payment(ALICE, order.order_id)
    # Someone else's write moved the order away from this link (as a new link request does).
    store = world.store
    store.client.update_item(
        TableName=store.tables.orders,
        Key=to_item({"userId": ACCOUNT, "sk": f"order#{order.order_id}"}),
        UpdateExpression="SET paymentId = :p",
        ExpressionAttributeValues=to_item({":p": "another"}),
    )
    for event in world.sandbox.pay(link.provider_link_id):
        world.payments.apply_provider_event(event)

    events = all_events(world)
    assert EventType.PAYMENT_COMPLETED in [e.type for e in events]
    # The late money settles the order in the order service's own write, whose event is the
    # only one: the payment's change went without its follower and the follower's event.
    order_events = [e for e in events if e.type.startswith("order.")]
    settled = world.orders.get_order(ACCOUNT, order.order_id)
    assert [(e.type, e.resource_version) for e in order_events] == [
        (EventType.ORDER_PAID, settled.version)
    ]


def test_an_event_snapshot_is_stored_as_a_map_of_the_payment_item(world):
    payment = world.payments.create_payment_link(ALICE, a_request())
    (event,) = all_events(world)
    item = world.store.client.get_item(
        TableName=world.store.tables.events,
        Key=to_item({"accountId": ACCOUNT, "eventId": event.event_id}),
    )["Item"]
    assert from_item(item["payment"]["M"])["paymentId"] == payment.payment_id
    assert dataclasses.replace(event.payment, version=payment.version) == payment
