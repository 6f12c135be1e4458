"""The payment's statuses, the transition table, and how provider events move a payment."""

import dataclasses
from datetime import UTC, datetime, timedelta
from itertools import count, product

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.domain.payments import (
    ALLOWED_TRANSITIONS,
    AttemptStatus,
    InvalidTransition,
    Payment,
    PaymentStatus,
    ProviderEvent,
    ProviderEventKind,
    StatusGroup,
    apply_event,
    can_transition,
    statuses_that_may_become,
)

CREATED = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
EXPIRES = CREATED + timedelta(days=7)
LINK_ID = "link-1"
_event_ids = count(1)


def make_payment(status: PaymentStatus = PaymentStatus.AWAITING_PAYMENT, **changes) -> Payment:
    """Return a stored payment link for £12.50, created at CREATED, expiring a week later."""
    fields = {
        "user_id": "merchant-1",
        "payment_id": "pay-1",
        "amount_minor": 1250,
        "currency": "GBP",
        "reference": "Invoice 42",
        "status": status,
        "created_at": CREATED,
        "updated_at": CREATED,
        "expires_at": EXPIRES,
        "provider": "sandbox",
        "payer_token": "payer-token",
        "provider_link_id": LINK_ID,
        "link_url": "https://pay.example/link-1",
    }
    return Payment(**(fields | changes))


def attempt_event(
    attempt_id: str,
    status: AttemptStatus,
    minutes: int = 1,
    failure_reason: str | None = None,
) -> ProviderEvent:
    """Return the provider's report that one attempt reached ``status``."""
    return ProviderEvent(
        event_id=f"evt-{next(_event_ids)}",
        provider="sandbox",
        kind=ProviderEventKind.ATTEMPT_UPDATED,
        provider_link_id=LINK_ID,
        occurred_at=CREATED + timedelta(minutes=minutes),
        provider_payment_id=attempt_id,
        attempt_status=status,
        failure_reason=failure_reason,
    )


def link_disabled_event(reason: str | None = "expired") -> ProviderEvent:
    """Return the provider's report that the link can no longer be paid."""
    return ProviderEvent(
        event_id=f"evt-{next(_event_ids)}",
        provider="sandbox",
        kind=ProviderEventKind.LINK_DISABLED,
        provider_link_id=LINK_ID,
        occurred_at=EXPIRES,
        disabled_reason=reason,
    )


def at(minutes: int) -> datetime:
    """Return a moment ``minutes`` after the payment was created."""
    return CREATED + timedelta(minutes=minutes)


def apply_all(payment: Payment, *events: ProviderEvent) -> Payment:
    """Return the payment after every event, each of which must change something."""
    for minute, event in enumerate(events, start=1):
        changed = apply_event(payment, event, at(minute))
        assert changed is not None, f"{event.attempt_status or event.kind} changed nothing"
        payment = changed
    return payment


# The status table


@pytest.mark.parametrize(
    ("status", "group", "label"),
    [
        (PaymentStatus.CREATING, StatusGroup.PENDING, "Creating link"),
        (PaymentStatus.CREATION_FAILED, StatusGroup.FAILED, "Link not created"),
        (PaymentStatus.AWAITING_PAYMENT, StatusGroup.PENDING, "Awaiting payment"),
        (PaymentStatus.PROCESSING, StatusGroup.PENDING, "Processing"),
        (PaymentStatus.ATTEMPT_FAILED, StatusGroup.FAILED, "Attempt failed"),
        (PaymentStatus.COMPLETED, StatusGroup.COMPLETED, "Completed"),
        (PaymentStatus.EXPIRED, StatusGroup.ENDED, "Expired"),
        (PaymentStatus.CANCELLED, StatusGroup.ENDED, "Cancelled"),
    ],
)
def test_each_status_is_counted_under_its_group_and_shown_with_its_label(status, group, label):
    """The tiles, filters and badges all read from this one table."""
    assert status.group is group
    assert status.label == label


def test_every_status_has_a_group_and_a_label():
    """A new status cannot be added without deciding how merchants see it."""
    assert len(PaymentStatus) == 8
    for status in PaymentStatus:
        assert status.group in StatusGroup
        assert status.label


def test_status_groups_are_named_as_the_merchant_sees_them():
    """The tile titles are the capitalised group names."""
    assert [g.label for g in StatusGroup] == ["Pending", "Failed", "Completed", "Ended"]


