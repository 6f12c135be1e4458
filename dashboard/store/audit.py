"""The audit log's items: one per entry, written in the transaction of the change it records.

``audit_put`` is the item any change set adds for its entry; the condition makes a replayed
change (same entry id) fail rather than write the entry twice, and nothing ever updates or
deletes an entry.
"""

from __future__ import annotations

from typing import Any

from dashboard.domain.audit import AuditEntry
from dashboard.store.dynamo import store_time, to_item


def audit_sk(entry: AuditEntry) -> str:
    """Return the entry's sort key: its time, then its id (time order; a date range is a range)."""
    return f"{store_time(entry.at)}#{entry.entry_id}"


def audit_item(entry: AuditEntry) -> dict[str, Any]:
    """Return the stored item of an audit entry (plain values)."""
    return {
        "accountId": entry.account_id,
        "sk": audit_sk(entry),
        "entryId": entry.entry_id,
        "at": store_time(entry.at),
        "action": entry.action.value,
        "actionKey": f"{entry.account_id}#{entry.action.value}",
        "via": entry.via.value,
        "actor": entry.actor,
        "actorKey": f"{entry.account_id}#{entry.actor or 'system'}",
        "actorLabel": entry.actor_label,
        "ipAddress": entry.ip_address,
        "targetType": entry.target_type,
        "targetId": entry.target_id,
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
