"""Reading the rollups: counts by status per UTC hour (or all time) and currency, in few reads.

A merchant's day, in whatever zone, is a span of whole UTC hours: the services read the hours
of ``[start, end)`` with one Query on the sort-key range and sum them as they need.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from dashboard.domain.money import SUPPORTED_CURRENCIES
from dashboard.domain.payments import PaymentStatus
from dashboard.store.dynamo import (
    StoreUnavailable,
    TableNames,
    batch_get,
    from_item,
    to_item,
    translate_unavailable,
)
from dashboard.store.index_items import (
    DAY_ROLLUP_PREFIX,
    HOUR_ROLLUP_PREFIX,
    MERCHANTS_PARTITION,
    all_time_rollup_key,
    hour_of,
    prefix_range,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_HOUR = timedelta(hours=1)
_BATCH_WRITE_TRIES = 12


@dataclass
class Rollup:
    """Counters for one UTC hour (or all time, or one old-style UTC day) in one currency."""

    scope: str  # "hour", "all", or "day" (items from before the hours, kept until dropped)
    period: str  # YYYY-MM-DDTHH for an hour, YYYY-MM-DD for a day, "all" for all time
    currency: str
    counts: dict[PaymentStatus, int] = field(default_factory=dict)
    amounts_minor: dict[PaymentStatus, int] = field(default_factory=dict)
    attempts: int = 0
    attempts_succeeded: int = 0

    @property
    def sk(self) -> str:
        """Return the sort key the rollup is stored under."""
        if self.scope == "all":
            return all_time_rollup_key(self.currency)
        return f"r#{self.scope}#{self.period}#{self.currency}"

    @property
    def starts_at(self) -> datetime:
        """Return the first instant of an hour rollup's hour (UTC)."""
        return datetime.fromisoformat(f"{self.period}:00+00:00")


def rollup_from(values: dict[str, Any]) -> Rollup:
    """Return the rollup held in one stored item (plain values)."""
    _, scope, *rest = values["sk"].split("#")
    period, currency = ("all", rest[0]) if scope == "all" else (rest[0], rest[1])
    return Rollup(
        scope=scope,
        period=period,
        currency=currency,
        counts={s: int(values.get(f"n_{s.value}", 0)) for s in PaymentStatus},
        amounts_minor={s: int(values.get(f"m_{s.value}", 0)) for s in PaymentStatus},
        attempts=int(values.get("attempts", 0)),
        attempts_succeeded=int(values.get("attemptsSucceeded", 0)),
    )


def _plain_rollup(item: dict[str, Any]) -> dict[str, Any]:
    """Return the plain values of a stored rollup item: strings and whole numbers only.

    A 90-day view reads thousands of hour items; this reads their attribute values directly
    instead of through the general deserialiser, which made up a fifth of the view's time.
    """
    return {name: value["S"] if "S" in value else int(value["N"]) for name, value in item.items()}


def _whole_hour(instant: datetime, name: str) -> None:
    # An hour is the finest a rollup counts: a bound inside one would count the whole hour.
    if instant.astimezone(UTC).replace(minute=0, second=0, microsecond=0) != instant:
        raise ValueError(f"{name} must be a whole UTC hour, not {instant.isoformat()}")


