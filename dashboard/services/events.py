"""The outbox's use case: list an account's events of the last 30 days, oldest first, paged.

The events are written by the changes that make them (``dashboard.store.event_items``); this
only reads. A payment or refund event holds the payment as that change stored it; an order
event names the order, which is read as it is now (one BatchGetItem for the page's orders).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from dashboard.core.clock import utc_now
from dashboard.domain.orders import Order
from dashboard.store.cursors import CursorCodec, InvalidCursor
from dashboard.store.events import EventRepository, StoredEvent
from dashboard.store.orders import OrderRepository

PAGE_SIZE = 50
_FINGERPRINT = "events"

__all__ = ["PAGE_SIZE", "EventListPage", "EventListing", "InvalidCursor", "ShownEvent"]


@dataclass(frozen=True)
class ShownEvent:
    """An event and, for an order event, its order as it is now (None once deleted)."""

    event: StoredEvent
    order: Order | None = None


@dataclass(frozen=True)
class EventListPage:
    """One page of events, oldest first, the cursor to read on from, and whether more wait.

    The cursor stays given at the end of the list too: a reader keeps it and asks again later
    for the events written since (None only while the account has none to read).
    """

    events: list[ShownEvent]
    next_cursor: str | None
    has_more: bool


class EventListing:
    """Lists an account's events."""

    def __init__(
        self,
        events: EventRepository,
        orders: OrderRepository,
        cursors: CursorCodec,
        clock: Callable[[], datetime] = utc_now,
    ):
        self._events = events
        self._orders = orders
        self._cursors = cursors
        self._now = clock

    def list_events(self, account_id: str, cursor: str | None, limit: int) -> EventListPage:
        """Return the account's events after ``cursor`` (None: from the oldest kept).

        Raises InvalidCursor for a cursor that was altered or is another account's.
        """
        after = None
        if cursor:
            after = self._cursors.decode(cursor, account_id, _FINGERPRINT).get("after")
            if not isinstance(after, str):
                raise InvalidCursor("The page link is damaged.")
        page = self._events.after(account_id, after, limit, now=self._now())
        order_ids = [e.resource_id for e in page.events if e.order_status is not None]
        orders = {o.order_id: o for o in self._orders.get_many(account_id, order_ids)}
        shown = [
            ShownEvent(event, orders.get(event.resource_id) if event.order_status else None)
            for event in page.events
        ]
        next_cursor = cursor
        if page.events:
            state = {"after": page.events[-1].event_id}
            next_cursor = self._cursors.encode(state, account_id, _FINGERPRINT)
        return EventListPage(shown, next_cursor, page.more)
