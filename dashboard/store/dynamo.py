"""The boto3 client for DynamoDB, the table names, and the translation of AWS errors.

One low-level client per app: it is thread-safe, and the low-level API is what
``TransactWriteItems`` needs anyway.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

import botocore.loaders
import botocore.session
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

from dashboard.core.errors import Unavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import (
        KeysAndAttributesOutputTypeDef,
        KeysAndAttributesTypeDef,
        TransactWriteItemTypeDef,
    )

log = logging.getLogger(__name__)

# Errors that mean "the store is not there right now", as opposed to a business answer such as
# a failed condition. They become StoreUnavailable and a 503.
_UNAVAILABLE_CODES = frozenset(
    {
        "ResourceNotFoundException",
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "UnrecognizedClientException",
        "AccessDeniedException",
    }
)


class StoreUnavailable(Unavailable):
    """Raised when DynamoDB cannot be reached or refuses to serve us."""

    title = "Payment store unavailable"
    message = (
        "We cannot reach the payment store right now. Nothing was lost; "
        "please try again in a minute."
    )


@dataclass(frozen=True)
class TableNames:
    """The physical table names, with the deployment's prefix."""

    payments: str
    lookups: str
    index: str
    orders: str
    api_keys: str
    sessions: str
    accounts: str
    people: str
    audit: str
    events: str
    deliveries: str

    @classmethod
    def with_prefix(cls, prefix: str) -> TableNames:
        """Return the table names for a prefix such as ``staging-``."""
        return cls(
            payments=f"{prefix}Payments",
            lookups=f"{prefix}Lookups",
            index=f"{prefix}PaymentIndex",
            orders=f"{prefix}Orders",
            api_keys=f"{prefix}ApiKeys",
            sessions=f"{prefix}Sessions",
            accounts=f"{prefix}Accounts",
            people=f"{prefix}People",
            audit=f"{prefix}AuditLog",
            events=f"{prefix}Events",
            deliveries=f"{prefix}Deliveries",
        )

    def all(self) -> tuple[str, ...]:
        """Return every table name."""
        return (
            self.payments,
            self.lookups,
            self.index,
            self.orders,
            self.api_keys,
            self.sessions,
            self.accounts,
            self.people,
            self.audit,
            self.events,
            self.deliveries,
        )


def make_client(
    region: str, endpoint_url: str | None, max_attempts: int = 3, read_timeout: float = 5
) -> DynamoDBClient:
    """Return a DynamoDB client with explicit timeouts and retries.

    ``standard`` retry mode backs off with jitter on throttling and transient errors; the
    attempt count is stated so a dead endpoint fails fast enough for a clear 503.
    """
    config = BotoConfig(
        region_name=region,
        retries={"mode": "standard", "max_attempts": max_attempts},
        connect_timeout=2,
        read_timeout=read_timeout,
    )
    kwargs: dict[str, Any] = {"config": config}
    if endpoint_url:
        kwargs["endpoint_url"] = endpoint_url
        # DynamoDB Local accepts any credentials, but boto3 insists on having some.
        # Letters and digits only: DynamoDB Local rejects other characters in the key id.
        kwargs.setdefault("aws_access_key_id", "local")
        kwargs.setdefault("aws_secret_access_key", "local")
    # botocore's client is boto3's low-level client (boto3.client only picks the session).
    client = cast("DynamoDBClient", _botocore_session().create_client("dynamodb", **kwargs))
    for operation in _ITEM_FIELDS:
        client.meta.events.register(f"before-parse.dynamodb.{operation}", _take_items_as_sent)
    return client


def _botocore_session() -> botocore.session.Session:
    # A session of its own per client, as boto3.client makes, so each client has the event
    # handlers and credentials of the process as it is now. One session shared by the whole
    # test run made moto's clients in later unit tests reach for AWS itself (moto adds its
    # handler to sessions, and something one earlier test did stayed in the shared one). What
    # is shared is the loader of botocore's JSON service models: a new one re-parsed them for
    # every client, about a third of a unit test's app setup on moto.
    session = botocore.session.get_session()
    session.register_component("data_loader", _models_loader())
    return session


@functools.cache
def _models_loader() -> botocore.loaders.Loader:
    # Thread-safe enough for its use: it only fills a cache of parsed, never-changed models.
    return botocore.loaders.create_loader()


# Where the read operations carry their items. botocore's shape-driven parser walks every
# attribute value of every item in Python: on a 90-day statistics view it was the largest cost
# of the request, and it grew with the items read. The items are already in the wire format
# the parsed response holds ({"S": …}, {"N": "…"}), except for binary values (base64 on the
# wire, bytes once parsed), so they are taken from the JSON as sent and the rest of the
# response (keys, capacity, metadata, errors) is left to botocore.
_ITEM_FIELDS = {"Query": "Items", "GetItem": "Item", "BatchGetItem": "Responses"}


