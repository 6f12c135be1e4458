"""The outbox's items: one Put per event, added to the transaction of the change that made it.

Projections of payment and order changes (``store/payments.py``, ``store/orders.py``) build
their events here; ``store/events.py`` reads them. An event's id is derived from the change
(what changed and the version the change gives it, the event's type and refund) and dated at
the change's time, not minted at random: the change set calls a projection again when it sends
a change once more without a dropped follower, and a replayed change must name the same event,
so the Put's condition (``attribute_not_exists``) refuses a second copy instead of writing one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dashboard.core.ids import id_derived_at
from dashboard.domain.events import EventType, order_change_events
from dashboard.domain.orders import OrderStatus
from dashboard.store.changeset import ChangeItem, Item
from dashboard.store.dynamo import store_time, to_item
from dashboard.store.schema import queue_shard


def event_change_item(
    table: str,
    account_id: str,
    event: EventType,
    at: datetime,
    change: str,
    **details: Any,
) -> Item:
    """Return the change set's named item that appends one event to the account's outbox.

    ``change`` names the change that made it (``{record id}#{its new version}``), from which
    the event's id is derived; ``details`` are the event's other attributes (``resourceId``,
    ``resourceVersion``, ...), plain values except ``payment``, the payment item as stored.
    """
    refund_id = details.get("refundId")
    payment = details.pop("payment", None)
    event_id = id_derived_at(at, f"{change}#{event.value}#{refund_id or ''}")
    values: dict[str, Any] = {
        "accountId": account_id,
        "eventId": event_id,
        # On the worker's fan-out queue until its deliveries are made (``store/deliveries.py``).
        "fanoutShard": queue_shard(event_id),
        "type": event.value,
        "createdAt": store_time(at),
        "resourceType": event.resource_type.value,
        **{name: value for name, value in details.items() if value is not None},
    }
    item = to_item(values)
    if payment is not None:
        # The payment as this change stores it, so the event shows it as it was then.
        item["payment"] = {"M": payment}
    put = {"TableName": table, "Item": item, "ConditionExpression": "attribute_not_exists(eventId)"}
    name = f"event:{event.value}" + (f":{refund_id}" if refund_id else "")
    return Item(name, {"Put": put})


def order_event_items(
    table: str,
    account_id: str,
    order_id: str,
    moves: tuple[OrderStatus | None, OrderStatus],
    at: datetime,
    change: str,
    version: int | None = None,
) -> list[ChangeItem]:
    """Return the events of an order's status moving as ``moves`` says, in change ``change``.

    ``version`` is the order's new version; None for an order following its payment, whose
    update adds one to a version it never read.
    """
    was, becomes = moves
    return [
        event_change_item(
            table,
            account_id,
            event,
            at,
            change,
            resourceId=order_id,
            resourceVersion=version,
            orderStatus=becomes.value,
        )
        for event in order_change_events(was, becomes)
    ]
