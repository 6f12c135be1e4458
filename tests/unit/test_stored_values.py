"""Stored items read back exactly (times as strictly as they are written), and fast."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from boto3.dynamodb.types import TypeDeserializer

from dashboard.store.dynamo import from_item, parse_store_time, store_time, to_item


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 12, 2, 1, 20, 0, 123456, tzinfo=UTC),
        datetime(2026, 3, 29, 0, 59, 59, 999999, tzinfo=UTC),
        datetime(2026, 6, 1, 14, 0, tzinfo=timezone(timedelta(hours=2))),  # stored as UTC
        datetime(1999, 1, 1, tzinfo=UTC),
    ],
)
def test_a_stored_time_reads_back_as_the_same_utc_instant(moment):
    parsed = parse_store_time(store_time(moment))

    assert parsed == moment
    assert parsed.utcoffset() == timedelta(0)
    assert store_time(parsed) == store_time(moment)


@pytest.mark.parametrize(
    "text",
    [
        "2026-12-02T01:20:00Z",  # no microseconds
        "2026-12-02T01:20:00.123456+00:00",  # an offset, not Z
        "2026-12-02 01:20:00.123456Z",  # a space for the T
        "2026-12-02",
        "2026-12-0\u0662T01:20:00.123456Z",  # an Arabic-Indic digit
        "2026-13-02T01:20:00.123456Z",  # no such month
    ],
)
def test_anything_but_the_stored_shape_is_refused(text):
    with pytest.raises(ValueError, match=r"does not match format|must be in"):
        parse_store_time(text)


def test_a_time_with_fewer_digits_of_seconds_reads_as_it_always_did():
    assert parse_store_time("2026-12-02T01:20:00.123Z") == datetime(
        2026, 12, 2, 1, 20, 0, 123000, tzinfo=UTC
    )


def _as_boto3_reads(item):
    """Return what boto3's own deserializer makes of an item, whole numbers as int."""
    deserializer = TypeDeserializer()

    def plain(value):
        if isinstance(value, Decimal):
            return int(value) if value == value.to_integral_value() else value
        if isinstance(value, list):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    return {k: plain(deserializer.deserialize(v)) for k, v in item.items()}


@pytest.mark.parametrize(
    "value",
    [
        "text",
        "",
        0,
        -12,
        1250,
        10**37,
        Decimal("12.50"),
        Decimal("-0.5"),
        True,
        [1, "a", [Decimal("2.5"), None]],
        {"nested": {"n": 7, "s": "x", "l": [False]}},
        {"a", "b"},
        {Decimal(1), Decimal("2.5")},
        b"\x00bytes",
    ],
)
def test_an_item_reads_as_boto3_would_read_it(value):
    item = to_item({"value": value})

    read = from_item(item)

    assert read == _as_boto3_reads(item)
    assert type(read["value"]) is type(_as_boto3_reads(item)["value"])


@pytest.mark.parametrize("number", ["007", "-0", "1E+2", "5.0", "-3", "1" * 38])
def test_a_number_in_any_spelling_reads_as_boto3_would_read_it(number):
    item = {"value": {"N": number}}

    assert from_item(item) == _as_boto3_reads(item)
    assert type(from_item(item)["value"]) is type(_as_boto3_reads(item)["value"])


def test_a_null_reads_as_none():
    assert from_item({"value": {"NULL": True}}) == {"value": None}
