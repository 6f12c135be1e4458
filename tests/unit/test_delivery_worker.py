"""The delivery worker on moto, sending to a real receiver on 127.0.0.1 that verifies every
delivery with the standardwebhooks library: fan-out, signing, the retry schedule (on an
injected clock), leases and races between workers, giving up, Resend, Send test event and the
delivery log."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta

import pytest
from standardwebhooks import Webhook

from dashboard.core.clock import utc_now
from dashboard.core.ids import id_minted_at
from dashboard.domain.actor import Channel
from dashboard.domain.audit import AuditAction
from dashboard.domain.deliveries import TEST_EVENT_TYPE, DeliveryState
from dashboard.domain.events import EventType
from dashboard.domain.webhook_endpoints import EndpointStatus
from dashboard.services.deliveries import (
    DISABLED_FOR_FAILURES,
    LEASE,
    DeliveryService,
    DeliveryWorker,
    InvalidCursor,
    UnknownDelivery,
)
from dashboard.services.webhook_endpoints import WebhookEndpointNotFound
from dashboard.store.audit import AuditFilter
from dashboard.store.cursors import CursorCodec
from dashboard.store.deliveries import StoredDelivery
from dashboard.store.event_items import event_change_item
from dashboard.web.api.events import event_json
from tests.conftest import TEST_SECRET_KEY, FakeClock, actor_for, place_order
from tests.unit.test_payment_service import a_request
from tests.webhook_receiver import Receiver, answer_with, running_receiver

ACCOUNT = "alice@example.com"
ALICE = actor_for(ACCOUNT)
BOB = actor_for("bob@example.com")
MINUTE = timedelta(minutes=1)


@pytest.fixture
def receiver():
    with running_receiver() as server:
        yield server


@pytest.fixture(autouse=True)
def _in_app(app):
    # Services build the payer's links from the app's settings, as in a request.
    with app.app_context():
        yield


@pytest.fixture
def clock() -> FakeClock:
    # Events are dated by the real clock, so the worker's clock starts there.
    return FakeClock(utc_now())


def worker(app, clock, worker_id: str = "worker-a", **changes) -> DeliveryWorker:
    """Return the app's worker on the test clock, without jitter (the schedule exactly)."""
    base = app.extensions["delivery_worker"]
    # One thread: moto is not thread-safe (a transaction deep-copies a table another thread is
    # writing, "dictionary changed size during iteration"); the worker then retries that item
    # next round, which moved a delivery into a later round than the test expects.
    changes = {"jitter": lambda: 0.0, "threads": 1, **changes}
    return dataclasses.replace(base, clock=clock, worker_id=worker_id, **changes)


@pytest.fixture
def deliveries(app, clock) -> DeliveryService:
    """The merchant's side of deliveries, on the worker's clock."""
    return DeliveryService(
        app.extensions["store"].deliveries,
        app.extensions["webhook_endpoints"],
        CursorCodec(TEST_SECRET_KEY),
        clock,
    )


def add_endpoint(app, receiver: Receiver, event_types="all", actor=ALICE):
    """Add an endpoint at the receiver; return it and its signing secret."""
    return app.extensions["webhook_endpoints"].add(actor, None, receiver.url(), event_types)


def pay_a_link(app, actor=ALICE):
    """Create a link and pay it in the sandbox: payment.created, then payment.completed."""
    service = app.extensions["payment_service"]
    payment = service.create_payment_link(actor, a_request())
    for event in app.extensions["payment_provider"].pay(payment.provider_link_id):
        service.apply_provider_event(event)
    return payment


def verified(received, secret: str) -> dict:
    """Return the body of a delivery after checking its signature as a receiver would."""
    return Webhook(secret).verify(received.body, received.headers)


