"""Reads that do not depend on each other, sent at the same time: one on a worker thread.

A page that needs two independent DynamoDB reads (the list's Query and its status counts) waits
for the slower of the two instead of their sum. The worker pool is small and shared by the
process; a read still queued when its result is wanted (every worker busy with other
requests) is taken back and run by the caller, so a busy pool never makes a request slower
than reading one after the other, and no deadline grows: each read keeps its own client
timeouts and retries.

The read runs in a copy of the caller's context (``contextvars``), as ``asyncio.to_thread``
does, so what it logs carries the request's id.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")

# Two cores serve the app; a few threads waiting on DynamoDB's answers cost almost nothing.
DEFAULT_WORKERS = 4


class SideRead(Generic[T]):
    """A read started on the side: ``result()`` waits for it, or runs it here if not started."""

    def __init__(self, future: Future[T], read: Callable[[], T]):
        self._future = future
        self._read = read

    def result(self) -> T:
        """Return the read's result (raising what it raised), running it now if still queued."""
        if self._future.cancel():
            return self._read()  # every worker was busy: read here rather than wait in line
        return self._future.result()

    def abandon(self) -> None:
        """Drop the read: not run if still queued, its outcome ignored if already running."""
        self._future.cancel()


class SideReads:
    """A small pool of threads for reads started on the side of a request's main read."""

    def __init__(self, workers: int = DEFAULT_WORKERS):
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="side-read")

    def start(self, read: Callable[[], T]) -> SideRead[T]:
        """Start ``read`` on a worker thread and return the handle to its result."""
        context = contextvars.copy_context()
        return SideRead(self._pool.submit(context.run, read), read)

    def shutdown(self) -> None:
        """Stop the workers once they have finished what they hold (tests, process exit)."""
        self._pool.shutdown(wait=True, cancel_futures=True)