class RollupRepository:
    """Reads rollup items; they are written with the payments, in PaymentRepository."""

    def __init__(self, client: DynamoDBClient, tables: TableNames):
        self._client = client
        self._table = tables.index

    def hours(
        self, user_id: str, start: datetime, end: datetime | None, currency: str | None
    ) -> list[Rollup]:
        """Return the hour rollups of the instants [start, end) (``end`` None: no end), in order.

        One Query on the sort-key range, following its pages: at most 24 items per day and
        currency, and only hours in which a payment was created hold one. ``start`` and ``end``
        must be whole hours (every local midnight of an offered zone is one).
        """
        _whole_hour(start, "start")
        lo = f"{HOUR_ROLLUP_PREFIX}{hour_of(start)}#"
        if end is None:
            hi = prefix_range(HOUR_ROLLUP_PREFIX)[":hi"]
        else:
            _whole_hour(end, "end")
            if end <= start:
                return []
            hi = f"{HOUR_ROLLUP_PREFIX}{hour_of(end - _HOUR)}#\U0010ffff"
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "userId = :u AND sk BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": to_item({":u": user_id, ":lo": lo, ":hi": hi}),
        }
        rollups = [rollup_from(_plain_rollup(item)) for item in self._query_items(request)]
        return [r for r in rollups if currency is None or r.currency == currency]

    def all_time(self, user_id: str, currency: str | None) -> list[Rollup]:
        """Return the all-time rollups of ``currency`` or of every currency (one BatchGetItem)."""
        codes = [currency] if currency else SUPPORTED_CURRENCIES
        keys = [to_item({"userId": user_id, "sk": all_time_rollup_key(code)}) for code in codes]
        rollups = [
            rollup_from(from_item(item)) for item in batch_get(self._client, self._table, keys)
        ]
        # BatchGetItem answers in no set order: keep the currencies' order, as the tiles do.
        return sorted(rollups, key=lambda rollup: codes.index(rollup.currency))

    # Maintenance (rebuild-stats): never on a request path ------------------------------------

    def every_rollup(self, user_id: str) -> list[Rollup]:
        """Return every rollup item of a merchant: hours, all time and old days (maintenance)."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "userId = :u AND sk BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": to_item({":u": user_id, **prefix_range("r#")}),
        }
        return [rollup_from(values) for values in self._query_all(request)]

    def day_rollup_keys(self, user_id: str) -> list[str]:
        """Return the sort keys of the merchant's old per-UTC-day rollups (one Query, keys only)."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "userId = :u AND sk BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": to_item(
                {":u": user_id, **prefix_range(DAY_ROLLUP_PREFIX)}
            ),
            "ProjectionExpression": "sk",
        }
        return [values["sk"] for values in self._query_all(request)]

    def delete(self, user_id: str, sort_keys: Iterable[str]) -> int:
        """Delete the merchant's items under ``sort_keys`` (BatchWriteItem, 25 a call).

        Returns how many were deleted. What DynamoDB leaves unprocessed is sent again after a
        jittered pause.
        """
        keys = list(sort_keys)
        for start in range(0, len(keys), 25):
            pending: Any = {
                self._table: [
                    {"DeleteRequest": {"Key": to_item({"userId": user_id, "sk": sk})}}
                    for sk in keys[start : start + 25]
                ]
            }
            for attempt in range(_BATCH_WRITE_TRIES):
                with translate_unavailable():
                    response = self._client.batch_write_item(RequestItems=pending)
                pending = response.get("UnprocessedItems") or {}
                if not pending:
                    break
                time.sleep(random.uniform(0, 0.02 * 2**attempt))  # noqa: S311
            else:
                raise StoreUnavailable(f"{self._table}: deletes left unprocessed")
        return len(keys)

    def add_to(self, user_id: str, sk: str, deltas: dict[str, int]) -> None:
        """Add ``deltas`` to the rollup stored under ``sk``, as a single atomic update."""
        names = {f"#k{i}": name for i, name in enumerate(deltas)}
        values = {f":v{i}": value for i, value in enumerate(deltas.values())}
        with translate_unavailable():
            self._client.update_item(
                TableName=self._table,
                Key=to_item({"userId": user_id, "sk": sk}),
                UpdateExpression="ADD " + ", ".join(f"#k{i} :v{i}" for i in range(len(deltas))),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_item(values),
            )

    def merchants(self) -> list[str]:
        """Return every merchant that ever created a payment, in id order (one Query, no Scan)."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "userId = :u",
            "ExpressionAttributeValues": to_item({":u": MERCHANTS_PARTITION}),
        }
        return [values["merchant"] for values in self._query_all(request)]

    def _query_all(self, request: dict[str, Any]) -> list[dict[str, Any]]:
        """Return every item of a Query as plain values, following its pages."""
        return [from_item(item) for item in self._query_items(request)]

    def _query_items(self, request: dict[str, Any]) -> list[dict[str, Any]]:
        """Return every item of a Query as stored (attribute-value maps), following its pages."""
        found: list[dict[str, Any]] = []
        while True:
            with translate_unavailable():
                response = self._client.query(**request)
            found += response.get("Items", [])
            if "LastEvaluatedKey" not in response:
                return found
            request = {**request, "ExclusiveStartKey": response["LastEvaluatedKey"]}