def test_a_paid_link_reaches_the_endpoint_signed_as_the_events_api_shows_it(
    app, client, receiver, clock
):
    _, secret = add_endpoint(app, receiver)
    pay_a_link(app)

    done = worker(app, clock).run_once()

    assert (done.fanned_out, done.delivered, done.failed) == (2, 2, 0)
    bodies = [verified(r, secret) for r in receiver.received]
    assert sorted(b["type"] for b in bodies) == ["payment.completed", "payment.created"]
    events = app.extensions["event_listing"].list_events(ACCOUNT, None, 10).events
    assert sorted(bodies, key=lambda b: b["id"]) == [event_json(e) for e in events]
    for request in receiver.received:
        assert request.headers["webhook-id"] == json.loads(request.body)["id"]
        # Signed with the real time of sending, whatever the schedule's clock says.
        sent_at = int(request.headers["webhook-timestamp"])
        assert abs(sent_at - utc_now().timestamp()) < 30


def test_an_endpoint_gets_only_the_types_it_asked_for_and_a_disabled_one_none(
    deliveries, app, receiver, clock
):
    _, secret = add_endpoint(app, receiver, ["payment.completed"])
    disabled, _ = add_endpoint(app, receiver)
    app.extensions["webhook_endpoints"].disable(ALICE, disabled.endpoint_id)
    pay_a_link(app)

    worker(app, clock).run_once()

    assert [verified(r, secret)["type"] for r in receiver.received] == ["payment.completed"]
    log = deliveries.log(ACCOUNT, disabled.endpoint_id)
    assert log.deliveries == []


def test_an_event_is_fanned_out_once_however_many_workers_see_it(deliveries, app, receiver, clock):
    add_endpoint(app, receiver, ["payment.created"])
    app.extensions["payment_service"].create_payment_link(ALICE, a_request())
    first, second = worker(app, clock, "a"), worker(app, clock, "b")
    waiting = [first.deliveries.waiting_events(str(s), 10) for s in range(4)]
    (account_id, event_id) = next(e for shard in waiting for e in shard)

    assert first._fan_out(account_id, event_id) is True
    assert second._fan_out(account_id, event_id) is False  # refused: already fanned out

    second.run_once()
    first.run_once()
    assert len(receiver.received) == 1


def test_a_failing_endpoint_is_retried_on_the_schedule_then_given_up_and_disabled(
    deliveries, app, receiver, clock
):
    receiver.answer = answer_with(500, b"down for maintenance")
    endpoint, _ = add_endpoint(app, receiver, ["payment.created"])
    app.extensions["payment_service"].create_payment_link(ALICE, a_request())
    sender = worker(app, clock)
    made_at = clock.now

    sender.run_once()
    waits = []
    while True:
        (delivery,) = deliveries.log(ACCOUNT, endpoint.endpoint_id).deliveries
        if delivery.next_attempt_at is None:
            break
        waits.append(delivery.next_attempt_at - clock.now)
        clock.now = delivery.next_attempt_at - timedelta(seconds=1)
        assert sender.run_once().failed == 0  # not due a second early
        clock.now = delivery.next_attempt_at
        assert sender.run_once().failed == 1

    hours = timedelta(hours=1)
    assert (
        waits
        == [MINUTE, 5 * MINUTE, 30 * MINUTE, 2 * hours, 5 * hours, 10 * hours] + [12 * hours] * 4
    )
    assert delivery.state is DeliveryState.FAILED
    assert [a.number for a in delivery.attempts] == list(range(1, 12))
    assert all(a.status_code == 500 for a in delivery.attempts)
    assert delivery.attempts[0].response_excerpt == "down for maintenance"
    assert delivery.attempts[-1].at - made_at < timedelta(days=3)
    assert len(receiver.received) == 11
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1  # the same event
    stored = app.extensions["webhook_endpoints"].get(ACCOUNT, endpoint.endpoint_id)
    assert stored.status is EndpointStatus.DISABLED
    assert stored.disabled_reason == DISABLED_FOR_FAILURES
    wanted = AuditFilter(action=AuditAction.WEBHOOK_ENDPOINT_DISABLED)
    (entry,) = app.extensions["store"].audit.newest_first(ACCOUNT, wanted, 5).entries
    assert entry.via is Channel.SYSTEM
    assert entry.actor is None  # nobody in the account did it
    assert entry.after["reason"] == DISABLED_FOR_FAILURES


