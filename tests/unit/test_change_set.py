"""The one write path: a change's items are named, merged, bounded, and its refusals named.

These stories run on moto here and, unchanged, on DynamoDB Local in
``tests/integration/test_change_set.py`` (which imports them with its own ``store`` fixture).
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError

from dashboard.core.ids import new_id
from dashboard.domain.orders import OrderFields, OrderStatus
from dashboard.domain.payments import PaymentStatus
from dashboard.services.orders import OrderService
from dashboard.services.payments import NewPaymentLink
from dashboard.store.changeset import (
    MAX_BYTES,
    ChangeRefused,
    ChangeTooLarge,
    ChangeWriter,
    ConflictingItems,
    Increment,
    Item,
    Projection,
    transaction_size,
)
from dashboard.store.cursors import CursorCodec
from dashboard.store.database import Store
from dashboard.store.dynamo import from_item, to_item
from dashboard.store.payments import PaymentAlreadyExists, StaleWrite, payer_lookup_key
from tests.conftest import TEST_SECRET_KEY, actor_for

USER = "alice@example.com"
ORDER_FIELDS = OrderFields("Ada Lovelace", "ada@example.com", "Manual", 3, Decimal("12.50"), "GBP")


class RecordingClient:
    """The store's client, counting TransactWriteItems calls; it can cancel the first ones."""

    def __init__(self, client: Any, cancel_first_with: list[str] | None = None):
        self._client = client
        self._cancel_with = list(cancel_first_with or [])
        self.sent: list[list[dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def transact_write_items(self, **kwargs: Any) -> Any:
        """Send the transaction, unless a cancellation (what real DynamoDB says) is due."""
        items = kwargs["TransactItems"]
        self.sent.append(items)
        if self._cancel_with:
            code = self._cancel_with.pop(0)
            reasons = [{"Code": code}] + [{"Code": "None"}] * (len(items) - 1)
            raise ClientError(
                {
                    "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                    "CancellationReasons": reasons,
                },
                "TransactWriteItems",
            )
        return self._client.transact_write_items(**kwargs)


def _put(store: Store, name: str, sk: str, condition: str | None = None, **values: Any) -> Item:
    """Return a named Put of one item of the index table (partition ``changeset-tests``)."""
    put: dict[str, Any] = {
        "TableName": store.tables.index,
        "Item": to_item({"userId": "changeset-tests", "sk": sk, **values}),
    }
    if condition:
        put["ConditionExpression"] = condition
    return Item(name, {"Put": put})


def _increment(store: Store, name: str, sk: str, **deltas: int) -> Increment:
    return Increment(name, store.tables.index, {"userId": "changeset-tests", "sk": sk}, deltas)


def _stored(store: Store, sk: str) -> dict[str, Any] | None:
    item = store.client.get_item(
        TableName=store.tables.index,
        Key=to_item({"userId": "changeset-tests", "sk": sk}),
        ConsistentRead=True,
    ).get("Item")
    return from_item(item) if item else None


def _projection(name: str, *items: Any, follower: bool = False, **kwargs: Any) -> Projection:
    return Projection(name, lambda _before, _after: list(items), follower=follower, **kwargs)


def _unique(label: str) -> str:
    return f"{label}#{new_id()}"


# Named refusals -------------------------------------------------------------------------------


def test_the_item_that_refused_is_named_whatever_its_place(store):
    taken = _unique("taken")
    store.client.put_item(
        TableName=store.tables.index,
        Item=to_item({"userId": "changeset-tests", "sk": taken, "owner": "someone else"}),
    )
    first, last = _unique("first"), _unique("last")
    writer = ChangeWriter(store.client, store.tables)

    with pytest.raises(ChangeRefused) as refused:
        writer.write(
            [
                _projection("first", _put(store, "first", first, "attribute_not_exists(sk)")),
                _projection("middle", _put(store, "middle", taken, "attribute_not_exists(sk)")),
                _projection("last", _put(store, "last", last, "attribute_not_exists(sk)")),
            ],
            None,
            None,
        )

    assert refused.value.names == ("middle",)
    assert refused.value.refusals[0].projection == "middle"
    # ReturnValuesOnConditionCheckFailure: the refusal says what stood in the way.
    assert refused.value.stored("middle")["owner"] == "someone else"
    # All or nothing: the items that were fine were not written either.
    assert _stored(store, first) is None
    assert _stored(store, last) is None


def test_a_stale_payment_write_is_refused_by_the_payment_item(store, service):
    payment = service.create_payment_link(
        actor_for(USER), NewPaymentLink(new_id(), 500, "GBP", "A")
    )
    stale = dataclasses.replace(payment, version=payment.version - 1)

    with pytest.raises(StaleWrite) as refused:
        store.payments.save(stale, dataclasses.replace(stale, status=PaymentStatus.CANCELLED))

    assert isinstance(refused.value.__cause__, ChangeRefused)
    assert refused.value.__cause__.names == ("payment",)
    assert refused.value.__cause__.stored("payment")["version"] == payment.version


def test_a_lookup_key_of_another_payment_is_named_in_the_refusal(store, service):
    payment = service.create_payment_link(
        actor_for(USER), NewPaymentLink(new_id(), 500, "GBP", "A")
    )
    other = dataclasses.replace(payment, payment_id=new_id(), version=1)
    key = payer_lookup_key(payment.payer_token)

    with pytest.raises(PaymentAlreadyExists) as refused:
        store.payments.add(other, [key])

    assert refused.value.__cause__.names == (f"lookup:{key}",)
    assert store.payments.get(USER, other.payment_id) is None


# Followers ------------------------------------------------------------------------------------


def test_a_refusing_follower_is_dropped_and_the_change_written_without_it(store):
    record, follower_sk = _unique("record"), _unique("follower")
    told = []
    writer = ChangeWriter(store.client, store.tables)

    written = writer.write(
        [
            _projection("record", _put(store, "record", record, "attribute_not_exists(sk)")),
            _projection(
                "follower",
                # The follower only moves an item that still exists: here it does not.
                _put(store, "follower", follower_sk, "attribute_exists(sk)"),
                follower=True,
                dropped=lambda before, after: told.append((before, after)),
            ),
        ],
        "before",
        "after",
    )

    assert written.dropped == ("follower",)
    assert told == [("before", "after")]
    assert _stored(store, record) is not None
    assert _stored(store, follower_sk) is None


def test_a_follower_does_not_rescue_a_refused_record(store):
    record, follower_sk = _unique("record"), _unique("follower")
    store.client.put_item(
        TableName=store.tables.index, Item=to_item({"userId": "changeset-tests", "sk": record})
    )
    writer = ChangeWriter(store.client, store.tables)

    with pytest.raises(ChangeRefused) as refused:
        writer.write(
            [
                _projection("record", _put(store, "record", record, "attribute_not_exists(sk)")),
                _projection(
                    "follower",
                    _put(store, "follower", follower_sk, "attribute_exists(sk)"),
                    follower=True,
                ),
            ],
            None,
            None,
        )

    assert set(refused.value.names) == {"record", "follower"}


# One operation per key ------------------------------------------------------------------------


def test_two_increments_of_one_rollup_are_sent_as_one_update(store):
    rollup = _unique("rollup")
    client = RecordingClient(store.client)
    writer = ChangeWriter(client, store.tables)

    writer.write(
        [
            _projection("rollup", _increment(store, "rollup:a", rollup, n_completed=1, m=500)),
            _projection("refund", _increment(store, "refund:a", rollup, m=-200, refunds=1)),
        ],
        None,
        None,
    )

    assert [len(items) for items in client.sent] == [1]
    assert _stored(store, rollup) == {
        "userId": "changeset-tests",
        "sk": rollup,
        "n_completed": 1,
        "m": 300,
        "refunds": 1,
    }


def test_dynamodb_itself_refuses_two_operations_on_one_item(store):
    # Why the change set merges: sent as two updates, the same increments are refused.
    rollup = _unique("rollup")
    update = {
        "Update": {
            "TableName": store.tables.index,
            "Key": to_item({"userId": "changeset-tests", "sk": rollup}),
            "UpdateExpression": "ADD m :one",
            "ExpressionAttributeValues": to_item({":one": 1}),
        }
    }

    with pytest.raises(ClientError) as refused:
        store.client.transact_write_items(TransactItems=[update, update])

    assert refused.value.response["Error"]["Code"] == "ValidationException"


def test_a_put_and_an_update_of_one_key_are_refused_before_sending(store):
    key = _unique("both")
    client = RecordingClient(store.client)
    writer = ChangeWriter(client, store.tables)

    with pytest.raises(ConflictingItems, match="record"):
        writer.write(
            [
                _projection("record", _put(store, "record", key)),
                _projection("rollup", _increment(store, "rollup", key, n=1)),
            ],
            None,
            None,
        )

    assert client.sent == []


def test_the_same_put_asked_for_twice_is_sent_once(store):
    key = _unique("lookup")
    client = RecordingClient(store.client)
    writer = ChangeWriter(client, store.tables)

    writer.write(
        [
            _projection("given", _put(store, "lookup:given", key, to="payment")),
            _projection("attempt", _put(store, "lookup:attempt", key, to="payment")),
        ],
        None,
        None,
    )

    assert [len(items) for items in client.sent] == [1]


def test_two_items_with_one_name_are_refused(store):
    writer = ChangeWriter(store.client, store.tables)

    with pytest.raises(ConflictingItems, match="named"):
        writer.write(
            [
                _projection("a", _put(store, "same", _unique("a"))),
                _projection("b", _put(store, "same", _unique("b"))),
            ],
            None,
            None,
        )


# DynamoDB's limits ----------------------------------------------------------------------------


def test_a_hundred_items_are_one_transaction(store):
    prefix = _unique("hundred")
    writer = ChangeWriter(store.client, store.tables)

    writer.write(
        [_projection("many", *(_put(store, f"i{n}", f"{prefix}#{n}") for n in range(100)))],
        None,
        None,
    )

    assert _stored(store, f"{prefix}#99") is not None


def hundred_and_one_puts(store: Store, prefix: str) -> list[Item]:
    """Return 101 small Puts: one more than a DynamoDB transaction takes."""
    return [_put(store, f"item:{n}", f"{prefix}#{n}") for n in range(101)]


def test_more_than_a_hundred_items_are_refused_before_sending(store):
    prefix = _unique("many")
    client = RecordingClient(store.client)
    writer = ChangeWriter(client, store.tables)

    with pytest.raises(ChangeTooLarge, match="101 items"):
        writer.write([_projection("many", *hundred_and_one_puts(store, prefix))], None, None)

    assert client.sent == []
    assert _stored(store, f"{prefix}#0") is None


def over_four_megabytes(store: Store, prefix: str) -> list[Item]:
    """Return 11 Puts of 390,000 characters each: every item fits, the transaction does not."""
    return [_put(store, f"big:{n}", f"{prefix}#{n}", blob="x" * 390_000) for n in range(11)]


def test_more_than_four_megabytes_are_refused_before_sending(store):
    prefix = _unique("big")
    client = RecordingClient(store.client)
    writer = ChangeWriter(client, store.tables)
    items = over_four_megabytes(store, prefix)

    with pytest.raises(ChangeTooLarge, match="4 MB"):
        writer.write([_projection("big", *items)], None, None)

    assert client.sent == []
    # The estimate (the request's JSON) holds every attribute name and value DynamoDB counts.
    assert transaction_size([dict(i.operation) for i in items]) > 11 * 390_000 > MAX_BYTES


# Retries --------------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["TransactionConflict", "ThrottlingError"])
def test_a_conflict_or_throttling_is_retried_and_the_change_written_once(store, reason):
    rollup = _unique("hot")
    client = RecordingClient(store.client, cancel_first_with=[reason])
    writer = ChangeWriter(client, store.tables)

    writer.write([_projection("rollup", _increment(store, "rollup", rollup, n=1))], None, None)

    assert len(client.sent) == 2
    assert _stored(store, rollup)["n"] == 1


def test_a_conflict_that_does_not_clear_gives_up(store):
    client = RecordingClient(store.client, cancel_first_with=["TransactionConflict"] * 10)
    writer = ChangeWriter(client, store.tables)

    with pytest.raises(ClientError):
        writer.write(
            [_projection("rollup", _increment(store, "r", _unique("hot"), n=1))], None, None
        )

    assert len(client.sent) == 5


def test_a_completed_payment_whose_order_no_longer_follows_it_lands_with_a_warning(
    store, service, sandbox, clock, caplog
):
    orders = OrderService(store.orders, service, CursorCodec(TEST_SECRET_KEY), clock)
    order = orders.create_order(actor_for(USER), new_id(), ORDER_FIELDS)
    payment = orders.request_payment(actor_for(USER), order.order_id)
    requested = orders.get_order(USER, order.order_id)
    store.orders.save(requested, dataclasses.replace(requested, quantity=9))  # another total now

    for event in sandbox.pay(payment.provider_link_id):
        service.apply_provider_event(event)

    assert service.get_payment(USER, payment.payment_id).status is PaymentStatus.COMPLETED
    assert orders.get_order(USER, order.order_id).status is OrderStatus.PAYMENT_REQUESTED
    assert [r.levelname for r in caplog.records if "no longer follows" in r.getMessage()] == [
        "WARNING"
    ]
