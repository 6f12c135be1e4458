"""Remembering which webhook deliveries were already applied (deduplication by ``event_id``).

DynamoDB Local has no TTL, and on AWS TTL deletes late: the expiry is enforced in the condition
expression, TTL (on ``expiresAtEpoch``) only cleans up.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from dashboard.store.dynamo import (
    TableNames,
    conditional_write,
    to_item,
    translate_unavailable,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

REMEMBER_FOR = timedelta(days=7)


class WebhookEventLog:
    """Event ids seen in the last week, in the Lookups table under ``webhook-event#<id>``."""

    def __init__(self, client: DynamoDBClient, tables: TableNames):
        self._client = client
        self._table = tables.lookups

    def seen(self, event_id: str, now: datetime) -> bool:
        """Return True when this event was applied in the last week."""
        with translate_unavailable():
            item = self._client.get_item(
                TableName=self._table, Key=to_item({"lookupKey": _key(event_id)}),
                ConsistentRead=True,
            ).get("Item")  # fmt: skip
        if not item:
            return False
        return int(item["expiresAtEpoch"]["N"]) > int(now.timestamp())

    def remember(self, event_id: str, now: datetime) -> bool:
        """Record the event as applied; return False when another delivery recorded it first."""
        return conditional_write(
            lambda: self._client.put_item(
                TableName=self._table,
                Item=to_item(
                    {
                        "lookupKey": _key(event_id),
                        "receivedAt": now.isoformat(),
                        "expiresAtEpoch": int((now + REMEMBER_FOR).timestamp()),
                    }
                ),
                ConditionExpression="attribute_not_exists(lookupKey) OR expiresAtEpoch < :now",
                ExpressionAttributeValues=to_item({":now": int(now.timestamp())}),
            )
        )


def _key(event_id: str) -> str:
    return f"webhook-event#{event_id}"
