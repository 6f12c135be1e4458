"""Storage for the sandbox provider's own links: what a real provider would keep on its side.

Kept in the Lookups table under ``sandbox-link#<id>`` so the sandbox needs no table of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from dashboard.store.dynamo import (
    TableNames,
    error_code,
    from_item,
    to_item,
    translate_unavailable,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@dataclass
class SandboxRefund:
    """One refund of a sandbox attempt, in TrueLayer's refund statuses.

    ``status`` is ``pending``, ``authorized``, ``executed`` or ``failed``; ``refund_id`` is the
    sandbox's, ``our_refund_id`` the dashboard's (carried as metadata, as TrueLayer does).
    """

    refund_id: str
    our_refund_id: str
    amount_minor: int
    reference: str
    status: str
    created_at: str
    updated_at: str
    failure_reason: str | None = None


@dataclass
class SandboxAttempt:
    """One payment attempt on a sandbox link, in TrueLayer v3 statuses."""

    payment_id: str
    status: str
    created_at: str
    updated_at: str
    failure_reason: str | None = None
    refunds: list[SandboxRefund] = field(default_factory=list)


@dataclass
class SandboxLink:
    """A sandbox payment link as the sandbox provider knows it."""

    link_id: str
    amount_minor: int
    currency: str
    reference: str
    return_uri: str
    expires_at: str
    created_at: str
    status: str = "active"  # active | disabling (a payment is at the bank) | disabled
    disabled_reason: str | None = None
    attempts: list[SandboxAttempt] = field(default_factory=list)
    version: int = 1


class SandboxLinkConflict(Exception):
    """Raised when the link changed between read and write."""


class SandboxLinkRepository:
    """Reads and writes sandbox links, with optimistic locking on ``version``."""

    def __init__(self, client: DynamoDBClient, tables: TableNames):
        self._client = client
        self._table = tables.lookups

    def get(self, link_id: str) -> SandboxLink | None:
        """Return the link, or None when there is no such link."""
        with translate_unavailable():
            response = self._client.get_item(
                TableName=self._table,
                Key=to_item({"lookupKey": _key(link_id)}),
                ConsistentRead=True,
            )
        item = response.get("Item")
        return _link_from_item(item) if item else None

    def add_if_new(self, link: SandboxLink) -> SandboxLink:
        """Store a new link, or return the one already stored under the same id."""
        try:
            with translate_unavailable():
                self._client.put_item(
                    TableName=self._table,
                    Item=_link_to_item(link),
                    ConditionExpression="attribute_not_exists(lookupKey)",
                )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            existing = self.get(link.link_id)
            assert existing is not None
            return existing
        return link

    def save(self, link: SandboxLink) -> None:
        """Store the changed link; raise SandboxLinkConflict if it changed meanwhile."""
        expected = link.version
        link.version += 1
        try:
            with translate_unavailable():
                self._client.put_item(
                    TableName=self._table,
                    Item=_link_to_item(link),
                    ConditionExpression="version = :v",
                    ExpressionAttributeValues=to_item({":v": expected}),
                )
        except ClientError as exc:
            link.version = expected
            if error_code(exc) == "ConditionalCheckFailedException":
                raise SandboxLinkConflict(link.link_id) from exc
            raise


def _key(link_id: str) -> str:
    return f"sandbox-link#{link_id}"


def _link_to_item(link: SandboxLink) -> dict[str, Any]:
    return to_item(
        {
            "lookupKey": _key(link.link_id),
            "linkId": link.link_id,
            "amountMinor": link.amount_minor,
            "currency": link.currency,
            "reference": link.reference,
            "returnUri": link.return_uri,
            "expiresAt": link.expires_at,
            "createdAt": link.created_at,
            "status": link.status,
            "disabledReason": link.disabled_reason,
            "attempts": [_attempt_values(a) for a in link.attempts],
            "version": link.version,
        }
    )


def _link_from_item(item: dict[str, Any]) -> SandboxLink:
    values = from_item(item)
    return SandboxLink(
        link_id=values["linkId"],
        amount_minor=values["amountMinor"],
        currency=values["currency"],
        reference=values["reference"],
        return_uri=values["returnUri"],
        expires_at=values["expiresAt"],
        created_at=values["createdAt"],
        status=values["status"],
        disabled_reason=values.get("disabledReason"),
        attempts=[_attempt_from_values(a) for a in values.get("attempts", [])],
        version=values["version"],
    )


def _without_nones(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _attempt_values(attempt: SandboxAttempt) -> dict[str, Any]:
    values = _without_nones(vars(attempt))
    values["refunds"] = [_without_nones(vars(r)) for r in attempt.refunds]
    return values


def _attempt_from_values(values: dict[str, Any]) -> SandboxAttempt:
    # Attempts stored before refunds existed have no "refunds": they have none.
    refunds = [SandboxRefund(**r) for r in values.get("refunds", [])]
    return SandboxAttempt(**{**values, "refunds": refunds})
