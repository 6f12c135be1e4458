"""Outbound webhooks: fan events out to endpoints, send what is due, keep the delivery log.

The outbox holds every event, written in the transaction of the change it reports. The
``DeliveryWorker`` takes it from there, outside any merchant's request:

1. **Fan-out**: an event on the fan-out queue becomes one delivery per active endpoint that
   wants its type, with the event's JSON (as ``GET /api/v1/events`` shows it) built once; the
   deliveries and the event's leaving the queue are one transaction.
2. **Sending**: a due delivery is claimed by moving its due time one lease ahead (a Put
   conditioned on the version read, so of two workers one wins and the other moves on), sent
   once, signed with the time of sending, and its attempt recorded with the next due time:
   1 min, 5 min, 30 min, 2 h, 5 h, 10 h, then every 12 h, with jitter, for 3 days. A worker
   that dies mid-send leaves the delivery due again when its lease runs out: at least once.
3. **Giving up**: after 3 days without success the delivery is failed; when no delivery to the
   endpoint has succeeded since the failed one was made, the endpoint is disabled, its reason
   shown on Settings → Webhooks.

``DeliveryService`` holds the merchant's side: the delivery log, Resend and Send test event.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from dashboard.core.clock import utc_now
from dashboard.core.errors import NotFound
from dashboard.core.ids import new_id
from dashboard.domain.accounts import Membership
from dashboard.domain.actor import Actor
from dashboard.domain.audit import AuditAction, AuditNote
from dashboard.domain.business import BusinessProfile
from dashboard.domain.deliveries import (
    ATTEMPTS_KEPT,
    TEST_EVENT_TYPE,
    Delivery,
    DeliveryAttempt,
    DeliveryState,
)
from dashboard.domain.emails import (
    EMAIL_TARGET_PREFIX,
    Email,
    EmailKind,
    EmailNotSent,
    email_target,
    is_email_target,
)
from dashboard.domain.events import EventType, ResourceType
from dashboard.domain.notifications import NOTICE_OF_EVENT, Notice, member_target, wants
from dashboard.domain.payments import Payment
from dashboard.domain.webhook_endpoints import WebhookEndpoint
from dashboard.providers.webhook_sender import DeliveryResult, send_delivery
from dashboard.services.emails import EmailRenderer, NoticeRenderer, take_daily_quota
from dashboard.services.events import ShownEvent
from dashboard.services.webhook_endpoints import WebhookEndpointService
from dashboard.store.accounts import AccountRepository
from dashboard.store.audit import AuditLogRepository
from dashboard.store.business import BusinessRepository
from dashboard.store.cursors import CursorCodec, InvalidCursor
from dashboard.store.deliveries import (
    SUCCESS_GRAIN,
    DeliveryRepository,
    QueuedDelivery,
    StoredDelivery,
)
from dashboard.store.events import RETENTION, EventRepository, StoredEvent
from dashboard.store.orders import OrderRepository
from dashboard.store.schema import QUEUE_SHARDS

log = logging.getLogger(__name__)

__all__ = [
    "DeliveryLogPage",
    "DeliveryService",
    "DeliveryWorker",
    "InvalidCursor",
    "UnknownDelivery",
    "WorkerRound",
]

# A claimed delivery is held this long; one attempt takes at most 10 s (the sender's deadline).
LEASE = timedelta(seconds=60)
DISABLED_FOR_FAILURES = "No delivery succeeded for 3 days, so deliveries stopped."
_FINGERPRINT = "deliveries"
_MAX_RACES = 5  # a change raced by another is decided again on what is stored then

# The events whose payer gets a receipt.
_RECEIPTS = {
    EventType.PAYMENT_COMPLETED: EmailKind.RECEIPT,
    EventType.REFUND_EXECUTED: EmailKind.REFUND_RECEIPT,
}
_T = TypeVar("_T")
_R = TypeVar("_R")

# Builds an event's JSON body as the API shows the event.
EventRenderer = Callable[[ShownEvent], str]
# Sends one attempt: (url, event id, body, live secrets) -> result.
Sender = Callable[[str, str, bytes, list[str]], DeliveryResult]
# Hands one email to the mail server under a stable message id; raises EmailNotSent.
EmailSender = Callable[[Email, str], None]


class UnknownDelivery(NotFound):
    """Raised for a delivery that is not in the endpoint's log."""

    title = "Delivery not found"
    message = "This endpoint has no delivery of that event in the last 30 days."


