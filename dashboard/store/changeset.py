"""The one write path: a change is a set of named transaction items, made by projections.

A repository describes what a change of one of its records writes as a tuple of
**projections**, each a function ``(before, after) -> items`` (``before`` is None for a new record,
``after`` None for a deleted one): the record itself, its lookups, rollups, search items, the
order that follows its payment. ``ChangeWriter.write`` collects their items into one
``TransactWriteItems``, so everything a change implies lands together or not at all. Adding what
a change also writes (an audit entry, an outbox event, a refund reservation) is one more
projection; none of the others changes.

Every item has a **name** (``payment``, ``lookup:link#…``, ``rollup:day#…``, ``order``), and a
refused condition is reported by the names of the items that refused, never by their position:
each conditional item asks for ``ReturnValuesOnConditionCheckFailure=ALL_OLD``, and DynamoDB's
``CancellationReasons`` align with the items sent, which only this module sees.

* A **required** projection's refusal aborts the change: ``ChangeRefused`` names what refused and
  what was stored, and the repository turns it into its business answer (``StaleWrite``, …).
* A **follower** projection's refusal drops that projection (its ``dropped`` callback says so)
  and the change is sent again without it: the record's own change still lands.
* Two items on one key are merged before sending (DynamoDB refuses two operations on one item
  in one transaction): increments add up, identical operations are sent once, anything else is
  ``ConflictingItems``.
* More than 100 items or 4 MB is ``ChangeTooLarge``, before anything is sent (DynamoDB's limits
  for one transaction; DynamoDB Local enforces them too).

Retries of conflicts and throttling are ``dynamo.transact_write``'s, the one place that retries.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from dashboard.store.dynamo import ConditionFailed, TableNames, from_item, to_item, transact_write
from dashboard.store.schema import table_definitions

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

log = logging.getLogger(__name__)

# DynamoDB's limits for one TransactWriteItems (AWS and DynamoDB Local alike).
MAX_ITEMS = 100
MAX_BYTES = 4 * 1024 * 1024

Before = TypeVar("Before")
After = TypeVar("After")


@dataclass(frozen=True)
class Item:
    """One named item of a change: an operation as ``TransactWriteItems`` takes it.

    ``operation`` is ``{"Put": {...}}``, ``{"Update": {...}}``, ``{"Delete": {...}}`` or
    ``{"ConditionCheck": {...}}``, attribute values already in DynamoDB's form.
    """

    name: str
    operation: Mapping[str, Any]


@dataclass(frozen=True)
class Increment:
    """A named, unconditional ``ADD`` of whole numbers to counters of one item (a rollup).

    Unlike an arbitrary update, two increments of one key can always be merged into one.
    ``key`` holds plain values.
    """

    name: str
    table: str
    key: Mapping[str, Any]
    deltas: Mapping[str, int]


ChangeItem = Item | Increment


@dataclass(frozen=True)
class Projection(Generic[Before, After]):
    """What a change writes for one concern: ``items(before, after)``.

    A ``follower``'s refused condition drops it from the change instead of aborting the
    change; ``dropped(before, after)`` is then called to say so (a warning by default).
    """

    name: str
    items: Callable[[Before, After], Iterable[ChangeItem]]
    follower: bool = False
    dropped: Callable[[Before, After], None] | None = None


@dataclass(frozen=True)
class Refusal:
    """One item whose condition refused a change: its name, its projection, what was stored."""

    name: str
    projection: str
    stored: dict[str, Any] | None


class ChangeRefused(Exception):
    """A required projection's condition refused the change; nothing of it was written."""

    def __init__(self, refusals: Sequence[Refusal]):
        super().__init__(", ".join(r.name for r in refusals))
        self.refusals = tuple(refusals)

    @property
    def names(self) -> tuple[str, ...]:
        """Return the names of the items that refused."""
        return tuple(r.name for r in self.refusals)

    def stored(self, name: str) -> dict[str, Any] | None:
        """Return what was stored under the refused item ``name`` (plain values), or None."""
        return next((r.stored for r in self.refusals if r.name == name), None)


class ChangeTooLarge(ValueError):
    """A change has more items or bytes than one DynamoDB transaction takes; nothing was sent."""


