"""The payment use cases on moto: creation, double submit, provider failures, events, cancel."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from dashboard.core.ids import new_id
from dashboard.domain.actor import Actor
from dashboard.domain.payments import (
    AttemptStatus,
    PaymentStatus,
    ProviderEvent,
    ProviderEventKind,
)
from dashboard.providers.base import ProviderUnavailable
from dashboard.services.payments import (
    SYNC_AFTER,
    ActionNotAllowed,
    NewPaymentLink,
    PayerIsPaying,
    PaymentNotFound,
    UnknownProviderLink,
)
from dashboard.store.payments import StaleWrite
from tests.conftest import actor_for

# Alice, signed in: the actor of the writes below (reads take her account id, "alice").
ALICE = actor_for("alice")


def a_request(**changes) -> NewPaymentLink:
    request = NewPaymentLink(
        payment_id=new_id(), amount_minor=1250, currency="GBP", reference="Invoice 42"
    )
    return dataclasses.replace(request, **changes)


def test_creating_a_link_stores_an_awaiting_payment_with_a_live_link(service, clock):
    payment = service.create_payment_link(ALICE, a_request(payer_email="bob@example.com"))

    assert payment.status is PaymentStatus.AWAITING_PAYMENT
    assert payment.link_url.startswith("http://testserver/sandbox/links/sbx-link-")
    assert payment.expires_at == clock.now + timedelta(hours=24)
    assert [c.status for c in payment.status_history] == ["creating", "awaiting_payment"]
    stored = service.get_payment("alice", payment.payment_id)
    assert stored == payment
    assert stored.payer_email == "bob@example.com"


def test_submitting_the_same_form_twice_gives_the_same_payment(service, store):
    request = a_request()
    first = service.create_payment_link(ALICE, request)
    second = service.create_payment_link(ALICE, request)

    assert second.payment_id == first.payment_id
    assert second.link_url == first.link_url
    assert len(list(store.payments.each_payment("alice"))) == 1


def test_a_merchant_cannot_see_another_merchants_payment(service, store):
    payment = service.create_payment_link(ALICE, a_request())

    with pytest.raises(PaymentNotFound):
        service.get_payment("mallory", payment.payment_id)
    assert list(store.payments.each_payment("mallory")) == []


def test_a_provider_outage_leaves_a_retryable_record_without_a_link(service, sandbox, monkeypatch):
    def unavailable(_request):
        raise ProviderUnavailable("connection refused")

    monkeypatch.setattr(sandbox, "create_link", unavailable)
    failed = service.create_payment_link(ALICE, a_request())

    assert failed.status is PaymentStatus.CREATION_FAILED
    assert failed.link_url is None
    assert "could not be reached" in failed.failure_reason

    monkeypatch.undo()
    retried = service.retry_link_creation(ALICE, failed.payment_id)
    assert retried.status is PaymentStatus.AWAITING_PAYMENT
    assert retried.link_url
    assert [c.status for c in retried.status_history] == [
        "creating",
        "creation_failed",
        "creating",
        "awaiting_payment",
    ]


def test_retrying_a_creation_twice_reuses_the_providers_link(service, sandbox):
    # The idempotency key is derived from the payment id, so the provider gives the same link.
    payment = service.create_payment_link(ALICE, a_request())
    again = sandbox.create_link(dataclasses.replace(service.link_request(payment), amount_minor=1))
    assert again.provider_link_id == payment.provider_link_id
    assert sandbox.get_link(payment.provider_link_id).amount_minor == 1250


def test_a_declined_attempt_then_a_paid_one_completes_the_payment(service, sandbox):
    payment = service.create_payment_link(ALICE, a_request())

    for event in sandbox.decline(payment.provider_link_id):
        service.apply_provider_event(event)
    declined = service.get_payment("alice", payment.payment_id)
    assert declined.status is PaymentStatus.ATTEMPT_FAILED
    assert declined.failure_reason == "provider_rejected"

    for event in sandbox.pay(payment.provider_link_id):
        service.apply_provider_event(event)
    paid = service.get_payment("alice", payment.payment_id)
    assert paid.status is PaymentStatus.COMPLETED
    assert sorted(a.status.value for a in paid.attempts) == ["executed", "failed"]


def test_replaying_every_event_changes_nothing(service, sandbox):
    payment = service.create_payment_link(ALICE, a_request())
    events = sandbox.pay(payment.provider_link_id)
    for event in events:
        service.apply_provider_event(event)
    settled = service.get_payment("alice", payment.payment_id)

    for event in reversed(events):  # late, repeated and out of order
        service.apply_provider_event(event)

    assert service.get_payment("alice", payment.payment_id) == settled


def test_a_late_authorized_after_executed_changes_nothing(service, sandbox):
    payment = service.create_payment_link(ALICE, a_request())
    executed, authorized = (
        _attempt_event(payment, AttemptStatus.EXECUTED),
        _attempt_event(payment, AttemptStatus.AUTHORIZED),
    )
    service.apply_provider_event(executed)
    before = service.get_payment("alice", payment.payment_id)

    after = service.apply_provider_event(authorized)

    assert after == before
    assert after.status is PaymentStatus.COMPLETED
    assert after.attempts[0].status is AttemptStatus.EXECUTED


def _attempt_event(payment, status: AttemptStatus) -> ProviderEvent:
    return ProviderEvent(
        event_id=f"evt-{status.value}",
        provider="sandbox",
        kind=ProviderEventKind.ATTEMPT_UPDATED,
        provider_link_id=payment.provider_link_id,
        provider_payment_id="sbx-pay-1",
        attempt_status=status,
        occurred_at=payment.created_at,
    )


def test_an_event_for_an_unknown_link_is_refused_so_the_provider_retries(service):
    event = ProviderEvent(
        event_id="e1",
        provider="sandbox",
        kind=ProviderEventKind.LINK_DISABLED,
        provider_link_id="sbx-link-unknown",
        occurred_at=service._now(),
    )
    with pytest.raises(UnknownProviderLink):
        service.apply_provider_event(event)


def test_cancelling_an_unpaid_link_disables_it_at_the_provider(service, sandbox):
    payment = service.create_payment_link(ALICE, a_request())

    cancelled = service.cancel_payment(ALICE, payment.payment_id)

    assert cancelled.status is PaymentStatus.CANCELLED
    assert sandbox.get_link(payment.provider_link_id).status == "disabled"
    assert not service.can_cancel(cancelled)


def test_a_completed_payment_cannot_be_cancelled(service, sandbox):
    payment = service.create_payment_link(ALICE, a_request())
    for event in sandbox.pay(payment.provider_link_id):
        service.apply_provider_event(event)

    with pytest.raises(ActionNotAllowed):
        service.cancel_payment(ALICE, payment.payment_id)
    assert service.get_payment("alice", payment.payment_id).status is PaymentStatus.COMPLETED


def test_a_link_past_its_expiry_shows_expired_and_cannot_be_paid(service, sandbox, clock):
    payment = service.create_payment_link(
        ALICE, a_request(expires_at=clock.now + timedelta(hours=1))
    )
    clock.advance(hours=2)

    assert payment.effective_status(clock.now) is PaymentStatus.EXPIRED
    assert not service.can_cancel(payment)
    for event in sandbox.expire_if_due(payment.provider_link_id):
        service.apply_provider_event(event)
    assert service.get_payment("alice", payment.payment_id).status is PaymentStatus.EXPIRED
    from dashboard.providers.sandbox import LinkNotPayable

    with pytest.raises(LinkNotPayable):
        sandbox.pay(payment.provider_link_id)


def test_refresh_applies_what_the_provider_knows(service, sandbox):
    payment = service.create_payment_link(ALICE, a_request())
    sandbox.pay(payment.provider_link_id)  # events lost on the way (no webhook arrived)
    assert service.get_payment("alice", payment.payment_id).status is PaymentStatus.AWAITING_PAYMENT

    refreshed = service.refresh_payment(ALICE, payment.payment_id)

    assert refreshed.status is PaymentStatus.COMPLETED


def test_a_write_based_on_a_stale_read_is_refused(service, store):
    payment = service.create_payment_link(ALICE, a_request())
    store.payments.save(payment, payment.with_status(PaymentStatus.CANCELLED, payment.updated_at))

    with pytest.raises(StaleWrite):
        store.payments.save(
            payment, payment.with_status(PaymentStatus.PROCESSING, payment.updated_at)
        )
    assert service.get_payment("alice", payment.payment_id).status is PaymentStatus.CANCELLED


def test_the_store_refuses_a_status_change_outside_the_transition_table(service, store):
    payment = service.create_payment_link(ALICE, a_request())
    # Bypass the model's own check: the condition expression must still refuse the move.
    backwards = dataclasses.replace(payment, status=PaymentStatus.CREATING)
    with pytest.raises(StaleWrite):
        store.payments.save(payment, backwards)


def test_the_payer_token_leads_to_the_payment_and_nothing_else(service):
    payment = service.create_payment_link(ALICE, a_request())

    assert service.payment_for_payer(payment.payer_token).payment_id == payment.payment_id
    with pytest.raises(PaymentNotFound):
        service.payment_for_payer("not-a-token")


def test_payments_are_stored_with_their_creation_times(service, store, clock):
    references = []
    for n in range(3):
        references.append(f"Invoice {n}")
        service.create_payment_link(ALICE, a_request(reference=f"Invoice {n}"))
        clock.advance(minutes=1)

    stored = sorted(store.payments.each_payment("alice"), key=lambda p: p.created_at, reverse=True)

    assert [p.reference for p in stored] == list(reversed(references))


def test_sync_applies_what_the_provider_knows_and_expires_old_links(service, sandbox, clock):
    paid_quietly = service.create_payment_link(ALICE, a_request(reference="Paid 1"))
    forgotten = service.create_payment_link(actor_for("bob"), a_request(reference="Old 1"))
    sandbox.pay(paid_quietly.provider_link_id)  # its events were lost on the way
    clock.advance(hours=25)
    fresh = service.create_payment_link(ALICE, a_request(reference="New 1"))

    summary = service.sync_open_payments(updated_before=clock.now - timedelta(minutes=10))

    assert summary.checked == 2  # the fresh one was updated too recently to poll
    assert service.get_payment("alice", paid_quietly.payment_id).status is PaymentStatus.COMPLETED
    assert service.get_payment("bob", forgotten.payment_id).status is PaymentStatus.EXPIRED
    assert service.get_payment("alice", fresh.payment_id).status is PaymentStatus.AWAITING_PAYMENT
    assert {c[0] for c in summary.changed} == {paid_quietly.payment_id, forgotten.payment_id}
    later = clock.now + timedelta(minutes=1)
    assert service.sync_open_payments(later).checked == 1  # only the fresh one is still open


def _cut_short(service, sandbox, monkeypatch, request):
    """Start creating the payment and crash mid-request, leaving it ``creating``."""

    def crash(_request):
        raise RuntimeError("the process died mid-request")

    monkeypatch.setattr(sandbox, "create_link", crash)
    with pytest.raises(RuntimeError):
        service.create_payment_link(ALICE, request)
    monkeypatch.undo()


def test_repeating_a_creation_that_was_cut_short_finishes_its_link(
    service, sandbox, clock, monkeypatch
):
    request = a_request()
    _cut_short(service, sandbox, monkeypatch, request)
    assert service.get_payment("alice", request.payment_id).status is PaymentStatus.CREATING

    soon = service.create_payment_link(ALICE, request)  # the first may still be running
    assert soon.status is PaymentStatus.CREATING
    clock.advance(minutes=5)
    later = service.create_payment_link(ALICE, request)

    assert later.payment_id == request.payment_id
    assert later.status is PaymentStatus.AWAITING_PAYMENT
    assert later.link_url


# Money wins over a cancel


def test_cancelling_while_the_payer_is_at_their_bank_keeps_the_payment_processing(service, sandbox):
    payment = service.create_payment_link(ALICE, a_request())
    sandbox.start_attempt(payment.provider_link_id)  # its webhooks are still on their way

    with pytest.raises(PayerIsPaying, match="The payer is paying right now"):
        service.cancel_payment(ALICE, payment.payment_id)

    stored = service.get_payment("alice", payment.payment_id)
    assert stored.status is PaymentStatus.PROCESSING
    assert sandbox.get_link(payment.provider_link_id).status == "disabling"


def test_the_bank_executing_after_a_refused_cancel_completes_the_payment(service, sandbox):
    payment = service.create_payment_link(ALICE, a_request())
    started = sandbox.start_attempt(payment.provider_link_id)
    with pytest.raises(PayerIsPaying):
        service.cancel_payment(ALICE, payment.payment_id)

    for event in sandbox.finish_attempt(
        payment.provider_link_id, started[-1].provider_payment_id, paid=True
    ):
        service.apply_provider_event(event)

    assert service.get_payment("alice", payment.payment_id).status is PaymentStatus.COMPLETED
    assert sandbox.get_link(payment.provider_link_id).status == "disabled"


def test_money_whose_webhook_was_in_flight_completes_the_payment_on_cancel(service, sandbox):
    payment = service.create_payment_link(ALICE, a_request())
    sandbox.pay(payment.provider_link_id)  # paid; the webhooks have not arrived yet

    with pytest.raises(ActionNotAllowed):
        service.cancel_payment(ALICE, payment.payment_id)

    assert service.get_payment("alice", payment.payment_id).status is PaymentStatus.COMPLETED


def test_money_arriving_after_a_cancel_completes_the_payment_and_its_rollups(
    service, sandbox, store, clock
):
    payment = service.create_payment_link(ALICE, a_request())
    started = sandbox.start_attempt(payment.provider_link_id)
    link = sandbox.get_link(payment.provider_link_id)
    # What an older cancel (before the read-back) left behind: cancelled, the bank still deciding.
    stored = service.get_payment("alice", payment.payment_id)
    store.payments.save(stored, stored.with_status(PaymentStatus.CANCELLED, clock.now))
    assert link.status == "active"

    for event in sandbox.finish_attempt(
        payment.provider_link_id, started[-1].provider_payment_id, paid=True
    ):
        service.apply_provider_event(event)

    paid = service.get_payment("alice", payment.payment_id)
    assert paid.status is PaymentStatus.COMPLETED
    assert paid.status_history[-1].note == "Paid after the link was cancelled."
    [totals] = store.rollups.all_time("alice", "GBP")
    assert totals.counts[PaymentStatus.COMPLETED] == 1
    assert totals.amounts_minor[PaymentStatus.COMPLETED] == 1250
    assert totals.counts[PaymentStatus.CANCELLED] == 0


def test_a_cancelled_payment_whose_webhook_was_lost_is_found_by_the_sync(
    service, sandbox, store, clock
):
    payment = service.create_payment_link(ALICE, a_request())
    started = sandbox.start_attempt(payment.provider_link_id)
    # What an older cancel (before the read-back) left behind: cancelled, the attempt under way.
    store.payments.save(payment, payment.with_status(PaymentStatus.CANCELLED, clock.now))
    for event in started:
        service.apply_provider_event(event)
    assert service.get_payment("alice", payment.payment_id).is_open
    # The bank executes; that webhook is lost.
    sandbox.finish_attempt(payment.provider_link_id, started[-1].provider_payment_id, paid=True)
    clock.advance(minutes=5)

    summary = service.sync_open_payments(updated_before=clock.now - timedelta(minutes=2))

    assert summary.changed == [
        (payment.payment_id, PaymentStatus.CANCELLED, PaymentStatus.COMPLETED)
    ]


# A stranded payment is found again


def test_the_sync_completes_a_payment_left_processing_minutes_ago(service, sandbox, clock):
    payment = service.create_payment_link(ALICE, a_request())
    started = sandbox.start_attempt(payment.provider_link_id)
    for event in started:
        service.apply_provider_event(event)
    # The bank executes; storing its webhook failed, so the payment waits in processing.
    sandbox.finish_attempt(payment.provider_link_id, started[-1].provider_payment_id, paid=True)
    clock.advance(minutes=3)

    summary = service.sync_open_payments(updated_before=clock.now - SYNC_AFTER)

    assert summary.changed == [
        (payment.payment_id, PaymentStatus.PROCESSING, PaymentStatus.COMPLETED)
    ]


def test_the_sync_finishes_a_creation_cut_short_minutes_ago(service, sandbox, clock, monkeypatch):
    request = a_request()
    _cut_short(service, sandbox, monkeypatch, request)
    clock.advance(minutes=3)

    summary = service.sync_open_payments(updated_before=clock.now - SYNC_AFTER)

    finished = service.get_payment("alice", request.payment_id)
    assert finished.status is PaymentStatus.AWAITING_PAYMENT
    assert finished.link_url
    assert summary.changed == [
        (request.payment_id, PaymentStatus.CREATING, PaymentStatus.AWAITING_PAYMENT)
    ]


def test_the_sync_fails_a_creation_older_than_an_hour_without_sending_it_again(
    service, sandbox, clock, monkeypatch
):
    request = a_request()
    _cut_short(service, sandbox, monkeypatch, request)
    clock.advance(minutes=61)
    sent = []
    monkeypatch.setattr(sandbox, "create_link", sent.append)

    service.sync_open_payments(updated_before=clock.now - SYNC_AFTER)

    failed = service.get_payment("alice", request.payment_id)
    assert failed.status is PaymentStatus.CREATION_FAILED
    assert "never sent to the payer" in failed.failure_reason
    assert sent == []
    assert service.sync_open_payments(clock.now).checked == 0  # no longer open


def _as_stored_before_creating_was_open(store, payment) -> None:
    """Remove the open-index attribute, as payments written by earlier versions lack it."""
    store.client.update_item(
        TableName=store.tables.payments,
        Key={"userId": {"S": payment.user_id}, "paymentId": {"S": payment.payment_id}},
        UpdateExpression="REMOVE openShard",
    )


def test_the_backfill_puts_creations_cut_short_before_the_upgrade_in_the_open_index(
    service, sandbox, store, clock, monkeypatch
):
    request = a_request()
    _cut_short(service, sandbox, monkeypatch, request)
    live = service.create_payment_link(ALICE, a_request())
    _as_stored_before_creating_was_open(store, service.get_payment("alice", request.payment_id))
    clock.advance(minutes=3)
    assert service.sync_open_payments(clock.now).checked == 1  # only the live link is seen

    looked_at, added = service.add_missing_to_open_index("alice")

    assert (looked_at, added) == (1, 1)
    assert service.add_missing_to_open_index("alice") == (0, 0)  # resumable: nothing left
    summary = service.sync_open_payments(clock.now)
    assert {c[0] for c in summary.changed} == {request.payment_id}
    assert live.payment_id not in {c[0] for c in summary.changed}


def test_a_cancel_that_waited_for_the_bank_completes_when_the_bank_declines(
    service, sandbox, clock
):
    payment = service.create_payment_link(ALICE, a_request())
    started = sandbox.start_attempt(payment.provider_link_id)
    with pytest.raises(PayerIsPaying):
        service.cancel_payment(ALICE, payment.payment_id)

    declined = sandbox.finish_attempt(
        payment.provider_link_id, started[-1].provider_payment_id, paid=False
    )
    for event in started + declined:
        service.apply_provider_event(event)

    stored = service.get_payment("alice", payment.payment_id)
    assert sandbox.get_link(payment.provider_link_id).status == "disabled"
    assert stored.status is PaymentStatus.CANCELLED
    assert not stored.is_open


def test_the_sync_completes_a_cancel_whose_link_closed_while_its_webhook_was_lost(
    service, sandbox, clock
):
    payment = service.create_payment_link(ALICE, a_request())
    started = sandbox.start_attempt(payment.provider_link_id)
    with pytest.raises(PayerIsPaying):
        service.cancel_payment(ALICE, payment.payment_id)
    sandbox.finish_attempt(payment.provider_link_id, started[-1].provider_payment_id, paid=False)
    clock.advance(minutes=5)

    service.sync_open_payments(updated_before=clock.now - SYNC_AFTER)

    assert service.get_payment("alice", payment.payment_id).status is PaymentStatus.CANCELLED


def test_two_payers_at_once_on_one_sandbox_link_cannot_both_pay(service, sandbox):
    from dashboard.providers.sandbox import LinkNotPayable

    payment = service.create_payment_link(ALICE, a_request())
    sandbox.start_attempt(payment.provider_link_id)

    with pytest.raises(LinkNotPayable):
        sandbox.start_attempt(payment.provider_link_id)  # a double click, a second device


def test_a_cancel_that_finds_the_money_arrived_says_it_was_paid(service, sandbox):
    payment = service.create_payment_link(ALICE, a_request())
    sandbox.pay(payment.provider_link_id)  # executed; its webhooks were lost

    with pytest.raises(ActionNotAllowed, match="has been paid") as refused:
        service.cancel_payment(ALICE, payment.payment_id)

    assert not isinstance(refused.value, PayerIsPaying)
    assert service.get_payment("alice", payment.payment_id).status is PaymentStatus.COMPLETED


def test_a_payer_who_never_comes_back_from_the_bank_does_not_leave_the_payment_processing(
    service, sandbox, clock
):
    payment = service.create_payment_link(ALICE, a_request())
    for event in sandbox.start_attempt(payment.provider_link_id):
        service.apply_provider_event(event)  # and the bank never answers
    clock.advance(minutes=16)

    service.sync_open_payments(updated_before=clock.now - SYNC_AFTER)

    stored = service.get_payment("alice", payment.payment_id)
    assert stored.status is PaymentStatus.ATTEMPT_FAILED
    assert stored.failure_reason == "expired"


# Who acts


def _order_payments_completed(service) -> list[tuple[Actor, str]]:
    """Record each completed order payment handed on, and the actor that applied its event."""
    completed: list[tuple[Actor, str]] = []
    service.when_an_order_payment_completes(
        lambda actor, payment: completed.append((actor, payment.payment_id))
    )
    return completed


def test_an_order_payment_completed_by_a_webhook_is_handed_on_as_the_providers(service, sandbox):
    completed = _order_payments_completed(service)
    payment = service.create_payment_link(ALICE, a_request(order_id=new_id()))

    for event in sandbox.pay(payment.provider_link_id):
        service.apply_provider_event(event)

    assert completed == [(Actor.for_webhook("alice"), payment.payment_id)]


def test_an_order_payment_completed_by_a_refresh_is_handed_on_as_the_merchants(service, sandbox):
    completed = _order_payments_completed(service)
    payment = service.create_payment_link(ALICE, a_request(order_id=new_id()))
    sandbox.pay(payment.provider_link_id)  # its webhooks were lost

    service.refresh_payment(ALICE, payment.payment_id)

    assert completed == [(ALICE, payment.payment_id)]


def test_an_order_payment_completed_by_the_sync_is_handed_on_as_the_systems(
    service, sandbox, clock
):
    completed = _order_payments_completed(service)
    payment = service.create_payment_link(ALICE, a_request(order_id=new_id()))
    sandbox.pay(payment.provider_link_id)  # its webhooks were lost
    clock.advance(minutes=3)

    service.sync_open_payments(updated_before=clock.now - SYNC_AFTER)

    assert completed == [(Actor.system("alice"), payment.payment_id)]