def test_completed_expired_and_cancelled_are_the_final_statuses():
    """Only a paid or closed link is finished."""
    assert {s for s in PaymentStatus if s.is_final} == {
        PaymentStatus.COMPLETED,
        PaymentStatus.EXPIRED,
        PaymentStatus.CANCELLED,
    }


def test_a_completed_payment_has_no_way_out():
    """A paid payment never changes status again."""
    assert ALLOWED_TRANSITIONS[PaymentStatus.COMPLETED] == frozenset()
    for other in PaymentStatus:
        assert not can_transition(PaymentStatus.COMPLETED, other)


@pytest.mark.parametrize("ended", [PaymentStatus.EXPIRED, PaymentStatus.CANCELLED])
def test_an_ended_link_can_only_become_completed_when_money_arrives(ended):
    """Expired and cancelled are final for everything but money: they never reopen."""
    assert ALLOWED_TRANSITIONS[ended] == {PaymentStatus.COMPLETED}


_ALLOWED_MOVES = [(s, t) for s, targets in ALLOWED_TRANSITIONS.items() for t in targets]
_DISALLOWED_MOVES = [
    (s, t) for s, t in product(PaymentStatus, repeat=2) if t not in ALLOWED_TRANSITIONS[s]
]


@pytest.mark.parametrize(("current", "new"), _DISALLOWED_MOVES)
def test_a_move_outside_the_transition_table_is_refused(current, new):
    """with_status raises InvalidTransition and says which move was refused."""
    payment = make_payment(current)

    with pytest.raises(InvalidTransition) as refused:
        payment.with_status(new, at(5))

    assert refused.value.current is current
    assert refused.value.new is new


@pytest.mark.parametrize(("current", "new"), _ALLOWED_MOVES)
def test_an_allowed_move_changes_the_status_and_adds_a_line_to_the_timeline(current, new):
    """The timeline records the new status, when it happened and why."""
    payment = make_payment(current)

    moved = payment.with_status(new, at(5), "because")

    assert moved.status is new
    assert moved.updated_at == at(5)
    assert moved.status_history[-1].status == new.value
    assert moved.status_history[-1].at == at(5)
    assert moved.status_history[-1].note == "because"
    assert payment.status is current  # the original is untouched


def test_a_payment_cannot_skip_from_creating_to_completed():
    """A link that was never created cannot have been paid."""
    assert not can_transition(PaymentStatus.CREATING, PaymentStatus.COMPLETED)
    assert can_transition(PaymentStatus.CREATING, PaymentStatus.AWAITING_PAYMENT)


def test_the_statuses_that_may_become_completed_are_the_live_and_ended_ones():
    """The repository's condition expression completes a live link, or one that ended unpaid."""
    live = {
        PaymentStatus.AWAITING_PAYMENT,
        PaymentStatus.PROCESSING,
        PaymentStatus.ATTEMPT_FAILED,
    }
    ended = {PaymentStatus.EXPIRED, PaymentStatus.CANCELLED}
    assert statuses_that_may_become(PaymentStatus.COMPLETED) == live | ended
    # Not while processing: the bank's answer must still be able to land.
    assert statuses_that_may_become(PaymentStatus.EXPIRED) == live - {PaymentStatus.PROCESSING}
    assert statuses_that_may_become(PaymentStatus.CREATING) == {PaymentStatus.CREATION_FAILED}


@pytest.mark.parametrize(("source", "target"), list(product(PaymentStatus, repeat=2)))
def test_statuses_that_may_become_agrees_with_the_transition_table(source, target):
    """The repository's guard and the domain's table never disagree."""
    assert (source in statuses_that_may_become(target)) == can_transition(source, target)


# What the merchant sees


def test_an_unpaid_payment_past_its_expiry_shows_as_expired():
    """The link stops being offered the moment it expires, before the provider says so."""
    for status in (PaymentStatus.AWAITING_PAYMENT, PaymentStatus.ATTEMPT_FAILED):
        payment = make_payment(status)
        assert payment.effective_status(EXPIRES - timedelta(seconds=1)) is status
        assert payment.effective_status(EXPIRES) is PaymentStatus.EXPIRED


def test_a_payment_at_the_payers_bank_is_not_shown_expired():
    """The bank may still complete it after the link's expiry."""
    payment = make_payment(PaymentStatus.PROCESSING)

    assert payment.effective_status(EXPIRES + timedelta(hours=1)) is PaymentStatus.PROCESSING