def test_jitter_stretches_each_wait_by_at_most_a_tenth(deliveries, app, receiver, clock):
    receiver.answer = answer_with(503)
    endpoint, _ = add_endpoint(app, receiver, ["payment.created"])
    app.extensions["payment_service"].create_payment_link(ALICE, a_request())

    worker(app, clock, jitter=lambda: 1.0).run_once()

    (delivery,) = deliveries.log(ACCOUNT, endpoint.endpoint_id).deliveries
    assert delivery.next_attempt_at - delivery.attempts[0].at == timedelta(seconds=66)


def test_an_endpoint_that_succeeded_meanwhile_is_not_disabled(deliveries, app, receiver, clock):
    receiver.answer = answer_with(500)
    endpoint, _ = add_endpoint(app, receiver, ["payment.created"])
    app.extensions["payment_service"].create_payment_link(ALICE, a_request())
    sender = worker(app, clock)
    sender.run_once()
    receiver.answer = answer_with(200)
    app.extensions["payment_service"].create_payment_link(ALICE, a_request())
    sender.run_once()  # the new event is delivered (the old one is due in a minute)
    receiver.answer = answer_with(500)

    for _ in range(20):
        clock.advance(hours=12)
        sender.run_once()

    deliveries = deliveries.log(ACCOUNT, endpoint.endpoint_id).deliveries
    assert sorted(d.state for d in deliveries) == [DeliveryState.DELIVERED, DeliveryState.FAILED]
    stored = app.extensions["webhook_endpoints"].get(ACCOUNT, endpoint.endpoint_id)
    assert stored.status is EndpointStatus.ACTIVE


def test_two_workers_never_send_one_attempt_twice(deliveries, app, receiver, clock):
    add_endpoint(app, receiver, ["payment.created"])
    app.extensions["payment_service"].create_payment_link(ALICE, a_request())
    first, second = worker(app, clock, "a"), worker(app, clock, "b")
    first._fan_out(*next(e for s in range(4) for e in first.deliveries.waiting_events(str(s), 5)))
    (queued,) = [q for s in range(4) for q in first.deliveries.due(str(s), clock.now, 5)]
    # Both read the delivery as due; the second claims it first.
    stale = first.deliveries.get(queued.account_id, queued.endpoint_id, queued.event_id)
    assert second._deliver(queued) is True

    class StaleReads:
        def __getattr__(self, name):
            return getattr(second.deliveries, name)

        def get(self, *_key):
            return stale

    late = dataclasses.replace(first, deliveries=StaleReads())
    assert late._deliver(queued) is None  # its claim is refused: the version moved on
    assert len(receiver.received) == 1


def test_a_worker_that_dies_holding_a_delivery_leaves_it_due_after_the_lease(
    deliveries, app, receiver, clock
):
    add_endpoint(app, receiver, ["payment.created"])
    app.extensions["payment_service"].create_payment_link(ALICE, a_request())
    dead = worker(app, clock, "dead")
    dead._fan_out(*next(e for s in range(4) for e in dead.deliveries.waiting_events(str(s), 5)))
    (queued,) = [q for s in range(4) for q in dead.deliveries.due(str(s), clock.now, 5)]
    stored = dead.deliveries.get(queued.account_id, queued.endpoint_id, queued.event_id)
    held = dataclasses.replace(
        stored.delivery, next_attempt_at=clock.now + LEASE
    )  # the claim, and then nothing
    assert dead.deliveries.put(StoredDelivery(held, stored.payload, 2, "dead"), 1)
    other = worker(app, clock, "other")

    assert other.run_once().delivered == 0
    clock.advance(seconds=LEASE.total_seconds())
    assert other.run_once().delivered == 1
    assert len(receiver.received) == 1


def test_resend_sends_a_delivered_event_again_with_the_same_id(deliveries, app, receiver, clock):
    endpoint, secret = add_endpoint(app, receiver, ["payment.created"])
    app.extensions["payment_service"].create_payment_link(ALICE, a_request())
    sender = worker(app, clock)
    sender.run_once()
    (delivery,) = deliveries.log(ACCOUNT, endpoint.endpoint_id).deliveries
    assert delivery.state is DeliveryState.DELIVERED

    resent = deliveries.resend(ALICE, endpoint.endpoint_id, delivery.event_id)
    assert resent.state is DeliveryState.PENDING
    sender.run_once()

    (after,) = deliveries.log(ACCOUNT, endpoint.endpoint_id).deliveries
    assert after.state is DeliveryState.DELIVERED
    assert [a.number for a in after.attempts] == [1, 2]
    first, second = receiver.received
    assert verified(first, secret) == verified(second, secret)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]


