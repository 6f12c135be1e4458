"""The orders repository: the only code that builds DynamoDB requests for orders.

Table ``Orders`` (HASH ``userId`` = the merchant, RANGE ``sk``) holds, per merchant:

* ``order#{orderId}``: the order (``orderId`` is a UUIDv7, so key order is creation order and a
  Query backwards lists newest first); it carries ``statusSort`` = ``"{status}#{orderId}"`` for
  ``OrderStatusIndex``, so a status filter is one Query too;
* ``counter``: the merchant's last order number (an atomic ``ADD``);
* ``number#{n:010d}``: leads from an order number to its order (search by ``ORD-1042``);
* ``word#{word}#{orderId}``: one per word of the customer's name and email and of the product,
  so a search reads the orders its word matches, never the whole account;
* ``o#all#{currency}`` and ``o#hour#{hour}#{currency}``: the order rollups (``order_rollups``).

Order items also carry ``currencyKey`` = ``"{userId}#{currency}"`` for the two currency indexes
(``OrderCurrencyIndex`` on ``sk``, ``OrderCurrencyStatusIndex`` on ``statusSort``), so a currency
filter, alone or with a status, is one Query on a key, never a FilterExpression; and since
``orderId`` is a UUIDv7, a date filter is a key range on ``sk`` or ``statusSort`` in every one.

An order and its number, word and rollup items are written in one transaction. The order's
status follows its payment: the payments repository adds ``order_follows_payment`` (the order's
update and its rollups) to the payment's own transaction, so the two never disagree.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from dashboard.core.errors import Conflict
from dashboard.core.words import words_of
from dashboard.domain.audit import AuditNote, changed_values, order_summary
from dashboard.domain.orders import FIRST_ORDER_NUMBER, Order, OrderStatus
from dashboard.store.accounts import query_all
from dashboard.store.audit import audit_change_item
from dashboard.store.changeset import ChangeItem, ChangeRefused, ChangeWriter, Item, Projection
from dashboard.store.dynamo import (
    TableNames,
    batch_get,
    conditional_write,
    from_item,
    parse_store_time,
    store_time,
    to_item,
    translate_unavailable,
)
from dashboard.store.event_items import order_event_items
from dashboard.store.index_items import merchant_registry_item, prefix_range
from dashboard.store.order_rollups import (
    OrderRollupRepository,
    order_counters,
    order_rollup_increments,
    order_rollups,
)
from dashboard.store.schema import (
    ORDER_CURRENCY_INDEX,
    ORDER_CURRENCY_STATUS_INDEX,
    ORDER_STATUS_INDEX,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Every word of the customer's name and email and of the product is indexed. Capped so that an
# order's writes fit one transaction: adding writes 2 + words items, and a change of the
# customer (the product is fixed) at most 1 + 2 x words, within DynamoDB's 100. New orders are
# refused above it (OrderService says so on the form); older ones keep their first words.
MAX_WORDS_PER_ORDER = 45


class OrderAlreadyExists(Conflict):
    """Raised when an order id is taken (a double submit of the same form)."""

    title = "Already created"
    message = "This order was already created."


class StaleOrder(Conflict):
    """Raised when the order changed (or left the status a write expects) since it was read."""

    title = "Changed meanwhile"
    message = "The order changed while we saved it. Please try again."


def order_key(user_id: str, order_id: str) -> dict[str, Any]:
    """Return the DynamoDB key of an order item."""
    return to_item({"userId": user_id, "sk": f"order#{order_id}"})


def _status_sort(status: OrderStatus, order_id: str) -> str:
    return f"{status.value}#{order_id}"


def continue_after(
    order: Order, status: OrderStatus | None, currency: str | None
) -> dict[str, Any]:
    """Return the ``ExclusiveStartKey`` that continues ``newest_first`` after ``order``."""
    key = {"userId": order.user_id, "sk": f"order#{order.order_id}"}
    if status is not None:
        key["statusSort"] = _status_sort(order.status, order.order_id)
    if currency is not None:
        key["currencyKey"] = currency_key(order.user_id, order.currency)
    return to_item(key)


def currency_key(user_id: str, currency: str) -> str:
    """Return the hash key of the currency indexes: the account and the currency together."""
    return f"{user_id}#{currency}"


def all_order_words(order: Order) -> list[str]:
    """Return every distinct word of the customer's name and email, then of the product."""
    return words_of(f"{order.customer_name} {order.customer_email} {order.product_name}")