@dataclass(frozen=True)
class DeliveryLogPage:
    """One page of an endpoint's deliveries, newest first, and the cursor of the next."""

    deliveries: list[Delivery]
    next_cursor: str | None


class DeliveryService:
    """The merchant's side of deliveries: the log, Resend, Send test event."""

    def __init__(
        self,
        deliveries: DeliveryRepository,
        endpoints: WebhookEndpointService,
        cursors: CursorCodec,
        clock: Callable[[], datetime] = utc_now,
        wake: Callable[[], None] = lambda: None,
    ):
        self._deliveries = deliveries
        self._endpoints = endpoints
        self._cursors = cursors
        self._now = clock
        self._wake = wake

    def log(
        self,
        account_id: str,
        endpoint_id: str,
        *,
        state: DeliveryState | None = None,
        event_type: str | None = None,
        cursor: str | None = None,
        limit: int = 25,
    ) -> DeliveryLogPage:
        """Return the endpoint's deliveries of the last 30 days, newest first.

        Raise WebhookEndpointNotFound (another account's too) or InvalidCursor.
        """
        endpoint = self._endpoints.get(account_id, endpoint_id)
        fingerprint = f"{_FINGERPRINT}#{endpoint.endpoint_id}#{state or ''}#{event_type or ''}"
        after = None
        if cursor:
            after = self._cursors.decode(cursor, account_id, fingerprint).get("after")
            if not isinstance(after, str):
                raise InvalidCursor("The page link is damaged.")
        page = self._deliveries.log(
            account_id, endpoint.endpoint_id, state, event_type, after, limit, self._now()
        )
        next_cursor = None
        if page.last_key:
            next_cursor = self._cursors.encode({"after": page.last_key}, account_id, fingerprint)
        return DeliveryLogPage(page.deliveries, next_cursor)

    def resend(self, actor: Actor, endpoint_id: str, event_id: str) -> Delivery:
        """Put the delivery back in the queue, due now, delivered or not; return it.

        Raise WebhookEndpointNotFound or UnknownDelivery (none, or older than 30 days).
        """
        endpoint = self._endpoints.get(actor.account_id, endpoint_id)
        for _ in range(_MAX_RACES):
            stored = self._deliveries.get(actor.account_id, endpoint.endpoint_id, event_id)
            now = self._now()
            if stored is None or stored.delivery.created_at < now - RETENTION:
                raise UnknownDelivery(event_id[:64])
            delivery = stored.delivery.resent(now)
            in_flight = stored.delivery.next_attempt_at
            if stored.lease_owner and in_flight and in_flight > now:
                # A worker is sending it now: the resend waits for that attempt (its record
                # makes the delivery due at once), so two workers never send it at one time.
                delivery = dataclasses.replace(delivery, next_attempt_at=in_flight)
            resent = StoredDelivery(
                delivery, stored.payload, stored.version + 1, stored.lease_owner
            )
            if self._deliveries.put(resent, stored.version):
                self._wake()
                return resent.delivery
        raise UnknownDelivery(event_id[:64])  # pragma: no cover - five races in a row

    def send_test(self, actor: Actor, endpoint_id: str) -> Delivery:
        """Queue a ``webhook.test`` event to the endpoint, sent within seconds; return it.

        The test event is no change of the account's, so it is not in the outbox or
        ``GET /api/v1/events``: only in this endpoint's delivery log.
        """
        endpoint = self._endpoints.get(actor.account_id, endpoint_id)
        now = self._now()
        event_id = new_id()
        body = {
            "id": event_id,
            "type": TEST_EVENT_TYPE,
            "created_at": now.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "data": {
                "endpoint_id": endpoint.endpoint_id,
                "message": "A test event from Payment Dashboard: your endpoint receives events.",
            },
        }
        delivery = Delivery(
            account_id=actor.account_id,
            endpoint_id=endpoint.endpoint_id,
            event_id=event_id,
            event_type=TEST_EVENT_TYPE,
            state=DeliveryState.PENDING,
            created_at=now,
            next_attempt_at=now,
        )
        self._deliveries.put(StoredDelivery(delivery, _json(body), 1), None)
        self._wake()
        return delivery


