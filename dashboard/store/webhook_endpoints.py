"""The webhook endpoints repository: the only code that builds DynamoDB requests for endpoints.

Accounts table (beside ``account``, ``member#…`` and ``invite#…``), one item per endpoint with
``sk`` = ``webhook_endpoint#{endpointId}``: an account has at most ten, read together with one
strongly consistent Query on the account's partition, so no table or index of their own is
needed. The item holds the signing secrets sealed (``store.secret_box``), never in clear.

Every change goes through the change set with its audit entry, conditional on the stored
version (a new endpoint: on its key being free), so two changes at once never both land.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from dashboard.domain.audit import AuditNote, changed_values
from dashboard.domain.events import EventType
from dashboard.domain.webhook_endpoints import (
    EndpointStatus,
    SigningSecret,
    WebhookEndpoint,
    endpoint_summary,
)
from dashboard.store.accounts import account_items
from dashboard.store.audit import audit_change_item
from dashboard.store.changeset import ChangeItem, ChangeRefused, ChangeWriter, Item, Projection
from dashboard.store.dynamo import (
    TableNames,
    from_item,
    parse_store_time,
    store_time,
    to_item,
    translate_unavailable,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

SK_PREFIX = "webhook_endpoint#"


class EndpointChanged(Exception):
    """Raised when the stored endpoint is not the one a change was decided on (or is gone)."""


def endpoint_sk(endpoint_id: str) -> str:
    """Return the sort key of an endpoint's item in its account's partition."""
    return f"{SK_PREFIX}{endpoint_id}"


class WebhookEndpointRepository:
    """Reads and writes endpoint items; knows nothing of HTTP or of how secrets are made."""

    def __init__(self, client: DynamoDBClient, tables: TableNames):
        self._client = client
        self._tables = tables
        self._table = tables.accounts
        self._changes = ChangeWriter(client, tables)

    def list_for_account(self, account_id: str) -> list[WebhookEndpoint]:
        """Return the account's endpoints, oldest first (their ids are UUIDv7)."""
        items = account_items(self._client, self._table, account_id, SK_PREFIX)
        return [_endpoint_from_item(item) for item in items]

    def get(self, account_id: str, endpoint_id: str) -> WebhookEndpoint | None:
        """Return the account's endpoint, read strongly consistently, or None."""
        with translate_unavailable():
            item = self._client.get_item(
                TableName=self._table,
                Key=to_item({"accountId": account_id, "sk": endpoint_sk(endpoint_id)}),
                ConsistentRead=True,
            ).get("Item")
        return _endpoint_from_item(item) if item else None

    def write(
        self,
        before: WebhookEndpoint | None,
        after: WebhookEndpoint | None,
        audit: AuditNote | None = None,
    ) -> None:
        """Write ``before`` becoming ``after`` (None: created or deleted) with ``audit``'s entry.

        Raise EndpointChanged when the stored endpoint is no longer ``before`` (or, for a new
        one, its id is taken).
        """
        projections: list[Projection[WebhookEndpoint | None, WebhookEndpoint | None]] = [
            Projection("webhook_endpoint", partial(endpoint_record, self._table))
        ]
        if audit is not None:
            projections.append(Projection("audit", partial(endpoint_audit, self._tables, audit)))
        target = after or before
        assert target is not None, "a change has a before or an after"
        try:
            self._changes.write(projections, before, after)
        except ChangeRefused as exc:
            raise EndpointChanged(target.endpoint_id) from exc


def endpoint_item(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """Return the plain values of an endpoint's item."""
    return {
        "accountId": endpoint.account_id,
        "sk": endpoint_sk(endpoint.endpoint_id),
        "endpointId": endpoint.endpoint_id,
        "url": endpoint.url,
        "eventTypes": sorted(endpoint.event_types),
        "description": endpoint.description or None,
        "status": endpoint.status.value,
        "disabledReason": endpoint.disabled_reason,
        "createdAt": store_time(endpoint.created_at),
        "updatedAt": store_time(endpoint.updated_at),
        "version": endpoint.version,
        "secrets": [
            {
                "ciphertext": secret.ciphertext,
                "secretId": secret.secret_id,
                "createdAt": store_time(secret.created_at),
                **({"expiresAt": store_time(secret.expires_at)} if secret.expires_at else {}),
            }
            for secret in endpoint.secrets
        ],
    }


def endpoint_record(
    table: str, before: WebhookEndpoint | None, after: WebhookEndpoint | None
) -> list[ChangeItem]:
    """Return the endpoint's own item: put new, replaced or deleted, on the version read."""
    if after is None:
        assert before is not None, "a change has a before or an after"
        delete = {
            "TableName": table,
            "Key": to_item({"accountId": before.account_id, "sk": endpoint_sk(before.endpoint_id)}),
            "ConditionExpression": "version = :v",
            "ExpressionAttributeValues": to_item({":v": before.version}),
        }
        return [Item("webhook_endpoint", {"Delete": delete})]
    put: dict[str, Any] = {"TableName": table, "Item": to_item(endpoint_item(after))}
    if before is None:
        put["ConditionExpression"] = "attribute_not_exists(sk)"
    else:
        put["ConditionExpression"] = "version = :v"
        put["ExpressionAttributeValues"] = to_item({":v": before.version})
    return [Item("webhook_endpoint", {"Put": put})]


def endpoint_audit(
    tables: TableNames,
    note: AuditNote,
    before: WebhookEndpoint | None,
    after: WebhookEndpoint | None,
) -> list[ChangeItem]:
    """Return the audit entry of the change: what the endpoint was and became (never secrets)."""
    target = after or before
    assert target is not None, "a change has a before or an after"
    summaries = changed_values(
        endpoint_summary(before) if before else None, endpoint_summary(after) if after else None
    )
    entry = note.entry("webhook_endpoint", target.endpoint_id, *summaries, target_label=target.url)
    return [audit_change_item(tables, entry)]


def _bytes(value: Any) -> bytes:
    # boto3 reads binary attributes as its Binary wrapper; the bytes are its ``value``.
    return bytes(getattr(value, "value", value))


def _endpoint_from_item(item: dict[str, Any]) -> WebhookEndpoint:
    values = from_item(item)
    return WebhookEndpoint(
        endpoint_id=values["endpointId"],
        account_id=values["accountId"],
        url=values["url"],
        event_types=frozenset(EventType(t) for t in values["eventTypes"]),
        description=values.get("description", ""),
        status=EndpointStatus(values["status"]),
        disabled_reason=values.get("disabledReason"),
        created_at=parse_store_time(values["createdAt"]),
        updated_at=parse_store_time(values["updatedAt"]),
        version=values["version"],
        secrets=tuple(
            SigningSecret(
                ciphertext=_bytes(secret["ciphertext"]),
                secret_id=secret.get("secretId", ""),
                created_at=parse_store_time(secret["createdAt"]),
                expires_at=(
                    parse_store_time(secret["expiresAt"]) if "expiresAt" in secret else None
                ),
            )
            for secret in values["secrets"]
        ),
    )