@pytest.mark.parametrize(
    "status",
    [
        PaymentStatus.CREATING,
        PaymentStatus.CREATION_FAILED,
        PaymentStatus.COMPLETED,
        PaymentStatus.CANCELLED,
    ],
)
def test_a_payment_that_is_not_live_keeps_its_status_after_the_expiry(status):
    """A payment completed before the expiry is still completed afterwards."""
    payment = make_payment(status)

    assert payment.effective_status(EXPIRES + timedelta(days=1)) is status


# Provider events


def test_a_payer_walking_through_every_step_completes_the_payment():
    """authorization_required, authorizing, authorized, executed: the merchant is paid."""
    payment = make_payment()

    started = apply_all(payment, attempt_event("a1", AttemptStatus.AUTHORIZATION_REQUIRED))
    assert started.status is PaymentStatus.PROCESSING

    paid = apply_all(
        started,
        attempt_event("a1", AttemptStatus.AUTHORIZING, minutes=2),
        attempt_event("a1", AttemptStatus.AUTHORIZED, minutes=3),
        attempt_event("a1", AttemptStatus.EXECUTED, minutes=4),
    )

    assert paid.status is PaymentStatus.COMPLETED
    assert [c.status for c in paid.status_history] == ["processing", "completed"]
    (attempt,) = paid.attempts
    assert attempt.provider_payment_id == "a1"
    assert attempt.status is AttemptStatus.EXECUTED
    assert attempt.created_at == CREATED + timedelta(minutes=1)
    assert attempt.updated_at == CREATED + timedelta(minutes=4)


def test_a_late_authorized_event_after_executed_changes_nothing():
    """An out-of-order report never moves a paid attempt backwards."""
    paid = apply_all(make_payment(), attempt_event("a1", AttemptStatus.EXECUTED, minutes=4))

    assert (
        apply_event(paid, attempt_event("a1", AttemptStatus.AUTHORIZED, minutes=3), at(9)) is None
    )


def test_a_repeated_event_changes_nothing():
    """Providers deliver webhooks at least once; the second delivery is harmless."""
    event = attempt_event("a1", AttemptStatus.AUTHORIZING)
    once = apply_all(make_payment(), event)

    assert apply_event(once, event, at(9)) is None


def test_an_attempt_reported_straight_as_executed_completes_the_payment():
    """Missed intermediate webhooks do not stop the payment completing."""
    paid = apply_all(make_payment(), attempt_event("a1", AttemptStatus.EXECUTED))

    assert paid.status is PaymentStatus.COMPLETED
    assert paid.attempts[0].status is AttemptStatus.EXECUTED


def test_a_settled_attempt_completes_the_payment():
    """Settled follows executed; either means the money moved."""
    paid = apply_all(make_payment(), attempt_event("a1", AttemptStatus.SETTLED))

    assert paid.status is PaymentStatus.COMPLETED


def test_a_failed_attempt_says_why_and_the_payer_can_try_again_and_pay():
    """The link stays live after a failed attempt, and a new attempt can complete it."""
    payment = apply_all(
        make_payment(),
        attempt_event("a1", AttemptStatus.AUTHORIZATION_REQUIRED),
        attempt_event("a1", AttemptStatus.FAILED, minutes=2, failure_reason="insufficient_funds"),
    )

    assert payment.status is PaymentStatus.ATTEMPT_FAILED
    assert payment.failure_reason == "insufficient_funds"
    assert payment.attempts[0].failure_reason == "insufficient_funds"
    assert payment.status_history[-1].note == "The payer's account did not have enough money."

    retried = apply_all(payment, attempt_event("a2", AttemptStatus.AUTHORIZATION_REQUIRED, 3))
    assert retried.status is PaymentStatus.PROCESSING

    paid = apply_all(retried, attempt_event("a2", AttemptStatus.EXECUTED, minutes=4))
    assert paid.status is PaymentStatus.COMPLETED
    assert {a.provider_payment_id: a.status for a in paid.attempts} == {
        "a1": AttemptStatus.FAILED,
        "a2": AttemptStatus.EXECUTED,
    }


