"""Regression tests from an independent review of refunds: each pinned a bug, now fixed.

Each docstring says the product rule, then how the code broke it before the fix (in the past
tense of the review: "returned None", "sorted by time only").
"""

from __future__ import annotations

import contextlib
import dataclasses

import pytest
from moto import mock_aws

from dashboard.core.ids import new_id
from dashboard.domain.payments import Payment, ProviderEvent, UnknownRefund
from dashboard.domain.refunds import RefundStatus
from dashboard.providers.base import ProviderRefund, ProviderUnavailable, RefundRequest
from dashboard.services.refunds import NewRefund, RefundService
from dashboard.services.rollup_recount import recount_rollups
from tests.conftest import moto_world
from tests.unit.test_refund_service import ACCOUNT, ALICE, FlakyProvider, _paid


@pytest.fixture
def world():
    with mock_aws():
        yield moto_world("refund-review-")


def _ids(payment: Payment) -> tuple[str, str]:
    return payment.provider_link_id, payment.succeeded_attempt.provider_payment_id


def _deliver(world, events: list[ProviderEvent]) -> None:
    for event in events:
        world.payments.apply_provider_event(event)


def _as_webhook(event: ProviderEvent) -> ProviderEvent:
    # What the webhook pipeline makes of a refund webhook: TrueLayer's (and the sandbox's
    # signed payload, sandbox_webhooks._refund_payload) name the provider's refund id only.
    return dataclasses.replace(event, refund_id=None)


# Rollups and the recount -------------------------------------------------------------------


def test_recount_agrees_with_the_rollups_after_an_executed_refund(world):
    """rebuild-stats must find nothing to repair when the rollups are right.

    recount_rollups recounts refundsExecuted/refundedMinor from the payments (rollup_deltas),
    but reads the stored side through Rollup/_stored_counters, which know nothing of the refund
    counters: every executed refund is reported as missing, and rebuild-stats then ADDs it
    again, doubling the refund rollups.
    """
    paid = _paid(world.payments, world.sandbox)
    refunds = RefundService(world.store.payments, world.sandbox, world.clock)
    stored = refunds.request_refund(ALICE, paid.payment_id, NewRefund(new_id(), 800))
    link_id, attempt_id = _ids(paid)
    _deliver(world, world.sandbox.settle(link_id, attempt_id))
    made = stored.refunds[0].provider_refund_id
    _deliver(world, world.sandbox.execute_refund(link_id, attempt_id, made))
    assert world.payments.get_payment(ACCOUNT, paid.payment_id).refunded_minor == 800

    recount = recount_rollups(world.store.payments, world.store.rollups, ACCOUNT)

    assert [(d.sk, d.deltas) for d in recount.differences] == []


# A refund whose creation answer was lost ---------------------------------------------------


def test_a_webhook_for_a_refund_whose_answer_was_lost_is_not_dropped(world):
    """The provider made the refund but its answer was lost: ours is creation_failed.

    The provider then executes it and says so by webhook (naming only its own refund id).
    _apply_refund_update finds no refund with that provider id, sees nothing ``creating``
    and returns None: the webhook is answered 200 and remembered, the money went back to the
    payer, and the payment still says "Not sent", refunded 0, rollups 0, reservation
    released (so the merchant is invited to refund the same money again). The sync never
    looks either (sync_refunds returns early: creation_failed is not in flight).
    """
    paid = _paid(world.payments, world.sandbox)
    provider = FlakyProvider(world.sandbox)
    provider.mode = "lost"
    refunds = RefundService(world.store.payments, provider, world.clock)
    world.payments.sync_refunds_with(refunds.sync_refunds)
    refund_id = new_id()
    stored = refunds.request_refund(ALICE, paid.payment_id, NewRefund(refund_id, 800))
    provider.mode = "ok"
    assert stored.refund(refund_id).status is RefundStatus.CREATION_FAILED
    link_id, attempt_id = _ids(paid)
    _deliver(world, world.sandbox.settle(link_id, attempt_id))
    (made,) = world.sandbox.refunds(attempt_id, link_id)
    webhook = _as_webhook(
        world.sandbox.execute_refund(link_id, attempt_id, made.provider_refund_id)[0]
    )

    # Either fix will do: adopt it now, or answer 404 (UnknownRefund) and adopt it by the
    # time TrueLayer sends the webhook again (the sync in between).
    with contextlib.suppress(UnknownRefund):
        world.payments.apply_provider_event(webhook)
    world.clock.advance(minutes=10)
    world.payments.sync_open_payments(world.clock.now)
    with contextlib.suppress(UnknownRefund):
        world.payments.apply_provider_event(webhook)

    after = world.payments.get_payment(ACCOUNT, paid.payment_id)
    assert after.refund(refund_id).status is RefundStatus.EXECUTED
    assert after.refunded_minor == 800


