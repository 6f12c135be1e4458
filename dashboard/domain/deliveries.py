"""Deliveries: one event on its way to one webhook endpoint, its attempts and its retry schedule.

Pure rules, no Flask, DynamoDB or HTTP. A delivery is made when the worker fans an event out to
the endpoints that want it; it is tried at once, then again after each failure on a widening
schedule with jitter (1 min, 5 min, 30 min, 2 h, 5 h, 10 h, then every 12 h) until 3 days have
passed since it was made. Resend puts any delivery, delivered or not, back in the queue.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

# The first retries come quickly (a receiver restarting), later ones every 12 hours.
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
)
LATER_RETRY_DELAY = timedelta(hours=12)
# No attempt is scheduled later than this after the delivery was made.
RETRY_WINDOW = timedelta(days=3)
# Each delay is stretched or shrunk by up to this fraction, so a receiver that was down is not
# met by every delivery it missed in the same second when it comes back.
JITTER = 0.1
# The delivery log keeps this many attempts of one delivery (a delivery resent many times).
ATTEMPTS_KEPT = 20
# The event type of the test event sent from Settings → Webhooks: not an outbox event.
TEST_EVENT_TYPE = "webhook.test"


class DeliveryState(StrEnum):
    """Where a delivery stands."""

    PENDING = "pending"  # not tried yet, or failed and due again
    DELIVERED = "delivered"  # the endpoint answered 2xx
    FAILED = "failed"  # given up: 3 days of failures, or the endpoint is gone or disabled

    @property
    def label(self) -> str:
        """Return the state as the delivery log shows it."""
        return {"pending": "Retrying", "delivered": "Delivered", "failed": "Failed"}[self.value]


@dataclass(frozen=True)
class DeliveryAttempt:
    """One try at delivering: when, what the endpoint answered (if anything) and how fast."""

    number: int
    at: datetime
    status_code: int | None
    latency_ms: int
    response_excerpt: str = ""  # the first 1 KB of the answer's body
    error: str | None = None  # why it failed; None when it got through

    @property
    def delivered(self) -> bool:
        """Return True when it got through: an endpoint's 2xx, or a mail server's acceptance."""
        return self.error is None


@dataclass(frozen=True)
class Delivery:
    """One event to one endpoint."""

    account_id: str
    endpoint_id: str
    event_id: str
    event_type: str
    state: DeliveryState
    created_at: datetime
    attempts: tuple[DeliveryAttempt, ...] = ()
    next_attempt_at: datetime | None = None  # None unless pending
    note: str | None = None  # why it was given up without an attempt (endpoint disabled...)
    # When the delivery was made or last resent: its retry schedule counts from then.
    started_at: datetime | None = None

    @property
    def schedule_start(self) -> datetime:
        """Return when this round of attempts began: the making, or the last resend."""
        return self.started_at or self.created_at

    @property
    def last_attempt(self) -> DeliveryAttempt | None:
        """Return the newest attempt, or None before the first."""
        return self.attempts[-1] if self.attempts else None

    @property
    def attempt_count(self) -> int:
        """Return the number of the newest attempt (0 before the first)."""
        return self.attempts[-1].number if self.attempts else 0

    def attempted(self, attempt: DeliveryAttempt, jitter: Callable[[], float]) -> Delivery:
        """Return the delivery after ``attempt``: delivered, due again, or given up.

        ``jitter`` returns a number in [-1, 1] (``random.uniform(-1, 1)`` in production).
        """
        attempts = (*self.attempts, attempt)[-ATTEMPTS_KEPT:]
        if attempt.delivered:
            return dataclasses.replace(
                self, state=DeliveryState.DELIVERED, attempts=attempts, next_attempt_at=None,
                note=None,
            )  # fmt: skip
        start = self.schedule_start
        failures = sum(1 for a in attempts if a.at >= start and not a.delivered)
        due = next_attempt_at(start, max(failures, 1), attempt.at, jitter)
        state = DeliveryState.FAILED if due is None else DeliveryState.PENDING
        return dataclasses.replace(
            self, state=state, attempts=attempts, next_attempt_at=due, note=None
        )

    def given_up(self, note: str) -> Delivery:
        """Return the delivery given up without another attempt, saying why."""
        return dataclasses.replace(
            self, state=DeliveryState.FAILED, next_attempt_at=None, note=note
        )

    def resent(self, now: datetime) -> Delivery:
        """Return the delivery due again now, whatever it reached."""
        return dataclasses.replace(
            self, state=DeliveryState.PENDING, next_attempt_at=now, note=None, started_at=now
        )


def retry_delay(failures: int) -> timedelta:
    """Return how long to wait after the ``failures``-th failure in a row (1-based)."""
    if failures <= len(RETRY_DELAYS):
        return RETRY_DELAYS[failures - 1]
    return LATER_RETRY_DELAY


def next_attempt_at(
    started_at: datetime, failures: int, failed_at: datetime, jitter: Callable[[], float]
) -> datetime | None:
    """Return when to try again after ``failures`` failures in a row since ``started_at``.

    ``started_at`` is when the delivery was made or last resent; no attempt is scheduled more
    than 3 days after it (None: give up).
    """
    delay = retry_delay(failures)
    due = failed_at + delay * (1 + JITTER * max(-1.0, min(1.0, jitter())))
    return due if due <= started_at + RETRY_WINDOW else None
