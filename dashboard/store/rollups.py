"""Reading the per-day rollups: counts by status for a date range and currency, in few reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from dashboard.domain.money import SUPPORTED_CURRENCIES
from dashboard.domain.payments import PaymentStatus
from dashboard.store.dynamo import (
    TableNames,
    batch_get,
    from_item,
    to_item,
    translate_unavailable,
)
from dashboard.store.index_items import MERCHANTS_PARTITION

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@dataclass
class Rollup:
    """Counters for one day (or all time) in one currency."""

    day: str  # YYYY-MM-DD, or "all"
    currency: str
    counts: dict[PaymentStatus, int] = field(default_factory=dict)
    amounts_minor: dict[PaymentStatus, int] = field(default_factory=dict)
    attempts: int = 0
    attempts_succeeded: int = 0


def _rollup_from(values: dict[str, Any]) -> Rollup:
    _, scope, *rest = values["sk"].split("#")
    day, currency = (rest[0], rest[1]) if scope == "day" else ("all", rest[0])
    return Rollup(
        day=day,
        currency=currency,
        counts={s: int(values.get(f"n_{s.value}", 0)) for s in PaymentStatus},
        amounts_minor={s: int(values.get(f"m_{s.value}", 0)) for s in PaymentStatus},
        attempts=int(values.get("attempts", 0)),
        attempts_succeeded=int(values.get("attemptsSucceeded", 0)),
    )


class RollupRepository:
    """Reads rollup items; they are written with the payments, in PaymentRepository."""

    def __init__(self, client: DynamoDBClient, tables: TableNames):
        self._client = client
        self._table = tables.index

    def days(self, user_id: str, first: date, last: date, currency: str | None) -> list[Rollup]:
        """Return the day rollups from ``first`` to ``last`` (one Query, at most days × 2 items)."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "userId = :u AND sk BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": to_item(
                {
                    ":u": user_id,
                    ":lo": f"r#day#{first.isoformat()}#",
                    ":hi": f"r#day#{last.isoformat()}#~",
                }
            ),
        }
        rollups = [_rollup_from(values) for values in self._query_all(request)]
        return [r for r in rollups if currency is None or r.currency == currency]

    def every_rollup(self, user_id: str) -> list[Rollup]:
        """Return every rollup item of a merchant, days and all time (maintenance only)."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "userId = :u AND sk BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": to_item(
                {":u": user_id, ":lo": "r#", ":hi": "r#\U0010ffff"}
            ),
        }
        return [_rollup_from(values) for values in self._query_all(request)]

    def add_to(self, user_id: str, day: str, currency: str, deltas: dict[str, int]) -> None:
        """Add ``deltas`` to one rollup (``day`` may be "all"), as a single atomic update."""
        sk = f"r#all#{currency}" if day == "all" else f"r#day#{day}#{currency}"
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
        """Return every merchant that ever created a payment (one Query, no Scan)."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "userId = :u",
            "ExpressionAttributeValues": to_item({":u": MERCHANTS_PARTITION}),
        }
        return [values["merchant"] for values in self._query_all(request)]

    def _query_all(self, request: dict[str, Any]) -> list[dict[str, Any]]:
        """Return every item of a Query, following its pages."""
        found = []
        while True:
            with translate_unavailable():
                response = self._client.query(**request)
            found += [from_item(item) for item in response.get("Items", [])]
            if "LastEvaluatedKey" not in response:
                return found
            request = {**request, "ExclusiveStartKey": response["LastEvaluatedKey"]}

    def all_time(self, user_id: str, currency: str | None) -> list[Rollup]:
        """Return the all-time rollups of ``currency`` or of every currency (one BatchGetItem)."""
        codes = [currency] if currency else SUPPORTED_CURRENCIES
        keys = [to_item({"userId": user_id, "sk": f"r#all#{code}"}) for code in codes]
        rollups = [
            _rollup_from(from_item(item)) for item in batch_get(self._client, self._table, keys)
        ]
        # BatchGetItem answers in no set order: keep the currencies' order, as the tiles do.
        return sorted(rollups, key=lambda rollup: codes.index(rollup.currency))
