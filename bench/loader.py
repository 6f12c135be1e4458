"""Bulk loader for benchmark accounts: the same items the app writes, via BatchWriteItem.

Creating 100,000 payments through the service takes hours on DynamoDB Local (each is a
transaction of a dozen items). This writes exactly the items of ``PaymentRepository.add`` and
``save`` (payment, lookups, search items, rollups, the latter summed up front), in batches and
threads, and verifies the result by recounting.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from dashboard.domain.payments import Payment, PaymentStatus, StatusChange
from dashboard.store.database import Store
from dashboard.store.dynamo import store_time, to_item
from dashboard.store.index_items import (
    merchant_registry_item,
    rollup_deltas,
    rollup_keys,
    search_items,
)
from dashboard.store.payments import link_lookup_key, payer_lookup_key, payment_to_item

_STATUS_WEIGHTS = {
    PaymentStatus.COMPLETED: 55,
    PaymentStatus.AWAITING_PAYMENT: 14,
    PaymentStatus.ATTEMPT_FAILED: 8,
    PaymentStatus.EXPIRED: 10,
    PaymentStatus.CANCELLED: 7,
    PaymentStatus.CREATION_FAILED: 3,
    PaymentStatus.PROCESSING: 3,
}
_WORDS = ("Invoice", "Order", "Deposit", "Rent", "Consulting", "Tickets", "Repair", "Catering")
_PAYERS = ("Amelia Hughes", "Oliver Smith", "Isla Patel", "Noah Williams", "Sofia Rossi", None)


def uuid7_at(moment: datetime, rng: random.Random) -> str:
    """Return a UUIDv7 for a moment in the past (the app mints them at 'now')."""
    millis = int(moment.timestamp() * 1000)
    value = (millis << 80) | (0x7 << 76) | (rng.getrandbits(12) << 64) | (0b10 << 62)
    value |= rng.getrandbits(62)
    return str(uuid.UUID(int=value))


def synthetic_payment(user_id: str, rng: random.Random, now: datetime) -> Payment:
    """Return a realistic stored payment created in the last 90 days."""
    created = now - timedelta(seconds=rng.randint(0, 90 * 24 * 3600))
    status = rng.choices(list(_STATUS_WEIGHTS), list(_STATUS_WEIGHTS.values()))[0]
    payer = rng.choice(_PAYERS)
    has_link = status is not PaymentStatus.CREATION_FAILED
    link_id = f"sbx-link-{rng.getrandbits(128):032x}" if has_link else None
    return Payment(
        user_id=user_id,
        payment_id=uuid7_at(created, rng),
        amount_minor=rng.choice((500, 1000, 1250, 2500, 4999)) if rng.random() < 0.3
        else rng.randint(199, 250_000),
        currency="GBP" if rng.random() < 0.7 else "EUR",
        reference=f"{rng.choice(_WORDS)} {rng.randint(100, 999_999)}",
        payer_name=payer,
        payer_email=f"{payer.split()[0].lower()}@example.com" if payer else None,
        status=status,
        created_at=created,
        updated_at=created,
        expires_at=created + timedelta(hours=24),
        provider="sandbox",
        payer_token=f"{rng.getrandbits(192):048x}",
        provider_link_id=link_id,
        link_url=f"http://127.0.0.1:5000/sandbox/links/{link_id}" if link_id else None,
        status_history=(StatusChange(status.value, created, ""),),
    )  # fmt: skip


class BulkWriter:
    """Writes (table, item) pairs with BatchWriteItem, 25 a request, from a few threads.

    Use it as a context manager: leaving the block waits for every write. ``write`` waits when
    many batches are queued, so a large load keeps memory flat.
    """

    def __init__(self, store: Store, threads: int = 3):
        self._store = store
        self._threads = threads
        self._pool = ThreadPoolExecutor(threads)
        self._pending: list[Future] = []

    def write(self, entries: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Queue ``entries`` for writing (no two with the same key in one call's batch of 25)."""
        for future in [f for f in self._pending if f.done()]:
            future.result()  # a failed batch fails the load now, not at the recount
        self._pending = [f for f in self._pending if not f.done()]
        while len(self._pending) > self._threads * 8:
            self._pending.pop(0).result()
        self._pending += [
            self._pool.submit(write_batch, self._store, entries[i : i + 25])
            for i in range(0, len(entries), 25)
        ]

    def __enter__(self) -> BulkWriter:
        return self

    def __exit__(self, *_exc) -> None:
        try:
            for future in self._pending:
                future.result()
        finally:
            self._pool.shutdown()


