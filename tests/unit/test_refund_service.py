"""The refund use cases on moto and the sandbox: the reservation under a race, refund webhooks
that arrive before their refund is stored, the sync, and a state machine over requests,
provider failures and webhooks (duplicated, reordered, late) that checks after every step that
no payment is refunded beyond what was paid and that the rollups equal a recount."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import random

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from moto import mock_aws

from dashboard.core.ids import new_id
from dashboard.domain.payments import Payment, ProviderEvent, UnknownRefund
from dashboard.domain.refunds import RefundNotAllowed, RefundStatus, RefundTooLarge
from dashboard.providers.base import (
    ProviderRefund,
    ProviderRejected,
    ProviderUnavailable,
    RefundRequest,
)
from dashboard.providers.sandbox import SandboxProvider
from dashboard.providers.sandbox_refunds import PaymentNotSettleable, RefundNotMovable
from dashboard.services.payments import PaymentService
from dashboard.services.refunds import NewRefund, RefundService
from dashboard.store.dynamo import from_item, to_item
from dashboard.store.index_items import REFUNDED_MINOR, REFUNDS_EXECUTED, all_time_rollup_key
from dashboard.store.payments import StaleWrite
from tests.conftest import actor_for, moto_world
from tests.unit.test_payment_service import a_request

ACCOUNT = "alice"
ALICE = actor_for(ACCOUNT)


class FlakyProvider:
    """The sandbox, but its refund answers can be lost or refused on purpose."""

    def __init__(self, sandbox: SandboxProvider):
        self.sandbox = sandbox
        self.mode = "ok"  # ok | down (nothing made) | lost (made, answer lost)

    def create_refund(self, request: RefundRequest) -> ProviderRefund:
        if self.mode == "down":
            raise ProviderUnavailable("down")
        made = self.sandbox.create_refund(request)
        if self.mode == "lost":
            raise ProviderUnavailable("answer lost")
        return made

    def refunds(self, provider_payment_id: str, provider_link_id: str | None):
        return self.sandbox.refunds(provider_payment_id, provider_link_id)


def _paid(payments: PaymentService, sandbox: SandboxProvider, amount: int = 2000) -> Payment:
    payment = payments.create_payment_link(ALICE, a_request(amount_minor=amount))
    for event in sandbox.pay(payment.provider_link_id):
        payments.apply_provider_event(event)
    return payments.get_payment(ACCOUNT, payment.payment_id)


@pytest.fixture
def world():
    with mock_aws():
        yield moto_world("refunds-")


def _refunds(world, provider=None) -> RefundService:
    return RefundService(world.store.payments, provider or world.sandbox, world.clock)


def test_two_refunds_asked_at_once_cannot_both_pass(world, monkeypatch):
    refunds = _refunds(world)
    paid = _paid(world.payments, world.sandbox)
    repository = world.store.payments
    real_get = repository.get
    stale = {"left": 1}

    def reads_before_the_other_landed(user_id, payment_id):
        # The second request read the payment before the first one's refund was stored.
        if stale["left"]:
            stale["left"] -= 1
            return paid
        return real_get(user_id, payment_id)

    refunds.request_refund(ALICE, paid.payment_id, NewRefund(new_id(), 1500))
    monkeypatch.setattr(repository, "get", reads_before_the_other_landed)

    with pytest.raises(RefundTooLarge) as refused:
        refunds.request_refund(ALICE, paid.payment_id, NewRefund(new_id(), 1000))

    assert refused.value.refundable_minor == 500
    stored = real_get(ACCOUNT, paid.payment_id)
    assert [r.amount_minor for r in stored.refunds] == [1500]


def test_a_stale_write_is_refused_by_the_payments_version(world):
    paid = _paid(world.payments, world.sandbox)
    refunds = _refunds(world)
    refunds.request_refund(ALICE, paid.payment_id, NewRefund(new_id(), 500))

    with pytest.raises(StaleWrite):
        world.store.payments.save(paid, paid)  # the version read is no longer the stored one


def test_a_refund_the_provider_refused_releases_its_reservation_at_once(world, monkeypatch):
    paid = _paid(world.payments, world.sandbox)
    refunds = _refunds(world)

    def refused(_request):
        raise ProviderRejected("Refund amount exceeded (422)")

    monkeypatch.setattr(world.sandbox, "create_refund", refused)
    stored = refunds.request_refund(ALICE, paid.payment_id, NewRefund(new_id(), 2000))

    refund = stored.refunds[0]
    assert (refund.status, refund.in_doubt) == (RefundStatus.CREATION_FAILED, False)
    assert stored.refundable_minor == 2000
    assert not stored.is_open  # nothing for the sync to ask about


def test_an_unanswered_refund_holds_its_amount_until_the_providers_list_says_it_was_never_made(
    world,
):
    paid = _paid(world.payments, world.sandbox)
    provider = FlakyProvider(world.sandbox)
    provider.mode = "down"
    refunds = _refunds(world, provider)
    world.payments.sync_refunds_with(refunds.sync_refunds)
    stored = refunds.request_refund(ALICE, paid.payment_id, NewRefund(new_id(), 2000))
    provider.mode = "ok"
    assert stored.refunds[0].in_doubt
    with pytest.raises(RefundNotAllowed):  # nothing may be refunded twice meanwhile
        refunds.request_refund(ALICE, paid.payment_id, NewRefund(new_id(), 100))
    world.clock.advance(seconds=30)
    world.payments.sync_open_payments(world.clock.now)  # too soon to be sure: still held
    assert world.payments.get_payment(ACCOUNT, paid.payment_id).refundable_minor == 0

    world.clock.advance(minutes=5)
    world.payments.sync_open_payments(world.clock.now)

    after = world.payments.get_payment(ACCOUNT, paid.payment_id)
    assert not after.refunds[0].in_doubt
    assert after.refundable_minor == 2000
    assert not after.is_open


def test_refunding_a_payment_that_is_not_completed_is_refused(world):
    payment = world.payments.create_payment_link(ALICE, a_request())

    with pytest.raises(RefundNotAllowed):
        _refunds(world).request_refund(ALICE, payment.payment_id, NewRefund(new_id(), 100))

    assert world.payments.get_payment(ACCOUNT, payment.payment_id).refunds == ()


def test_a_refund_webhook_before_its_refund_is_stored_asks_for_a_retry(world, monkeypatch):
    paid = _paid(world.payments, world.sandbox)
    provider = FlakyProvider(world.sandbox)
    refunds = _refunds(world, provider)
    world.clock.advance(minutes=1)
    world.sandbox.settle(paid.provider_link_id, paid.succeeded_attempt.provider_payment_id)
    early: list[ProviderEvent] = []

    def executes_before_the_answer_is_stored(request):
        made = world.sandbox.create_refund(request)
        executed = world.sandbox.execute_refund(
            paid.provider_link_id, request.provider_payment_id, made.provider_refund_id
        )
        # As TrueLayer's webhook: it names its own refund id, not ours.
        early.extend(dataclasses.replace(e, refund_id=None) for e in executed)
        with pytest.raises(UnknownRefund):  # the webhook pipeline answers 404: sent again
            world.payments.apply_provider_event(early[0])
        return made

    monkeypatch.setattr(provider, "create_refund", executes_before_the_answer_is_stored)
    refunds.request_refund(ALICE, paid.payment_id, NewRefund(new_id(), 700))
    world.payments.apply_provider_event(early[0])  # TrueLayer's retry

    refund = world.payments.get_payment(ACCOUNT, paid.payment_id).refunds[0]
    assert refund.status is RefundStatus.EXECUTED


def test_the_webhook_pipeline_answers_404_for_a_refund_not_stored_yet(app, monkeypatch):
    intake = app.extensions["webhook_intake"]
    monkeypatch.setattr(
        intake._payments,
        "apply_provider_event",
        lambda _event: (_ for _ in ()).throw(UnknownRefund("r-1")),
    )
    signer = app.extensions["sandbox_webhooks"]
    event = ProviderEvent(
        event_id="e-1",
        provider="sandbox",
        kind=__import__(
            "dashboard.domain.payments"
        ).domain.payments.ProviderEventKind.REFUND_UPDATED,
        provider_link_id=None,
        occurred_at=app.extensions["payment_service"]._now(),
        provider_payment_id="sbx-pay-1",
        provider_refund_id="sbx-refund-1",
        refund_status=RefundStatus.EXECUTED,
    )
    body, headers = signer.webhook(event)

    answer, status = intake.receive("sandbox", headers["Tl-Signature"], "/webhooks/sandbox",
                                    headers, body)  # fmt: skip

    assert status == 404
    assert json.loads(body)["type"] == "refund_executed"
    assert answer["error"] == "Not found"


def test_the_sync_polls_refunds_in_flight_and_applies_what_the_provider_says(world):
    paid = _paid(world.payments, world.sandbox)
    refunds = _refunds(world)
    world.payments.sync_refunds_with(refunds.sync_refunds)
    attempt = paid.succeeded_attempt.provider_payment_id
    stored = refunds.request_refund(ALICE, paid.payment_id, NewRefund(new_id(), 800))
    assert stored.is_open  # a refund in flight keeps the payment on the sync's index
    world.sandbox.settle(paid.provider_link_id, attempt)
    world.sandbox.execute_refund(
        paid.provider_link_id, attempt, stored.refunds[0].provider_refund_id
    )
    world.clock.advance(minutes=10)

    summary = world.payments.sync_open_payments(world.clock.now)

    assert summary.checked == 1
    synced = world.payments.get_payment(ACCOUNT, paid.payment_id)
    assert synced.refunds[0].status is RefundStatus.EXECUTED
    assert not synced.is_open  # nothing left to poll
    world.clock.advance(minutes=10)
    assert world.payments.sync_open_payments(world.clock.now).checked == 0


def test_a_refund_left_creating_by_a_crash_is_finished_by_the_sync(world, monkeypatch):
    paid = _paid(world.payments, world.sandbox)
    refunds = _refunds(world)
    world.payments.sync_refunds_with(refunds.sync_refunds)

    def crash(*_args):
        raise SystemExit("the process died before the provider answered")

    monkeypatch.setattr(refunds, "_send", crash)
    with pytest.raises(SystemExit):
        refunds.request_refund(ALICE, paid.payment_id, NewRefund(new_id(), 300))
    monkeypatch.undo()
    assert world.payments.get_payment(ACCOUNT, paid.payment_id).refunds[0].status is (
        RefundStatus.CREATING
    )
    world.clock.advance(minutes=10)

    world.payments.sync_open_payments(world.clock.now)

    refund = world.payments.get_payment(ACCOUNT, paid.payment_id).refunds[0]
    assert refund.status is RefundStatus.PENDING
    assert len(world.sandbox.refunds(paid.succeeded_attempt.provider_payment_id,
                                     paid.provider_link_id)) == 1  # fmt: skip


# The state machine -------------------------------------------------------------------------


class RefundMachine(RuleBasedStateMachine):
    """Refunds asked for, lost, retried, executed, failed and returned, in any order."""

    @initialize()
    def start(self):
        self.aws = mock_aws()
        self.aws.start()
        world = moto_world("refund-sm-")
        self.world = world
        self.provider = FlakyProvider(world.sandbox)
        self.refunds = RefundService(world.store.payments, self.provider, world.clock)
        world.payments.sync_refunds_with(self.refunds.sync_refunds)
        self.paid = [_paid(world.payments, world.sandbox, amount) for amount in (1000, 2500)]
        self.ids = [p.payment_id for p in self.paid]
        self.events: list[ProviderEvent] = []  # webhooks on their way, in no set order
        self.random = random.Random(0)

    def teardown(self):
        if hasattr(self, "aws"):
            self.aws.stop()

    def _payment(self, index: int) -> Payment:
        return self.world.payments.get_payment(ACCOUNT, self.ids[index % len(self.ids)])

    def _ids(self, payment: Payment) -> tuple[str, str]:
        return payment.provider_link_id, payment.succeeded_attempt.provider_payment_id

    @rule(index=st.integers(0, 1), amount=st.integers(1, 2600), mode=st.sampled_from(
        ["ok", "ok", "down", "lost"]))  # fmt: skip
    def ask(self, index, amount, mode):
        self.provider.mode = mode
        try:
            self.refunds.request_refund(ALICE, self._payment(index).payment_id,
                                        NewRefund(new_id(), amount))  # fmt: skip
        except (RefundTooLarge, RefundNotAllowed):
            pass
        finally:
            self.provider.mode = "ok"

    @rule(index=st.integers(0, 1), which=st.integers(0, 5))
    def ask_again(self, index, which):
        payment = self._payment(index)
        if payment.refunds:
            refund = payment.refunds[which % len(payment.refunds)]
            again = NewRefund(refund.refund_id, refund.amount_minor)
            after = self.refunds.request_refund(ALICE, payment.payment_id, again)
            assert len(after.refunds) == len(payment.refunds)  # a double submit adds none

    @rule(index=st.integers(0, 1), which=st.integers(0, 5))
    def retry(self, index, which):
        payment = self._payment(index)
        failed = [r for r in payment.refunds if r.status is RefundStatus.CREATION_FAILED]
        if failed:
            with contextlib.suppress(RefundTooLarge, RefundNotAllowed):
                refund_id = failed[which % len(failed)].refund_id
                self.refunds.retry_refund(ALICE, payment.payment_id, refund_id)

    @rule(index=st.integers(0, 1))
    def settle(self, index):
        with contextlib.suppress(PaymentNotSettleable):
            self.events += self.world.sandbox.settle(*self._ids(self._payment(index)))

    @rule(index=st.integers(0, 1), which=st.integers(0, 5),
          move=st.sampled_from(["execute", "fail", "return"]))  # fmt: skip
    def provider_moves(self, index, which, move):
        payment = self._payment(index)
        link_id, attempt_id = self._ids(payment)
        made = self.world.sandbox.refunds(attempt_id, link_id)
        if not made:
            return
        refund_id = made[which % len(made)].provider_refund_id
        action = {
            "execute": self.world.sandbox.execute_refund,
            "fail": self.world.sandbox.fail_refund,
            "return": self.world.sandbox.return_refund,
        }[move]
        with contextlib.suppress(RefundNotMovable):
            self.events += action(link_id, attempt_id, refund_id)

    @rule(pick=st.integers(0, 100), keep=st.booleans())
    def deliver(self, pick, keep):
        if not self.events:
            return
        event = self.events[pick % len(self.events)]  # any order: late, reordered
        try:
            self.world.payments.apply_provider_event(event)
        except UnknownRefund:
            return  # sent again later, as a 404 makes TrueLayer do
        if not keep:  # kept: delivered again later (a duplicate)
            self.events.remove(event)

    @rule()
    def sync(self):
        self.world.clock.advance(minutes=5)
        self.world.payments.sync_open_payments(self.world.clock.now)

    @invariant()
    def never_more_than_paid_and_rollups_equal_a_recount(self):
        if not hasattr(self, "ids"):
            return
        payments = [self._payment(i) for i in range(len(self.ids))]
        for payment in payments:
            assert payment.refunded_minor <= payment.refund_reserved_minor <= payment.amount_minor
            link_id, attempt_id = self._ids(payment)
            at_provider = self.world.sandbox.refunds(attempt_id, link_id)
            # What the provider may still send or has sent is never more than was paid.
            held = sum(r.amount_minor for r in at_provider if r.status is not RefundStatus.FAILED)
            assert held <= payment.amount_minor
            # Every refund the provider made is one of ours (none made twice)...
            ours = {r.refund_id for r in payment.refunds}
            assert {r.refund_id for r in at_provider} <= ours
            # ...and holds its amount here too, even one whose answer was lost: what the
            # provider may still send is never free to be refunded again.
            assert held <= payment.refund_reserved_minor
        store = self.world.store
        item = store.client.get_item(
            TableName=store.tables.index,
            Key=to_item({"userId": ACCOUNT, "sk": all_time_rollup_key("GBP")}),
            ConsistentRead=True,
        )["Item"]
        rollup = from_item(item)
        assert rollup.get(REFUNDED_MINOR, 0) == sum(p.refunded_minor for p in payments)
        executed = sum(1 for p in payments for r in p.refunds if r.executed_minor)
        assert rollup.get(REFUNDS_EXECUTED, 0) == executed


RefundMachine.TestCase.settings = settings(max_examples=8, stateful_step_count=18, deadline=None)
TestRefundMachine = RefundMachine.TestCase
