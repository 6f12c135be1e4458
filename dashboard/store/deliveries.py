"""Deliveries as stored: one item per event and endpoint, and the queues the worker reads.

``Deliveries`` (HASH ``endpointKey`` = ``{account}#{endpoint}``, RANGE ``eventId``): one item
per event and endpoint, so fanning an event out twice writes nothing new. Its indexes:

* ``DeliveryDueIndex`` (``dueShard``, ``dueAt``), sparse: only deliveries waiting for an
  attempt carry the two attributes, so the worker's Query on a shard reads what is due and
  nothing else. Four shards spread a busy queue over partitions.
* ``DeliveryStateIndex``, ``DeliveryTypeIndex`` and ``DeliveryTypeStateIndex``: the delivery
  log's filters (delivered/failed/retrying, event type, both) as key conditions, newest first.

Events waiting to be fanned out carry ``fanoutShard`` in the outbox (``store/event_items.py``);
``EventFanoutIndex`` on it is sparse the same way, and fanning an event out removes it in the
transaction that writes its deliveries.

Every change of a delivery is a Put conditioned on the version read (optimistic concurrency):
a claim by one worker, a recorded attempt and a resend can race, and exactly one wins each
time. Retention (30 days) is the key condition's lower bound, as for events: DynamoDB Local has
no TTL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from dashboard.core.ids import id_range
from dashboard.domain.audit import AuditEntry
from dashboard.domain.deliveries import Delivery, DeliveryAttempt, DeliveryState
from dashboard.store.audit import audit_put
from dashboard.store.dynamo import (
    ConditionFailed,
    TableNames,
    conditional_write,
    from_item,
    parse_store_time,
    store_time,
    to_item,
    transact_write,
    translate_unavailable,
)
from dashboard.store.events import RETENTION
from dashboard.store.schema import (
    DELIVERY_DUE_INDEX,
    DELIVERY_STATE_INDEX,
    DELIVERY_TYPE_INDEX,
    DELIVERY_TYPE_STATE_INDEX,
    EVENT_FANOUT_INDEX,
    queue_shard,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@dataclass(frozen=True)
class StoredDelivery:
    """A delivery as stored: the delivery, its body, its version and the worker holding it."""

    delivery: Delivery
    payload: str  # the JSON body sent, built once when the delivery was made
    version: int
    lease_owner: str | None = None


@dataclass(frozen=True)
class QueuedDelivery:
    """A delivery found due on the queue: its key and the due time it was found with."""

    account_id: str
    endpoint_id: str
    event_id: str


@dataclass(frozen=True)
class DeliveryPage:
    """Deliveries, newest first, and the key to read on from (None: no more)."""

    deliveries: list[Delivery]
    last_key: str | None


class DeliveryRepository:
    """Reads and writes deliveries, and the outbox's fan-out queue."""

    def __init__(self, client: DynamoDBClient, tables: TableNames):
        self._client = client
        self._table = tables.deliveries
        self._events = tables.events
        self._audit = tables.audit

    # -- the fan-out queue -------------------------------------------------------------------

    def waiting_events(self, shard: str, limit: int) -> list[tuple[str, str]]:
        """Return up to ``limit`` (account id, event id) of events not fanned out yet."""
        with translate_unavailable():
            response = self._client.query(
                TableName=self._events,
                IndexName=EVENT_FANOUT_INDEX,
                KeyConditionExpression="fanoutShard = :s",
                ExpressionAttributeValues={":s": {"S": shard}},
                Limit=limit,
            )
        return [(i["accountId"]["S"], i["eventId"]["S"]) for i in response.get("Items", [])]

    def fan_out(self, account_id: str, event_id: str, made: list[StoredDelivery]) -> bool:
        """Write the event's deliveries and take it off the fan-out queue, in one transaction.

        Return False when another worker fanned it out first (nothing is written then).
        """
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": delivery_item(stored),
                    "ConditionExpression": "attribute_not_exists(eventId)",
                }
            }
            for stored in made
        ]
        items.append(
            {
                "Update": {
                    "TableName": self._events,
                    "Key": to_item({"accountId": account_id, "eventId": event_id}),
                    "UpdateExpression": "REMOVE fanoutShard",
                    "ConditionExpression": "attribute_exists(fanoutShard)",
                }
            }
        )
        try:
            transact_write(self._client, items)
        except ConditionFailed:
            return False
        return True

    # -- the delivery queue ------------------------------------------------------------------

    def due(self, shard: str, now: datetime, limit: int) -> list[QueuedDelivery]:
        """Return up to ``limit`` deliveries of ``shard`` due at ``now``, the longest due first."""
        with translate_unavailable():
            response = self._client.query(
                TableName=self._table,
                IndexName=DELIVERY_DUE_INDEX,
                KeyConditionExpression="dueShard = :s AND dueAt <= :now",
                ExpressionAttributeValues=to_item({":s": shard, ":now": store_time(now)}),
                Limit=limit,
            )
        return [_queued(item) for item in response.get("Items", [])]

    def get(self, account_id: str, endpoint_id: str, event_id: str) -> StoredDelivery | None:
        """Return the delivery, read strongly consistently, or None."""
        with translate_unavailable():
            item = self._client.get_item(
                TableName=self._table,
                Key=to_item(
                    {"endpointKey": endpoint_key(account_id, endpoint_id), "eventId": event_id}
                ),
                ConsistentRead=True,
            ).get("Item")
        return stored_delivery(item) if item else None

    def put(self, stored: StoredDelivery, expected_version: int | None) -> bool:
        """Store ``stored`` if the stored version is still ``expected_version`` (None: new).

        Return False when another change got there first. ``stored.version`` is the new one.
        """
        if expected_version is None:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(eventId)"}
        else:
            condition = {
                "ConditionExpression": "version = :v",
                "ExpressionAttributeValues": {":v": {"N": str(expected_version)}},
            }
        return conditional_write(
            lambda: self._client.put_item(
                TableName=self._table, Item=delivery_item(stored), **condition
            )
        )

    def add_email(
        self, stored: StoredDelivery, entry: AuditEntry, slot: tuple[str, int] | None = None
    ) -> bool:
        """Store a new email and its audit entry in one transaction; False if it lost a race.

        ``slot`` (a payment id, how many of its link emails the merchant saw) makes the email
        that payment's next one: of two requests made from one page (a double click, a retried
        submit), one is queued and the other refused.
        """
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": delivery_item(stored),
                    "ConditionExpression": "attribute_not_exists(eventId)",
                }
            },
            audit_put(self._audit, entry),
        ]
        if slot is not None:
            payment_id, sent_before = slot
            update: dict[str, Any] = {
                "TableName": self._table,
                "Key": to_item(
                    {
                        "endpointKey": f"{stored.delivery.account_id}#email-links",
                        "eventId": payment_id,
                    }
                ),
                "UpdateExpression": "SET sent = :next",
                "ExpressionAttributeValues": {":next": {"N": str(sent_before + 1)}},
                "ConditionExpression": "attribute_not_exists(sent)",
            }
            if sent_before:
                update["ConditionExpression"] = "sent = :before"
                update["ExpressionAttributeValues"][":before"] = {"N": str(sent_before)}
            items.append({"Update": update})
        try:
            transact_write(self._client, items)
        except ConditionFailed:
            return False
        return True

    def take_email_quota(self, account_id: str, day: str, most: int) -> bool:
        """Count one email against the account's ``day``; False once ``most`` were counted."""
        return conditional_write(
            lambda: self._client.update_item(
                TableName=self._table,
                Key=to_item({"endpointKey": f"{account_id}#email-quota", "eventId": day}),
                UpdateExpression="ADD sent :one",
                ConditionExpression="attribute_not_exists(sent) OR sent < :most",
                ExpressionAttributeValues={":one": {"N": "1"}, ":most": {"N": str(most)}},
            )
        )

    def for_target(self, account_id: str, target: str, limit: int = 50) -> list[Delivery]:
        """Return the deliveries to one target (the emails of a payment), newest first."""
        with translate_unavailable():
            items = self._client.query(
                TableName=self._table,
                KeyConditionExpression="endpointKey = :k",
                ExpressionAttributeValues={":k": {"S": endpoint_key(account_id, target)}},
                ScanIndexForward=False,
                Limit=limit,
            ).get("Items", [])
        return [stored_delivery(i).delivery for i in items]

    # -- the delivery log --------------------------------------------------------------------

    def log(
        self,
        account_id: str,
        endpoint_id: str,
        state: DeliveryState | None,
        event_type: str | None,
        after_key: str | None,
        limit: int,
        now: datetime,
    ) -> DeliveryPage:
        """Return the endpoint's deliveries of the last 30 days, newest first, one Query.

        ``state`` and ``event_type`` narrow it on an index; ``after_key`` is the event id the
        previous page ended with.
        """
        key = endpoint_key(account_id, endpoint_id)
        name, index = "endpointKey", None
        if state and event_type:
            name, index, key = (
                "typeStateKey",
                DELIVERY_TYPE_STATE_INDEX,
                f"{key}#{event_type}#{state}",
            )
        elif state:
            name, index, key = "stateKey", DELIVERY_STATE_INDEX, f"{key}#{state}"
        elif event_type:
            name, index, key = "typeKey", DELIVERY_TYPE_INDEX, f"{key}#{event_type}"
        oldest, _ = id_range(now - RETENTION, now)
        condition, values = f"{name} = :k AND eventId >= :lo", {":k": key, ":lo": oldest}
        if after_key:
            # The page after a key starts below it (BETWEEN includes the bound: dropped below).
            condition = f"{name} = :k AND eventId BETWEEN :lo AND :after"
            values[":after"] = after_key
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": to_item(values),
            "ScanIndexForward": False,
            # One more than asked tells whether more follow; one more again for the bound.
            "Limit": limit + (2 if after_key else 1),
        }
        if index:
            query["IndexName"] = index
        with translate_unavailable():
            items = self._client.query(**query).get("Items", [])
        found = [stored_delivery(i).delivery for i in items if i["eventId"]["S"] != after_key]
        more = len(found) > limit
        found = found[:limit]
        return DeliveryPage(found, found[-1].event_id if more and found else None)

    def note_success(self, account_id: str, endpoint_id: str, at: datetime) -> None:
        """Remember that a delivery reached the endpoint at ``at`` (kept to the hour).

        One small item per endpoint, written at most once an hour (a conditional update), so
        a busy endpoint costs a write an hour, not one per delivery.
        """
        conditional_write(
            lambda: self._client.update_item(
                TableName=self._table,
                Key=to_item(_health_key(account_id, endpoint_id)),
                UpdateExpression="SET succeededAt = :at",
                ConditionExpression="attribute_not_exists(succeededAt) OR succeededAt < :stale",
                ExpressionAttributeValues=to_item(
                    {":at": store_time(at), ":stale": store_time(at - SUCCESS_GRAIN)}
                ),
            )
        )

    def last_success(self, account_id: str, endpoint_id: str) -> datetime | None:
        """Return when a delivery last reached the endpoint (to the hour), or None: never."""
        with translate_unavailable():
            item = self._client.get_item(
                TableName=self._table,
                Key=to_item(_health_key(account_id, endpoint_id)),
                ConsistentRead=True,
            ).get("Item")
        return parse_store_time(item["succeededAt"]["S"]) if item else None


