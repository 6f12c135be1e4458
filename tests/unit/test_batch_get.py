"""batch_get: keys DynamoDB leaves unprocessed are asked for again, never forever."""

from __future__ import annotations

import pytest

from dashboard.store.dynamo import StoreUnavailable, batch_get


class BusyTable:
    """A client whose BatchGetItem leaves the last key unprocessed ``busy_calls`` times."""

    def __init__(self, busy_calls: int):
        self.busy_calls = busy_calls
        self.calls: list[int] = []

    def batch_get_item(self, RequestItems):
        keys = RequestItems["T"]["Keys"]
        self.calls.append(len(keys))
        if self.busy_calls and len(keys) > 0:
            self.busy_calls -= 1
            return {"Responses": {"T": keys[:-1]}, "UnprocessedKeys": {"T": {"Keys": keys[-1:]}}}
        return {"Responses": {"T": keys}}


def test_unprocessed_keys_are_asked_for_again(monkeypatch):
    monkeypatch.setattr("dashboard.store.dynamo.time.sleep", lambda _s: None)
    table = BusyTable(busy_calls=2)
    keys = [{"id": {"S": str(n)}} for n in range(150)]

    items = batch_get(table, "T", keys)

    assert sorted(i["id"]["S"] for i in items) == sorted(k["id"]["S"] for k in keys)
    assert table.calls[:3] == [100, 1, 1]  # 100 keys a call; the left-over key asked again


def test_a_table_that_stays_busy_is_reported_unavailable(monkeypatch):
    monkeypatch.setattr("dashboard.store.dynamo.time.sleep", lambda _s: None)

    with pytest.raises(StoreUnavailable):
        batch_get(BusyTable(busy_calls=1000), "T", [{"id": {"S": "1"}}])
