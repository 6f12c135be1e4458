"""The sandbox delivers its webhooks again, with backoff, until the app accepts them.

TrueLayer retries a webhook that was not answered 2xx, with exponential backoff, for days; the
sandbox must do the same, or a payment whose webhook hit a DynamoDB hiccup would stay
``processing`` for good in development and tests. One daemon thread per app sends what is due;
a failed delivery is planned again after the next delay, and given up (logged) after the last.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

# Seconds between deliveries of one webhook: about 15 minutes in all, enough for a restarted
# DynamoDB Local or a developer's breakpoint. (TrueLayer keeps trying for up to 72 hours.)
RETRY_DELAYS: tuple[float, ...] = (1, 2, 4, 8, 15, 30, 60, 120, 240, 480)

# Sends one webhook (signing it afresh: a receiver refuses stale timestamps); True if accepted.
Send = Callable[[Any], bool]


@dataclass(order=True)
class _Due:
    at: float
    order: int
    webhook: Any = field(compare=False)
    tries: int = field(compare=False, default=1)


class WebhookRetries:
    """Sends webhooks once now and again later while ``send`` says they were not accepted."""

    def __init__(self, send: Send, delays: Sequence[float] = RETRY_DELAYS):
        self._send = send
        self._delays = tuple(delays)
        self._due: list[_Due] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._sending = 0  # taken off the heap, being sent now

    def deliver(self, webhook: Any) -> bool:
        """Send the webhook now; if it is not accepted, plan its next delivery. Return accepted."""
        if self._try(webhook):
            return True
        self._plan(_Due(0, 0, webhook, tries=1))
        return False

    @property
    def pending(self) -> int:
        """Return how many webhooks wait for another delivery (or are being sent again now)."""
        with self._wake:
            return len(self._due) + self._sending

    def _try(self, webhook: Any) -> bool:
        try:
            return self._send(webhook)
        except Exception:
            # Whatever broke (DynamoDB down, a bug), the payer has paid: keep the news for later.
            log.exception("Sandbox webhook delivery failed; it will be sent again")
            return False

    def _plan(self, due: _Due) -> None:
        if due.tries > len(self._delays):
            log.error("Sandbox webhook given up after %d deliveries", due.tries)
            return
        due.at = time.monotonic() + self._delays[due.tries - 1]
        due.order = next(self._order)
        with self._wake:
            heapq.heappush(self._due, due)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="sandbox-webhook-retries", daemon=True
                )
                self._thread.start()
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._due or self._due[0].at > time.monotonic():
                    timeout = self._due[0].at - time.monotonic() if self._due else None
                    self._wake.wait(timeout)
                due = heapq.heappop(self._due)
                self._sending += 1
            try:
                if self._try(due.webhook):
                    log.info("Sandbox webhook accepted on delivery %d", due.tries + 1)
                else:
                    due.tries += 1
                    self._plan(due)
            finally:
                with self._wake:
                    self._sending -= 1