def order_words(order: Order) -> list[str]:
    """Return the words an order can be found by (all of them, for any order made today)."""
    return all_order_words(order)[:MAX_WORDS_PER_ORDER]


def order_word_items(order: Order) -> list[dict[str, Any]]:
    """Return the items that lead from each of the order's words to it."""
    return [
        _lead_item(order.user_id, f"word#{word}#{order.order_id}", order.order_id)
        for word in order_words(order)
    ]


def order_to_item(order: Order) -> dict[str, Any]:
    """Return the DynamoDB item for an order."""
    return to_item(
        {
            "userId": order.user_id,
            "sk": f"order#{order.order_id}",
            "orderId": order.order_id,
            "orderNumber": order.order_number,
            "customerName": order.customer_name,
            "customerEmail": order.customer_email,
            "productName": order.product_name,
            "quantity": order.quantity,
            "unitPriceMinor": order.unit_price_minor,
            "totalMinor": order.total_minor,
            "currency": order.currency,
            "currencyKey": currency_key(order.user_id, order.currency),
            "status": order.status.value,
            "statusSort": _status_sort(order.status, order.order_id),
            "createdAt": store_time(order.created_at),
            "updatedAt": store_time(order.updated_at),
            "shippingAddress": order.shipping_address,
            "paymentId": order.payment_id,
            "extraPaymentIds": list(order.extra_payment_ids) or None,
            "version": order.version,
        }
    )


def order_items(order: Order) -> list[dict[str, Any]]:
    """Return every item a new order writes: the order, its number item, then its word items.

    ``OrderRepository.add`` writes these in one transaction; the benchmark loader writes the
    same items in bulk, so the two cannot drift apart.
    """
    return [
        order_to_item(order),
        _lead_item(order.user_id, f"number#{order.order_number:010d}", order.order_id),
        *order_word_items(order),
    ]


def _lead_item(user_id: str, sk: str, order_id: str) -> dict[str, Any]:
    """Return an item that leads from a number or word to an order."""
    return to_item({"userId": user_id, "sk": sk, "orderId": order_id})


def order_from_item(item: dict[str, Any]) -> Order:
    """Return the order stored in a DynamoDB item."""
    values = from_item(item)
    return Order(
        user_id=values["userId"],
        order_id=values["orderId"],
        order_number=values["orderNumber"],
        customer_name=values["customerName"],
        customer_email=values["customerEmail"],
        product_name=values["productName"],
        quantity=values["quantity"],
        unit_price_minor=values["unitPriceMinor"],
        currency=values["currency"],
        status=OrderStatus(values["status"]),
        created_at=parse_store_time(values["createdAt"]),
        updated_at=parse_store_time(values["updatedAt"]),
        shipping_address=values.get("shippingAddress"),
        payment_id=values.get("paymentId"),
        extra_payment_ids=tuple(values.get("extraPaymentIds") or ()),
        version=values["version"],
    )


@dataclass(frozen=True)
class PaymentOfOrder:
    """What an order must still agree with to follow a payment: which one, and for how much."""

    payment_id: str
    amount_minor: int
    currency: str


def order_follows_payment(
    table: str,
    user_id: str,
    order_id: str,
    payment: PaymentOfOrder,
    moves: tuple[OrderStatus, OrderStatus],
    now: datetime,
) -> list[ChangeItem]:
    """Return the items that move an order from ``moves[0]`` to the status its payment implies.

    The order's update is conditional on the order still being settled by this payment, for
    this amount, not cancelled, and in the status the payment's previous status implied: an
    order that asked for payment again, changed its total, was cancelled or was deleted no
    longer follows its earlier link, so an old link can never mark it paid. Its rollups move
    with it (the order's total is the payment's amount, which the condition checks), so the
    counts stay exact; a refusal drops the update and the increments together.
    """
    was, becomes = moves
    update = {
        "Update": {
            "TableName": table,
            "Key": order_key(user_id, order_id),
            "UpdateExpression": "SET #status = :s, statusSort = :ss, updatedAt = :t "
            "ADD version :one",
            "ConditionExpression": "paymentId = :p AND totalMinor = :amount "
            "AND currency = :currency AND #status <> :cancelled AND #status = :was",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": to_item(
                {
                    ":s": becomes.value,
                    ":ss": _status_sort(becomes, order_id),
                    ":t": store_time(now),
                    ":one": 1,
                    ":p": payment.payment_id,
                    ":amount": payment.amount_minor,
                    ":currency": payment.currency,
                    ":cancelled": OrderStatus.CANCELLED.value,
                    ":was": was.value,
                }
            ),
        }
    }
    deltas = order_counters(was, payment.amount_minor, -1)
    for name, value in order_counters(becomes, payment.amount_minor).items():
        deltas[name] = deltas.get(name, 0) + value
    rollups = order_rollup_increments(table, user_id, order_id, payment.currency, deltas)
    return [Item("order", update), *rollups]