def test_an_old_attempt_failing_after_another_attempt_completed_leaves_it_completed():
    """The payer abandoned one try and paid with another; the merchant was still paid."""
    paid = apply_all(
        make_payment(),
        attempt_event("a1", AttemptStatus.AUTHORIZING),
        attempt_event("a2", AttemptStatus.EXECUTED, minutes=2),
    )

    after = apply_event(
        paid, attempt_event("a1", AttemptStatus.FAILED, 3, failure_reason="expired"), at(9)
    )

    assert after is not None
    assert after.status is PaymentStatus.COMPLETED
    assert after.failure_reason is None
    assert after.attempt("a1").status is AttemptStatus.FAILED
    assert after.status_history == paid.status_history


def test_one_attempt_failing_while_another_is_in_flight_keeps_the_payment_processing():
    """Only the last attempt in progress decides whether the payment failed."""
    payment = apply_all(
        make_payment(),
        attempt_event("a1", AttemptStatus.AUTHORIZING),
        attempt_event("a2", AttemptStatus.AUTHORIZATION_REQUIRED, minutes=2),
    )

    after = apply_event(payment, attempt_event("a1", AttemptStatus.FAILED, 3), at(9))

    assert after is not None
    assert after.status is PaymentStatus.PROCESSING
    assert after.attempt("a1").status is AttemptStatus.FAILED


def test_the_provider_disabling_an_unpaid_link_expires_it():
    """An awaiting payment whose link the provider closed is shown as expired."""
    expired = apply_event(make_payment(), link_disabled_event(), at(9))

    assert expired is not None
    assert expired.status is PaymentStatus.EXPIRED
    assert expired.status_history[-1].note == "The link expired unpaid."


def test_a_link_disabled_for_another_reason_than_expiry_waits_for_the_payments_own_news():
    """E.g. a link closed because its payment completed: the payment webhook decides."""
    assert apply_event(make_payment(), link_disabled_event("payment_completed"), at(9)) is None


def test_a_link_expiring_while_the_payer_is_at_their_bank_changes_nothing():
    """An expired payment is final; the bank's answer must still be able to complete it."""
    processing = apply_all(make_payment(), attempt_event("a1", AttemptStatus.AUTHORIZING))

    assert processing.status is PaymentStatus.PROCESSING
    assert apply_event(processing, link_disabled_event("expired"), at(9)) is None


def test_the_provider_disabling_a_paid_link_changes_nothing():
    """A completed payment stays completed when its link closes afterwards."""
    paid = apply_all(make_payment(), attempt_event("a1", AttemptStatus.EXECUTED))

    assert apply_event(paid, link_disabled_event(), at(9)) is None


def test_an_attempt_event_without_the_attempt_id_is_a_programming_error():
    """A provider adapter must always say which attempt it reports on."""
    event = ProviderEvent(
        event_id="evt-x",
        provider="sandbox",
        kind=ProviderEventKind.ATTEMPT_UPDATED,
        provider_link_id=LINK_ID,
        occurred_at=CREATED,
        attempt_status=AttemptStatus.EXECUTED,
    )

    with pytest.raises(ValueError, match="provider payment id"):
        apply_event(make_payment(), event, at(1))


# Any order of events


@st.composite
def provider_events(draw) -> ProviderEvent:
    """Return a random report: mostly attempt updates, now and then the link being disabled."""
    if draw(st.integers(min_value=0, max_value=9)) == 0:
        return link_disabled_event()
    return attempt_event(
        draw(st.sampled_from(["a1", "a2", "a3"])),
        draw(st.sampled_from(AttemptStatus)),
        minutes=draw(st.integers(min_value=0, max_value=60)),
        failure_reason=draw(st.sampled_from([None, "provider_rejected"])),
    )


@settings(max_examples=200, deadline=None)
@given(start=st.sampled_from(PaymentStatus), events=st.lists(provider_events(), max_size=20))
def test_no_order_of_events_reopens_a_final_payment_or_moves_an_attempt_backwards(start, events):
    """Late, repeated and out-of-order reports can only move a payment forward."""
    payment = make_payment(start)

    for minute, event in enumerate(events, start=1):
        after = apply_event(payment, event, at(minute))
        if after is None:
            continue
        if payment.status is PaymentStatus.COMPLETED:
            assert after.status is PaymentStatus.COMPLETED
        elif payment.status.is_final and after.status is not payment.status:
            # Only money reopens an ended link, and only to complete it.
            assert after.status is PaymentStatus.COMPLETED
            assert any(a.status.succeeded for a in after.attempts)
        if after.status is not payment.status:
            assert can_transition(payment.status, after.status)
        for before in payment.attempts:
            later = after.attempt(before.provider_payment_id)
            assert later is not None, "an attempt disappeared"
            assert later.status.rank >= before.status.rank
        payment = after