@dataclass
class WorkerRound:
    """What one round of the worker did."""

    fanned_out: int = 0
    delivered: int = 0
    failed: int = 0
    lost_races: int = 0
    errors: int = 0  # an event or delivery whose handling raised: logged, tried next round

    @property
    def busy(self) -> bool:
        """Return True when the round found work (so the next round starts at once)."""
        return bool(self.fanned_out or self.delivered or self.failed or self.lost_races)


@dataclass
class DeliveryWorker:
    """Fans events out and sends due deliveries; several may run at once, in any processes."""

    deliveries: DeliveryRepository
    events: EventRepository
    orders: OrderRepository
    endpoints: WebhookEndpointService
    render: EventRenderer
    allow_loopback: bool = False
    clock: Callable[[], datetime] = utc_now
    jitter: Callable[[], float] = field(default=lambda: random.uniform(-1, 1))  # noqa: S311
    send: Sender | None = None
    # Emails (receipts; the merchant's link emails are queued by PaymentEmails): rendered in
    # the account's name, handed to the mail server, each send audited. None: no emails.
    render_email: EmailRenderer | None = None
    send_email: EmailSender | None = None
    business: BusinessRepository | None = None
    audit: AuditLogRepository | None = None
    # Team notices (Settings → Notifications): the members are read once a round, one Query.
    # None: no notices.
    accounts: AccountRepository | None = None
    render_notice: NoticeRenderer | None = None
    batch: int = 25
    threads: int = 8
    worker_id: str = field(default_factory=new_id)
    _wake: threading.Event = field(default_factory=threading.Event)
    _pool: ThreadPoolExecutor | None = None
    _round_endpoints: dict[str, list[WebhookEndpoint]] = field(default_factory=dict)
    _round_members: dict[str, list[Membership]] = field(default_factory=dict)
    _cache_lock: threading.Lock = field(default_factory=threading.Lock)

    def wake(self) -> None:
        """Start the next round now rather than after the idle pause (something was queued)."""
        self._wake.set()

    def run_forever(self, stop: threading.Event, idle_seconds: float = 0.5) -> None:
        """Run rounds until ``stop`` is set; pause ``idle_seconds`` after a round with no work.

        A round that fails (DynamoDB away) is logged and retried after a longer pause.
        """
        log.info("delivery worker %s started", self.worker_id)
        while not stop.is_set():
            try:
                busy = self.run_once().busy
            except Exception:
                log.exception("delivery worker round failed; retrying in 5 s")
                stop.wait(5)
                continue
            if not busy:
                self._wake.wait(idle_seconds)
                self._wake.clear()
        log.info("delivery worker %s stopped", self.worker_id)

    def run_once(self) -> WorkerRound:
        """Fan out what waits, then send what is due: one round over every shard.

        Events and deliveries are handled ``threads`` at a time: each waits mostly on DynamoDB
        or on the receiver. The endpoints of an account are read once a round.
        """
        done = WorkerRound()
        self._round_endpoints = {}
        self._round_members = {}
        shards = [str(shard) for shard in range(QUEUE_SHARDS)]
        waiting = [e for s in shards for e in self.deliveries.waiting_events(s, self.batch)]
        for fanned_out in self._each(lambda e: self._fan_out(*e), waiting):
            if isinstance(fanned_out, Exception):
                done.errors += 1
            elif fanned_out:
                done.fanned_out += 1
            else:
                done.lost_races += 1
        now = self.clock()
        due = [q for s in shards for q in self.deliveries.due(s, now, self.batch)]
        for outcome in self._each(self._deliver, due):
            if isinstance(outcome, Exception):
                done.errors += 1
            elif outcome is None:
                done.lost_races += 1
            elif outcome:
                done.delivered += 1
            else:
                done.failed += 1
        return done

    def _each(self, action: Callable[[_T], _R], items: list[_T]) -> list[_R | Exception]:
        """Return ``action`` of each item, or what it raised: one item never stops the rest."""

        def guarded(item: _T) -> _R | Exception:
            try:
                return action(item)
            except Exception as exc:
                log.exception("delivery worker: %r failed; it is tried again next round", item)
                return exc

        if self.threads <= 1 or len(items) <= 1:
            return [guarded(item) for item in items]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="deliveries")
        return list(self._pool.map(guarded, items))

    def _endpoints_of(self, account_id: str) -> list[WebhookEndpoint]:
        # Read once a round (a change shows from the next round, a second or so later); the
        # round's threads share it, so the first to need an account reads it, under the lock.
        with self._cache_lock:
            if account_id not in self._round_endpoints:
                self._round_endpoints[account_id] = self.endpoints.list(account_id)
            return self._round_endpoints[account_id]

    def _members_of(self, account_id: str) -> list[Membership]:
        # Like the endpoints: once a round, so a flood of payments reads the team once.
        assert self.accounts is not None
        with self._cache_lock:
            if account_id not in self._round_members:
                self._round_members[account_id] = self.accounts.members_of(account_id)
            return self._round_members[account_id]

    # -- fan-out -----------------------------------------------------------------------------

    def _fan_out(self, account_id: str, event_id: str) -> bool:
        event = self.events.get(account_id, event_id)
        now = self.clock()
        made: list[StoredDelivery] = []
        if event is not None and event.created_at >= now - RETENTION:
            wanting = [
                e
                for e in self._endpoints_of(account_id)
                if e.is_active and event.type in e.event_types
            ]
            if wanting:
                order = None
                if event.resource_type is ResourceType.ORDER:
                    order = next(iter(self.orders.get_many(account_id, [event.resource_id])), None)
                payload = self.render(ShownEvent(event, order))
                made = [
                    StoredDelivery(
                        Delivery(
                            account_id=account_id,
                            endpoint_id=endpoint.endpoint_id,
                            event_id=event_id,
                            event_type=event.type.value,
                            state=DeliveryState.PENDING,
                            created_at=now,
                            next_attempt_at=now,
                        ),
                        payload,
                        1,
                    )
                    for endpoint in wanting
                ]
            receipt = self._receipt(event, now)
            if receipt is not None:
                made.append(receipt)
            made.extend(self._event_notices(account_id, event, now))
        return self.deliveries.fan_out(account_id, event_id, made)

    def _receipt(self, event: StoredEvent, now: datetime) -> StoredDelivery | None:
        """Return the payer's receipt of a completed payment or an executed refund, if due."""
        payment = event.payment
        kind = _RECEIPTS.get(event.type)
        if (
            kind is None
            or payment is None
            or not payment.payer_email
            or self.render_email is None
            or self.send_email is None
        ):
            return None
        if not take_daily_quota(self.deliveries, payment.user_id, now):
            log.warning("receipt of %s skipped: the account's daily email limit", event.event_id)
            return None
        stored = self.business.get_profile(payment.user_id) if self.business else None
        if stored is not None and not stored.profile.send_receipts:
            return None  # the account turned receipts off (Settings → Business)
        profile = stored.profile if stored else None
        email = self.render_email(kind, payment, profile, event.refund_id)
        delivery = Delivery(
            account_id=payment.user_id,
            endpoint_id=email_target(payment.payment_id),
            event_id=event.event_id,
            event_type=kind.value,
            state=DeliveryState.PENDING,
            created_at=now,
            next_attempt_at=now,
        )
        return StoredDelivery(delivery, email.to_json(), 1)

    def _event_notices(
        self, account_id: str, event: StoredEvent, now: datetime
    ) -> list[StoredDelivery]:
        """Return one notice per member who asked to be emailed about this event."""
        notice = NOTICE_OF_EVENT.get(event.type)
        payment = event.payment
        if notice is None or payment is None:
            return []
        return self._notices(
            account_id,
            notice,
            event.event_id,
            now,
            lambda kind, to, profile: self._render_notice(
                kind, to, payment, None, profile, event.refund_id
            ),
        )

    def _notices(
        self,
        account_id: str,
        notice: Notice,
        event_id: str,
        now: datetime,
        render: Callable[[EmailKind, str, BusinessProfile | None], Email],
    ) -> list[StoredDelivery]:
        """Return the ``notice`` email of each member who wants it, each to their own target.

        Keyed by ``event_id`` on the member's target: made twice (a fan-out retried), a member
        still has one.
        """
        if self.accounts is None or self.render_notice is None or self.send_email is None:
            return []
        members = [
            m for m in self._members_of(account_id) if m.email and wants(m.role, m.notices, notice)
        ]
        if not members:
            return []
        stored = self.business.get_profile(account_id) if self.business else None
        profile = stored.profile if stored else None
        made = []
        for member in members:
            assert member.email is not None
            if not take_daily_quota(self.deliveries, account_id, now):
                log.warning("notices of %s skipped: the account's daily email limit", event_id)
                break
            kind = notice.email_kind
            email = render(kind, member.email, profile)
            delivery = Delivery(
                account_id=account_id,
                endpoint_id=member_target(member.person),
                event_id=event_id,
                event_type=kind.value,
                state=DeliveryState.PENDING,
                created_at=now,
                next_attempt_at=now,
            )
            made.append(StoredDelivery(delivery, email.to_json(), 1))
        return made

    def _render_notice(
        self,
        kind: EmailKind,
        to: str,
        payment: Payment | None,
        endpoint: WebhookEndpoint | None,
        profile: BusinessProfile | None,
        refund_id: str | None,
    ) -> Email:
        assert self.render_notice is not None
        return self.render_notice(kind, to, payment, endpoint, profile, refund_id)

    # -- sending -----------------------------------------------------------------------------

    def _deliver(self, queued: QueuedDelivery) -> bool | None:
        """Claim, send and record one delivery; None when another worker holds it."""
        stored = self.deliveries.get(queued.account_id, queued.endpoint_id, queued.event_id)
        now = self.clock()
        if stored is None or stored.delivery.next_attempt_at is None:
            return None
        if stored.delivery.next_attempt_at > now:
            return None  # claimed by another worker since the queue was read
        claimed = StoredDelivery(
            _replace_due(stored.delivery, now + LEASE),
            stored.payload,
            stored.version + 1,
            self.worker_id,
        )
        if not self.deliveries.put(claimed, stored.version):
            return None
        if is_email_target(queued.endpoint_id):
            return self._send_email(claimed)
        endpoint = self._endpoint(queued)
        if endpoint is None or not endpoint.is_active:
            note = "The endpoint was deleted." if endpoint is None else "The endpoint is disabled."
            self._record(claimed, lambda d: d.given_up(note))
            return False
        attempt = self._attempt(endpoint, claimed)
        recorded = self._record(claimed, lambda d: d.attempted(attempt, self.jitter))
        if attempt.delivered:
            self.deliveries.note_success(endpoint.account_id, endpoint.endpoint_id, attempt.at)
        if recorded.state is DeliveryState.FAILED and not attempt.delivered:
            self._disable_if_failing(endpoint, recorded)
        return attempt.delivered

    def _send_email(self, claimed: StoredDelivery) -> bool:
        """Hand one email to the mail server, record the attempt, audit a send."""
        delivery = claimed.delivery
        email = Email.from_json(claimed.payload)
        started = time.monotonic()
        error = None
        if self.send_email is None:
            error = "Email is not set up here (no SMTP_URL)."
        else:
            try:
                # One Message-ID per email, kept across attempts: a resent copy is recognisable.
                self.send_email(email, f"{delivery.event_id}.{delivery.endpoint_id}")
            except EmailNotSent as exc:
                error = str(exc)[:300]
        attempt = DeliveryAttempt(
            number=delivery.attempt_count + 1,
            at=self.clock(),
            status_code=None,
            latency_ms=int((time.monotonic() - started) * 1000),
            error=error,
        )
        log.info("%s for %s: %s", delivery.event_type, delivery.endpoint_id, error or "sent")
        self._record(claimed, lambda d: d.attempted(attempt, self.jitter))
        if attempt.delivered and self.audit is not None:
            # A payer's email is about the payment its target names; a team notice or an
            # invitation names what it is about itself.
            about_type = email.about_type or "payment"
            about_id = email.about_id or delivery.endpoint_id.removeprefix(EMAIL_TARGET_PREFIX)
            note = AuditNote(Actor.system(delivery.account_id), AuditAction.EMAIL_SENT, attempt.at)
            kind = EmailKind(delivery.event_type)
            self.audit.append(
                note.entry(about_type, about_id, after={"email": kind.label, "to": email.to})
            )
        return attempt.delivered

    def _endpoint(self, queued: QueuedDelivery) -> WebhookEndpoint | None:
        wanted = queued.endpoint_id
        return next(
            (e for e in self._endpoints_of(queued.account_id) if e.endpoint_id == wanted), None
        )

    def _attempt(self, endpoint: WebhookEndpoint, claimed: StoredDelivery) -> DeliveryAttempt:
        delivery = claimed.delivery
        secrets = self.endpoints.signing_secrets(endpoint, utc_now())
        body = claimed.payload.encode("utf-8")
        if self.send is not None:
            result = self.send(endpoint.url, delivery.event_id, body, secrets)
        else:
            result = send_delivery(
                endpoint.url, delivery.event_id, body, secrets, allow_loopback=self.allow_loopback
            )
        log.info(
            "webhook %s to endpoint %s: %s in %d ms",
            delivery.event_type,
            endpoint.endpoint_id,
            result.status_code or result.error,
            result.latency_ms,
        )
        return DeliveryAttempt(
            number=delivery.attempt_count + 1,
            at=self.clock(),
            status_code=result.status_code,
            latency_ms=result.latency_ms,
            response_excerpt=result.response_head,
            error=result.error,
        )

    def _record(self, claimed: StoredDelivery, outcome: Callable[[Delivery], Delivery]) -> Delivery:
        """Store the claimed delivery's outcome; keep a resend that came meanwhile."""
        current, version = claimed, claimed.version
        for _ in range(_MAX_RACES):
            if current.version == claimed.version:
                after = outcome(claimed.delivery)
            else:
                after = _with_resend(
                    claimed.delivery, outcome(claimed.delivery), current, self.clock()
                )
            if self.deliveries.put(StoredDelivery(after, claimed.payload, version + 1), version):
                return after
            reread = self.deliveries.get(
                claimed.delivery.account_id, claimed.delivery.endpoint_id, claimed.delivery.event_id
            )
            if reread is None:
                return outcome(claimed.delivery)
            current, version = reread, reread.version
        log.warning("delivery %s: outcome not recorded after races", claimed.delivery.event_id)
        return outcome(claimed.delivery)

    def _disable_if_failing(self, endpoint: WebhookEndpoint, failed: Delivery) -> None:
        """Disable the endpoint when nothing reached it since the failed delivery was made."""
        since = failed.schedule_start
        last = self.deliveries.last_success(endpoint.account_id, endpoint.endpoint_id)
        if last is not None and last >= since - SUCCESS_GRAIN:
            return  # something got through meanwhile (kept to the hour: never disabled early)
        disabled = self.endpoints.disable(
            Actor.system(endpoint.account_id), endpoint.endpoint_id, DISABLED_FOR_FAILURES
        )
        log.warning("webhook endpoint %s disabled after 3 days of failures", endpoint.endpoint_id)
        # The members who asked are told. Not in the disabling's transaction (the endpoint
        # service writes it): each notice is added on its own, keyed by the failed delivery
        # and the endpoint, so a worker that disables the same endpoint again adds none.
        notices = self._notices(
            endpoint.account_id,
            Notice.ENDPOINT_DISABLED,
            f"{failed.event_id}.{endpoint.endpoint_id}",
            self.clock(),
            lambda kind, to, profile: self._render_notice(kind, to, None, disabled, profile, None),
        )
        added = [n for n in notices if self.deliveries.put(n, None)]
        if added:
            self.wake()


def _with_resend(
    claimed: Delivery, outcome: Delivery, current: StoredDelivery, now: datetime
) -> Delivery:
    """Return the stored delivery, resent while this attempt was in flight, with the attempt.

    The resend waited for the attempt (``DeliveryService.resend``): it is due now.
    """
    resent = current.delivery
    attempts = resent.attempts
    if outcome.attempt_count > claimed.attempt_count:
        attempts = (*attempts, outcome.attempts[-1])[-ATTEMPTS_KEPT:]
    due = resent.next_attempt_at
    if resent.state is DeliveryState.PENDING:
        due = min(due, now) if due else now
    return dataclasses.replace(resent, attempts=attempts, next_attempt_at=due)


def _replace_due(delivery: Delivery, due: datetime) -> Delivery:
    return dataclasses.replace(delivery, next_attempt_at=due)


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