@dataclass(frozen=True)
class OrderQueryPage:
    """Orders read by one Query, and the key to continue after the last of them."""

    orders: list[Order]
    last_key: dict[str, Any] | None


@dataclass(frozen=True)
class WordMatches:
    """The orders a word prefix matches, and whether there were more than were read."""

    order_ids: list[str]
    truncated: bool


class OrderRepository:
    """Reads and writes one table of orders."""

    def __init__(self, client: DynamoDBClient, tables: TableNames):
        self._client = client
        self._table = tables.orders
        self._tables = tables
        self._changes = ChangeWriter(client, tables)
        self._projections = order_projections(tables)
        self.rollups = OrderRollupRepository(client, tables)

    def _projections_with(self, audit: AuditNote | None) -> tuple[OrderProjection, ...]:
        """Return what an order's change writes, with its audit entry when one is asked for."""
        if audit is None:
            return self._projections
        return (*self._projections, Projection("audit", partial(order_audit, self._tables, audit)))

    # Reads -------------------------------------------------------------------------------

    def get(self, user_id: str, order_id: str) -> Order | None:
        """Return the merchant's order, or None when it does not exist or is someone else's."""
        with translate_unavailable():
            response = self._client.get_item(
                TableName=self._table, Key=order_key(user_id, order_id), ConsistentRead=True
            )
        item = response.get("Item")
        return order_from_item(item) if item else None

    def get_many(self, user_id: str, order_ids: Iterable[str]) -> list[Order]:
        """Return the merchant's orders among ``order_ids`` (BatchGetItem), in no set order."""
        keys = [order_key(user_id, order_id) for order_id in dict.fromkeys(order_ids)]
        return [order_from_item(item) for item in batch_get(self._client, self._table, keys)]

    def newest_first(
        self,
        user_id: str,
        status: OrderStatus | None,
        limit: int,
        start_key: dict[str, Any] | None = None,
        currency: str | None = None,
        ids: tuple[str, str] | None = None,
    ) -> OrderQueryPage:
        """Return up to ``limit`` orders, newest first, after a key: one Query on one key.

        ``status`` and ``currency`` each narrow by the index they choose (never a filter
        expression); ``ids`` (lowest, highest order id, as ``core.ids.id_range`` gives them) is
        a key range on the same Query, so a date filter costs what its orders cost.
        """
        hash_name, hash_value, index = "userId", user_id, None
        if currency is not None:
            hash_name, hash_value = "currencyKey", currency_key(user_id, currency)
            index = ORDER_CURRENCY_STATUS_INDEX if status else ORDER_CURRENCY_INDEX
        elif status is not None:
            index = ORDER_STATUS_INDEX
        range_name = "statusSort" if status is not None else "sk"
        prefix = f"{status.value}#" if status is not None else "order#"
        bounds = {":lo": prefix + ids[0], ":hi": prefix + ids[1]} if ids else prefix_range(prefix)
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": f"{hash_name} = :h AND {range_name} BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": to_item({":h": hash_value, **bounds}),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if index:
            request["IndexName"] = index
        if start_key:
            request["ExclusiveStartKey"] = start_key
        with translate_unavailable():
            response = self._client.query(**request)
        return OrderQueryPage(
            [order_from_item(item) for item in response.get("Items", [])],
            response.get("LastEvaluatedKey"),
        )

    def each_order(self, user_id: str) -> Iterator[tuple[Order, bool]]:
        """Yield every order of an account, oldest first, and whether the currency indexes
        hold it (maintenance commands only)."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "userId = :u AND sk BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": to_item({":u": user_id, **prefix_range("order#")}),
        }
        for item in query_all(self._client, request):
            yield order_from_item(item), "currencyKey" in item

    def add_currency_key(self, order: Order) -> bool:
        """Give a stored order the ``currencyKey`` the currency indexes list it by (backfill).

        Orders stored before the indexes existed lack it; True when this one did.
        """
        return conditional_write(
            lambda: self._client.update_item(
                TableName=self._table,
                Key=order_key(order.user_id, order.order_id),
                UpdateExpression="SET currencyKey = :c",
                ConditionExpression="attribute_exists(sk) AND attribute_not_exists(currencyKey)",
                ExpressionAttributeValues=to_item(
                    {":c": currency_key(order.user_id, order.currency)}
                ),
            )
        )

    def ids_by_word_prefix(self, user_id: str, prefix: str, max_items: int) -> WordMatches:
        """Return the ids of orders with a word starting with ``prefix``, at most ``max_items``.

        Read backwards: for one whole word the newest orders come first, so a search that matches
        more than ``max_items`` loses the oldest. (Across the words a prefix matches the order is
        by word, so there the cut falls by word, and the page says some are not shown.)
        """
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "userId = :u AND sk BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": to_item({":u": user_id, **prefix_range(f"word#{prefix}")}),
            "ProjectionExpression": "orderId",
            "ScanIndexForward": False,
            "Limit": max_items,
        }
        with translate_unavailable():
            response = self._client.query(**request)
        ids = [from_item(item)["orderId"] for item in response.get("Items", [])]
        return WordMatches(ids, truncated="LastEvaluatedKey" in response)

    def id_by_number(self, user_id: str, number: int) -> str | None:
        """Return the id of the merchant's order with this number, if there is one."""
        with translate_unavailable():
            response = self._client.get_item(
                TableName=self._table,
                Key=to_item({"userId": user_id, "sk": f"number#{number:010d}"}),
            )
        item = response.get("Item")
        return from_item(item)["orderId"] if item else None

    # Writes ------------------------------------------------------------------------------

    def next_order_number(self, user_id: str) -> int:
        """Return a new order number for the merchant, from an atomic counter.

        A number taken by an order that then fails to be written is not reused: numbers are
        unique and increasing, and may have gaps.
        """
        with translate_unavailable():
            response = self._client.update_item(
                TableName=self._table,
                Key=to_item({"userId": user_id, "sk": "counter"}),
                UpdateExpression="ADD lastNumber :one",
                ExpressionAttributeValues=to_item({":one": 1}),
                ReturnValues="UPDATED_NEW",
            )
        return FIRST_ORDER_NUMBER - 1 + int(response["Attributes"]["lastNumber"]["N"])

    def add(self, order: Order, audit: AuditNote | None = None) -> None:
        """Store a new order with its number and word items (and ``audit``'s entry).

        Raises OrderAlreadyExists if its id is taken.
        """
        try:
            self._changes.write(self._projections_with(audit), None, order)
        except ChangeRefused as exc:
            raise OrderAlreadyExists(order.order_id) from exc

    def save(self, before: Order, after: Order, audit: AuditNote | None = None) -> Order:
        """Store ``after`` in place of ``before`` (same status or a move the caller checked).

        Conditional on the stored version and status being ``before``'s; word items follow the
        changed customer and product, ``audit``'s entry goes with it. Returns the order as
        stored; raises StaleOrder.
        """
        stored = dataclasses.replace(after, version=before.version + 1)
        try:
            self._changes.write(self._projections_with(audit), before, stored)
        except ChangeRefused as exc:
            raise StaleOrder(before.order_id) from exc
        return stored

    def delete(self, order: Order, audit: AuditNote | None = None) -> None:
        """Delete an order (as read) with its number and word items; raise StaleOrder."""
        try:
            self._changes.write(self._projections_with(audit), order, None)
        except ChangeRefused as exc:
            raise StaleOrder(order.order_id) from exc


