"""Reading the rollups: counts by status per UTC hour, per UTC day and all time, per currency.

A merchant's day, in whatever zone, is a span of whole UTC hours. Summing its 24 hour items
would make a 90-day view read thousands of items on a busy account, so a span is read as the
UTC days it mostly covers, plus the hours before UTC midnight it also covers, minus the hours
after it that it does not (``cover``): for the UK and the EU that is one day item and one or
two hour items a day, however busy the account (two reads: a Query for the days and a
BatchGetItem for the hours).
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from dashboard.core.side_reads import SideReads
from dashboard.domain.money import SUPPORTED_CURRENCIES
from dashboard.domain.payments import PaymentStatus
from dashboard.store.dynamo import (
    StoreUnavailable,
    TableNames,
    batch_get,
    from_item,
    to_item,
    translate_unavailable,
)
from dashboard.store.index_items import (
    DAY_ROLLUP_PREFIX,
    HOUR_ROLLUP_PREFIX,
    MERCHANTS_PARTITION,
    REFUNDED_MINOR,
    REFUNDS_EXECUTED,
    all_time_rollup_key,
    hour_of,
    hour_rollup_key,
    prefix_range,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_HOUR = timedelta(hours=1)
_DAY = timedelta(days=1)
_BATCH_WRITE_TRIES = 12


@dataclass
class Rollup:
    """Counters for one UTC hour (or all time, or one old-style UTC day) in one currency."""

    scope: str  # "hour", "all", or "day" (items from before the hours, kept until dropped)
    period: str  # YYYY-MM-DDTHH for an hour, YYYY-MM-DD for a day, "all" for all time
    currency: str
    counts: dict[PaymentStatus, int] = field(default_factory=dict)
    amounts_minor: dict[PaymentStatus, int] = field(default_factory=dict)
    attempts: int = 0
    attempts_succeeded: int = 0
    refunds_executed: int = 0  # executed refunds of the payments counted here, not returned
    refunded_minor: int = 0  # what those refunds gave back

    @property
    def sk(self) -> str:
        """Return the sort key the rollup is stored under."""
        if self.scope == "all":
            return all_time_rollup_key(self.currency)
        return f"r#{self.scope}#{self.period}#{self.currency}"

    @property
    def starts_at(self) -> datetime:
        """Return the first instant of an hour rollup's hour (UTC)."""
        return datetime.fromisoformat(f"{self.period}:00+00:00")


def rollup_from(values: dict[str, Any]) -> Rollup:
    """Return the rollup held in one stored item (plain values)."""
    _, scope, *rest = values["sk"].split("#")
    period, currency = ("all", rest[0]) if scope == "all" else (rest[0], rest[1])
    return Rollup(
        scope=scope,
        period=period,
        currency=currency,
        counts={s: int(values.get(f"n_{s.value}", 0)) for s in PaymentStatus},
        amounts_minor={s: int(values.get(f"m_{s.value}", 0)) for s in PaymentStatus},
        attempts=int(values.get("attempts", 0)),
        attempts_succeeded=int(values.get("attemptsSucceeded", 0)),
        refunds_executed=int(values.get(REFUNDS_EXECUTED, 0)),
        refunded_minor=int(values.get(REFUNDED_MINOR, 0)),
    )


def _plain_rollup(item: dict[str, Any]) -> dict[str, Any]:
    """Return the plain values of a stored rollup item: strings and whole numbers only.

    A 90-day view reads thousands of hour items; this reads their attribute values directly
    instead of through the general deserialiser, which made up a fifth of the view's time.
    """
    return {name: value["S"] if "S" in value else int(value["N"]) for name, value in item.items()}


def _whole_hour(instant: datetime, name: str) -> None:
    # An hour is the finest a rollup counts: a bound inside one would count the whole hour.
    if instant.astimezone(UTC).replace(minute=0, second=0, microsecond=0) != instant:
        raise ValueError(f"{name} must be a whole UTC hour, not {instant.isoformat()}")


@dataclass(frozen=True)
class SpanCover:
    """UTC days and hours whose counts add up to exactly one span: days + plus − minus."""

    days: tuple[date, ...]
    plus: tuple[datetime, ...] = ()  # hours the span has beyond its days
    minus: tuple[datetime, ...] = ()  # hours of its days the span does not have


def _nearest_midnight(instant: datetime) -> datetime:
    midnight = instant.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight + _DAY if instant - midnight >= timedelta(hours=12) else midnight


def _hours_between(start: datetime, end: datetime) -> tuple[datetime, ...]:
    count = int((end - start) / _HOUR)
    return tuple(start + n * _HOUR for n in range(count))