# Money wins


def test_money_arriving_after_the_merchant_cancelled_completes_the_payment():
    """The payer's bank executed an attempt that began before the cancel: the money is theirs."""
    authorising = apply_all(make_payment(), attempt_event("a1", AttemptStatus.AUTHORIZING))
    cancelled = dataclasses.replace(authorising, status=PaymentStatus.CANCELLED)

    paid = apply_event(cancelled, attempt_event("a1", AttemptStatus.EXECUTED, 2), at(3))

    assert paid is not None
    assert paid.status is PaymentStatus.COMPLETED
    assert paid.status_history[-1].note == "Paid after the link was cancelled."


def test_money_arriving_after_the_link_expired_completes_the_payment():
    """An expired link whose last attempt settles is a completed payment, said so on its timeline."""
    expired = make_payment(PaymentStatus.EXPIRED)

    paid = apply_event(expired, attempt_event("a1", AttemptStatus.SETTLED, 2), at(3))

    assert paid is not None
    assert paid.status is PaymentStatus.COMPLETED
    assert paid.status_history[-1].note == "Paid after the link was expired."


def test_a_cancelled_payment_stays_open_while_an_attempt_is_at_the_payers_bank():
    """So the sync still looks for money whose webhook was lost."""
    authorising = apply_all(make_payment(), attempt_event("a1", AttemptStatus.AUTHORIZING))
    cancelled = dataclasses.replace(authorising, status=PaymentStatus.CANCELLED)
    failed = apply_event(cancelled, attempt_event("a1", AttemptStatus.FAILED, 2), at(3))

    assert cancelled.is_open
    assert failed is not None
    assert failed.status is PaymentStatus.CANCELLED
    assert not failed.is_open
    assert not make_payment(PaymentStatus.CANCELLED).is_open
    assert make_payment(PaymentStatus.CREATING).is_open


_MERCHANT_CANCELS = "merchant cancels"
_LINK_EXPIRES = "link expires"


@st.composite
def events_with_the_merchant(draw):
    """Return a random report, or the merchant cancelling, or the link expiring, in any order."""
    choice = draw(st.integers(min_value=0, max_value=9))
    if choice == 0:
        return _MERCHANT_CANCELS
    if choice == 1:
        return _LINK_EXPIRES
    # A bank decides each attempt once: one that executes never fails, and the other way round.
    attempt_id = draw(st.sampled_from(["paid-1", "paid-2", "declined-1"]))
    fate = AttemptStatus.FAILED if attempt_id.startswith("paid") else AttemptStatus.EXECUTED
    return attempt_event(
        attempt_id,
        draw(
            st.sampled_from(
                [
                    s
                    for s in AttemptStatus
                    if s is not fate
                    and not (fate is AttemptStatus.EXECUTED and s is AttemptStatus.SETTLED)
                ]
            )
        ),
        minutes=draw(st.integers(min_value=0, max_value=60)),
        failure_reason="provider_rejected",
    )


@settings(max_examples=300, deadline=None)
@given(steps=st.lists(events_with_the_merchant(), max_size=25))
def test_in_any_order_of_events_money_that_moved_ends_completed(steps):
    """Whatever order cancels, expiries and bank reports arrive in, executed money completes it.

    And a payment is open (watched by the sync) exactly while something may still change it.
    """
    payment = make_payment()
    money_moved = False
    for minute, step in enumerate(steps, start=1):
        if step == _MERCHANT_CANCELS:
            if can_transition(payment.status, PaymentStatus.CANCELLED):
                payment = payment.with_status(PaymentStatus.CANCELLED, at(minute))
            continue
        event = link_disabled_event() if step == _LINK_EXPIRES else step
        money_moved |= bool(event.attempt_status and event.attempt_status.succeeded)
        payment = apply_event(payment, event, at(minute)) or payment

    if money_moved:
        assert payment.status is PaymentStatus.COMPLETED
    else:
        assert payment.status is not PaymentStatus.COMPLETED
    in_flight = any(a.status.in_flight for a in payment.attempts)
    if payment.status in (PaymentStatus.CANCELLED, PaymentStatus.EXPIRED):
        assert payment.is_open == in_flight
