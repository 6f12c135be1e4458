"""Table definitions and ``ensure_tables``: create or update every table and index idempotently.

``Payments``: one item per payment link, keyed by the merchant (``userId`` = OIDC ``sub``) and a
time-ordered UUIDv7 ``paymentId``, with two indexes:

* ``StatusIndex`` ranges on ``statusSort`` = ``"{group}#{createdAt}"``, so each status filter is
  one Query, newest first, on the key range of its prefix;
* ``CreatedAtIndex`` ranges on ``createdAt`` for date ranges and exports;
* ``OpenPaymentsIndex`` (sparse) holds only payments whose link is live, by ``updatedAt``;
* ``RefundIndex`` (sparse) holds only payments with a refund, ranging on ``refundSort`` =
  ``"{refund summary}#{createdAt}"``, so the refund filter is one Query.

``PaymentIndex``: search terms and per-UTC-hour rollups (see ``index_items``).

``Orders``: the merchant's orders and what leads to them (HASH ``userId``, RANGE ``sk``; see
``store/orders.py``), with ``OrderStatusIndex`` ranging on ``statusSort`` = ``"{status}#{orderId}"``
(sparse: only order items carry it), so each status filter is one Query, newest first, and with
``OrderCurrencyIndex`` (HASH ``currencyKey`` = ``"{userId}#{currency}"``, RANGE ``sk``) and
``OrderCurrencyStatusIndex`` (the same HASH, RANGE ``statusSort``), so is a currency filter, with a
status or without. A date filter is a key range on either range key (order ids are UUIDv7).

``ApiKeys``: one item per API key, found by the key's public prefix with a GetItem when a request
arrives (HASH ``keyId``), and listed per merchant through ``MerchantKeysIndex``.

``Sessions``: one item per signed-in browser, keyed by the SHA-256 of the id its cookie holds
(HASH ``sessionHash``), read with one strongly consistent GetItem per request; listed per person
through ``PersonSessionsIndex`` (HASH ``userId``, which here holds the person's key, keys only)
for "Sign out everywhere". Each session also names the account it works in.

``Accounts``: each merchant account (HASH ``accountId``, RANGE ``sk``): the account itself
(``sk`` = ``account``) and one member item per person in it (``sk`` = ``member#{personKey}``), so
an account's members are one Query (its invitations, ``invite#…``, and webhook endpoints,
``webhook_endpoint#…``, likewise); ``PersonAccountsIndex`` (HASH ``personKey``, RANGE
``accountId``; sparse: only member items carry ``personKey``) lists a person's accounts.

``People``: one item per person who ever signed in (HASH ``personKey`` = ``{issuer}#{sub}``):
what the provider last said of them and the account they last worked in.

``AuditLog``: the audit log, append-only (HASH ``accountId``, RANGE ``sk`` =
``{at}#{entryId}``, so a date range is a key range and the newest come first), with
``AuditActorIndex`` (HASH ``actorKey`` = ``{accountId}#{actor}``) and ``AuditActionIndex``
(HASH ``actionKey`` = ``{accountId}#{action}``), both ranging on ``sk``, so each filter is one
Query.

``Events``: the outbox, append-only (HASH ``accountId``, RANGE ``eventId``, a UUIDv7, so the
oldest come first and the last 30 days are one key range): one item per event, written in the
transaction of the change that made it (``store/events.py``); ``EventFanoutIndex`` (sparse,
HASH ``fanoutShard``, keys only) holds the events the delivery worker has not fanned out yet.

``Deliveries``: one item per event and webhook endpoint (HASH ``endpointKey`` =
``{accountId}#{endpointId}``, RANGE ``eventId``), with the worker's queue ``DeliveryDueIndex``
(sparse, HASH ``dueShard``, RANGE ``dueAt``, keys only) and the delivery log's filters
``DeliveryStateIndex``, ``DeliveryTypeIndex`` and ``DeliveryTypeStateIndex`` (see
``store/deliveries.py``).

``Lookups``: small items found by a strongly consistent GetItem on one key, for everything that
arrives with somebody else's id: a provider link id, the payer's token, a provider payment id.
"""

from __future__ import annotations

import logging
import time
import zlib
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from dashboard.store.dynamo import TableNames, error_code

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TableDescriptionTypeDef

log = logging.getLogger(__name__)