class ConflictingItems(ValueError):
    """Two items of a change write one key in ways that cannot be merged; nothing was sent."""


@dataclass(frozen=True)
class Written:
    """What a change wrote: the follower projections it had to leave out, by name."""

    dropped: tuple[str, ...] = ()


@dataclass
class _Slot:
    """One operation of the transaction, and every named item merged into it."""

    names: list[str]
    projections: list[Projection[Any, Any]]
    item: ChangeItem
    deltas: dict[str, int] = field(default_factory=dict)


class ChangeWriter:
    """Writes changes: collects their projections' items, merges, checks, sends, maps refusals."""

    def __init__(self, client: DynamoDBClient, tables: TableNames):
        self._client = client
        self._key_names = {
            definition["TableName"]: tuple(k["AttributeName"] for k in definition["KeySchema"])
            for definition in table_definitions(tables)
        }

    def write(
        self,
        projections: Sequence[Projection[Before, After]],
        before: Before,
        after: After,
    ) -> Written:
        """Write every projection's items for ``before`` becoming ``after``, in one transaction.

        Raises ChangeRefused when a required projection's condition refused, ChangeTooLarge or
        ConflictingItems (before sending) when the items cannot be one transaction.
        """
        remaining = list(projections)
        dropped: list[str] = []
        while True:
            slots = self._collect(remaining, before, after)
            try:
                self._send(slots)
            except ChangeRefused as refused:
                followers = self._refused_followers(slots, refused)
                if not followers:
                    raise
                for projection in followers:
                    self._drop(projection, refused, before, after)
                    remaining.remove(projection)
                    dropped.append(projection.name)
                continue
            return Written(tuple(dropped))

    def _collect(
        self, projections: Sequence[Projection[Any, Any]], before: Any, after: Any
    ) -> list[_Slot]:
        """Return the transaction's operations, one per key, each with the names merged into it."""
        slots: dict[tuple[str, str], _Slot] = {}
        names: set[str] = set()
        for projection in projections:
            for item in projection.items(before, after):
                if item.name in names:
                    raise ConflictingItems(f"two items of the change are named {item.name!r}")
                names.add(item.name)
                key = self._key_of(item)
                slot = slots.get(key)
                if slot is None:
                    slots[key] = _Slot([item.name], [projection], item, _deltas(item))
                    continue
                _merge(slot, item)
                slot.names.append(item.name)
                slot.projections.append(projection)
        return [slot for slot in slots.values() if not _is_empty(slot)]

    def _key_of(self, item: ChangeItem) -> tuple[str, str]:
        """Return the table and key an item writes, in one comparable form."""
        if isinstance(item, Increment):
            return item.table, _canonical(to_item(dict(item.key)))
        ((kind, body),) = item.operation.items()
        if kind == "Put":
            key_names = self._key_names.get(body["TableName"])
            if key_names is None:
                raise ValueError(f"{item.name}: {body['TableName']} is not one of the app's tables")
            return body["TableName"], _canonical({k: body["Item"][k] for k in key_names})
        return body["TableName"], _canonical(body["Key"])

    def _send(self, slots: list[_Slot]) -> None:
        """Send the operations as one transaction; raise ChangeRefused naming what refused."""
        operations = [_render(slot) for slot in slots]
        _check_limits(operations, slots)
        if not operations:
            return
        try:
            transact_write(self._client, operations)
        except ConditionFailed as exc:
            refusals = [
                Refusal(name, projection.name, from_item(stored) if stored else None)
                for slot, code, stored in zip(slots, exc.reasons, exc.stored, strict=False)
                if code == "ConditionalCheckFailed"
                for name, projection in zip(slot.names, slot.projections, strict=True)
            ]
            raise ChangeRefused(refusals) from exc

    @staticmethod
    def _refused_followers(
        slots: list[_Slot], refused: ChangeRefused
    ) -> list[Projection[Any, Any]]:
        """Return the follower projections to drop, or [] when a required projection refused."""
        refused_names = set(refused.names)
        projections = [
            projection
            for slot in slots
            for name, projection in zip(slot.names, slot.projections, strict=True)
            if name in refused_names
        ]
        if any(not p.follower for p in projections):
            return []
        return list(dict.fromkeys(projections))

    @staticmethod
    def _drop(
        projection: Projection[Any, Any], refused: ChangeRefused, before: Any, after: Any
    ) -> None:
        """Say that a follower no longer follows, through its own callback or a warning."""
        if projection.dropped is not None:
            projection.dropped(before, after)
            return
        names = [r.name for r in refused.refusals if r.projection == projection.name]
        log.warning("Change written without %s: its condition refused (%s)", projection.name, names)


