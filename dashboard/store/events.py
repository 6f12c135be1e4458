"""The outbox's reads: an account's events of the last 30 days, oldest first, a page at a time.

Events are written by the changes that make them (``store/event_items.py``); nothing here
writes, updates or deletes one. Each page is one Query on the account's partition. The 30
days are the key condition's lower bound, the lowest UUIDv7 of that instant, so an older event
is never read (DynamoDB Local has no TTL to delete them, and AWS's TTL deletes late).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from dashboard.core.clock import utc_now
from dashboard.core.ids import id_range
from dashboard.domain.events import EventType, ResourceType
from dashboard.domain.orders import OrderStatus
from dashboard.domain.payments import Payment
from dashboard.store.dynamo import (
    TableNames,
    from_item,
    parse_store_time,
    to_item,
    translate_unavailable,
)
from dashboard.store.payments import payment_from_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

RETENTION = timedelta(days=30)


@dataclass(frozen=True)
class StoredEvent:
    """One event as the outbox holds it.

    ``payment`` is the payment as the change stored it (payment and refund events);
    ``order_status`` the status an order event's order reached (the order itself is read when
    the event is shown). ``resource_version`` is None for an order following its payment.
    """

    event_id: str
    type: EventType
    created_at: datetime
    resource_type: ResourceType
    resource_id: str
    resource_version: int | None = None
    payment: Payment | None = None
    refund_id: str | None = None
    order_status: OrderStatus | None = None


@dataclass(frozen=True)
class EventPage:
    """Events read, oldest first, and whether more follow the last of them."""

    events: list[StoredEvent]
    more: bool


class EventRepository:
    """Reads an account's outbox."""

    def __init__(self, client: DynamoDBClient, tables: TableNames):
        self._client = client
        self._table = tables.events

    def after(
        self,
        account_id: str,
        event_id: str | None,
        limit: int,
        now: datetime | None = None,
    ) -> EventPage:
        """Return up to ``limit`` of the account's events after ``event_id`` (None: the first).

        Only events of the 30 days before ``now`` (the current time when None), oldest first.
        """
        now = now or utc_now()
        oldest, _ = id_range(now - RETENTION, now)
        # The version digit (7) follows the time, so no id equals the range's lowest string.
        start = max(oldest, event_id) if event_id else oldest
        with translate_unavailable():
            response = self._client.query(
                TableName=self._table,
                KeyConditionExpression="accountId = :a AND eventId > :e",
                ExpressionAttributeValues=to_item({":a": account_id, ":e": start}),
                Limit=limit,
            )
        events = [event_from_item(item) for item in response.get("Items", [])]
        return EventPage(events, "LastEvaluatedKey" in response)

    def get(self, account_id: str, event_id: str) -> StoredEvent | None:
        """Return one event, read strongly consistently (the delivery worker's fan-out), or None."""
        with translate_unavailable():
            item = self._client.get_item(
                TableName=self._table,
                Key=to_item({"accountId": account_id, "eventId": event_id}),
                ConsistentRead=True,
            ).get("Item")
        return event_from_item(item) if item else None


def event_from_item(item: dict[str, Any]) -> StoredEvent:
    """Return the event stored in a DynamoDB item."""
    snapshot = item.get("payment")
    values = from_item({name: value for name, value in item.items() if name != "payment"})
    return StoredEvent(
        event_id=values["eventId"],
        type=EventType(values["type"]),
        created_at=parse_store_time(values["createdAt"]),
        resource_type=ResourceType(values["resourceType"]),
        resource_id=values["resourceId"],
        resource_version=values.get("resourceVersion"),
        payment=payment_from_item(snapshot["M"]) if snapshot else None,
        refund_id=values.get("refundId"),
        order_status=OrderStatus(values["orderStatus"]) if "orderStatus" in values else None,
    )