def cover(start: datetime, end: datetime) -> SpanCover:
    """Return the UTC days and hours that make up [start, end), both whole UTC hours.

    The days run from the UTC midnight nearest ``start`` to the one nearest ``end``; the hours
    between each end and its midnight are added or taken away. A local day in Paris (22:00 or
    23:00 UTC to the same the next day) is one UTC day, plus one or two hours of the day
    before, minus as many of its own last hours.
    """
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    _whole_hour(start, "start")
    _whole_hour(end, "end")
    if end <= start:
        return SpanCover(())
    first, last = _nearest_midnight(start), _nearest_midnight(end)
    if last <= first:  # shorter than a day around one midnight: its hours alone
        return SpanCover((), _hours_between(start, end))
    days = tuple((first + n * _DAY).date() for n in range((last - first) // _DAY))
    plus = _hours_between(start, first) + _hours_between(last, end)
    minus = _hours_between(first, start) + _hours_between(end, last)
    return SpanCover(days, plus, minus)


@dataclass(frozen=True)
class CoveredRollups:
    """The day and hour rollups read for some covers, to add up span by span."""

    days: dict[tuple[date, str], Rollup]
    hours: dict[tuple[datetime, str], Rollup]

    def pieces(self, span: SpanCover, currency: str) -> list[tuple[int, Rollup]]:
        """Return the rollups of one span and currency, each with its sign (+1 or −1)."""
        found = [(1, self.days.get((day, currency))) for day in span.days]
        found += [(1, self.hours.get((hour, currency))) for hour in span.plus]
        found += [(-1, self.hours.get((hour, currency))) for hour in span.minus]
        return [(sign, rollup) for sign, rollup in found if rollup is not None]


class RollupRepository:
    """Reads rollup items; they are written with the payments, in PaymentRepository."""

    def __init__(self, client: DynamoDBClient, tables: TableNames):
        self._client = client
        self._table = tables.index

    def hours(
        self, user_id: str, start: datetime, end: datetime | None, currency: str | None
    ) -> list[Rollup]:
        """Return the hour rollups of the instants [start, end) (``end`` None: no end), in order.

        One Query on the sort-key range, following its pages: at most 24 items per day and
        currency, and only hours in which a payment was created hold one. ``start`` and ``end``
        must be whole hours (every local midnight of an offered zone is one).
        """
        _whole_hour(start, "start")
        lo = f"{HOUR_ROLLUP_PREFIX}{hour_of(start)}#"
        if end is None:
            hi = prefix_range(HOUR_ROLLUP_PREFIX)[":hi"]
        else:
            _whole_hour(end, "end")
            if end <= start:
                return []
            hi = f"{HOUR_ROLLUP_PREFIX}{hour_of(end - _HOUR)}#\U0010ffff"
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "userId = :u AND sk BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": to_item({":u": user_id, ":lo": lo, ":hi": hi}),
        }
        rollups = [rollup_from(_plain_rollup(item)) for item in self._query_items(request)]
        return [r for r in rollups if currency is None or r.currency == currency]

    def covering(
        self,
        user_id: str,
        spans: Sequence[SpanCover],
        currencies: Sequence[str],
        side_reads: SideReads | None = None,
    ) -> CoveredRollups:
        """Return the rollups the ``spans`` are made of, in ``currencies``.

        Two reads however many spans: one Query over the day items from the first day to the
        last (their days are contiguous when the spans are), one BatchGetItem of the hours,
        sent beside the Query when ``side_reads`` is given (neither depends on the other).
        """
        days = sorted({day for span in spans for day in span.days})
        hours = sorted({hour for span in spans for hour in (*span.plus, *span.minus)})
        keys = [
            to_item({"userId": user_id, "sk": hour_rollup_key(hour_of(hour), code)})
            for hour in hours
            for code in currencies
        ]

        def read_hours(chunk: list[dict[str, Any]]) -> dict[tuple[datetime, str], Rollup]:
            found = (
                rollup_from(_plain_rollup(item))
                for item in batch_get(self._client, self._table, chunk)
            )
            return {(rollup.starts_at, rollup.currency): rollup for rollup in found}

        # BatchGetItem takes 100 keys a call: with side reads, every call is sent at once.
        chunks = [keys[start : start + 100] for start in range(0, len(keys), 100)]
        hour_reads = (
            [side_reads.start(functools.partial(read_hours, chunk)) for chunk in chunks]
            if side_reads
            else []
        )
        by_day: dict[tuple[date, str], Rollup] = {}
        if days:
            request: dict[str, Any] = {
                "TableName": self._table,
                "KeyConditionExpression": "userId = :u AND sk BETWEEN :lo AND :hi",
                "ExpressionAttributeValues": to_item(
                    {
                        ":u": user_id,
                        ":lo": f"{DAY_ROLLUP_PREFIX}{days[0].isoformat()}#",
                        ":hi": f"{DAY_ROLLUP_PREFIX}{days[-1].isoformat()}#\U0010ffff",
                    }
                ),
            }
            try:
                items = self._query_items(request)
            except BaseException:
                for hour_read in hour_reads:
                    hour_read.abandon()
                raise
            for item in items:
                rollup = rollup_from(_plain_rollup(item))
                by_day[(date.fromisoformat(rollup.period), rollup.currency)] = rollup
        by_hour: dict[tuple[datetime, str], Rollup] = {}
        if side_reads:
            for hour_read in hour_reads:
                by_hour.update(hour_read.result())
        else:
            by_hour = read_hours(keys)
        return CoveredRollups(by_day, by_hour)

    def all_time(self, user_id: str, currency: str | None) -> list[Rollup]:
        """Return the all-time rollups of ``currency`` or of every currency (one BatchGetItem)."""
        codes = [currency] if currency else SUPPORTED_CURRENCIES
        keys = [to_item({"userId": user_id, "sk": all_time_rollup_key(code)}) for code in codes]
        rollups = [
            rollup_from(from_item(item)) for item in batch_get(self._client, self._table, keys)
        ]
        # BatchGetItem answers in no set order: keep the currencies' order, as the tiles do.
        return sorted(rollups, key=lambda rollup: codes.index(rollup.currency))

    # Maintenance (rebuild-stats): never on a request path ------------------------------------

    def every_rollup(self, user_id: str) -> list[Rollup]:
        """Return every rollup item of a merchant: hours, all time and old days (maintenance)."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "userId = :u AND sk BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": to_item({":u": user_id, **prefix_range("r#")}),
        }
        return [rollup_from(values) for values in self._query_all(request)]

    def delete(self, user_id: str, sort_keys: Iterable[str]) -> int:
        """Delete the merchant's items under ``sort_keys`` (BatchWriteItem, 25 a call).

        Returns how many were deleted. What DynamoDB leaves unprocessed is sent again after a
        jittered pause.
        """
        keys = list(sort_keys)
        for start in range(0, len(keys), 25):
            pending: Any = {
                self._table: [
                    {"DeleteRequest": {"Key": to_item({"userId": user_id, "sk": sk})}}
                    for sk in keys[start : start + 25]
                ]
            }
            for attempt in range(_BATCH_WRITE_TRIES):
                with translate_unavailable():
                    response = self._client.batch_write_item(RequestItems=pending)
                pending = response.get("UnprocessedItems") or {}
                if not pending:
                    break
                time.sleep(random.uniform(0, 0.02 * 2**attempt))  # noqa: S311
            else:
                raise StoreUnavailable(f"{self._table}: deletes left unprocessed")
        return len(keys)

    def add_to(self, user_id: str, sk: str, deltas: dict[str, int]) -> None:
        """Add ``deltas`` to the rollup stored under ``sk``, as a single atomic update."""
        names = {f"#k{i}": name for i, name in enumerate(deltas)}
        values = {f":v{i}": value for i, value in enumerate(deltas.values())}
        with translate_unavailable():
            self._client.update_item(
                TableName=self._table,
                Key=to_item({"userId": user_id, "sk": sk}),
                UpdateExpression="ADD " + ", ".join(f"#k{i} :v{i}" for i in range(len(deltas))),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_item(values),
            )

    def merchants(self) -> list[str]:
        """Return every merchant that ever created a payment, in id order (one Query, no Scan)."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "userId = :u",
            "ExpressionAttributeValues": to_item({":u": MERCHANTS_PARTITION}),
        }
        return [values["merchant"] for values in self._query_all(request)]

    def _query_all(self, request: dict[str, Any]) -> list[dict[str, Any]]:
        """Return every item of a Query as plain values, following its pages."""
        return [from_item(item) for item in self._query_items(request)]

    def _query_items(self, request: dict[str, Any]) -> list[dict[str, Any]]:
        """Return every item of a Query as stored (attribute-value maps), following its pages."""
        found: list[dict[str, Any]] = []
        while True:
            with translate_unavailable():
                response = self._client.query(**request)
            found += response.get("Items", [])
            if "LastEvaluatedKey" not in response:
                return found
            request = {**request, "ExclusiveStartKey": response["LastEvaluatedKey"]}
