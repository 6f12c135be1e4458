"""The API keys repository: the only code that builds DynamoDB requests for API keys.

One item per key in the ApiKeys table, keyed by the key's public id (``keyId``), so a request
presenting a key is one strongly consistent GetItem. ``MerchantKeysIndex`` (HASH ``userId``, RANGE
``createdAt``) lists a merchant's keys newest first. Items hold a hash of the secret, never the
secret itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from dashboard.domain.api_keys import ApiKey, KeyScope
from dashboard.store.dynamo import (
    TableNames,
    conditional_write,
    error_code,
    from_item,
    parse_store_time,
    store_time,
    to_item,
    translate_unavailable,
)
from dashboard.store.schema import MERCHANT_KEYS_INDEX

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import QueryOutputTypeDef

# "name" and "scope" are DynamoDB reserved words; the listing never reads the hash (left out).
_LISTED_ATTRIBUTES = "keyId, userId, #name, createdAt, createdBy, lastUsedAt, revokedAt, #scope"


class KeyIdTaken(Exception):
    """Raised when a freshly drawn key id already exists (astronomically rare: draw again)."""


@dataclass(frozen=True)
class StoredApiKey:
    """A key as read for authentication: the record and the hash of its secret."""

    key: ApiKey
    secret_hash: str


def _optional_time(value: str | None) -> datetime | None:
    return parse_store_time(value) if value is not None else None


class ApiKeyRepository:
    """Reads and writes API key items; knows nothing of HTTP or of how secrets are made."""

    def __init__(self, client: DynamoDBClient, tables: TableNames):
        self._client = client
        self._table = tables.api_keys

    def add(self, key: ApiKey, secret_hash: str) -> None:
        """Store a new key; raise KeyIdTaken if its id is already used."""
        item = {
            "keyId": key.key_id,
            "userId": key.user_id,
            "name": key.name,
            "secretHash": secret_hash,
            "createdAt": store_time(key.created_at),
            "scope": key.scope.value,
        }
        if key.created_by is not None:
            item["createdBy"] = key.created_by
        try:
            with translate_unavailable():
                self._client.put_item(
                    TableName=self._table,
                    Item=to_item(item),
                    ConditionExpression="attribute_not_exists(keyId)",
                )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise KeyIdTaken(key.key_id) from exc
            raise

    def get(self, key_id: str) -> StoredApiKey | None:
        """Return the key and its secret's hash, read strongly consistently, or None."""
        with translate_unavailable():
            item = self._client.get_item(
                TableName=self._table, Key=to_item({"keyId": key_id}), ConsistentRead=True
            ).get("Item")
        if not item:
            return None
        return StoredApiKey(key=_key_from_item(item), secret_hash=item["secretHash"]["S"])

    def list_for_merchant(self, user_id: str) -> list[ApiKey]:
        """Return every key of the merchant, revoked ones too, newest first."""
        pages = self._merchant_pages(
            user_id,
            ScanIndexForward=False,
            ProjectionExpression=_LISTED_ATTRIBUTES,
            ExpressionAttributeNames={"#name": "name", "#scope": "scope"},
        )
        return [_key_from_item(item) for page in pages for item in page.get("Items", [])]

    def revoke(self, user_id: str, key_id: str, now: datetime) -> ApiKey | None:
        """Mark the merchant's key revoked (keeping the first revocation time) and return it.

        Return None when no such key belongs to this merchant: another merchant's key and an
        unknown id look the same, so key ids cannot be probed.
        """
        try:
            with translate_unavailable():
                response = self._client.update_item(
                    TableName=self._table,
                    Key=to_item({"keyId": key_id}),
                    UpdateExpression="SET revokedAt = if_not_exists(revokedAt, :now)",
                    ConditionExpression="userId = :user",
                    ExpressionAttributeValues=to_item({":now": store_time(now), ":user": user_id}),
                    ReturnValues="ALL_NEW",
                )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return None
            raise
        return _key_from_item(response["Attributes"])

    def record_use(self, key_id: str, now: datetime, unless_used_since: datetime) -> bool:
        """Set the key's ``lastUsedAt`` to now unless it was set at or after ``unless_used_since``.

        Return False when the condition kept the write from happening (another request recorded
        a use recently, or the key is gone or revoked): that is normal, not an error.
        """
        return conditional_write(
            lambda: self._client.update_item(
                TableName=self._table,
                Key=to_item({"keyId": key_id}),
                UpdateExpression="SET lastUsedAt = :now",
                ConditionExpression=(
                    "attribute_exists(keyId) AND attribute_not_exists(revokedAt) AND "
                    "(attribute_not_exists(lastUsedAt) OR lastUsedAt < :cutoff)"
                ),
                ExpressionAttributeValues=to_item(
                    {":now": store_time(now), ":cutoff": store_time(unless_used_since)}
                ),
            )
        )

    def _merchant_pages(self, user_id: str, **extra: Any) -> Iterator[QueryOutputTypeDef]:
        """Yield the Query responses over the merchant's keys in the index, page after page."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": MERCHANT_KEYS_INDEX,
            "KeyConditionExpression": "userId = :user",
            "ExpressionAttributeValues": to_item({":user": user_id}),
            **extra,
        }
        while True:
            with translate_unavailable():
                response = self._client.query(**request)
            yield response
            if "LastEvaluatedKey" not in response:
                return
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def _key_from_item(item: dict[str, Any]) -> ApiKey:
    values = from_item(item)
    return ApiKey(
        key_id=values["keyId"],
        user_id=values["userId"],
        name=values["name"],
        created_at=parse_store_time(values["createdAt"]),
        created_by=values.get("createdBy"),
        last_used_at=_optional_time(values.get("lastUsedAt")),
        revoked_at=_optional_time(values.get("revokedAt")),
        # Keys stored before scopes existed have none: they were full keys and stay so.
        scope=KeyScope(values.get("scope", KeyScope.FULL)),
    )
