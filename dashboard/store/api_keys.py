"""The API keys repository: the only code that builds DynamoDB requests for API keys.

One item per key in the ApiKeys table, keyed by the key's public id (``keyId``), so a request
presenting a key is one strongly consistent GetItem. ``MerchantKeysIndex`` (HASH ``userId``, RANGE
``createdAt``) lists a merchant's keys newest first. Items hold a hash of the secret, never the
secret itself. Creating and revoking a key go through the change set, so the audit entry that a
person's or key's change writes lands with it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from dashboard.domain.api_keys import ApiKey, KeyScope
from dashboard.domain.audit import AuditNote, api_key_summary, changed_values
from dashboard.store.audit import audit_change_item
from dashboard.store.changeset import ChangeItem, ChangeRefused, ChangeWriter, Item, Projection
from dashboard.store.dynamo import (
    TableNames,
    conditional_write,
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
        self._tables = tables
        self._table = tables.api_keys
        self._changes = ChangeWriter(client, tables)

    def add(self, key: ApiKey, secret_hash: str, audit: AuditNote | None = None) -> None:
        """Store a new key (and ``audit``'s entry); raise KeyIdTaken if its id is already used."""
        try:
            self._changes.write(self._projections(audit, secret_hash), None, key)
        except ChangeRefused as exc:
            raise KeyIdTaken(key.key_id) from exc

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

    def revoke(
        self, user_id: str, key_id: str, now: datetime, audit: AuditNote | None = None
    ) -> ApiKey | None:
        """Mark the merchant's key revoked (keeping the first revocation time) and return it.

        Only the first revocation writes (with ``audit``'s entry): revoking again returns the
        key as it is. Return None when no such key belongs to this merchant: another merchant's
        key and an unknown id look the same, so key ids cannot be probed.
        """
        for _ in range(2):  # a second look only if a revocation raced ours
            stored = self.get(key_id)
            if stored is None or stored.key.user_id != user_id:
                return None
            if not stored.key.is_active:
                return stored.key
            revoked = dataclasses.replace(stored.key, revoked_at=now)
            try:
                self._changes.write(self._projections(audit), stored.key, revoked)
            except ChangeRefused:
                continue
            return revoked
        return None

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

    def _projections(
        self, audit: AuditNote | None, secret_hash: str = ""
    ) -> tuple[Projection[ApiKey | None, ApiKey], ...]:
        """Return what a key's change writes: the key, and the audit entry when asked for."""
        record = Projection("api_key", partial(key_record, self._table, secret_hash))
        if audit is None:
            return (record,)
        return (record, Projection("audit", partial(key_audit, self._tables, audit)))

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


def key_record(
    table: str, secret_hash: str, before: ApiKey | None, after: ApiKey
) -> list[ChangeItem]:
    """Return the key's own item: new (its id not taken), or revoked (while still active)."""
    if before is None:
        item: dict[str, Any] = {
            "keyId": after.key_id,
            "userId": after.user_id,
            "name": after.name,
            "secretHash": secret_hash,
            "createdAt": store_time(after.created_at),
            "scope": after.scope.value,
        }
        if after.created_by is not None:
            item["createdBy"] = after.created_by
        put = {
            "TableName": table,
            "Item": to_item(item),
            "ConditionExpression": "attribute_not_exists(keyId)",
        }
        return [Item("api_key", {"Put": put})]
    assert after.revoked_at is not None, "a stored key only changes by being revoked"
    update = {
        "TableName": table,
        "Key": to_item({"keyId": after.key_id}),
        "UpdateExpression": "SET revokedAt = :now",
        "ConditionExpression": "userId = :user AND attribute_not_exists(revokedAt)",
        "ExpressionAttributeValues": to_item(
            {":now": store_time(after.revoked_at), ":user": after.user_id}
        ),
    }
    return [Item("api_key", {"Update": update})]


def key_audit(
    tables: TableNames, note: AuditNote, before: ApiKey | None, after: ApiKey
) -> list[ChangeItem]:
    """Return the audit entry of the change: the key, its name and status before and after."""
    summaries = changed_values(api_key_summary(before) if before else None, api_key_summary(after))
    entry = note.entry("api_key", after.key_id, *summaries, target_label=after.name)
    return [audit_change_item(tables, entry)]
