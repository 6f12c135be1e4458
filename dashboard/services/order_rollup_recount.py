"""Recounting the order rollups from the orders themselves, to backfill or repair them."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from dashboard.core.progress import Progress
from dashboard.domain.orders import Order
from dashboard.store.order_rollups import ALL_TIME, order_counters, order_hour
from dashboard.store.orders import OrderRepository


@dataclass(frozen=True)
class OrderRollupDifference:
    """How one order rollup differed from the recount (recount − stored, per counter)."""

    user_id: str
    hour: str  # YYYY-MM-DDTHH, or "all"
    currency: str
    deltas: dict[str, int]


@dataclass(frozen=True)
class OrderRecount:
    """What a recount of one account's orders found."""

    orders: int
    differences: list[OrderRollupDifference]
    # Orders stored before the currency indexes, which lack their ``currencyKey``.
    missing_currency_key: list[Order]


def recount_order_rollups(
    orders: OrderRepository, user_id: str, progress: Progress | None = None
) -> OrderRecount:
    """Return how the account's stored order rollups differ from a recount of its orders."""
    recounted: dict[tuple[str, str], Counter] = defaultdict(Counter)
    count = 0
    unindexed = []
    for order, currency_indexed in orders.each_order(user_id):
        counters = order_counters(order.status, order.total_minor)
        recounted[(order_hour(order.order_id), order.currency)].update(counters)
        recounted[(ALL_TIME, order.currency)].update(counters)
        if not currency_indexed:
            unindexed.append(order)
        count += 1
        if progress:
            progress.update(1)
    stored = {
        (r.hour, r.currency): Counter(r.counters()) for r in orders.rollups.every_rollup(user_id)
    }
    differences = []
    for key in sorted(set(recounted) | set(stored)):
        want, have = recounted.get(key, Counter()), stored.get(key, Counter())
        deltas = {name: want[name] - have[name] for name in sorted(set(want) | set(have))}
        deltas = {name: value for name, value in deltas.items() if value}
        if deltas:
            differences.append(OrderRollupDifference(user_id, key[0], key[1], deltas))
    return OrderRecount(count, differences, unindexed)
