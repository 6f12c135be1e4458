"""Order rollups: how many orders (and how much money) each status holds, per currency.

Kept in the ``Orders`` table, in the merchant's partition, beside the orders they count:

* ``o#all#{currency}``: all time;
* ``o#hour#{YYYY-MM-DDTHH}#{currency}``: the orders whose id was minted in that UTC hour, so the
  tiles of a date filter (local days, which begin on whole UTC hours in every zone offered) are
  the sum of the hours in [start, end): one Query.

Each holds ``n_{status}`` (orders) and ``m_{status}`` (their totals in minor units). They are
written as change-set Increments in the same transaction as the order change they count: an
order's own writes (``OrderRepository``) and the payment's change that moves its order
(``order_following_payment``). The hour is the order id's (a UUIDv7), not ``createdAt``, because
the list's date filter is a key range on the id: the tiles then count exactly what it lists.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from dashboard.core.ids import id_time
from dashboard.domain.money import SUPPORTED_CURRENCIES
from dashboard.domain.orders import Order, OrderStatus
from dashboard.store.accounts import query_all
from dashboard.store.changeset import Increment
from dashboard.store.dynamo import TableNames, batch_get, from_item, to_item, translate_unavailable
from dashboard.store.index_items import prefix_range

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ALL_TIME = "all"


def order_hour(order_id: str) -> str:
    """Return the UTC hour (``YYYY-MM-DDTHH``) an order's rollup counts it in: its id's."""
    return id_time(order_id).strftime("%Y-%m-%dT%H")


def order_rollup_sks(order_id: str, currency: str) -> list[str]:
    """Return the sort keys of the two rollups an order counts in: its hour's and all time's."""
    return [f"o#hour#{order_hour(order_id)}#{currency}", f"o#all#{currency}"]


def order_counters(status: OrderStatus, total_minor: int, sign: int = 1) -> dict[str, int]:
    """Return what one order of ``status`` and ``total_minor`` adds to its rollups (× sign)."""
    return {f"n_{status.value}": sign, f"m_{status.value}": sign * total_minor}


def order_rollup_deltas(before: Order | None, after: Order | None) -> dict[str, int]:
    """Return how the counters change when ``before`` becomes ``after`` (None: new or deleted).

    An order keeps its id and currency, so both sides count in the same rollups.
    """
    deltas: dict[str, int] = {}
    for order, sign in ((before, -1), (after, 1)):
        if order is not None:
            for name, value in order_counters(order.status, order.total_minor, sign).items():
                deltas[name] = deltas.get(name, 0) + value
    return {name: value for name, value in deltas.items() if value}


def order_rollup_increments(
    table: str, user_id: str, order_id: str, currency: str, deltas: dict[str, int]
) -> list[Increment]:
    """Return the Increments that apply ``deltas`` to the order's hour and all-time rollups."""
    if not deltas:
        return []
    return [
        Increment(f"order-rollup:{sk[2:]}", table, {"userId": user_id, "sk": sk}, deltas)
        for sk in order_rollup_sks(order_id, currency)
    ]


def order_rollups(table: str, before: Order | None, after: Order | None) -> list[Increment]:
    """Return the projection of an order's own change on its rollups."""
    order = after or before
    if order is None:
        return []
    deltas = order_rollup_deltas(before, after)
    return order_rollup_increments(table, order.user_id, order.order_id, order.currency, deltas)


@dataclass
class OrderRollup:
    """The counters of one hour (or all time) in one currency."""

    hour: str  # YYYY-MM-DDTHH, or "all"
    currency: str
    counts: dict[OrderStatus, int] = field(default_factory=dict)
    totals_minor: dict[OrderStatus, int] = field(default_factory=dict)

    def counters(self) -> dict[str, int]:
        """Return the stored counters by name (zeros included)."""
        found: dict[str, int] = {}
        for status in OrderStatus:
            found[f"n_{status.value}"] = self.counts.get(status, 0)
            found[f"m_{status.value}"] = self.totals_minor.get(status, 0)
        return found


def _rollup_from(values: dict[str, Any]) -> OrderRollup:
    _, scope, *rest = values["sk"].split("#")
    hour, currency = (rest[0], rest[1]) if scope == "hour" else (ALL_TIME, rest[0])
    return OrderRollup(
        hour=hour,
        currency=currency,
        counts={s: int(values.get(f"n_{s.value}", 0)) for s in OrderStatus},
        totals_minor={s: int(values.get(f"m_{s.value}", 0)) for s in OrderStatus},
    )


def hour_key_range(start: datetime, end: datetime) -> tuple[str, str]:
    """Return ``BETWEEN`` bounds for the hour rollups of [start, end) (whole UTC hours)."""
    last = end - timedelta(hours=1)
    return f"o#hour#{start:%Y-%m-%dT%H}#", f"o#hour#{last:%Y-%m-%dT%H}#~"


class OrderRollupRepository:
    """Reads order rollups (they are written with the orders) and repairs them."""

    def __init__(self, client: DynamoDBClient, tables: TableNames):
        self._client = client
        self._table = tables.orders

    def all_time(self, user_id: str, currency: str | None) -> list[OrderRollup]:
        """Return the all-time rollups of ``currency`` or of every currency (one BatchGetItem)."""
        codes = [currency] if currency else list(SUPPORTED_CURRENCIES)
        keys = [to_item({"userId": user_id, "sk": f"o#all#{code}"}) for code in codes]
        found = [_rollup_from(from_item(i)) for i in batch_get(self._client, self._table, keys)]
        return sorted(found, key=lambda rollup: codes.index(rollup.currency))

    def hours(
        self, user_id: str, start: datetime, end: datetime, currency: str | None
    ) -> list[OrderRollup]:
        """Return the hour rollups of [start, end), UTC (one Query; pages only past 1 MB)."""
        if end <= start:
            return []
        low, high = hour_key_range(start, end)
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "userId = :u AND sk BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": to_item({":u": user_id, ":lo": low, ":hi": high}),
        }
        found = [_rollup_from(from_item(item)) for item in query_all(self._client, request)]
        return [r for r in found if currency is None or r.currency == currency]

    def every_rollup(self, user_id: str) -> list[OrderRollup]:
        """Return every order rollup of an account, hours and all time (maintenance only)."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "userId = :u AND sk BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": to_item({":u": user_id, **prefix_range("o#")}),
        }
        return [_rollup_from(from_item(item)) for item in query_all(self._client, request)]

    def add_to(self, user_id: str, hour: str, currency: str, deltas: dict[str, int]) -> None:
        """Add ``deltas`` to one rollup (``hour`` may be "all"), as one atomic ADD."""
        sk = f"o#all#{currency}" if hour == ALL_TIME else f"o#hour#{hour}#{currency}"
        deltas = {name: value for name, value in deltas.items() if value}
        if not deltas:
            return
        with translate_unavailable():
            self._client.update_item(
                TableName=self._table,
                Key=to_item({"userId": user_id, "sk": sk}),
                UpdateExpression="ADD " + ", ".join(f"#k{i} :v{i}" for i in range(len(deltas))),
                ExpressionAttributeNames={f"#k{i}": name for i, name in enumerate(deltas)},
                ExpressionAttributeValues=to_item(
                    {f":v{i}": value for i, value in enumerate(deltas.values())}
                ),
            )


def counts_by_status(rollups: Iterable[OrderRollup]) -> dict[OrderStatus, int]:
    """Return the order count per status summed over ``rollups``."""
    counts = dict.fromkeys(OrderStatus, 0)
    for rollup in rollups:
        for status, count in rollup.counts.items():
            counts[status] += count
    return counts