def _take_items_as_sent(
    operation_model: Any,
    response_dict: dict[str, Any],
    customized_response_dict: dict[str, Any],
    **_: Any,
) -> None:
    """Move a read's items out of the body botocore will parse, into the parsed response."""
    if response_dict.get("status_code", 500) >= 300 or not response_dict.get("body"):
        return
    body = json.loads(response_dict["body"])
    field = _ITEM_FIELDS[operation_model.name]
    if field not in body:
        return
    items = body.pop(field)
    if field == "Responses":
        customized_response_dict[field] = {
            table: [_wire_item(item) for item in found] for table, found in items.items()
        }
    elif field == "Items":
        customized_response_dict[field] = [_wire_item(item) for item in items]
    else:
        customized_response_dict[field] = _wire_item(items)
    response_dict["body"] = json.dumps(body).encode()


def _wire_item(item: dict[str, Any]) -> dict[str, Any]:
    """Return an item as botocore parses it: binary values decoded from base64, nested too."""
    return {name: _wire_value(value) for name, value in item.items()}


def _wire_value(value: dict[str, Any]) -> dict[str, Any]:
    if "S" in value or "N" in value:
        return value
    if "B" in value:
        return {"B": base64.b64decode(value["B"])}
    if "BS" in value:
        return {"BS": [base64.b64decode(member) for member in value["BS"]]}
    if "M" in value:
        return {"M": _wire_item(value["M"])}
    if "L" in value:
        return {"L": [_wire_value(member) for member in value["L"]]}
    return value  # SS, NS, BOOL, NULL: the same once parsed


_STORED_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"


def store_time(value: datetime) -> str:
    """Return a time as stored: fixed-width UTC with microseconds.

    Fixed width, so that string order is time order in every key and index.
    """
    return value.astimezone(UTC).strftime(_STORED_TIME)


# What ``store_time`` writes. Such a string goes to ``datetime.fromisoformat`` (C, about a
# hundred times faster than ``strptime``: a page of payments parses over a hundred times); the
# check keeps the parser as strict as ``strptime`` was, which still judges anything else.
_STORED_TIME_SHAPE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", re.ASCII)


def parse_store_time(value: str) -> datetime:
    """Return the timezone-aware UTC time of a stored time string."""
    if _STORED_TIME_SHAPE.fullmatch(value):
        return datetime.fromisoformat(value)
    return datetime.strptime(value, _STORED_TIME).replace(tzinfo=UTC)


_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    """Return a DynamoDB item (attribute-value map) for plain values, dropping Nones."""
    return {k: _serializer.serialize(v) for k, v in values.items() if v is not None}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    """Return plain values for a DynamoDB item; numbers come back as int where they are whole."""
    return {k: _plain_value(v) for k, v in item.items()}


def _plain_value(value: Any) -> Any:
    # The common types read directly: boto3's deserializer goes through a Decimal context and
    # a dispatch per value, several times slower on a page of payments. Sets, binary and any
    # number not written as a plain integer are left to it, so every value reads as before.
    [(kind, raw)] = value.items()
    if kind == "S" or kind == "BOOL":
        return raw
    if kind == "N" and len(raw) <= 38 and raw.removeprefix("-").isdecimal() and raw.isascii():
        return int(raw)
    if kind == "M":
        return {k: _plain_value(v) for k, v in raw.items()}
    if kind == "L":
        return [_plain_value(v) for v in raw]
    if kind == "NULL":
        return None
    return _plain(_deserializer.deserialize(value))


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else value
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def error_code(error: ClientError) -> str:
    """Return the AWS error code of a ClientError."""
    return error.response.get("Error", {}).get("Code", "")


def cancellation_codes(error: ClientError) -> list[str]:
    """Return the per-item reasons of a cancelled transaction ("None" for items that were fine)."""
    return [r.get("Code", "None") for r in error.response.get("CancellationReasons", [])]


def refused_item(error: ClientError) -> dict[str, Any] | None:
    """Return the stored item a ``ReturnValuesOnConditionCheckFailure=ALL_OLD`` write was refused
    on, as DynamoDB returns it (attribute values still typed), or None."""
    # botocore's stubs do not know a ConditionalCheckFailedException's "Item".
    response = cast("dict[str, Any]", error.response)
    return response.get("Item")


def cancellation_items(error: ClientError) -> list[dict[str, Any] | None]:
    """Return, item by item, what a cancelled transaction's conditions were refused on, or None."""
    # botocore's stubs type a cancellation reason's "Item" as a key/value pair; it is the item.
    reasons = cast("list[dict[str, Any]]", error.response.get("CancellationReasons", []))
    return [r.get("Item") for r in reasons]


@contextlib.contextmanager
def translate_unavailable() -> Iterator[None]:
    """Turn "DynamoDB is not there" errors into StoreUnavailable; let business errors through."""
    try:
        yield
    except BotoCoreError as exc:
        log.warning("DynamoDB unreachable: %s", exc)
        raise StoreUnavailable(str(exc)) from exc
    except ClientError as exc:
        if error_code(exc) in _UNAVAILABLE_CODES:
            log.warning("DynamoDB refused the request: %s", exc)
            raise StoreUnavailable(error_code(exc)) from exc
        raise


