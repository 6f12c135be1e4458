"""Outbound HTTP policy: every call to an outside service has a total deadline and a slot.

* A ``Deadline`` is one budget for a whole operation, retries included: each attempt's connect
  and read timeouts are what is left of it, and a retry is only started while time remains.
  The body is read in chunks against the same deadline, so a server that trickles its answer
  cannot stretch a call either. (Each socket read is bounded by what was left when the request
  was sent, so the worst case is about one budget past the deadline while headers trickle in.)
* A ``ConcurrencyGate`` caps how many calls to one service run at once in this process; a caller
  that cannot get a slot quickly is refused, so a hung service can hold a few threads, never all
  of them, and ``/health``, the API and webhooks keep a thread to answer with.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import requests

# A retry is not worth starting with less time than this left: it would only time out.
MIN_ATTEMPT_SECONDS = 0.5
CONNECT_TIMEOUT_SECONDS = 3.05
MAX_ANSWER_BYTES = 1024 * 1024


class OutboundUnavailable(Exception):
    """Raised when a call to an outside service is given up here: out of time, or no slot."""


class DeadlineExceeded(OutboundUnavailable):
    """Raised when an operation's total deadline has passed."""


class NoSlotFree(OutboundUnavailable):
    """Raised when too many calls to the same service are already running in this process."""


class Deadline:
    """A total time budget for one operation, on the monotonic clock."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic):
        self.seconds = seconds
        self._clock = clock
        self._expires_at = clock() + seconds

    def remaining(self) -> float:
        """Return the seconds left (never negative)."""
        return max(0.0, self._expires_at - self._clock())

    def timeout(self, connect: float = CONNECT_TIMEOUT_SECONDS) -> tuple[float, float]:
        """Return ``(connect, read)`` timeouts for the next attempt; raise when none is left."""
        left = self.remaining()
        if left <= 0:
            raise DeadlineExceeded(f"no time left of the {self.seconds:g} s budget")
        return min(connect, left), left

    def pause_before_retry(self, seconds: float) -> bool:
        """Sleep ``seconds`` and return True if a retry still has time after it; else False."""
        if self.remaining() - seconds < MIN_ATTEMPT_SECONDS:
            return False
        time.sleep(seconds)
        return True


class ConcurrencyGate:
    """At most ``limit`` calls at once; a caller waits ``wait_seconds`` for a slot, else refused."""

    def __init__(self, name: str, limit: int, wait_seconds: float):
        self.name = name
        self.limit = limit
        self.wait_seconds = wait_seconds
        self._slots = threading.BoundedSemaphore(limit)

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one slot for the duration of the block; raise NoSlotFree if none frees in time."""
        if not self._slots.acquire(timeout=self.wait_seconds):
            raise NoSlotFree(f"{self.limit} calls to {self.name} are already running")
        try:
            yield
        finally:
            self._slots.release()


def send(
    request: Callable[..., requests.Response],
    method: str,
    url: str,
    deadline: Deadline,
    gate: ConcurrencyGate | None = None,
    **kwargs: Any,
) -> requests.Response:
    """Send one request with ``request`` (e.g. a Session's) within ``deadline``; return it read.

    With a ``gate``, the exchange holds one of its slots (NoSlotFree when none frees in time).

    Raises ``requests.Timeout`` / ``ConnectionError`` as requests does, ``DeadlineExceeded`` when
    the budget runs out while the body arrives, and ``OutboundUnavailable`` for an answer over
    1 MB (no provider answer we read is anywhere near that).
    """
    with gate.slot() if gate is not None else contextlib.nullcontext():
        return _send(request, method, url, deadline, **kwargs)


def _send(
    request: Callable[..., requests.Response],
    method: str,
    url: str,
    deadline: Deadline,
    **kwargs: Any,
) -> requests.Response:
    kwargs["timeout"] = deadline.timeout()
    kwargs["stream"] = True
    response = request(method, url, **kwargs)
    try:
        chunks, size = [], 0
        for chunk in response.iter_content(64 * 1024):
            size += len(chunk)
            if size > MAX_ANSWER_BYTES:
                raise OutboundUnavailable(f"{url} answered more than {MAX_ANSWER_BYTES} bytes")
            if deadline.remaining() <= 0:
                raise DeadlineExceeded(f"{url} was still sending after {deadline.seconds:g} s")
            chunks.append(chunk)
    except BaseException:
        response.close()
        raise
    # requests keeps a read body in ``_content``; setting it is how a streamed body is kept, so
    # .json() and .content work as usual for the caller.
    response._content = b"".join(chunks)
    return response