# How stale the remembered last success of an endpoint may be.
SUCCESS_GRAIN = timedelta(hours=1)


def _health_key(account_id: str, endpoint_id: str) -> dict[str, str]:
    # Its own partition: the endpoint's log (its deliveries' partition) never reads it.
    return {"endpointKey": f"{endpoint_key(account_id, endpoint_id)}#health", "eventId": "last"}


def endpoint_key(account_id: str, endpoint_id: str) -> str:
    """Return the partition key of an endpoint's deliveries."""
    return f"{account_id}#{endpoint_id}"


def delivery_item(stored: StoredDelivery) -> dict[str, Any]:
    """Return the DynamoDB item of a delivery, with its queue and log index keys."""
    d = stored.delivery
    key = endpoint_key(d.account_id, d.endpoint_id)
    values: dict[str, Any] = {
        "endpointKey": key,
        "eventId": d.event_id,
        "accountId": d.account_id,
        "endpointId": d.endpoint_id,
        "eventType": d.event_type,
        "state": d.state.value,
        "createdAt": store_time(d.created_at),
        "startedAt": store_time(d.started_at) if d.started_at else None,
        "attempts": json.dumps([_attempt_json(a) for a in d.attempts], separators=(",", ":")),
        "payload": stored.payload,
        "version": stored.version,
        "note": d.note,
        "leaseOwner": stored.lease_owner,
        "stateKey": f"{key}#{d.state}",
        "typeKey": f"{key}#{d.event_type}",
        "typeStateKey": f"{key}#{d.event_type}#{d.state}",
    }
    if d.next_attempt_at is not None:
        values["dueShard"] = queue_shard(f"{key}#{d.event_id}")
        values["dueAt"] = store_time(d.next_attempt_at)
    return to_item({name: value for name, value in values.items() if value is not None})