# The projections of an order's change: ``(before, after) -> items``, ``before`` None when the
# order is new, ``after`` None when it is deleted.

OrderProjection = Projection[Order | None, Order | None]


def order_projections(tables: TableNames) -> tuple[OrderProjection, ...]:
    """Return what an order's change writes: the order, its number, word, rollup, event items.

    A new order also lists its account among the merchants, so ``rebuild-stats --orders``
    finds an account whose orders never asked for a payment.
    """
    table = tables.orders
    return (
        Projection("order", partial(order_record, table)),
        Projection("number", partial(order_number_lead, table)),
        Projection("word", partial(order_word_leads, table)),
        Projection("rollup", partial(order_rollups, table)),
        Projection("merchant", partial(order_merchant, tables.index)),
        Projection("event", partial(order_events, tables.events)),
    )


def order_events(table: str, before: Order | None, after: Order | None) -> list[ChangeItem]:
    """Return the outbox events of the order's status moving in this change (none: deleted)."""
    if after is None:
        return []
    return order_event_items(
        table,
        after.user_id,
        after.order_id,
        (before.status if before else None, after.status),
        after.updated_at,
        f"{after.order_id}#{after.version}",
        after.version,
    )


def order_merchant(table: str, before: Order | None, after: Order | None) -> list[ChangeItem]:
    """Return the item listing a new order's account among all merchants (idempotent)."""
    if before is not None or after is None:
        return []
    item = to_item(merchant_registry_item(after.user_id))
    return [Item("merchant", {"Put": {"TableName": table, "Item": item}})]