def test_a_failed_resend_starts_its_schedule_over(deliveries, app, receiver, clock):
    receiver.answer = answer_with(500)
    endpoint, _ = add_endpoint(app, receiver, ["payment.created"])
    app.extensions["payment_service"].create_payment_link(ALICE, a_request())
    sender = worker(app, clock)
    sender.run_once()
    for _ in range(12):
        clock.advance(hours=12)
        sender.run_once()
    (given_up,) = deliveries.log(ACCOUNT, endpoint.endpoint_id).deliveries
    assert given_up.state is DeliveryState.FAILED
    app.extensions["webhook_endpoints"].enable(ALICE, endpoint.endpoint_id)

    deliveries.resend(ALICE, endpoint.endpoint_id, given_up.event_id)
    sender.run_once()

    (retrying,) = deliveries.log(ACCOUNT, endpoint.endpoint_id).deliveries
    assert retrying.state is DeliveryState.PENDING
    assert retrying.next_attempt_at - retrying.attempts[-1].at == MINUTE


def test_a_resend_during_an_attempt_is_kept(deliveries, app, receiver, clock):
    endpoint, _ = add_endpoint(app, receiver, ["payment.created"])
    app.extensions["payment_service"].create_payment_link(ALICE, a_request())

    def resend_meanwhile(handler):
        deliveries.resend(ALICE, endpoint.endpoint_id, json.loads(receiver.received[-1].body)["id"])
        answer_with(200)(handler)

    receiver.answer = resend_meanwhile
    sender = worker(app, clock)
    sender.run_once()

    (delivery,) = deliveries.log(ACCOUNT, endpoint.endpoint_id).deliveries
    assert delivery.state is DeliveryState.PENDING  # the resend, still to come
    assert [a.status_code for a in delivery.attempts] == [200]
    receiver.answer = answer_with(200)
    sender.run_once()
    assert len(receiver.received) == 2


def test_send_test_event_reaches_the_endpoint_and_only_its_log(
    deliveries, app, client, receiver, clock
):
    endpoint, secret = add_endpoint(app, receiver, ["payment.completed"])

    queued = deliveries.send_test(ALICE, endpoint.endpoint_id)
    worker(app, clock).run_once()

    (request,) = receiver.received
    body = verified(request, secret)
    assert body["type"] == TEST_EVENT_TYPE
    assert body["id"] == queued.event_id == request.headers["webhook-id"]
    assert body["data"]["endpoint_id"] == endpoint.endpoint_id
    (logged,) = deliveries.log(ACCOUNT, endpoint.endpoint_id).deliveries
    assert logged.event_type == TEST_EVENT_TYPE
    assert logged.state is DeliveryState.DELIVERED
    assert app.extensions["event_listing"].list_events(ACCOUNT, None, 10).events == []


def test_an_order_event_carries_the_order(app, receiver, clock):
    _, secret = add_endpoint(app, receiver, ["order.cancelled"])
    order = place_order(app, ACCOUNT, id_minted_at(utc_now()))
    app.extensions["order_service"].cancel_order(ALICE, order.order_id)

    worker(app, clock).run_once()

    (request,) = receiver.received
    body = verified(request, secret)
    assert body["type"] == "order.cancelled"
    assert body["data"]["id"] == order.order_id
    assert body["data"]["status"] == "cancelled"


