"""Reads take their items from the JSON as sent: exactly what botocore's parser would give."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from botocore.parsers import create_parser

from dashboard.store.dynamo import _take_items_as_sent, make_client, to_item

ITEM = {
    "userId": {"S": "merchant-1"},
    "sk": {"S": "r#day#2026-03-29#GBP"},
    "n_completed": {"N": "12"},
    "logo": {"B": base64.b64encode(b"\x89PNG\x00\xff").decode()},
    "parts": {"BS": [base64.b64encode(b"a").decode(), base64.b64encode(b"\x00").decode()]},
    "tags": {"SS": ["x", "y"]},
    "sizes": {"NS": ["1", "2.5"]},
    "live": {"BOOL": True},
    "gone": {"NULL": True},
    "nested": {
        "M": {
            "blob": {"B": base64.b64encode(b"\x01\x02").decode()},
            "list": {"L": [{"S": "a"}, {"B": base64.b64encode(b"\x03").decode()}, {"N": "7"}]},
        }
    },
}
BODIES = {
    "Query": {
        "Items": [ITEM, {"userId": {"S": "m"}, "sk": {"S": "p#1"}}],
        "Count": 2,
        "ScannedCount": 2,
        "LastEvaluatedKey": {"userId": {"S": "m"}, "sk": {"S": "p#1"}},
    },
    "GetItem": {"Item": ITEM},
    "BatchGetItem": {
        "Responses": {"index": [ITEM], "payments": []},
        "UnprocessedKeys": {"index": {"Keys": [{"userId": {"S": "m"}, "sk": {"S": "r#x"}}]}},
    },
}


def _parse(operation: str, body: dict[str, Any], fast: bool) -> dict[str, Any]:
    operation_model = make_client("eu-west-2", None).meta.service_model.operation_model(operation)
    response = {
        "status_code": 200,
        "headers": {"x-amzn-requestid": "r-1"},
        "body": json.dumps(body).encode(),
    }
    customized: dict[str, Any] = {}
    if fast:
        _take_items_as_sent(
            operation_model=operation_model,
            response_dict=response,
            customized_response_dict=customized,
        )
    parsed = create_parser("json").parse(response, operation_model.output_shape)
    parsed.update(customized)
    return parsed


@pytest.mark.parametrize("operation", sorted(BODIES))
def test_a_read_parses_to_exactly_what_botocore_gives(operation: str) -> None:
    slow = _parse(operation, BODIES[operation], fast=False)
    assert _parse(operation, BODIES[operation], fast=True) == slow
    fast = _parse(operation, BODIES[operation], fast=True)
    item = {"Query": lambda: fast["Items"][0], "GetItem": lambda: fast["Item"]}.get(
        operation, lambda: fast["Responses"]["index"][0]
    )()
    assert item["logo"] == {"B": b"\x89PNG\x00\xff"}  # binary decoded, as botocore does
    assert item["nested"]["M"]["list"]["L"][1] == {"B": b"\x03"}


def test_an_error_answer_is_left_to_botocore() -> None:
    operation_model = make_client("eu-west-2", None).meta.service_model.operation_model("Query")
    body = json.dumps({"__type": "ResourceNotFoundException", "message": "no table"}).encode()
    response = {"status_code": 400, "headers": {}, "body": body}
    customized: dict[str, Any] = {}
    _take_items_as_sent(
        operation_model=operation_model, response_dict=response, customized_response_dict=customized
    )
    assert response["body"] == body
    assert customized == {}


def test_items_written_and_read_back_through_the_client_keep_their_binary_values(store) -> None:
    item = to_item({"userId": "m-1", "sk": "b#1", "logo": b"\x89PNG\x00\xff", "n": 3})
    store.client.put_item(TableName=store.tables.index, Item=item)
    got = store.client.get_item(
        TableName=store.tables.index, Key={k: item[k] for k in ("userId", "sk")}
    )
    found = store.client.query(
        TableName=store.tables.index,
        KeyConditionExpression="userId = :u",
        ExpressionAttributeValues={":u": {"S": "m-1"}},
    )
    assert got["Item"]["logo"] == {"B": b"\x89PNG\x00\xff"}
    assert found["Items"] == [got["Item"]]
