"""The rollups always equal a recount of the payments, whatever happens and in whatever order.

A hypothesis state machine drives random creations, payments, declines, cancellations, expiries,
refunds (executed, failed, returned later) and replays of old events; after every step the
per-hour, per-currency, per-status counters and sums, and the executed refunds' count and sum,
must equal a recount of the stored payments, to the minor unit (per UTC hour).
"""

from __future__ import annotations

import contextlib
import itertools
from collections import Counter
from datetime import UTC, datetime

import pytest
from botocore.exceptions import ClientError
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from moto import mock_aws

from dashboard.core.ids import new_id
from dashboard.domain.payments import PaymentStatus
from dashboard.domain.refunds import Refund, RefundStatus
from dashboard.providers.sandbox import LinkNotPayable, SandboxProvider
from dashboard.services.payments import ActionNotAllowed, NewPaymentLink, PaymentService
from dashboard.services.rollup_recount import recount_rollups
from dashboard.store.database import Store
from dashboard.store.dynamo import TableNames, make_client
from dashboard.store.payments import payment_from_item
from tests.conftest import FakeClock, actor_for

USER = "alice"


def recount(store: Store) -> tuple[Counter, Counter, Counter]:
    """Count and sum the stored payments per (hour, currency, status), and their executed
    refunds per (hour, currency, counter): the slow, obvious way."""
    counts, sums, refunds = Counter(), Counter(), Counter()
    items = store.client.query(
        TableName=store.tables.payments,
        KeyConditionExpression="userId = :u",
        ExpressionAttributeValues={":u": {"S": USER}},
    )["Items"]
    for payment in map(payment_from_item, items):
        hour = payment.created_at.strftime("%Y-%m-%dT%H")
        counts[(hour, payment.currency, payment.status)] += 1
        sums[(hour, payment.currency, payment.status)] += payment.amount_minor
        for refund in payment.refunds:
            if refund.status is RefundStatus.EXECUTED:
                refunds[(hour, payment.currency, "count")] += 1
                refunds[(hour, payment.currency, "minor")] += refund.amount_minor
    return counts, sums, refunds


def rollup_totals(store: Store) -> tuple[Counter, Counter, Counter]:
    """Read the hour rollups back as the same shape as ``recount``."""
    counts, sums, refunds = Counter(), Counter(), Counter()
    for rollup in store.rollups.hours(
        USER, datetime(2020, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC), None
    ):
        for status in PaymentStatus:
            if rollup.counts[status]:
                counts[(rollup.period, rollup.currency, status)] += rollup.counts[status]
            if rollup.amounts_minor[status]:
                sums[(rollup.period, rollup.currency, status)] += rollup.amounts_minor[status]
        if rollup.refunds_executed:
            refunds[(rollup.period, rollup.currency, "count")] += rollup.refunds_executed
        if rollup.refunded_minor:
            refunds[(rollup.period, rollup.currency, "minor")] += rollup.refunded_minor
    return counts, sums, refunds