def test_a_deleted_endpoints_pending_delivery_is_given_up(app, receiver, clock):
    receiver.answer = answer_with(500)
    endpoint, _ = add_endpoint(app, receiver, ["payment.created"])
    app.extensions["payment_service"].create_payment_link(ALICE, a_request())
    sender = worker(app, clock)
    sender.run_once()
    repository = sender.deliveries
    app.extensions["webhook_endpoints"].delete(ALICE, endpoint.endpoint_id)

    clock.advance(minutes=2)
    assert sender.run_once().failed == 1

    later = clock.now + timedelta(days=9)
    assert [q for s in range(4) for q in repository.due(str(s), later, 5)] == []
    (given_up,) = repository.log(
        ACCOUNT, endpoint.endpoint_id, None, None, None, 5, clock.now
    ).deliveries
    assert given_up.state is DeliveryState.FAILED
    assert given_up.note == "The endpoint was deleted."
    assert len(receiver.received) == 1


def test_an_event_older_than_30_days_is_not_sent(app, receiver, clock):
    add_endpoint(app, receiver)
    store = app.extensions["store"]
    old = utc_now() - timedelta(days=31)
    item = event_change_item(
        store.tables.events, ACCOUNT, EventType.ORDER_PAID, old, "order#1", resourceId="x",
        orderStatus="paid",
    )  # fmt: skip
    store.client.put_item(**item.operation["Put"])

    done = worker(app, clock).run_once()

    assert done.fanned_out == 1
    assert receiver.received == []


def test_the_delivery_log_filters_on_state_and_type_and_pages(deliveries, app, receiver, clock):
    endpoint, _ = add_endpoint(app, receiver)
    pay_a_link(app)
    sender = worker(app, clock)
    sender.run_once()
    receiver.answer = answer_with(500)
    app.extensions["payment_service"].create_payment_link(ALICE, a_request())
    sender.run_once()
    log = lambda **kw: deliveries.log(ACCOUNT, endpoint.endpoint_id, **kw)  # noqa: E731

    everything = log().deliveries
    assert [d.event_type for d in everything] == [
        "payment.created", "payment.completed", "payment.created"
    ]  # fmt: skip
    assert [d.event_id for d in everything] == sorted(
        (d.event_id for d in everything), reverse=True
    )
    assert [d.state for d in log(state=DeliveryState.PENDING).deliveries] == [DeliveryState.PENDING]
    assert len(log(state=DeliveryState.DELIVERED).deliveries) == 2
    assert len(log(event_type="payment.created").deliveries) == 2
    created_delivered = log(event_type="payment.created", state=DeliveryState.DELIVERED)
    assert len(created_delivered.deliveries) == 1

    first = log(limit=2)
    assert first.next_cursor is not None
    second = log(limit=2, cursor=first.next_cursor)
    assert [d.event_id for d in first.deliveries + second.deliveries] == [
        d.event_id for d in everything
    ]
    assert second.next_cursor is None
    with pytest.raises(InvalidCursor):
        log(cursor=first.next_cursor[:-3] + "abc")
    with pytest.raises(InvalidCursor):  # a cursor of another filter
        log(cursor=first.next_cursor, state=DeliveryState.FAILED)


def test_another_accounts_endpoint_and_deliveries_are_not_found(deliveries, app, receiver, clock):
    endpoint, _ = add_endpoint(app, receiver, ["payment.created"])
    app.extensions["payment_service"].create_payment_link(ALICE, a_request())
    worker(app, clock).run_once()
    (delivery,) = deliveries.log(ACCOUNT, endpoint.endpoint_id).deliveries

    with pytest.raises(WebhookEndpointNotFound):
        deliveries.log("bob@example.com", endpoint.endpoint_id)
    with pytest.raises(WebhookEndpointNotFound):
        deliveries.resend(BOB, endpoint.endpoint_id, delivery.event_id)
    with pytest.raises(WebhookEndpointNotFound):
        deliveries.send_test(BOB, endpoint.endpoint_id)
    with pytest.raises(UnknownDelivery):
        deliveries.resend(ALICE, endpoint.endpoint_id, id_minted_at(utc_now()))


def test_the_worker_reads_no_table_with_a_scan(app, receiver, clock):
    calls = []
    client = app.extensions["store"].client
    client.meta.events.register(
        "before-call.dynamodb.*", lambda model, **_: calls.append(model.name)
    )
    add_endpoint(app, receiver)
    pay_a_link(app)
    sender = worker(app, clock)

    sender.run_once()
    sender.run_once()

    assert "Scan" not in calls
    assert "Query" in calls


