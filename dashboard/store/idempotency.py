"""Idempotency keys of the JSON API: who claimed a key, for which request, and its first answer.

One item per (merchant, key) in the Lookups table, under ``idem#{userId}#{sha256(key)}``. A key
is claimed with a conditional PutItem before the request runs, and completed with the response
(or released, so a retry can run) afterwards.

DynamoDB Local has no TTL, and on AWS TTL deletes late: a record's 24 hours are enforced in the
condition expressions; ``expiresAtEpoch`` (the Lookups table's TTL attribute on AWS) only cleans
up. A claim that never completed (a crashed worker) can be taken over once its lease runs out.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from dashboard.store.dynamo import (
    TableNames,
    error_code,
    from_item,
    to_item,
    translate_unavailable,
)

KEEP_FOR = timedelta(hours=24)
# How long a request may hold a key before another may take it over. Longer than any request
# (DynamoDB and provider calls time out well before), short enough that a crash is not a lockout.
LEASE = timedelta(minutes=2)
IN_PROGRESS = "in_progress"
DONE = "done"


@dataclass(frozen=True)
class StoredResponse:
    """The first answer to an idempotent request, as it will be replayed."""

    status: int
    body: str
    content_type: str
    location: str | None = None


@dataclass(frozen=True)
class IdempotencyRecord:
    """What is known of a key that is already taken."""

    fingerprint: str
    state: str  # IN_PROGRESS or DONE
    response: StoredResponse | None


@dataclass(frozen=True)
class Claim:
    """The answer to claiming a key: ours to run (``token``), or someone else's ``existing``."""

    token: str | None = None
    existing: IdempotencyRecord | None = None


def record_key(user_id: str, idempotency_key: str) -> str:
    """Return the Lookups key of a merchant's idempotency key (hashed: it is caller-chosen)."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()
    return f"idem#{user_id}#{digest}"


def _epoch(value: datetime) -> int:
    return int(value.timestamp())


class IdempotencyRepository:
    """Claims, completes and releases idempotency keys in the Lookups table."""

    def __init__(self, client: Any, tables: TableNames):
        self._client = client
        self._table = tables.lookups

    def claim(self, user_id: str, idempotency_key: str, fingerprint: str, now: datetime) -> Claim:
        """Take the key for this request, or return the record of whoever holds it.

        Succeeds when the key is new, its record is older than 24 hours, or an earlier claim's
        lease ran out without completing.
        """
        token = secrets.token_hex(16)
        item = {
            "lookupKey": record_key(user_id, idempotency_key),
            "userId": user_id,
            "fingerprint": fingerprint,
            "state": IN_PROGRESS,
            "claimToken": token,
            "createdAt": now.isoformat(),
            "leaseUntilEpoch": _epoch(now + LEASE),
            "expiresAtEpoch": _epoch(now + KEEP_FOR),
        }
        try:
            with translate_unavailable():
                self._client.put_item(
                    TableName=self._table,
                    Item=to_item(item),
                    ConditionExpression=(
                        "attribute_not_exists(lookupKey) OR expiresAtEpoch <= :now"
                        " OR (#state = :in_progress AND leaseUntilEpoch <= :now)"
                    ),
                    ExpressionAttributeNames={"#state": "state"},
                    ExpressionAttributeValues=to_item(
                        {":now": _epoch(now), ":in_progress": IN_PROGRESS}
                    ),
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            old = exc.response.get("Item") or self._get(item["lookupKey"])
            if old is None:
                # Released between our write and our read: the key is free again.
                return self.claim(user_id, idempotency_key, fingerprint, now)
            return Claim(existing=_record(from_item(old)))
        return Claim(token=token)

    def complete(
        self, user_id: str, idempotency_key: str, token: str, response: StoredResponse
    ) -> bool:
        """Store the response of a claimed key; return False if the claim was lost meanwhile."""
        values = {
            ":done": DONE,
            ":token": token,
            ":status": response.status,
            ":body": response.body,
            ":type": response.content_type,
        }
        update = (
            "SET #state = :done, responseStatus = :status, responseBody = :body,"
            " responseType = :type"
        )
        if response.location:
            values[":location"] = response.location
            update += ", responseLocation = :location"
        return self._conditional(
            lambda: self._client.update_item(
                TableName=self._table,
                Key=to_item({"lookupKey": record_key(user_id, idempotency_key)}),
                UpdateExpression=update + " REMOVE leaseUntilEpoch",
                ConditionExpression="claimToken = :token",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues=to_item(values),
            )
        )

    def release(self, user_id: str, idempotency_key: str, token: str) -> bool:
        """Give the key up so that a retry runs again; return False if it was not ours."""
        return self._conditional(
            lambda: self._client.delete_item(
                TableName=self._table,
                Key=to_item({"lookupKey": record_key(user_id, idempotency_key)}),
                ConditionExpression="claimToken = :token",
                ExpressionAttributeValues=to_item({":token": token}),
            )
        )

    def _conditional(self, write) -> bool:
        try:
            with translate_unavailable():
                write()
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _get(self, lookup_key: str) -> dict[str, Any] | None:
        with translate_unavailable():
            return self._client.get_item(
                TableName=self._table, Key=to_item({"lookupKey": lookup_key}), ConsistentRead=True
            ).get("Item")


def _record(values: dict[str, Any]) -> IdempotencyRecord:
    response = None
    if values.get("state") == DONE:
        response = StoredResponse(
            status=int(values["responseStatus"]),
            body=values.get("responseBody", ""),
            content_type=values.get("responseType", "application/json"),
            location=values.get("responseLocation"),
        )
    return IdempotencyRecord(values.get("fingerprint", ""), values.get("state", ""), response)