STATUS_INDEX = "StatusIndex"
CREATED_AT_INDEX = "CreatedAtIndex"
OPEN_PAYMENTS_INDEX = "OpenPaymentsIndex"
REFUND_INDEX = "RefundIndex"
ORDER_STATUS_INDEX = "OrderStatusIndex"
ORDER_CURRENCY_INDEX = "OrderCurrencyIndex"
ORDER_CURRENCY_STATUS_INDEX = "OrderCurrencyStatusIndex"
MERCHANT_KEYS_INDEX = "MerchantKeysIndex"
PERSON_SESSIONS_INDEX = "PersonSessionsIndex"
PERSON_ACCOUNTS_INDEX = "PersonAccountsIndex"
AUDIT_ACTOR_INDEX = "AuditActorIndex"
AUDIT_ACTION_INDEX = "AuditActionIndex"
EVENT_FANOUT_INDEX = "EventFanoutIndex"
DELIVERY_DUE_INDEX = "DeliveryDueIndex"
DELIVERY_STATE_INDEX = "DeliveryStateIndex"
DELIVERY_TYPE_INDEX = "DeliveryTypeIndex"
DELIVERY_TYPE_STATE_INDEX = "DeliveryTypeStateIndex"
# The worker's two queues (events to fan out, deliveries due) are spread over this many
# partitions of their sparse indexes, so a busy queue is not one hot partition.
QUEUE_SHARDS = 4
# The Deliveries table's key attributes and its indexes' (``store/deliveries.py``).
DELIVERY_KEYS = (
    "endpointKey",
    "eventId",
    "dueShard",
    "dueAt",
    "stateKey",
    "typeKey",
    "typeStateKey",
)


def queue_shard(key: str) -> str:
    """Return the queue shard of a key: stable, spread evenly."""
    return str(zlib.crc32(key.encode()) % QUEUE_SHARDS)


_PAYMENTS_INDEXES: dict[str, tuple[str, str]] = {
    STATUS_INDEX: ("userId", "statusSort"),
    CREATED_AT_INDEX: ("userId", "createdAt"),
    # Sparse: only payments whose link is live carry ``openShard``, so the sync command finds
    # every merchant's unfinished payments with a Query, never a Scan.
    OPEN_PAYMENTS_INDEX: ("openShard", "updatedAt"),
    # Sparse too: only payments a refund was asked for carry ``refundSort``.
    REFUND_INDEX: ("userId", "refundSort"),
}


