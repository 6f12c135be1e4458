"""The audit log's items and repository: one item per entry, written with the change it records.

``audit_put`` is the item any change adds for its entry (``audit_change_item`` names it for the
change set); the condition makes a replayed change (same entry id) fail rather than write the
entry twice, and nothing ever updates or deletes an entry.

Reading is one Query per page, newest first: on the table's key for the whole log or a date
range (``sk`` starts with the entry's time), on ``AuditActorIndex`` or ``AuditActionIndex`` for
one actor or one action (both range on ``sk`` too, so the date range stays a key condition).
With an actor and an action, the actor's index is read and the action filtered. Nothing scans.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from dashboard.domain.actor import Channel
from dashboard.domain.audit import AuditAction, AuditEntry
from dashboard.store.changeset import Item
from dashboard.store.dynamo import (
    TableNames,
    from_item,
    parse_store_time,
    store_time,
    to_item,
    translate_unavailable,
)
from dashboard.store.schema import AUDIT_ACTION_INDEX, AUDIT_ACTOR_INDEX

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

SYSTEM_ACTOR = "system"  # the actorKey of entries without a person or key behind them
# Reads of one filtered page, at most: a page of an actor's rare action stops early rather
# than read the actor's whole history at once (the cursor carries on from where it stopped).
_MAX_READS_PER_PAGE = 5


def audit_sk(entry: AuditEntry) -> str:
    """Return the entry's sort key: its time, then its id (time order; a date range is a range)."""
    return f"{store_time(entry.at)}#{entry.entry_id}"


def actor_key(account_id: str, actor: str | None) -> str:
    """Return the ``AuditActorIndex`` key of an actor's entries in an account."""
    return f"{account_id}#{actor or SYSTEM_ACTOR}"


def action_key(account_id: str, action: AuditAction) -> str:
    """Return the ``AuditActionIndex`` key of an action's entries in an account."""
    return f"{account_id}#{action.value}"


def audit_item(entry: AuditEntry) -> dict[str, Any]:
    """Return the stored item of an audit entry (plain values)."""
    return {
        "accountId": entry.account_id,
        "sk": audit_sk(entry),
        "entryId": entry.entry_id,
        "at": store_time(entry.at),
        "action": entry.action.value,
        "actionKey": action_key(entry.account_id, entry.action),
        "via": entry.via.value,
        "actor": entry.actor,
        "actorKey": actor_key(entry.account_id, entry.actor),
        "actorLabel": entry.actor_label,
        "ipAddress": entry.ip_address,
        "targetType": entry.target_type,
        "targetId": entry.target_id,
        "targetLabel": entry.target_label,
        "before": entry.before or None,
        "after": entry.after or None,
    }


def audit_put(table: str, entry: AuditEntry) -> dict[str, Any]:
    """Return the TransactWriteItems ``Put`` that appends ``entry`` to the audit log."""
    return {
        "Put": {
            "TableName": table,
            "Item": to_item(audit_item(entry)),
            "ConditionExpression": "attribute_not_exists(sk)",
        }
    }


def audit_change_item(tables: TableNames, entry: AuditEntry) -> Item:
    """Return the entry as the change set's named item ``audit``."""
    return Item("audit", audit_put(tables.audit, entry))


def entry_from_item(item: dict[str, Any]) -> AuditEntry:
    """Return the audit entry stored in a DynamoDB item."""
    values = from_item(item)
    return AuditEntry(
        account_id=values["accountId"],
        entry_id=values["entryId"],
        at=parse_store_time(values["at"]),
        action=AuditAction(values["action"]),
        via=Channel(values["via"]),
        actor=values.get("actor"),
        actor_label=values.get("actorLabel"),
        ip_address=values.get("ipAddress"),
        target_type=values["targetType"],
        target_id=values["targetId"],
        target_label=values.get("targetLabel"),
        before=dict(values.get("before") or {}),
        after=dict(values.get("after") or {}),
    )


@dataclass(frozen=True)
class AuditFilter:
    """Which entries of an account to read: one actor (``Actor.who``; "" for the system), one
    action, a time range (``since`` inclusive, ``until`` exclusive); None for any."""

    actor: str | None = None
    action: AuditAction | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class AuditQueryPage:
    """Entries read, newest first, and the key to continue after the last one (None: the end)."""

    entries: list[AuditEntry]
    last_key: dict[str, Any] | None


class AuditLogRepository:
    """Appends entries that stand alone (sign-in, sign-out) and reads the log, newest first."""

    def __init__(self, client: DynamoDBClient, tables: TableNames):
        self._client = client
        self._table = tables.audit

    def append(self, entry: AuditEntry) -> None:
        """Write one entry that no other item goes with (a sign-in, a sign-out)."""
        put = audit_put(self._table, entry)["Put"]
        with translate_unavailable():
            self._client.put_item(**put)

    def newest_first(
        self,
        account_id: str,
        wanted: AuditFilter,
        limit: int,
        start_key: dict[str, Any] | None = None,
    ) -> AuditQueryPage:
        """Return up to ``limit`` entries of the account, newest first, after ``start_key``."""
        request = self._query(account_id, wanted)
        entries: list[AuditEntry] = []
        last_key = start_key
        for _ in range(_MAX_READS_PER_PAGE):
            if last_key:
                request["ExclusiveStartKey"] = last_key
            request["Limit"] = limit - len(entries)
            with translate_unavailable():
                response = self._client.query(**request)
            entries += [entry_from_item(item) for item in response.get("Items", [])]
            last_key = response.get("LastEvaluatedKey")
            if last_key is None or len(entries) >= limit:
                break
        return AuditQueryPage(entries, last_key)

    def _query(self, account_id: str, wanted: AuditFilter) -> dict[str, Any]:
        """Return the one Query that reads the entries ``wanted`` asks for."""
        values: dict[str, Any] = {
            ":lo": store_time(wanted.since) if wanted.since else "0",
            # An entry's key is its time then "#": one at exactly ``until`` sorts after it.
            ":hi": store_time(wanted.until) if wanted.until else "~",
        }
        request: dict[str, Any] = {"TableName": self._table, "ScanIndexForward": False}
        if wanted.actor is not None:
            request["IndexName"] = AUDIT_ACTOR_INDEX
            request["KeyConditionExpression"] = "actorKey = :k AND sk BETWEEN :lo AND :hi"
            values[":k"] = actor_key(account_id, wanted.actor)
            if wanted.action is not None:
                request["FilterExpression"] = "#action = :action"
                request["ExpressionAttributeNames"] = {"#action": "action"}
                values[":action"] = wanted.action.value
        elif wanted.action is not None:
            request["IndexName"] = AUDIT_ACTION_INDEX
            request["KeyConditionExpression"] = "actionKey = :k AND sk BETWEEN :lo AND :hi"
            values[":k"] = action_key(account_id, wanted.action)
        else:
            request["KeyConditionExpression"] = "accountId = :k AND sk BETWEEN :lo AND :hi"
            values[":k"] = account_id
        request["ExpressionAttributeValues"] = to_item(values)
        return request

    @staticmethod
    def key_after(entry: AuditEntry, wanted: AuditFilter) -> dict[str, Any]:
        """Return the key from which a read of ``wanted`` continues after ``entry``."""
        item = audit_item(entry)
        names = ["accountId", "sk"]
        if wanted.actor is not None:
            names.append("actorKey")
        elif wanted.action is not None:
            names.append("actionKey")
        return to_item({name: item[name] for name in names})