def stored_delivery(item: dict[str, Any]) -> StoredDelivery:
    """Return the delivery stored in a DynamoDB item."""
    values = from_item(item)
    delivery = Delivery(
        account_id=values["accountId"],
        endpoint_id=values["endpointId"],
        event_id=values["eventId"],
        event_type=values["eventType"],
        state=DeliveryState(values["state"]),
        created_at=parse_store_time(values["createdAt"]),
        attempts=tuple(_attempt(a) for a in json.loads(values.get("attempts") or "[]")),
        next_attempt_at=parse_store_time(values["dueAt"]) if "dueAt" in values else None,
        note=values.get("note"),
        started_at=parse_store_time(values["startedAt"]) if "startedAt" in values else None,
    )
    return StoredDelivery(
        delivery, values.get("payload", ""), int(values["version"]), values.get("leaseOwner")
    )


def _queued(item: dict[str, Any]) -> QueuedDelivery:
    account_id, _, endpoint_id = item["endpointKey"]["S"].rpartition("#")
    return QueuedDelivery(account_id, endpoint_id, item["eventId"]["S"])


def _attempt_json(attempt: DeliveryAttempt) -> dict[str, Any]:
    return {
        "n": attempt.number,
        "at": store_time(attempt.at),
        "status": attempt.status_code,
        "ms": attempt.latency_ms,
        "body": attempt.response_excerpt,
        "error": attempt.error,
    }


def _attempt(values: dict[str, Any]) -> DeliveryAttempt:
    return DeliveryAttempt(
        number=values["n"],
        at=parse_store_time(values["at"]),
        status_code=values["status"],
        latency_ms=values["ms"],
        response_excerpt=values["body"],
        error=values["error"],
    )
