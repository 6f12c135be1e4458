"""The payments repository: the only code that builds DynamoDB requests for payments.

Every read is a GetItem or a Query on a key or an index; nothing here scans. Every status write is
conditional on the version read and on the transition table, so concurrent or replayed changes
cannot overwrite each other or move a payment backwards. Every transaction goes through the
change set (``store/changeset.py``): what a payment's change writes besides the payment (lookups,
search items, rollups, the merchant registry, its outbox events, its order) is one projection each,
in ``_projections``.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from dashboard.core.errors import Conflict
from dashboard.domain.audit import AuditNote, changed_values, payment_summary, refund_summary
from dashboard.domain.events import payment_change_events
from dashboard.domain.orders import order_status_for_payment
from dashboard.domain.payments import (
    AttemptStatus,
    Payment,
    PaymentAttempt,
    PaymentStatus,
    StatusChange,
    StatusGroup,
    statuses_that_may_become,
)
from dashboard.domain.refunds import Refund, RefundStatus, RefundStep
from dashboard.store.audit import audit_change_item
from dashboard.store.changeset import (
    ChangeItem,
    ChangeRefused,
    ChangeWriter,
    Increment,
    Item,
    Projection,
)
from dashboard.store.dynamo import (
    TableNames,
    batch_get,
    conditional_write,
    from_item,
    parse_store_time,
    store_time,
    to_item,
    translate_unavailable,
)
from dashboard.store.event_items import event_change_item, order_event_items
from dashboard.store.index_items import (
    merchant_registry_item,
    prefix_range,
    rollup_deltas,
    rollup_increments,
    search_items,
)
from dashboard.store.orders import PaymentOfOrder, order_follows_payment
from dashboard.store.schema import OPEN_PAYMENTS_INDEX, STATUS_INDEX

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

log = logging.getLogger(__name__)

OPEN_SHARD = "open"


class PaymentAlreadyExists(Conflict):
    """Raised when a payment id is already taken (a double submit of the same form)."""

    title = "Already created"
    message = "This payment was already created."


class StaleWrite(Conflict):
    """Raised when the payment changed since it was read; read it again and re-decide."""

    title = "Changed meanwhile"
    message = "The payment changed while we saved it. Please try again."


def status_sort_key(payment: Payment) -> str:
    """Return the StatusIndex range key: group first, so one status filter is one Query."""
    return f"{payment.status.group.value}#{store_time(payment.created_at)}"


def refund_sort_key(payment: Payment) -> str | None:
    """Return the RefundIndex range key (summary first), or None for a payment never refunded."""
    summary = payment.refund_summary
    if summary is None:
        return None
    return f"{summary.value}#{store_time(payment.created_at)}"


def _refund_to_value(refund: Refund) -> dict[str, Any]:
    values = {
        "refundId": refund.refund_id,
        "amountMinor": refund.amount_minor,
        "status": refund.status.value,
        "createdAt": store_time(refund.created_at),
        "updatedAt": store_time(refund.updated_at),
        "requestedBy": refund.requested_by,
        "reason": refund.reason,
        "providerRefundId": refund.provider_refund_id,
        "failureReason": refund.failure_reason,
        "inDoubt": refund.in_doubt or None,
        "history": [
            {"status": step.status.value, "at": store_time(step.at), "note": step.note}
            for step in refund.history
        ],
    }
    return {k: v for k, v in values.items() if v is not None}


def _refund_from_value(value: dict[str, Any]) -> Refund:
    return Refund(
        refund_id=value["refundId"],
        amount_minor=int(value["amountMinor"]),
        status=RefundStatus(value["status"]),
        created_at=parse_store_time(value["createdAt"]),
        updated_at=parse_store_time(value["updatedAt"]),
        requested_by=value.get("requestedBy"),
        reason=value.get("reason"),
        provider_refund_id=value.get("providerRefundId"),
        failure_reason=value.get("failureReason"),
        in_doubt=bool(value.get("inDoubt", False)),
        history=tuple(
            RefundStep(RefundStatus(s["status"]), parse_store_time(s["at"]), s.get("note", ""))
            for s in value.get("history", [])
        ),
    )


def payment_to_item(payment: Payment) -> dict[str, Any]:
    """Return the DynamoDB item for a payment."""
    return to_item(
        {
            "userId": payment.user_id,
            "paymentId": payment.payment_id,
            "amountMinor": payment.amount_minor,
            "currency": payment.currency,
            "reference": payment.reference,
            "payerName": payment.payer_name,
            "payerEmail": payment.payer_email,
            "status": payment.status.value,
            "statusSort": status_sort_key(payment),
            "openShard": OPEN_SHARD if payment.is_open else None,
            "createdAt": store_time(payment.created_at),
            "updatedAt": store_time(payment.updated_at),
            "expiresAt": store_time(payment.expires_at),
            "provider": payment.provider,
            "providerLinkId": payment.provider_link_id,
            "linkUrl": payment.link_url,
            "payerToken": payment.payer_token,
            "failureReason": payment.failure_reason,
            "orderId": payment.order_id,
            "attempts": [
                {
                    k: v
                    for k, v in {
                        "providerPaymentId": a.provider_payment_id,
                        "status": a.status.value,
                        "createdAt": store_time(a.created_at),
                        "updatedAt": store_time(a.updated_at),
                        "failureReason": a.failure_reason,
                    }.items()
                    if v is not None
                }
                for a in payment.attempts
            ],
            "statusHistory": [
                {"status": c.status, "at": store_time(c.at), "note": c.note}
                for c in payment.status_history
            ],
            # Refunds live in the payment's own item: each change of one is a write of the
            # payment, conditional on its version, so what they reserve is never read stale.
            "refunds": [_refund_to_value(r) for r in payment.refunds] or None,
            "refundReservedMinor": payment.refund_reserved_minor if payment.refunds else None,
            "refundedMinor": payment.refunded_minor if payment.refunds else None,
            "refundSort": refund_sort_key(payment),
            "version": payment.version,
        }
    )


def payment_from_item(item: dict[str, Any]) -> Payment:
    """Return the payment stored in a DynamoDB item."""
    values = from_item(item)
    return Payment(
        user_id=values["userId"],
        payment_id=values["paymentId"],
        amount_minor=values["amountMinor"],
        currency=values["currency"],
        reference=values["reference"],
        payer_name=values.get("payerName"),
        payer_email=values.get("payerEmail"),
        status=PaymentStatus(values["status"]),
        created_at=parse_store_time(values["createdAt"]),
        updated_at=parse_store_time(values["updatedAt"]),
        expires_at=parse_store_time(values["expiresAt"]),
        provider=values["provider"],
        provider_link_id=values.get("providerLinkId"),
        link_url=values.get("linkUrl"),
        payer_token=values["payerToken"],
        failure_reason=values.get("failureReason"),
        order_id=values.get("orderId"),
        attempts=tuple(
            PaymentAttempt(
                provider_payment_id=a["providerPaymentId"],
                status=AttemptStatus(a["status"]),
                created_at=parse_store_time(a["createdAt"]),
                updated_at=parse_store_time(a["updatedAt"]),
                failure_reason=a.get("failureReason"),
            )
            for a in values.get("attempts", [])
        ),
        status_history=tuple(
            StatusChange(c["status"], parse_store_time(c["at"]), c.get("note", ""))
            for c in values.get("statusHistory", [])
        ),
        refunds=tuple(_refund_from_value(r) for r in values.get("refunds", [])),
        version=values["version"],
    )


@dataclass(frozen=True)
class PaymentOwner:
    """Who owns a payment: what a lookup item points at."""

    user_id: str
    payment_id: str


class PaymentRepository:
    """Reads and writes payments and the lookup items that lead to them."""

    def __init__(self, client: DynamoDBClient, tables: TableNames):
        self._client = client
        self._tables = tables
        self._changes = ChangeWriter(client, tables)

    # Reads -------------------------------------------------------------------------------

    def get(self, user_id: str, payment_id: str) -> Payment | None:
        """Return the merchant's payment, or None when it does not exist or is someone else's."""
        with translate_unavailable():
            response = self._client.get_item(
                TableName=self._tables.payments,
                Key=to_item({"userId": user_id, "paymentId": payment_id}),
                ConsistentRead=True,
            )
        item = response.get("Item")
        return payment_from_item(item) if item else None

    def get_many(self, user_id: str, payment_ids: list[str]) -> list[Payment]:
        """Return the merchant's payments among ``payment_ids`` (BatchGetItem), in no set order."""
        keys = [to_item({"userId": user_id, "paymentId": p}) for p in dict.fromkeys(payment_ids)]
        return [
            payment_from_item(item) for item in batch_get(self._client, self._tables.payments, keys)
        ]

    def find_owner(self, lookup_key: str) -> PaymentOwner | None:
        """Return the payment a lookup key (provider link id, payer token) points at."""
        with translate_unavailable():
            response = self._client.get_item(
                TableName=self._tables.lookups,
                Key=to_item({"lookupKey": lookup_key}),
                ConsistentRead=True,
            )
        item = response.get("Item")
        if not item:
            return None
        values = from_item(item)
        return PaymentOwner(values["userId"], values["paymentId"])

    # Writes ------------------------------------------------------------------------------

    def add(self, payment: Payment, lookup_keys: list[str], audit: AuditNote | None = None) -> None:
        """Store a new payment with its lookup, search and rollup items in one transaction.

        With ``audit``, its entry is written in the same transaction. Raises
        PaymentAlreadyExists when the payment id is taken.
        """
        try:
            self._changes.write(self._projections(tuple(lookup_keys), audit), None, payment)
        except ChangeRefused as exc:
            raise PaymentAlreadyExists(payment.payment_id) from exc

    def open_payments(self, updated_before: datetime) -> Iterator[Payment]:
        """Yield every merchant's payments with a live link, not updated since the given time."""
        request: dict[str, Any] = {
            "TableName": self._tables.payments,
            "IndexName": OPEN_PAYMENTS_INDEX,
            "KeyConditionExpression": "openShard = :o AND updatedAt < :t",
            "ExpressionAttributeValues": to_item(
                {":o": OPEN_SHARD, ":t": store_time(updated_before)}
            ),
        }
        yield from self._each_page(request)

    def each_payment(self, user_id: str) -> Iterator[Payment]:
        """Yield every payment of a merchant, page by page (maintenance commands, not pages)."""
        request: dict[str, Any] = {
            "TableName": self._tables.payments,
            "KeyConditionExpression": "userId = :u",
            "ExpressionAttributeValues": to_item({":u": user_id}),
        }
        yield from self._each_page(request)

    def not_yet_in_open_index(self, user_id: str, group: StatusGroup) -> Iterator[Payment]:
        """Yield a merchant's payments of a status group that lack their open-index attribute.

        One StatusIndex Query per group (a key range, not a Scan); for the backfill command.
        """
        request: dict[str, Any] = {
            "TableName": self._tables.payments,
            "IndexName": STATUS_INDEX,
            "KeyConditionExpression": "userId = :u AND statusSort BETWEEN :lo AND :hi",
            "FilterExpression": "attribute_not_exists(openShard)",
            "ExpressionAttributeValues": to_item(
                {":u": user_id, **prefix_range(f"{group.value}#")}
            ),
        }
        yield from self._each_page(request)

    def add_to_open_index(self, payment: Payment) -> bool:
        """Mark a stored payment open, unless it changed since read; return True if marked."""
        return conditional_write(
            lambda: self._client.update_item(
                TableName=self._tables.payments,
                Key=to_item({"userId": payment.user_id, "paymentId": payment.payment_id}),
                UpdateExpression="SET openShard = :o",
                # A payment written since has its own, correct, membership already.
                ConditionExpression="version = :v",
                ExpressionAttributeValues=to_item({":o": OPEN_SHARD, ":v": payment.version}),
            )
        )

    def save(
        self,
        before: Payment,
        after: Payment,
        new_lookup_keys: tuple[str, ...] = (),
        audit: AuditNote | None = None,
    ) -> Payment:
        """Store ``after`` in place of ``before`` and return it as stored (version + 1).

        The write is conditional on the stored version being ``before``'s, and, when the status
        changes, on the stored status being one from which the new status may be reached. The
        rollups and the payment's order move in the same transaction, so a replayed change can
        never count twice; an order that no longer follows the payment is left as it is.
        With ``audit``, its entry is written in the same transaction. Raises StaleWrite when
        either condition fails.
        """
        stored = _with_version(after, before.version + 1)
        try:
            self._changes.write(self._projections(new_lookup_keys, audit), before, stored)
        except ChangeRefused as exc:
            raise StaleWrite(before.payment_id) from exc
        return stored

    def _projections(
        self, lookup_keys: tuple[str, ...], audit: AuditNote | None = None
    ) -> tuple[PaymentProjection, ...]:
        """Return what a payment's change writes, each part named, the order last as a follower.

        Something more that every payment change writes is one more projection here; a change
        a person or key asked for also writes its audit entry.
        """
        tables = self._tables
        audited = (
            () if audit is None else (Projection("audit", partial(payment_audit, tables, audit)),)
        )
        return (
            *audited,
            Projection("payment", partial(payment_record, tables)),
            Projection("lookup", partial(payment_lookups, tables, lookup_keys)),
            Projection("search", partial(payment_search, tables)),
            Projection("rollup", partial(payment_rollups, tables)),
            Projection("merchant", partial(merchant_registry, tables)),
            Projection("event", partial(payment_events, tables)),
            Projection(
                "order",
                partial(order_following_payment, tables),
                follower=True,
                dropped=_order_no_longer_follows,
            ),
        )

    def _each_page(self, request: dict[str, Any]) -> Iterator[Payment]:
        """Yield the payments of a Query, following its pages."""
        while True:
            with translate_unavailable():
                response = self._client.query(**request)
            yield from (payment_from_item(item) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return
            request = {**request, "ExclusiveStartKey": response["LastEvaluatedKey"]}


def _with_version(payment: Payment, version: int) -> Payment:
    return dataclasses.replace(payment, version=version)


def link_lookup_key(provider: str, provider_link_id: str) -> str:
    """Return the lookup key that leads from a provider's link id to our payment."""
    return f"link#{provider}#{provider_link_id}"


def attempt_lookup_key(provider: str, provider_payment_id: str) -> str:
    """Return the lookup key that leads from a provider's payment (attempt) id to our payment."""
    return f"attempt#{provider}#{provider_payment_id}"


def payer_lookup_key(payer_token: str) -> str:
    """Return the lookup key that leads from the payer's token to the payment."""
    return f"payer#{payer_token}"


# The projections of a payment's change: ``(before, after) -> items``, ``before`` None when the
# payment is new. ``after`` is the payment as it will be stored.

PaymentProjection = Projection[Payment | None, Payment]


def payment_record(tables: TableNames, before: Payment | None, after: Payment) -> list[ChangeItem]:
    """Return the payment's own item: new (its id not yet taken) or replacing ``before``.

    A replacement is conditional on the stored version being ``before``'s and, when the status
    changes, on the stored status being one from which the new status may be reached.
    """
    if before is None:
        put = {
            "TableName": tables.payments,
            "Item": payment_to_item(after),
            "ConditionExpression": "attribute_not_exists(paymentId)",
        }
        return [Item("payment", {"Put": put})]
    condition = "version = :v"
    values: dict[str, Any] = {":v": before.version}
    if after.status != before.status:
        allowed = sorted(statuses_that_may_become(after.status))
        placeholders = [f":s{i}" for i in range(len(allowed))]
        condition += f" AND #status IN ({', '.join(placeholders)})"
        values.update({p: s.value for p, s in zip(placeholders, allowed, strict=True)})
    put = {
        "TableName": tables.payments,
        "Item": payment_to_item(after),
        "ConditionExpression": condition,
        "ExpressionAttributeValues": to_item(values),
    }
    if after.status != before.status:
        put["ExpressionAttributeNames"] = {"#status": "status"}
    return [Item("payment", {"Put": put})]


def payment_lookups(
    tables: TableNames, lookup_keys: tuple[str, ...], before: Payment | None, after: Payment
) -> list[ChangeItem]:
    """Return the lookup items of the keys given, and of every attempt new since ``before``.

    A new attempt's provider payment id leads to the payment too (search, webhooks). A lookup
    key, once written, points at one payment for good; writing it again for the same payment
    is harmless, and it can never be taken over by another payment.
    """
    seen = {a.provider_payment_id for a in before.attempts} if before else set()
    attempt_keys = tuple(
        attempt_lookup_key(after.provider, a.provider_payment_id)
        for a in after.attempts
        if a.provider_payment_id not in seen
    )
    keys = dict.fromkeys((*lookup_keys, *attempt_keys))  # each once: one item per key and name
    return [_lookup_item(tables, key, after) for key in keys]


def _lookup_item(tables: TableNames, key: str, payment: Payment) -> Item:
    put = {
        "TableName": tables.lookups,
        "Item": to_item(
            {"lookupKey": key, "userId": payment.user_id, "paymentId": payment.payment_id}
        ),
        "ConditionExpression": "attribute_not_exists(lookupKey) OR "
        "(userId = :u AND paymentId = :p)",
        "ExpressionAttributeValues": to_item({":u": payment.user_id, ":p": payment.payment_id}),
    }
    return Item(f"lookup:{key}", {"Put": put})


def payment_search(tables: TableNames, before: Payment | None, after: Payment) -> list[ChangeItem]:
    """Return the search items of a new payment; a change writes none (they never change)."""
    if before is not None:
        return []
    return [
        Item(f"search:{item['sk']}", {"Put": {"TableName": tables.index, "Item": to_item(item)}})
        for item in search_items(after, store_time(after.created_at))
    ]


def payment_rollups(tables: TableNames, before: Payment | None, after: Payment) -> list[Increment]:
    """Return the increments that move the payment's day and all-time rollups with it."""
    created_at = store_time(after.created_at)
    deltas = rollup_deltas(before, after)
    return rollup_increments(tables.index, after.user_id, created_at, after.currency, deltas)


def merchant_registry(
    tables: TableNames, before: Payment | None, after: Payment
) -> list[ChangeItem]:
    """Return the item listing a new payment's merchant among all merchants."""
    if before is not None:
        return []
    item = to_item(merchant_registry_item(after.user_id))
    return [Item("merchant", {"Put": {"TableName": tables.index, "Item": item}})]


def payment_audit(
    tables: TableNames, note: AuditNote, before: Payment | None, after: Payment
) -> list[ChangeItem]:
    """Return the audit entry of the change: the link, and its summary before and after.

    A refund's change (the note's subject) shows that refund before and after instead.
    """
    if note.subject is not None:
        refund_before = refund_summary(before, note.subject) if before else None
        summaries = changed_values(refund_before, refund_summary(after, note.subject))
    else:
        summaries = changed_values(
            payment_summary(before) if before else None, payment_summary(after)
        )
    entry = note.entry("payment", after.payment_id, *summaries, target_label=after.reference)
    return [audit_change_item(tables, entry)]


def payment_events(tables: TableNames, before: Payment | None, after: Payment) -> list[ChangeItem]:
    """Return the outbox events of the change, each with the payment as this change stores it.

    A refund's event names the refund; its version is the payment's, which holds it.
    """
    events = payment_change_events(before, after)
    snapshot = payment_to_item(after) if events else {}
    return [
        event_change_item(
            tables.events,
            after.user_id,
            event.type,
            after.updated_at,
            f"{after.payment_id}#{after.version}",
            resourceId=event.refund_id or after.payment_id,
            resourceVersion=after.version,
            refundId=event.refund_id,
            payment=snapshot,
        )
        for event in events
    ]


def order_following_payment(
    tables: TableNames, before: Payment | None, after: Payment
) -> list[ChangeItem]:
    """Return the items that move the payment's order (and its rollups), if its status moves.

    The order's status comes from the payment's status and its refunds together, so a refund
    in full (or the return that undoes it) moves the order in the refund's own write.
    A follower: an order that asked for payment again, changed its total, was cancelled or
    deleted refuses, and the payment's change lands without it (and without its events).
    """
    if before is None or not after.order_id:
        return []
    was, becomes = (order_status_for_payment(p.status, p.refund_summary) for p in (before, after))
    if was is becomes:
        return []
    # The order's events go with its update, so an order that no longer follows makes none.
    events = order_event_items(
        tables.events,
        after.user_id,
        after.order_id,
        (was, becomes),
        after.updated_at,
        f"{after.payment_id}#{after.version}",
    )
    return [
        *order_follows_payment(
            tables.orders,
            after.user_id,
            after.order_id,
            PaymentOfOrder(after.payment_id, after.amount_minor, after.currency),
            (was, becomes),
            after.updated_at,
        ),
        *events,
    ]


def _order_no_longer_follows(before: Payment | None, after: Payment) -> None:
    # The payment's own change must still land; money arriving on a link whose order no longer
    # follows it needs a person to look at it (once: not again for each of its refunds' steps).
    just_paid = after.status is PaymentStatus.COMPLETED and (
        before is None or before.status is not PaymentStatus.COMPLETED
    )
    level = logging.WARNING if just_paid else logging.INFO
    log.log(
        level,
        "Payment %s is now %s; its order %s no longer follows it",
        after.payment_id,
        after.status.value,
        after.order_id,
    )
