"""UUIDv7 record ids as times: a span of time is one range of ids (the Orders date filter)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dashboard.core.ids import id_derived_at, id_minted_at, id_range, id_time, new_id


def test_an_id_tells_when_it_was_minted():
    before = datetime.now(UTC) - timedelta(milliseconds=1)
    minted = new_id()
    assert before <= id_time(minted) <= datetime.now(UTC)


def test_the_ids_of_a_span_are_exactly_those_in_its_range():
    start = datetime(2026, 3, 29, 0, tzinfo=UTC)
    end = start + timedelta(hours=23)  # a local day in London when the clocks go forward
    low, high = id_range(start, end)

    assert low <= id_minted_at(start) <= high
    assert low <= id_minted_at(end - timedelta(milliseconds=1)) <= high
    assert not low <= id_minted_at(end) <= high  # [start, end): the end is the next day's
    assert not low <= id_minted_at(start - timedelta(milliseconds=1)) <= high


def test_an_id_minted_at_a_time_is_a_version_7_uuid_of_that_time():
    instant = datetime(2026, 11, 20, 12, 30, 15, 250_000, tzinfo=UTC)
    minted = id_minted_at(instant)

    assert id_time(minted) == instant
    assert minted[14] == "7"
    assert minted[19] in "89ab"
    assert minted != id_minted_at(instant)  # the rest is random


def test_an_id_derived_at_a_time_is_the_same_for_the_same_name_and_sorts_by_time():
    instant = datetime(2026, 11, 20, 12, 30, 15, 250_000, tzinfo=UTC)
    derived = id_derived_at(instant, "pay_1#3#payment.completed#")

    assert derived == id_derived_at(instant, "pay_1#3#payment.completed#")
    assert derived != id_derived_at(instant, "pay_1#4#payment.completed#")
    assert id_time(derived) == instant
    assert derived[14] == "7"
    assert derived[19] in "89ab"
    assert derived < id_derived_at(instant + timedelta(milliseconds=1), "a")