def table_definitions(names: TableNames) -> list[dict[str, Any]]:
    """Return the CreateTable requests for every table of the app."""
    return [
        {
            "TableName": names.payments,
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [
                {"AttributeName": "userId", "KeyType": "HASH"},
                {"AttributeName": "paymentId", "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": [
                {"AttributeName": name, "AttributeType": "S"}
                for name in (
                    "userId",
                    "paymentId",
                    "statusSort",
                    "createdAt",
                    "openShard",
                    "updatedAt",
                    "refundSort",
                )
            ],
            "GlobalSecondaryIndexes": [
                _index(name, hash_key, range_key)
                for name, (hash_key, range_key) in _PAYMENTS_INDEXES.items()
            ],
        },
        {
            "TableName": names.index,
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [
                {"AttributeName": "userId", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": [
                {"AttributeName": "userId", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
        },
        {
            "TableName": names.orders,
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [
                {"AttributeName": "userId", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": [
                {"AttributeName": name, "AttributeType": "S"}
                for name in ("userId", "sk", "statusSort", "currencyKey")
            ],
            "GlobalSecondaryIndexes": [
                _index(ORDER_STATUS_INDEX, "userId", "statusSort"),
                # Sparse too: only order items carry ``currencyKey``.
                _index(ORDER_CURRENCY_INDEX, "currencyKey", "sk"),
                _index(ORDER_CURRENCY_STATUS_INDEX, "currencyKey", "statusSort"),
            ],
        },
        {
            "TableName": names.api_keys,
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": "keyId", "KeyType": "HASH"}],
            "AttributeDefinitions": [
                {"AttributeName": name, "AttributeType": "S"}
                for name in ("keyId", "userId", "createdAt")
            ],
            "GlobalSecondaryIndexes": [_index(MERCHANT_KEYS_INDEX, "userId", "createdAt")],
        },
        {
            "TableName": names.sessions,
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": "sessionHash", "KeyType": "HASH"}],
            "AttributeDefinitions": [
                {"AttributeName": name, "AttributeType": "S"}
                for name in ("sessionHash", "userId", "createdAt")
            ],
            # Keys only: signing a person out everywhere needs nothing but the items' keys.
            "GlobalSecondaryIndexes": [
                _index(PERSON_SESSIONS_INDEX, "userId", "createdAt", projection="KEYS_ONLY")
            ],
        },
        {
            "TableName": names.accounts,
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [
                {"AttributeName": "accountId", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": [
                {"AttributeName": name, "AttributeType": "S"}
                for name in ("accountId", "sk", "personKey")
            ],
            "GlobalSecondaryIndexes": [_index(PERSON_ACCOUNTS_INDEX, "personKey", "accountId")],
        },
        {
            "TableName": names.people,
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": "personKey", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "personKey", "AttributeType": "S"}],
        },
        {
            "TableName": names.audit,
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [
                {"AttributeName": "accountId", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": [
                {"AttributeName": name, "AttributeType": "S"}
                for name in ("accountId", "sk", "actorKey", "actionKey")
            ],
            "GlobalSecondaryIndexes": [
                _index(AUDIT_ACTOR_INDEX, "actorKey", "sk"),
                _index(AUDIT_ACTION_INDEX, "actionKey", "sk"),
            ],
        },
        {
            "TableName": names.events,
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [
                {"AttributeName": "accountId", "KeyType": "HASH"},
                {"AttributeName": "eventId", "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": [
                {"AttributeName": name, "AttributeType": "S"}
                for name in ("accountId", "eventId", "fanoutShard")
            ],
            "GlobalSecondaryIndexes": [
                _index(EVENT_FANOUT_INDEX, "fanoutShard", "eventId", "KEYS_ONLY")
            ],
        },
        {
            "TableName": names.deliveries,
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [
                {"AttributeName": "endpointKey", "KeyType": "HASH"},
                {"AttributeName": "eventId", "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": [
                {"AttributeName": name, "AttributeType": "S"} for name in DELIVERY_KEYS
            ],
            "GlobalSecondaryIndexes": [
                _index(DELIVERY_DUE_INDEX, "dueShard", "dueAt", "KEYS_ONLY"),
                _index(DELIVERY_STATE_INDEX, "stateKey", "eventId"),
                _index(DELIVERY_TYPE_INDEX, "typeKey", "eventId"),
                _index(DELIVERY_TYPE_STATE_INDEX, "typeStateKey", "eventId"),
            ],
        },
        {
            "TableName": names.lookups,
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": "lookupKey", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "lookupKey", "AttributeType": "S"}],
        },
    ]


def _index(name: str, hash_key: str, range_key: str, projection: str = "ALL") -> dict[str, Any]:
    return {
        "IndexName": name,
        "KeySchema": [
            {"AttributeName": hash_key, "KeyType": "HASH"},
            {"AttributeName": range_key, "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": projection},
    }


def ensure_tables(
    client: DynamoDBClient, names: TableNames, timeout_seconds: float = 120
) -> list[str]:
    """Create missing tables and indexes, wait until all are ACTIVE, and return what was done."""
    done: list[str] = []
    for definition in table_definitions(names):
        table = definition["TableName"]
        existing = _describe(client, table)
        described: TableDescriptionTypeDef | None
        if existing is None:
            described = client.create_table(**definition)["TableDescription"]
            done.append(f"created table {table}")
        else:
            added = _add_missing_indexes(client, definition, existing)
            done.extend(added)
            described = None if added else existing
        # A table already answered for as ACTIVE (DynamoDB Local and moto create tables ACTIVE;
        # an existing table usually is) needs no further DescribeTable: a third fewer calls.
        if described is None or not _is_active(described):
            _wait_until_active(client, table, timeout_seconds)
    return done


def _is_active(description: TableDescriptionTypeDef) -> bool:
    statuses = [description.get("TableStatus")] + [
        index.get("IndexStatus") for index in description.get("GlobalSecondaryIndexes", [])
    ]
    return all(status == "ACTIVE" for status in statuses)


def _describe(client: DynamoDBClient, table: str) -> TableDescriptionTypeDef | None:
    try:
        return client.describe_table(TableName=table)["Table"]
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return None
        raise


def _add_missing_indexes(
    client: DynamoDBClient, definition: dict[str, Any], existing: TableDescriptionTypeDef
) -> list[str]:
    have = {index["IndexName"] for index in existing.get("GlobalSecondaryIndexes", [])}
    done = []
    for index in definition.get("GlobalSecondaryIndexes", []):
        if index["IndexName"] in have:
            continue
        # DynamoDB adds one index per UpdateTable call, and only once the table is ACTIVE.
        _wait_until_active(client, definition["TableName"], 300)
        client.update_table(
            TableName=definition["TableName"],
            AttributeDefinitions=definition["AttributeDefinitions"],
            GlobalSecondaryIndexUpdates=[{"Create": index}],
        )
        done.append(f"added index {index['IndexName']} to {definition['TableName']}")
    return done


def _wait_until_active(client: DynamoDBClient, table: str, timeout_seconds: float) -> None:
    deadline = time.monotonic() + timeout_seconds
    while True:
        description = client.describe_table(TableName=table)["Table"]
        if _is_active(description):
            return
        if time.monotonic() > deadline:
            statuses = [description.get("TableStatus")] + [
                index.get("IndexStatus") for index in description.get("GlobalSecondaryIndexes", [])
            ]
            raise TimeoutError(f"{table} is not ACTIVE after {timeout_seconds}s: {statuses}")
        time.sleep(0.5)
