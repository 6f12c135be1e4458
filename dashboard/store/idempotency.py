"""Idempotency keys of the JSON API: who claimed a key, for which request, and its first answer.

One item per (merchant, key) in the Lookups table, under ``idem#{userId}#{sha256(key)}``. A key
is claimed with a conditional PutItem before the request runs, and completed with the response
(or released, so a retry can run) afterwards.

The first claim records the id of the resource the request will create (``resourceId``) and the
request's fingerprint; both stay with the key for its 24 hours. A release only frees the key:
the retry that takes it over gets the same resource id, so it lands on the resource the first
run may have half made instead of creating a second one, and a retry with another request is
refused like any other reuse. A claim that never completed (a crashed worker) can be taken over
the same way once its lease runs out.

DynamoDB Local has no TTL, and on AWS TTL deletes late: a record's 24 hours are enforced in the
condition expressions; ``expiresAtEpoch`` (the Lookups table's TTL attribute on AWS) only cleans
up. After them the key is new again, with a new resource id.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from dashboard.store.dynamo import (
    TableNames,
    conditional_write,
    error_code,
    from_item,
    refused_item,
    to_item,
    translate_unavailable,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

KEEP_FOR = timedelta(hours=24)
# How long a request may hold a key before another may take it over. Longer than any request
# (DynamoDB and provider calls time out well before), short enough that a crash is not a lockout.
LEASE = timedelta(minutes=2)
IN_PROGRESS = "in_progress"
DONE = "done"
RELEASED = "released"  # the run failed; the same request may run again, on the same resource id
# Bounds the retries of a claim that lost a race (a release or takeover between read and write).
_CLAIM_ATTEMPTS = 3


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
    state: str  # IN_PROGRESS, DONE or RELEASED
    response: StoredResponse | None


@dataclass(frozen=True)
class Claim:
    """The answer to claiming a key: ours to run (``token``), or someone else's ``existing``.

    ``resource_id`` is the id the request must give what it creates: the one minted by the
    key's first claim, so that every run of the same request names the same resource.
    """

    token: str | None = None
    existing: IdempotencyRecord | None = None
    resource_id: str | None = None
    # True when this run takes over from one that ended without an answer (a failure or a lapsed
    # lease): no other run of the request is live, so what that one left half-done may be finished.
    resumed: bool = False


def record_key(user_id: str, idempotency_key: str) -> str:
    """Return the Lookups key of a merchant's idempotency key (hashed: it is caller-chosen)."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()
    return f"idem#{user_id}#{digest}"


def _epoch(value: datetime) -> int:
    return int(value.timestamp())


