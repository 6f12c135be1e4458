"""The sessions repository: the only code that builds DynamoDB requests for sign-in sessions.

One item per signed-in browser in the Sessions table, keyed by ``sessionHash``, the SHA-256 of
the random id the browser's cookie holds: the table alone never gives anyone a usable cookie.
``PersonSessionsIndex`` (HASH ``userId``, keys only) finds every session of one person, so
"Sign out everywhere" is a Query, never a Scan: here ``userId`` holds the person's key (issuer
and subject), not an account id. ``accountId`` is the account the session works in.
``expiresAtEpoch`` is the absolute end in epoch seconds, for an optional DynamoDB TTL that
clears expired items later; expiry itself is checked on every read.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from dashboard.domain.accounts import Membership
from dashboard.domain.actor import Person
from dashboard.store.accounts import member_key, membership_from_item
from dashboard.store.dynamo import (
    StoreUnavailable,
    TableNames,
    batch_get_consistent,
    conditional_write,
    from_item,
    parse_store_time,
    store_time,
    to_item,
    translate_unavailable,
)
from dashboard.store.schema import PERSON_SESSIONS_INDEX

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import WriteRequestOutputTypeDef, WriteRequestTypeDef

    # What a BatchWriteItem asks for, and what it leaves unprocessed to ask for again.
    _WriteRequests = Mapping[str, Sequence[WriteRequestTypeDef | WriteRequestOutputTypeDef]]


@dataclass(frozen=True)
class StoredSession:
    """A session as stored: whose it is and its times."""

    session_hash: str
    person: Person
    account_id: str
    email: str | None
    name: str | None
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    # When the provider last authenticated the person (the ID token's ``auth_time``), for
    # step-up; and whether it vouched for their email (``email_verified``), for invitations.
    auth_time: datetime | None = None
    email_verified: bool = False


class SessionRepository:
    """Reads and writes session items; knows nothing of HTTP, cookies or how ids are made."""

    def __init__(self, client: DynamoDBClient, tables: TableNames):
        self._client = client
        self._table = tables.sessions
        self._accounts = tables.accounts

    def add(self, stored: StoredSession) -> None:
        """Store a new session (its hash is fresh randomness: a clash is a bug, so it raises)."""
        item = {
            "sessionHash": stored.session_hash,
            "userId": stored.person.key,
            "issuer": stored.person.issuer,
            "sub": stored.person.sub,
            "accountId": stored.account_id,
            "email": stored.email,
            "name": stored.name,
            "createdAt": store_time(stored.created_at),
            "lastSeenAt": store_time(stored.last_seen_at),
            "expiresAt": store_time(stored.expires_at),
            "expiresAtEpoch": int(stored.expires_at.timestamp()),
            "authTime": store_time(stored.auth_time) if stored.auth_time else None,
            "emailVerified": stored.email_verified,
        }
        with translate_unavailable():
            self._client.put_item(
                TableName=self._table,
                Item=to_item(item),
                ConditionExpression="attribute_not_exists(sessionHash)",
            )

    def get(self, session_hash: str) -> StoredSession | None:
        """Return the session, read strongly consistently (a sign-out is seen at once), or None.

        A session stored before sessions named their account reads as None (signed out).
        """
        with translate_unavailable():
            item = self._client.get_item(
                TableName=self._table,
                Key=to_item({"sessionHash": session_hash}),
                ConsistentRead=True,
            ).get("Item")
        return _session_from_item(item) if item else None

    def get_with_membership(
        self, session_hash: str, account_id: str, person: Person
    ) -> tuple[StoredSession | None, Membership | None]:
        """Return the session and the person's membership of the account, read together.

        One BatchGetItem, strongly consistent on both tables: the same answers as ``get`` and
        the accounts repository's ``get_membership``, in one round trip. The membership is the
        one asked for, whoever the session turns out to be: the caller compares the two.
        """
        found = batch_get_consistent(
            self._client,
            {
                self._table: [to_item({"sessionHash": session_hash})],
                self._accounts: [member_key(account_id, person)],
            },
        )
        sessions, members = found[self._table], found[self._accounts]
        stored = _session_from_item(sessions[0]) if sessions else None
        return stored, membership_from_item(members[0]) if members else None

    def record_seen(self, session_hash: str, now: datetime, unless_seen_since: datetime) -> bool:
        """Set ``lastSeenAt`` to now unless it was set at or after ``unless_seen_since``.

        Return False when the condition kept the write from happening (another request of the
        same session wrote it meanwhile, or the session was ended): normal, not an error.
        """
        return conditional_write(
            lambda: self._client.update_item(
                TableName=self._table,
                Key=to_item({"sessionHash": session_hash}),
                UpdateExpression="SET lastSeenAt = :now",
                ConditionExpression="attribute_exists(sessionHash) AND lastSeenAt < :cutoff",
                ExpressionAttributeValues=to_item(
                    {":now": store_time(now), ":cutoff": store_time(unless_seen_since)}
                ),
            )
        )

    def set_account(self, session_hash: str, account_id: str) -> bool:
        """Make the session work in another account; return False if the session is gone."""
        return conditional_write(
            lambda: self._client.update_item(
                TableName=self._table,
                Key=to_item({"sessionHash": session_hash}),
                UpdateExpression="SET accountId = :account",
                ConditionExpression="attribute_exists(sessionHash)",
                ExpressionAttributeValues=to_item({":account": account_id}),
            )
        )

    def record_reauthentication(
        self, session_hash: str, auth_time: datetime, email_verified: bool
    ) -> bool:
        """Set the session's ``authTime`` and ``emailVerified`` after the person signed in again.

        Return False if the session is gone (signed out meanwhile): nothing is written then.
        """
        values = {":auth": store_time(auth_time), ":verified": email_verified}
        return conditional_write(
            lambda: self._client.update_item(
                TableName=self._table,
                Key=to_item({"sessionHash": session_hash}),
                UpdateExpression="SET authTime = :auth, emailVerified = :verified",
                ConditionExpression="attribute_exists(sessionHash)",
                ExpressionAttributeValues=to_item(values),
            )
        )

    def delete(self, session_hash: str) -> None:
        """Delete the session; deleting one that is already gone is fine."""
        with translate_unavailable():
            self._client.delete_item(
                TableName=self._table, Key=to_item({"sessionHash": session_hash})
            )

    def delete_for_person(self, person: Person) -> int:
        """Delete every session of the person (Query on the index, then batched deletes).

        Return how many were deleted.
        """
        hashes = list(self._person_session_hashes(person.key))
        for start in range(0, len(hashes), 25):
            self._batch_delete(hashes[start : start + 25])
        return len(hashes)

    def _person_session_hashes(self, user_id: str) -> Iterator[str]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": PERSON_SESSIONS_INDEX,
            "KeyConditionExpression": "userId = :user",
            "ExpressionAttributeValues": to_item({":user": user_id}),
        }
        while True:
            with translate_unavailable():
                response = self._client.query(**request)
            for item in response.get("Items", []):
                yield item["sessionHash"]["S"]
            if "LastEvaluatedKey" not in response:
                return
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _batch_delete(self, hashes: list[str]) -> None:
        requests: _WriteRequests = {
            self._table: [{"DeleteRequest": {"Key": to_item({"sessionHash": h})}} for h in hashes]
        }
        for attempt in range(8):
            with translate_unavailable():
                response = self._client.batch_write_item(RequestItems=requests)
            requests = response.get("UnprocessedItems") or {}
            if not requests:
                return
            # DynamoDB is busy: back off with jitter before asking again.
            time.sleep(random.uniform(0, 0.05 * 2**attempt))  # noqa: S311
        raise StoreUnavailable(f"{self._table}: deletes left unprocessed after repeated tries")


def _session_from_item(item: dict[str, Any]) -> StoredSession | None:
    values = from_item(item)
    if "accountId" not in values:
        return None  # made before sessions named their account: the person signs in again
    return StoredSession(
        session_hash=values["sessionHash"],
        person=Person(values["issuer"], values["sub"]),
        account_id=values["accountId"],
        email=values.get("email"),
        name=values.get("name"),
        created_at=parse_store_time(values["createdAt"]),
        last_seen_at=parse_store_time(values["lastSeenAt"]),
        expires_at=parse_store_time(values["expiresAt"]),
        auth_time=parse_store_time(values["authTime"]) if values.get("authTime") else None,
        email_verified=values.get("emailVerified") is True,
    )
