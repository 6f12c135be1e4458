"""init-db on a real DynamoDB Local: idempotent, and it upgrades tables made by older versions."""

from __future__ import annotations

import uuid

import pytest

from dashboard.store.database import Store
from dashboard.store.dynamo import TableNames, make_client
from dashboard.store.schema import (
    OPEN_PAYMENTS_INDEX,
    ORDER_CURRENCY_INDEX,
    ORDER_CURRENCY_STATUS_INDEX,
    ORDER_STATUS_INDEX,
    table_definitions,
)

pytestmark = pytest.mark.integration


def test_init_db_creates_everything_once_and_then_does_nothing(dynamodb_local):
    store = Store(
        make_client("eu-west-2", dynamodb_local.url),
        TableNames.with_prefix(f"s{uuid.uuid4().hex[:6]}-"),
    )

    first = store.ensure_tables()
    second = store.ensure_tables()

    assert len(first) == len(table_definitions(store.tables))  # one "created table" each
    assert second == []
    store.check_tables()


def test_init_db_adds_an_index_a_deployed_table_lacks(dynamodb_local):
    tables = TableNames.with_prefix(f"u{uuid.uuid4().hex[:6]}-")
    client = make_client("eu-west-2", dynamodb_local.url)
    older = table_definitions(tables)[0]
    older["GlobalSecondaryIndexes"] = [
        i for i in older["GlobalSecondaryIndexes"] if i["IndexName"] != OPEN_PAYMENTS_INDEX
    ]
    older["AttributeDefinitions"] = [
        a
        for a in older["AttributeDefinitions"]
        if a["AttributeName"] not in ("openShard", "updatedAt")
    ]
    client.create_table(**older)

    done = Store(client, tables).ensure_tables()

    assert f"added index {OPEN_PAYMENTS_INDEX} to {tables.payments}" in done
    indexes = client.describe_table(TableName=tables.payments)["Table"]["GlobalSecondaryIndexes"]
    assert {i["IndexName"] for i in indexes} >= {OPEN_PAYMENTS_INDEX}


def test_init_db_adds_the_order_currency_indexes_to_an_existing_orders_table(dynamodb_local):
    tables = TableNames.with_prefix(f"o{uuid.uuid4().hex[:6]}-")
    client = make_client("eu-west-2", dynamodb_local.url)
    older = next(d for d in table_definitions(tables) if d["TableName"] == tables.orders)
    older["GlobalSecondaryIndexes"] = [
        i for i in older["GlobalSecondaryIndexes"] if i["IndexName"] == ORDER_STATUS_INDEX
    ]
    older["AttributeDefinitions"] = [
        a for a in older["AttributeDefinitions"] if a["AttributeName"] != "currencyKey"
    ]
    client.create_table(**older)

    done = Store(client, tables).ensure_tables()

    assert f"added index {ORDER_CURRENCY_INDEX} to {tables.orders}" in done
    assert f"added index {ORDER_CURRENCY_STATUS_INDEX} to {tables.orders}" in done
    indexes = client.describe_table(TableName=tables.orders)["Table"]["GlobalSecondaryIndexes"]
    assert {i["IndexName"] for i in indexes} == {
        ORDER_STATUS_INDEX,
        ORDER_CURRENCY_INDEX,
        ORDER_CURRENCY_STATUS_INDEX,
    }