class IdempotencyRepository:
    """Claims, completes and releases idempotency keys in the Lookups table."""

    def __init__(self, client: DynamoDBClient, tables: TableNames):
        self._client = client
        self._table = tables.lookups

    def claim(
        self,
        user_id: str,
        idempotency_key: str,
        fingerprint: str,
        now: datetime,
        new_resource_id: str,
    ) -> Claim:
        """Take the key for this request, or return the record of whoever holds it.

        A new key (or one whose record is older than 24 hours) is claimed with
        ``new_resource_id``. A key released by a failed run, or whose claim's lease ran out
        without completing, is taken over by the same request only, with the resource id of
        its first claim. Anything else is returned as ``existing``.
        """
        lookup_key = record_key(user_id, idempotency_key)
        record: dict[str, Any] = {}
        for _ in range(_CLAIM_ATTEMPTS):
            token = secrets.token_hex(16)
            claimed, old = self._put_new(
                lookup_key, user_id, fingerprint, now, new_resource_id, token
            )
            if claimed:
                return Claim(token=token, resource_id=new_resource_id)
            if old is None:
                continue  # the record expired away between our write and our read
            record = from_item(old)
            if record.get("claimToken") == token:
                # Our own claim: botocore retried the PutItem after the first copy landed (a
                # stalled DynamoDB), and the retry failed its condition on what we wrote.
                return Claim(token=token, resource_id=record.get("resourceId", new_resource_id))
            if not _can_take_over(record, fingerprint, now):
                return Claim(existing=_record(record))
            taken = self._take_over(lookup_key, record, now, new_resource_id)
            if taken is not None:
                return taken
            # Another retry took the key over between our read and our write: look again.
        return Claim(existing=_record(record))

    def _put_new(
        self,
        lookup_key: str,
        user_id: str,
        fingerprint: str,
        now: datetime,
        resource_id: str,
        token: str,
    ) -> tuple[bool, dict[str, Any] | None]:
        """Claim a new or expired key; return (True, None), or (False, the record holding it)."""
        item = {
            "lookupKey": lookup_key,
            "userId": user_id,
            "fingerprint": fingerprint,
            "state": IN_PROGRESS,
            "claimToken": token,
            "resourceId": resource_id,
            "createdAt": now.isoformat(),
            "leaseUntilEpoch": _epoch(now + LEASE),
            "expiresAtEpoch": _epoch(now + KEEP_FOR),
        }
        try:
            with translate_unavailable():
                self._client.put_item(
                    TableName=self._table,
                    Item=to_item(item),
                    # An expired record is free, unless a takeover is still running under its lease.
                    ConditionExpression="attribute_not_exists(lookupKey) OR (expiresAtEpoch <= :now"
                    " AND (#state <> :in_progress OR leaseUntilEpoch <= :now))",
                    ExpressionAttributeNames={"#state": "state"},
                    ExpressionAttributeValues=to_item(
                        {":now": _epoch(now), ":in_progress": IN_PROGRESS}
                    ),
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            return False, refused_item(exc) or self._get(lookup_key)
        return True, None

    def _take_over(
        self, lookup_key: str, record: dict[str, Any], now: datetime, new_resource_id: str
    ) -> Claim | None:
        """Claim a released or abandoned key, keeping its resource id; None if it moved."""
        token = secrets.token_hex(16)
        try:
            with translate_unavailable():
                answer = self._client.update_item(
                    TableName=self._table,
                    Key=to_item({"lookupKey": lookup_key}),
                    # Records claimed before resource ids were kept get one now.
                    UpdateExpression=(
                        "SET #state = :in_progress, claimToken = :token, leaseUntilEpoch = :lease,"
                        " resourceId = if_not_exists(resourceId, :resource)"
                    ),
                    # Exactly the record we read, still free to take over and not yet expired.
                    ConditionExpression=(
                        "claimToken = :seen AND #state = :seen_state AND expiresAtEpoch > :now"
                    ),
                    ExpressionAttributeNames={"#state": "state"},
                    ExpressionAttributeValues=to_item(
                        {
                            ":in_progress": IN_PROGRESS,
                            ":token": token,
                            ":lease": _epoch(now + LEASE),
                            ":resource": new_resource_id,
                            ":seen": record.get("claimToken", ""),
                            ":seen_state": record.get("state", ""),
                            ":now": _epoch(now),
                        }
                    ),
                    ReturnValues="ALL_NEW",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            current = from_item(refused_item(exc) or {})
            if current.get("claimToken") == token:
                # Our own takeover: botocore sent the UpdateItem again after the first landed.
                return Claim(token=token, resource_id=current["resourceId"], resumed=True)
            return None
        resource_id = from_item(answer["Attributes"])["resourceId"]
        return Claim(token=token, resource_id=resource_id, resumed=True)

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
        return conditional_write(
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
        """Free the key so that the same request may run again; False if it was not ours.

        The record stays, with its fingerprint, resource id and expiry: a retry takes it over
        and names the same resource; another request with this key is still refused.
        """
        return conditional_write(
            lambda: self._client.update_item(
                TableName=self._table,
                Key=to_item({"lookupKey": record_key(user_id, idempotency_key)}),
                UpdateExpression="SET #state = :released REMOVE leaseUntilEpoch",
                ConditionExpression="claimToken = :token AND #state = :in_progress",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues=to_item(
                    {":token": token, ":released": RELEASED, ":in_progress": IN_PROGRESS}
                ),
            )
        )

    def _get(self, lookup_key: str) -> dict[str, Any] | None:
        with translate_unavailable():
            return self._client.get_item(
                TableName=self._table, Key=to_item({"lookupKey": lookup_key}), ConsistentRead=True
            ).get("Item")


def _can_take_over(record: dict[str, Any], fingerprint: str, now: datetime) -> bool:
    """Return True for the same request's key after a failed or abandoned run (not a done one)."""
    if record.get("fingerprint") != fingerprint:
        return False
    if record.get("state") == RELEASED:
        return True
    lease = record.get("leaseUntilEpoch")
    return record.get("state") == IN_PROGRESS and lease is not None and lease <= _epoch(now)


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