def order_record(table: str, before: Order | None, after: Order | None) -> list[ChangeItem]:
    """Return the order's own item: new, replacing ``before``, or deleting it.

    A replacement is conditional on the stored version and status being ``before``'s, a
    deletion on the stored version.
    """
    if before is None and after is not None:
        put = {
            "TableName": table,
            "Item": order_to_item(after),
            "ConditionExpression": "attribute_not_exists(sk)",
        }
        return [Item("order", {"Put": put})]
    if before is not None and after is not None:
        put = {
            "TableName": table,
            "Item": order_to_item(after),
            "ConditionExpression": "version = :v AND #status = :s",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": to_item({":v": before.version, ":s": before.status.value}),
        }
        return [Item("order", {"Put": put})]
    if before is not None:
        delete = {
            "TableName": table,
            "Key": order_key(before.user_id, before.order_id),
            "ConditionExpression": "version = :v",
            "ExpressionAttributeValues": to_item({":v": before.version}),
        }
        return [Item("order", {"Delete": delete})]
    return []


def order_number_lead(table: str, before: Order | None, after: Order | None) -> list[ChangeItem]:
    """Return the item leading from the order's number to it: written once, deleted with it."""
    if before is None and after is not None:
        return [_lead_put(table, "number", after, f"number#{after.order_number:010d}")]
    if before is not None and after is None:
        return [_lead_delete(table, "number", before, f"number#{before.order_number:010d}")]
    return []


def order_word_leads(table: str, before: Order | None, after: Order | None) -> list[ChangeItem]:
    """Return the word items that appear or disappear when ``before`` becomes ``after``."""
    old_words = order_words(before) if before else []
    new_words = order_words(after) if after else []
    items: list[ChangeItem] = []
    if after is not None:
        items += [
            _lead_put(table, f"word:{word}", after, f"word#{word}#{after.order_id}")
            for word in new_words
            if word not in old_words
        ]
    if before is not None:
        items += [
            _lead_delete(table, f"word:{word}", before, f"word#{word}#{before.order_id}")
            for word in old_words
            if word not in new_words
        ]
    return items


def order_audit(
    tables: TableNames, note: AuditNote, before: Order | None, after: Order | None
) -> list[ChangeItem]:
    """Return the audit entry of the change: the order, and its summary before and after."""
    order = after or before
    if order is None:
        return []
    summaries = changed_values(
        order_summary(before) if before else None, order_summary(after) if after else None
    )
    if before is not None and after is not None and summaries == ({}, {}):
        return []  # saved again with nothing the merchant sees changed: nothing to record
    entry = note.entry("order", order.order_id, *summaries, target_label=order.number_label)
    return [audit_change_item(tables, entry)]


def _lead_put(table: str, name: str, order: Order, sk: str) -> Item:
    item = _lead_item(order.user_id, sk, order.order_id)
    return Item(name, {"Put": {"TableName": table, "Item": item}})


def _lead_delete(table: str, name: str, order: Order, sk: str) -> Item:
    key = to_item({"userId": order.user_id, "sk": sk})
    return Item(name, {"Delete": {"TableName": table, "Key": key}})