# Timeline order ----------------------------------------------------------------------------


def test_the_timeline_ends_with_executed_when_the_webhook_beat_the_stored_answer(
    world, monkeypatch
):
    """The race the 404 is for: TrueLayer executes (and reports) before our answer is stored.

    The pending step is recorded at our clock when the answer is stored, the executed step at
    the provider's executed_at, which is earlier: Payment.timeline() sorts by time only, so
    the newest entry on the page reads "Refund pending" for a refund that is executed (and
    the refund's updated_at goes backwards).
    """
    paid = _paid(world.payments, world.sandbox)
    provider = FlakyProvider(world.sandbox)
    refunds = RefundService(world.store.payments, provider, world.clock)
    link_id, attempt_id = _ids(paid)
    _deliver(world, world.sandbox.settle(link_id, attempt_id))
    early: list[ProviderEvent] = []

    def executes_before_the_answer_is_stored(request: RefundRequest) -> ProviderRefund:
        made = world.sandbox.create_refund(request)
        executed = world.sandbox.execute_refund(link_id, attempt_id, made.provider_refund_id)
        early.extend(_as_webhook(e) for e in executed)
        world.clock.advance(seconds=2)  # the answer reaches us a moment later
        return made

    monkeypatch.setattr(provider, "create_refund", executes_before_the_answer_is_stored)
    refunds.request_refund(ALICE, paid.payment_id, NewRefund(new_id(), 700))
    world.clock.advance(seconds=1)
    world.payments.apply_provider_event(early[0])  # TrueLayer's retry after the 404

    payment = world.payments.get_payment(ACCOUNT, paid.payment_id)
    refund = payment.refunds[0]
    assert refund.status is RefundStatus.EXECUTED
    assert payment.timeline()[-1].label == "Refund executed"
    assert refund.updated_at >= max(step.at for step in refund.history)


def test_the_timeline_of_an_adopted_refund_does_not_end_with_not_sent(world):
    """Adoption of a creation_failed refund by a webhook that echoes our id (metadata).

    _apply_refund_update records the "Found at the provider" step and the executed step at the
    webhook's occurred_at, which precedes the creation_failed step (the request timed out
    after the provider had already made and executed the refund): sorted by time, the page's
    newest timeline entry is "Refund not sent" for a refund that is executed.
    """
    paid = _paid(world.payments, world.sandbox)
    link_id, attempt_id = _ids(paid)
    _deliver(world, world.sandbox.settle(link_id, attempt_id))
    provider = FlakyProvider(world.sandbox)
    refunds = RefundService(world.store.payments, provider, world.clock)
    reported: list[ProviderEvent] = []

    def made_executed_then_timed_out(request: RefundRequest) -> ProviderRefund:
        made = world.sandbox.create_refund(request)
        reported.extend(world.sandbox.execute_refund(link_id, attempt_id, made.provider_refund_id))
        world.clock.advance(seconds=30)  # our request timed out meanwhile
        raise ProviderUnavailable("timed out")

    provider.create_refund = made_executed_then_timed_out  # type: ignore[method-assign]
    refund_id = new_id()
    stored = refunds.request_refund(ALICE, paid.payment_id, NewRefund(refund_id, 700))
    assert stored.refund(refund_id).status is RefundStatus.CREATION_FAILED
    assert reported[0].refund_id == refund_id  # the metadata echoed: found by our id

    world.payments.apply_provider_event(reported[0])

    payment = world.payments.get_payment(ACCOUNT, paid.payment_id)
    assert payment.refund(refund_id).status is RefundStatus.EXECUTED
    assert payment.timeline()[-1].label == "Refund executed"
