"""Benchmark orders: two merchants' orders (1,000 and 10,000), bulk-loaded into the bench
DynamoDB Local with exactly the items ``OrderRepository.add`` writes (``order_items``), and
verified by recount. ``bench/orders_run.py`` times them.

The data is realistic but fixed by a seed: customers from a list of names, products from a
weighted list, statuses spread as a shop's would be; one product word is common (``coffee``, 40%
of orders), one rare (``samovar``, 0.2%), and one (``anniversary``) in exactly 12 orders of each.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from bench.loader import BulkWriter, uuid7_at, write_batch
from dashboard.core.words import words_of
from dashboard.domain.orders import FIRST_ORDER_NUMBER, Order, OrderStatus
from dashboard.store.database import Store
from dashboard.store.dynamo import batch_get, from_item, to_item
from dashboard.store.index_items import prefix_range
from dashboard.store.orders import order_items, order_words

SIZES = (1_000, 10_000)
# The orders span the 90 days before this moment: the data is a function of the seed alone, so
# a load that was interrupted can run again (on any day) and write the same items again.
ANCHOR = datetime(2026, 11, 1, 12, tzinfo=UTC)
SEED = 11

_STATUS_WEIGHTS = {
    OrderStatus.PAID: 50,
    OrderStatus.PENDING: 15,
    OrderStatus.CANCELLED: 13,
    OrderStatus.PAYMENT_REQUESTED: 12,
    OrderStatus.FAILED: 10,
}
_FIRST_NAMES = (
    "Amelia", "Oliver", "Isla", "Noah", "Sofia", "Leo", "Ava", "Arthur", "Mia", "Oscar",
    "Freya", "George", "Ivy", "Jack", "Lily", "Harry", "Grace", "Theo", "Elsie", "Finn",
    "Chloé", "Mateo", "Zara", "Yusuf",
)  # fmt: skip
_LAST_NAMES = (
    "Hughes", "Smith", "Patel", "Williams", "Rossi", "Jones", "Brown", "Taylor", "Wilson",
    "Evans", "Khan", "Murphy", "Walker", "Wright", "Green", "Hall", "Wood", "Clarke",
    "Müller", "Dubois", "Novak", "Silva", "Kowalski", "Okafor",
)  # fmt: skip
_DOMAINS = ("example.com", "example.org", "example.net", "mail.example.co.uk")
_STREETS = ("High Street", "Station Road", "Church Lane", "Mill Road", "Park Avenue")
# (product, unit price in minor units, weight in %): "coffee" is in 40% of the orders (the
# common word), "ceramic" in 11% (the prefix), "samovar" in 0.2% (the rare word).
_PRODUCTS = (
    ("Coffee Beans 1kg", 2400, 14), ("Espresso Coffee Blend", 1150, 8),
    ("Cold Brew Coffee Kit", 3900, 5), ("Coffee Grinder", 8900, 6),
    ("Decaf Coffee Pods", 650, 7), ("Ceramic Mug", 1200, 8), ("Ceramic Teapot", 3200, 3),
    ("Green Tea Tin", 900, 9), ("Earl Grey Tea", 750, 8), ("Chai Spice Mix", 550, 5),
    ("Pour Over Kettle", 4500, 6), ("Milk Frother", 2900, 5), ("Paper Filters", 399, 8),
    ("Glass Carafe", 1800, 4), ("Travel Tumbler", 1999, 3.8), ("Copper Samovar", 24900, 0.2),
)  # fmt: skip
COMMON_WORD, PREFIX, RARE_WORD = "coffee", "ceram", "samovar"
# A limited edition: the same 12 orders (statuses, oldest to newest) in each account, whatever
# its size, so one search matches alike at both sizes: like for like, only the account differs.
LIMITED_EDITION = ("Anniversary Gift Box", 4500)
LIMITED_STATUSES = (
    *[OrderStatus.PAID] * 6, OrderStatus.PENDING, OrderStatus.CANCELLED, OrderStatus.FAILED,
    OrderStatus.PAYMENT_REQUESTED, OrderStatus.PAID, OrderStatus.PENDING,
)  # fmt: skip
LIMITED_WORD = "anniversary"


def merchant(size: int) -> str:
    """Return the benchmark merchant holding ``size`` orders."""
    return f"bench-orders-{size}"


def synthetic_orders(user_id: str, count: int, seed: int = SEED) -> Iterator[Order]:
    """Yield ``count`` realistic orders, oldest first, numbered from ORD-1001 like the app."""
    rng = random.Random(seed)  # noqa: S311 - benchmark data
    start = ANCHOR - timedelta(days=90)
    # Distinct milliseconds, so order ids (UUIDv7) sort exactly as the numbers do.
    offsets = sorted(rng.sample(range(90 * 24 * 3600 * 1000), count))
    positions = sorted(rng.sample(range(count), len(LIMITED_STATUSES)))
    limited = dict(zip(positions, LIMITED_STATUSES, strict=True))
    for n, offset in enumerate(offsets):
        created = start + timedelta(milliseconds=offset)
        product, price, _ = rng.choices(_PRODUCTS, [weight for *_, weight in _PRODUCTS])[0]
        status = rng.choices(list(_STATUS_WEIGHTS), list(_STATUS_WEIGHTS.values()))[0]
        if n in limited:
            (product, price), status = LIMITED_EDITION, limited[n]
        number = FIRST_ORDER_NUMBER + n
        yield _synthetic_order(user_id, number, created, (product, price), status, rng)


def _synthetic_order(
    user_id: str,
    number: int,
    created: datetime,
    item: tuple[str, int],
    status: OrderStatus,
    rng: random.Random,
) -> Order:
    first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
    product, price = item
    # Every status but pending went through Request payment (a cancelled order, half the time).
    asked = status is not OrderStatus.PENDING and (
        status is not OrderStatus.CANCELLED or rng.random() < 0.5
    )
    moved = status is not OrderStatus.PENDING
    updated = created + timedelta(minutes=rng.randint(1, 600)) if moved else created
    return Order(
        user_id=user_id,
        order_id=uuid7_at(created, rng),
        order_number=number,
        customer_name=f"{first} {last}",
        customer_email=f"{first}.{last}@{rng.choice(_DOMAINS)}".lower(),
        product_name=product,
        quantity=rng.choice((1, 1, 1, 1, 2, 2, 3, 5, 12)),
        unit_price_minor=price,
        currency="GBP" if rng.random() < 0.8 else "EUR",
        status=status,
        created_at=created,
        updated_at=updated,
        shipping_address=f"{rng.randint(1, 240)} {rng.choice(_STREETS)}, Leeds" if rng.random() < 0.7 else None,
        payment_id=uuid7_at(updated, rng) if asked else None,
        # One write to ask for payment, one more when the payment (or a cancel) ended the order.
        version=1 + asked + (status not in (OrderStatus.PENDING, OrderStatus.PAYMENT_REQUESTED)),
    )  # fmt: skip


# Loading -----------------------------------------------------------------------------------


def load_orders(store: Store, user_id: str, count: int, progress=None) -> None:
    """Write ``count`` orders for ``user_id`` with their number and word items, then the counter.

    The counter (the merchant's last order number) is written last: a load that stopped before
    it is seen as incomplete and simply runs again, writing the same items over the old ones.
    """
    table = store.tables.orders
    with BulkWriter(store) as writer:
        entries: list[tuple[str, dict]] = []
        for n, order in enumerate(synthetic_orders(user_id, count), 1):
            entries += [(table, item) for item in order_items(order)]
            if n % 1000 == 0 or n == count:
                writer.write(entries)
                entries = []
                if progress:
                    progress(n)
    counter = {"userId": user_id, "sk": "counter", "lastNumber": count}
    write_batch(store, [(table, to_item(counter))])


def loaded(store: Store, user_id: str) -> tuple[int, int]:
    """Return how many orders the merchant holds, counted item by item, and its counter."""
    request = {
        "TableName": store.tables.orders,
        "KeyConditionExpression": "userId = :u AND sk BETWEEN :lo AND :hi",
        "ExpressionAttributeValues": to_item({":u": user_id, **prefix_range("order#")}),
        "Select": "COUNT",
    }
    total = 0
    while True:
        response = store.client.query(**request)
        total += response["Count"]
        if "LastEvaluatedKey" not in response:
            break
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
    counter = store.client.get_item(
        TableName=store.tables.orders, Key=to_item({"userId": user_id, "sk": "counter"})
    ).get("Item")
    return total, int(from_item(counter)["lastNumber"]) if counter else 0


def ensure_loaded(store: Store) -> dict[int, str]:
    """Load (once) and verify both merchants; return their user ids by size."""
    accounts = {}
    for size in SIZES:
        user = merchant(size)
        have, counter = loaded(store, user)
        if have > size:
            raise SystemExit(f"{user} holds {have} orders, not {size}: delete var/bench-dynamodb")
        if have < size or counter != size:
            print(f"Loading {size:,} orders for {user} (kept in var/bench-dynamodb)…", flush=True)
            started = time.perf_counter()
            load_orders(
                store,
                user,
                size,
                lambda n: print(f"  {n:,} written", flush=True) if n % 5000 == 0 else None,
            )
            print(f"  loaded in {time.perf_counter() - started:.0f} s", flush=True)
        have, counter = loaded(store, user)
        if (have, counter) != (size, size):
            raise SystemExit(f"{user}: recount {have}, counter {counter}, expected {size}")
        if not stored_as_generated(store, user, size):
            raise SystemExit(f"{user}: loaded by another version of this loader: delete var/bench-dynamodb")  # fmt: skip
        accounts[size] = user
    print("Orders verified by recount: " + ", ".join(f"{s:,}" for s in SIZES), flush=True)
    return accounts


def stored_as_generated(store: Store, user_id: str, count: int) -> bool:
    """Return True when ten orders, spread over the account, are stored as this loader makes them.

    The recount cannot see a change to the generated data (another word, another price);
    this catches most, so figures do not come from data the code no longer describes.
    """
    orders = list(synthetic_orders(user_id, count))
    items = [item for order in orders[:: max(1, count // 10)] for item in order_items(order)]
    keys = [{"userId": item["userId"], "sk": item["sk"]} for item in items]
    stored = batch_get(store.client, store.tables.orders, keys)
    return sorted(json.dumps(i, sort_keys=True) for i in stored) == sorted(
        json.dumps(i, sort_keys=True) for i in items
    )


def has_word(order: Order, search: str) -> bool:
    """Return True when every word of ``search`` starts a word of the order, as search matches."""
    return all(any(w.startswith(word) for w in order_words(order)) for word in words_of(search))