def load_account(
    store: Store, user_id: str, count: int, seed: int = 7, threads: int = 3, progress=None
) -> None:
    """Write ``count`` payments for ``user_id`` with every index and rollup item.

    The data is a function of ``seed`` (and the day), so a load that was interrupted can simply
    run again: it writes the same items over the ones already there.
    """
    rng = random.Random(seed)  # noqa: S311 - benchmark data
    now = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    rollups: dict[str, Counter] = defaultdict(Counter)
    vocabulary: set[str] = set()
    with BulkWriter(store, threads) as writer:
        for start in range(0, count, 1000):
            entries = []
            for _ in range(min(1000, count - start)):
                payment = synthetic_payment(user_id, rng, now)
                entries += _items_of(store, payment, vocabulary)
                created_at = store_time(payment.created_at)
                for key in rollup_keys(user_id, created_at, payment.currency):
                    rollups[key["sk"]].update(rollup_deltas(None, payment))
            writer.write(entries)
            if progress:
                progress(min(start + 1000, count))
    finals = [(store.tables.index, to_item(merchant_registry_item(user_id)))]
    finals += [
        (store.tables.index, to_item({"userId": user_id, "sk": sk, **counters}))
        for sk, counters in rollups.items()
    ]
    for i in range(0, len(finals), 25):
        write_batch(store, finals[i : i + 25])


def _items_of(store: Store, payment: Payment, vocabulary: set[str]) -> list[tuple[str, dict]]:
    created_at = store_time(payment.created_at)
    items = [(store.tables.payments, payment_to_item(payment))]
    lookups = [payer_lookup_key(payment.payer_token)]
    if payment.provider_link_id:
        lookups.append(link_lookup_key("sandbox", payment.provider_link_id))
    items += [
        (store.tables.lookups, to_item({"lookupKey": key, "userId": payment.user_id,
                                        "paymentId": payment.payment_id}))
        for key in lookups
    ]  # fmt: skip
    for item in search_items(payment, created_at):
        if item["sk"].startswith("v#"):
            if item["sk"] in vocabulary:
                continue  # one vocabulary item per word; BatchWrite refuses duplicates
            vocabulary.add(item["sk"])
        items.append((store.tables.index, to_item(item)))
    return items


def write_batch(store: Store, batch: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """Write up to 25 (table, item) pairs with BatchWriteItem, retrying what comes back."""
    request: dict[str, list] = defaultdict(list)
    for table, item in batch:
        request[table].append({"PutRequest": {"Item": item}})
    pending = dict(request)
    while pending:
        response = store.client.batch_write_item(RequestItems=pending)
        pending = response.get("UnprocessedItems") or {}


def recount(store: Store, user_id: str) -> int:
    """Return how many payments the account holds, counted item by item (benchmarks only)."""
    total, request = (
        0,
        {
            "TableName": store.tables.payments,
            "KeyConditionExpression": "userId = :u",
            "ExpressionAttributeValues": {":u": {"S": user_id}},
            "Select": "COUNT",
        },
    )
    while True:
        response = store.client.query(**request)
        total += response["Count"]
        if "LastEvaluatedKey" not in response:
            return total
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def rollup_total(store: Store, user_id: str) -> int:
    """Return how many payments the all-time rollups say the account holds."""
    return sum(rollup.counts[s] for rollup in store.rollups.all_time(user_id, None)
               for s in PaymentStatus)  # fmt: skip