class RollupMachine(RuleBasedStateMachine):
    """Random lives of payments; the rollups must follow every one of them."""

    @initialize()
    def start(self):
        self.aws = mock_aws()
        self.aws.start()
        self.store = Store(make_client("eu-west-2", None), TableNames.with_prefix("sm-"))
        self.store.ensure_tables()
        self.clock = FakeClock(datetime(2026, 11, 1, 9, 0, tzinfo=UTC))
        self.sandbox = SandboxProvider(
            self.store.sandbox_links, b"s", lambda link: f"http://t/{link}", self.clock
        )
        self.service = PaymentService(
            self.store.payments, self.sandbox, lambda token: f"http://t/pay/{token}", self.clock
        )
        self.links: list[str] = []
        self.payment_ids: list[str] = []
        self.past_events: list = []

    def teardown(self):
        self.aws.stop()

    @rule(
        amount=st.integers(1, 10_000_000),
        currency=st.sampled_from(["GBP", "EUR"]),
        hours=st.integers(0, 60),
    )
    def create(self, amount, currency, hours):
        self.clock.advance(hours=hours)
        payment = self.service.create_payment_link(
            actor_for(USER),
            NewPaymentLink(new_id(), amount, currency, "Invoice 1"),
        )
        self.links.append(payment.provider_link_id)
        self.payment_ids.append(payment.payment_id)

    @precondition(lambda self: self.links)
    @rule(index=st.integers(0, 1000), outcome=st.sampled_from(["pay", "decline"]))
    def attempt(self, index, outcome):
        link = self.links[index % len(self.links)]
        try:
            events = getattr(self.sandbox, outcome)(link)
        except LinkNotPayable:
            return
        for event in events:
            self.service.apply_provider_event(event)
        self.past_events.extend(events)

    @precondition(lambda self: self.payment_ids)
    @rule(index=st.integers(0, 1000))
    def cancel(self, index):
        with contextlib.suppress(ActionNotAllowed):
            self.service.cancel_payment(
                actor_for(USER), self.payment_ids[index % len(self.payment_ids)]
            )

    @precondition(lambda self: self.links)
    @rule(index=st.integers(0, 1000))
    def expire(self, index):
        self.clock.advance(hours=25)
        for event in self.sandbox.expire_if_due(self.links[index % len(self.links)]):
            self.service.apply_provider_event(event)
            self.past_events.append(event)

    @precondition(lambda self: self.payment_ids)
    @rule(
        index=st.integers(0, 1000),
        percent=st.integers(1, 100),
        outcome=st.sampled_from([RefundStatus.EXECUTED, RefundStatus.FAILED]),
    )
    def refund(self, index, percent, outcome):
        payment = self.store.payments.get(USER, self.payment_ids[index % len(self.payment_ids)])
        if payment.status is not PaymentStatus.COMPLETED or not payment.refundable_minor:
            return
        now = self.clock()
        amount = max(payment.refundable_minor * percent // 100, 1)
        asked = Refund(new_id(), amount, RefundStatus.PENDING, now, now)
        self.store.payments.save(payment, payment.with_refund(asked.moved(outcome, now), now))

    @precondition(lambda self: self.payment_ids)
    @rule(index=st.integers(0, 1000))
    def return_a_refund(self, index):
        payment = self.store.payments.get(USER, self.payment_ids[index % len(self.payment_ids)])
        executed = [r for r in payment.refunds if r.status is RefundStatus.EXECUTED]
        if executed:
            back = executed[0].moved(RefundStatus.FAILED, self.clock(), failure_reason="returned")
            self.store.payments.save(payment, payment.with_refund(back, self.clock()))

    @precondition(lambda self: self.past_events)
    @rule(data=st.data())
    def replay_an_old_event(self, data):
        event = data.draw(st.sampled_from(self.past_events))
        self.service.apply_provider_event(event)

    @invariant()
    def rollups_equal_a_recount(self):
        if not hasattr(self, "store"):
            return
        assert rollup_totals(self.store) == recount(self.store)
        # Attempt counters and the all-time rollups too, as rebuild-stats would recount them.
        assert recount_rollups(self.store.payments, self.store.rollups, USER).differences == []


RollupMachine.TestCase.settings = settings(max_examples=15, stateful_step_count=15, deadline=None)
test_rollups_always_equal_a_recount = RollupMachine.TestCase


@pytest.fixture
def moto_service():
    with mock_aws():
        store = Store(make_client("eu-west-2", None), TableNames.with_prefix("tx-"))
        store.ensure_tables()
        clock = FakeClock()
        sandbox = SandboxProvider(store.sandbox_links, b"s", lambda link: f"http://t/{link}", clock)
        yield (
            store,
            PaymentService(store.payments, sandbox, lambda t: f"http://t/{t}", clock),
            clock,
        )


def _cancelled(reason: str) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
            "CancellationReasons": [{"Code": "None"}, {"Code": reason}],
        },
        "TransactWriteItems",
    )


def test_a_transaction_conflict_on_a_hot_rollup_is_retried(moto_service, monkeypatch):
    store, service, _ = moto_service
    real = store.client.transact_write_items
    calls = itertools.count()

    def conflict_once(**kwargs):
        if next(calls) == 0:
            raise _cancelled("TransactionConflict")  # what real DynamoDB says; Local never does
        return real(**kwargs)

    monkeypatch.setattr(store.client, "transact_write_items", conflict_once)

    payment = service.create_payment_link(
        actor_for(USER), NewPaymentLink(new_id(), 500, "GBP", "Order 1")
    )

    assert payment.status is PaymentStatus.AWAITING_PAYMENT
    assert next(calls) == 3  # the conflicted try, its retry, and the link update
    assert rollup_totals(store) == recount(store)


def test_conflicts_that_do_not_clear_are_not_retried_forever(moto_service, monkeypatch):
    store, service, _ = moto_service
    attempts = []

    def always_conflict(**_kwargs):
        attempts.append(1)
        raise _cancelled("TransactionConflict")

    monkeypatch.setattr(store.client, "transact_write_items", always_conflict)

    with pytest.raises(ClientError):
        service.create_payment_link(
            actor_for(USER), NewPaymentLink(new_id(), 500, "GBP", "Order 1")
        )
    assert len(attempts) == 5


def test_a_failed_condition_is_an_answer_not_a_retry(moto_service):
    store, service, _ = moto_service
    payment = service.create_payment_link(
        actor_for(USER), NewPaymentLink(new_id(), 500, "GBP", "Order 1")
    )
    before = rollup_totals(store)

    # The same creation again: the payment id is taken, nothing is counted twice.
    again = service.create_payment_link(
        actor_for(USER), NewPaymentLink(payment.payment_id, 500, "GBP", "Order 1")
    )

    assert again.payment_id == payment.payment_id
    assert rollup_totals(store) == before == recount(store)