def conditional_write(write: Callable[[], object]) -> bool:
    """Run one conditional write; return False when its condition refused it, True when done.

    A refused condition is a business answer (someone else got there first), not an error;
    DynamoDB being unreachable is StoreUnavailable, as everywhere.
    """
    try:
        with translate_unavailable():
            write()
    except ClientError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return False
        raise
    return True


_MAX_CONFLICT_RETRIES = 4
_CONFLICT_BACKOFF_SECONDS = 0.02


def batch_get(
    client: DynamoDBClient, table: str, keys: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Return the items stored under ``keys`` (BatchGetItem, 100 keys a call), in no set order.

    Keys DynamoDB leaves unprocessed (it is busy) are asked for again after a jittered pause,
    so a throttled table is not hammered.
    """
    items: list[dict[str, Any]] = []
    for start in range(0, len(keys), 100):
        request: Mapping[str, KeysAndAttributesTypeDef | KeysAndAttributesOutputTypeDef] = {
            table: {"Keys": keys[start : start + 100]}
        }
        for attempt in range(_MAX_CONFLICT_RETRIES + 8):
            with translate_unavailable():
                response = client.batch_get_item(RequestItems=request)
            items.extend(response.get("Responses", {}).get(table, []))
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(random.uniform(0, _CONFLICT_BACKOFF_SECONDS * 2**attempt))  # noqa: S311
        else:
            raise StoreUnavailable(f"{table}: keys left unprocessed after repeated tries")
    return items


def batch_get_consistent(
    client: DynamoDBClient, keys: Mapping[str, list[dict[str, Any]]]
) -> dict[str, list[dict[str, Any]]]:
    """Return the items under a few keys of several tables, in one strongly consistent request.

    For reads that must see every write already acknowledged (a sign-out, a removed member),
    where a GetItem per table would cost a round trip each. At most 100 keys in all; keys
    DynamoDB leaves unprocessed are asked for again after a jittered pause.
    """
    if sum(len(table_keys) for table_keys in keys.values()) > 100:
        raise ValueError("BatchGetItem reads at most 100 keys")
    found: dict[str, list[dict[str, Any]]] = {table: [] for table in keys}
    request: Mapping[str, KeysAndAttributesTypeDef | KeysAndAttributesOutputTypeDef] = {
        table: {"Keys": table_keys, "ConsistentRead": True} for table, table_keys in keys.items()
    }
    for attempt in range(_MAX_CONFLICT_RETRIES + 8):
        with translate_unavailable():
            response = client.batch_get_item(RequestItems=request)
        for table, items in response.get("Responses", {}).items():
            found[table].extend(items)
        request = response.get("UnprocessedKeys") or {}
        if not request:
            return found
        time.sleep(random.uniform(0, _CONFLICT_BACKOFF_SECONDS * 2**attempt))  # noqa: S311
    raise StoreUnavailable(f"{', '.join(keys)}: keys left unprocessed after repeated tries")


class ConditionFailed(Exception):
    """A transaction was cancelled because a condition failed: a business answer, not an error.

    ``reasons`` holds one code per item of the transaction ("None" for the items that were fine),
    so the caller can tell which condition failed; ``stored`` holds, item by item, what was
    stored when the condition refused (the ``Item`` an item asked for with
    ``ReturnValuesOnConditionCheckFailure=ALL_OLD``, as DynamoDB returns it), or None.
    """

    def __init__(self, reasons: list[str], stored: list[dict[str, Any] | None] | None = None):
        super().__init__(", ".join(reasons))
        self.reasons = reasons
        self.stored = stored if stored is not None else [None] * len(reasons)


def transact_write(client: DynamoDBClient, items: list[dict[str, Any]]) -> None:
    """Write ``items`` atomically; retry conflicts, raise ConditionFailed for a failed condition.

    Rollup and order items are hot: another transaction may hold one (real DynamoDB cancels with
    ``TransactionConflict``; DynamoDB Local never does), so those cancellations are retried with
    jittered backoff, and so are ``ThrottlingError`` cancellations (a throttled request as a
    whole is retried by botocore's ``standard`` mode): this is the one place writes retry. A
    failed condition is an answer (a taken id, a stale version, a forbidden move) and is never
    retried.
    """
    for attempt in range(_MAX_CONFLICT_RETRIES + 1):
        try:
            with translate_unavailable():
                # The change set builds its operations as plain dicts; botocore validates them.
                client.transact_write_items(
                    TransactItems=cast("list[TransactWriteItemTypeDef]", items)
                )
            return
        except ClientError as exc:
            if error_code(exc) != "TransactionCanceledException":
                raise
            reasons = cancellation_codes(exc)
            if "ConditionalCheckFailed" in reasons:
                raise ConditionFailed(reasons, cancellation_items(exc)) from exc
            retryable = {"TransactionConflict", "ThrottlingError"} & set(reasons)
            if not retryable or attempt == _MAX_CONFLICT_RETRIES:
                raise
            time.sleep(random.uniform(0, _CONFLICT_BACKOFF_SECONDS * 2**attempt))  # noqa: S311