def _deltas(item: ChangeItem) -> dict[str, int]:
    return dict(item.deltas) if isinstance(item, Increment) else {}


def _merge(slot: _Slot, item: ChangeItem) -> None:
    """Merge ``item`` into the slot holding its key, or raise ConflictingItems."""
    if isinstance(slot.item, Increment) and isinstance(item, Increment):
        for counter, value in item.deltas.items():
            slot.deltas[counter] = slot.deltas.get(counter, 0) + value
        return
    if (
        isinstance(slot.item, Item)
        and isinstance(item, Item)
        and slot.item.operation == item.operation
    ):
        return  # the same write asked for twice: sending it once is the same
    raise ConflictingItems(
        f"{item.name} and {', '.join(slot.names)} write the same key in different ways; "
        "DynamoDB takes one operation per item in a transaction"
    )


def _is_empty(slot: _Slot) -> bool:
    # Increments that cancel out (or had nothing to add) would be an update that changes nothing.
    return isinstance(slot.item, Increment) and not any(slot.deltas.values())


def _render(slot: _Slot) -> dict[str, Any]:
    """Return the slot as a ``TransactItems`` entry; a conditional one returns what refused it."""
    if isinstance(slot.item, Increment):
        return increment_update(dataclasses.replace(slot.item, deltas=slot.deltas))
    ((kind, body),) = slot.item.operation.items()
    if "ConditionExpression" in body or kind == "ConditionCheck":
        body = {**body, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}
    return {kind: body}


def increment_update(increment: Increment) -> dict[str, Any]:
    """Return the ``Update`` entry that ADDs an increment's non-zero deltas to its item."""
    deltas = {name: value for name, value in increment.deltas.items() if value}
    return {
        "Update": {
            "TableName": increment.table,
            "Key": to_item(dict(increment.key)),
            "UpdateExpression": "ADD " + ", ".join(f"#k{i} :v{i}" for i in range(len(deltas))),
            "ExpressionAttributeNames": {f"#k{i}": name for i, name in enumerate(deltas)},
            "ExpressionAttributeValues": to_item(
                {f":v{i}": value for i, value in enumerate(deltas.values())}
            ),
        }
    }


def transaction_size(operations: list[dict[str, Any]]) -> int:
    """Return a size no smaller than DynamoDB counts for a transaction: its JSON, in bytes.

    DynamoDB counts each item's attribute names and values; the JSON of the request holds all
    of them plus type tags, quotes, keys and expressions, so it only ever over-estimates.
    Binary values count as their base64 text, which is longer than the bytes.
    """
    text = json.dumps(operations, separators=(",", ":"), ensure_ascii=False, default=_binary)
    return len(text.encode())


def _binary(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    raise TypeError(f"{type(value).__name__} is not an attribute value")


def _check_limits(operations: list[dict[str, Any]], slots: list[_Slot]) -> None:
    """Raise ChangeTooLarge when DynamoDB would refuse the transaction for its size."""
    if len(operations) > MAX_ITEMS:
        projections = sorted({p.name for slot in slots for p in slot.projections})
        raise ChangeTooLarge(
            f"a change of {len(operations)} items (from {', '.join(projections)}) is more than "
            f"the {MAX_ITEMS} one DynamoDB transaction takes"
        )
    size = transaction_size(operations)
    if size > MAX_BYTES:
        raise ChangeTooLarge(
            f"a change of about {size} bytes is more than the {MAX_BYTES} (4 MB) one DynamoDB "
            "transaction takes"
        )


def _canonical(key: Mapping[str, Any]) -> str:
    return json.dumps(key, sort_keys=True, default=_binary)
