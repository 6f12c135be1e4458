"""Rewrite the search items of stored payments: the backfill after search began indexing every word.

Payments created while search indexed only a payment's first 8 words lack the items of their
later words. Search items are keyed by what never changes after creation (word, createdAt,
paymentId), so writing a payment's items again is harmless: items already there are replaced by
identical ones. The backfill therefore needs no bookkeeping and can be stopped and resumed
anywhere. It reads each merchant's payments with a Query on its own partition (never a Scan)
and writes with BatchWriteItem, outside the live app's transactions.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dashboard.store.dynamo import (
    TableNames,
    from_item,
    store_time,
    to_item,
    translate_unavailable,
)
from dashboard.store.index_items import prefix_range, search_items
from dashboard.store.orders import order_from_item, order_word_items
from dashboard.store.payments import payment_from_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import WriteRequestOutputTypeDef, WriteRequestTypeDef

    # What a BatchWriteItem asks for, and what it leaves unprocessed to ask for again.
    _WriteRequests = Mapping[str, Sequence[WriteRequestTypeDef | WriteRequestOutputTypeDef]]

BATCH_SIZE = 25  # BatchWriteItem's limit


@dataclass(frozen=True)
class BackfilledPage:
    """What one page of a merchant's payments gave: counts and where to resume after it."""

    merchant: str
    payments: int
    items_written: int
    last_payment_id: str | None


class SearchBackfill:
    """Writes the search items of every stored payment of a merchant, page by page."""

    def __init__(self, client: DynamoDBClient, tables: TableNames, page_size: int = 200):
        self._client = client
        self._tables = tables
        self._page_size = page_size

    def backfill_merchant(
        self, merchant: str, after_payment_id: str | None = None
    ) -> Iterator[BackfilledPage]:
        """Yield one result per page of the merchant's payments, after ``after_payment_id``."""
        request: dict[str, Any] = {
            "TableName": self._tables.payments,
            "KeyConditionExpression": "userId = :u",
            "ExpressionAttributeValues": to_item({":u": merchant}),
            "Limit": self._page_size,
        }
        if after_payment_id:
            request["ExclusiveStartKey"] = to_item(
                {"userId": merchant, "paymentId": after_payment_id}
            )
        vocabulary_written: set[str] = set()  # one v# item per word is enough
        while True:
            with translate_unavailable():
                response = self._client.query(**request)
            payments = [payment_from_item(item) for item in response.get("Items", [])]
            items: dict[str, dict[str, Any]] = {}
            for payment in payments:
                for item in search_items(payment, store_time(payment.created_at)):
                    if item["sk"].startswith("v#"):
                        if item["sk"] in vocabulary_written:
                            continue
                        vocabulary_written.add(item["sk"])
                    items[item["sk"]] = item
            self._write(list(items.values()))
            yield BackfilledPage(
                merchant,
                len(payments),
                len(items),
                payments[-1].payment_id if payments else after_payment_id,
            )
            if "LastEvaluatedKey" not in response:
                return
            request = {**request, "ExclusiveStartKey": response["LastEvaluatedKey"]}

    def backfill_orders(self, merchant: str) -> tuple[int, int]:
        """Write the word items of every order of a merchant; return (orders, items written).

        Orders used to index only their first 12 words. Word items are keyed by word and order
        id, so writing them again is harmless; a Query over the merchant's ``order#`` keys.
        """
        request: dict[str, Any] = {
            "TableName": self._tables.orders,
            "KeyConditionExpression": "userId = :u AND sk BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": to_item({":u": merchant, **prefix_range("order#")}),
            "Limit": self._page_size,
        }
        orders = written = 0
        while True:
            with translate_unavailable():
                response = self._client.query(**request)
            items = [
                from_item(item)
                for stored in response.get("Items", [])
                for item in order_word_items(order_from_item(stored))
            ]
            orders += len(response.get("Items", []))
            self._write(items, self._tables.orders)
            written += len(items)
            if "LastEvaluatedKey" not in response:
                return orders, written
            request = {**request, "ExclusiveStartKey": response["LastEvaluatedKey"]}

    def _write(self, items: list[dict[str, Any]], table: str | None = None) -> None:
        for start in range(0, len(items), BATCH_SIZE):
            pending: _WriteRequests = {
                (table or self._tables.index): [
                    {"PutRequest": {"Item": to_item(item)}}
                    for item in items[start : start + BATCH_SIZE]
                ]
            }
            delay = 0.05
            while pending:
                with translate_unavailable():
                    response = self._client.batch_write_item(RequestItems=pending)
                pending = response.get("UnprocessedItems") or {}
                if pending:  # throttled: back off, then send what is left
                    time.sleep(delay)
                    delay = min(delay * 2, 2.0)