def test_a_resend_during_an_attempt_waits_for_it_so_no_second_worker_sends_at_once(
    app, deliveries, receiver, clock
):
    endpoint, _ = add_endpoint(app, receiver, ["payment.created"])
    app.extensions["payment_service"].create_payment_link(ALICE, a_request())
    first, second = worker(app, clock, "first"), worker(app, clock, "second")
    sent_meanwhile = []

    def resend_and_let_another_worker_look(handler):
        if len(receiver.received) == 1:
            event_id = json.loads(receiver.received[0].body)["id"]
            deliveries.resend(ALICE, endpoint.endpoint_id, event_id)
            sent_meanwhile.append(second.run_once().delivered)
        answer_with(200)(handler)

    receiver.answer = resend_and_let_another_worker_look
    first.run_once()

    assert sent_meanwhile == [0]  # the resend waited for the attempt in flight
    (delivery,) = deliveries.log(ACCOUNT, endpoint.endpoint_id).deliveries
    assert delivery.state is DeliveryState.PENDING  # and is due now
    assert delivery.next_attempt_at <= clock.now
    second.run_once()
    (delivery,) = deliveries.log(ACCOUNT, endpoint.endpoint_id).deliveries
    assert [a.number for a in delivery.attempts] == [1, 2]
    assert delivery.state is DeliveryState.DELIVERED
    clock.advance(seconds=LEASE.total_seconds() + 1)
    first.run_once()
    second.run_once()
    assert len(receiver.received) == 2  # the attempt and the resend, never a third


def test_one_delivery_that_raises_does_not_stop_the_round(app, deliveries, receiver, clock):
    broken, _ = add_endpoint(app, receiver, ["payment.created"])
    working, _ = add_endpoint(app, receiver, ["payment.created"])
    app.extensions["payment_service"].create_payment_link(ALICE, a_request())
    real = app.extensions["webhook_endpoints"].signing_secrets

    def secrets_or_fail(endpoint, now):
        if endpoint.endpoint_id == broken.endpoint_id:
            raise ValueError("a sealed secret that does not open")
        return real(endpoint, now)

    sender = worker(app, clock)
    sender.endpoints.signing_secrets = secrets_or_fail
    try:
        done = sender.run_once()
    finally:
        del sender.endpoints.signing_secrets

    assert (done.delivered, done.errors) == (1, 1)
    (delivered,) = deliveries.log(ACCOUNT, working.endpoint_id).deliveries
    assert delivered.state is DeliveryState.DELIVERED


def test_a_resent_old_event_that_got_through_keeps_the_endpoint_enabled(
    app, deliveries, receiver, clock
):
    endpoint, _ = add_endpoint(app, receiver, ["payment.created"])
    payments = app.extensions["payment_service"]
    sender = worker(app, clock)
    for _ in range(6):
        payments.create_payment_link(ALICE, a_request())
    sender.run_once()  # six events delivered
    oldest = deliveries.log(ACCOUNT, endpoint.endpoint_id).deliveries[-1]
    failing_from = clock.now
    receiver.answer = answer_with(500)
    clock.advance(seconds=1)
    payments.create_payment_link(ALICE, a_request())
    sender.run_once()  # the seventh fails, and will for 3 days
    clock.advance(days=1)

    def only_the_oldest(handler):
        answer_with(200 if json.loads(handler.body)["id"] == oldest.event_id else 500)(handler)

    receiver.answer = only_the_oldest
    deliveries.resend(ALICE, endpoint.endpoint_id, oldest.event_id)
    sender.run_once()  # the resent oldest gets through, a day into the failures

    for _ in range(8):
        clock.advance(hours=12)
        sender.run_once()

    log = deliveries.log(ACCOUNT, endpoint.endpoint_id).deliveries
    assert [d.state for d in log if d.created_at > failing_from] == [DeliveryState.FAILED]
    stored = app.extensions["webhook_endpoints"].get(ACCOUNT, endpoint.endpoint_id)
    assert stored.status is EndpointStatus.ACTIVE
