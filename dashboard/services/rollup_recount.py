"""Recounting the statistics rollups from the payments themselves, to repair or backfill them."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from dashboard.core.progress import Progress
from dashboard.domain.payments import PaymentStatus
from dashboard.store.dynamo import store_time
from dashboard.store.index_items import (
    REFUNDED_MINOR,
    REFUNDS_EXECUTED,
    rollup_deltas,
    rollup_keys,
)
from dashboard.store.payments import PaymentRepository
from dashboard.store.rollups import Rollup, RollupRepository


@dataclass(frozen=True)
class RollupDifference:
    """How one rollup differed from the recount (recount − stored, per counter)."""

    user_id: str
    sk: str  # r#hour#{YYYY-MM-DDTHH}#{currency}, r#day#{YYYY-MM-DD}#{currency} or r#all#{…}
    deltas: dict[str, int]

    @property
    def is_hour(self) -> bool:
        """Return True for an hour's rollup."""
        return self.sk.startswith("r#hour#")

    @property
    def is_day(self) -> bool:
        """Return True for a UTC day's rollup."""
        return self.sk.startswith("r#day#")


@dataclass(frozen=True)
class Recount:
    """A merchant's recount: how many payments were read, and what differs from the store."""

    payments_read: int
    differences: list[RollupDifference] = field(default_factory=list)


def _stored_counters(rollup: Rollup) -> Counter:
    counters: Counter = Counter()
    for status in PaymentStatus:
        counters[f"n_{status.value}"] = rollup.counts.get(status, 0)
        counters[f"m_{status.value}"] = rollup.amounts_minor.get(status, 0)
    counters["attempts"] = rollup.attempts
    counters["attemptsSucceeded"] = rollup.attempts_succeeded
    # Every counter the recount makes must be read back here: one left out would look missing,
    # and the repair would add it again on every run.
    counters[REFUNDS_EXECUTED] = rollup.refunds_executed
    counters[REFUNDED_MINOR] = rollup.refunded_minor
    return counters


def recount_rollups(
    payments: PaymentRepository,
    rollups: RollupRepository,
    user_id: str,
    progress: Progress | None = None,
) -> Recount:
    """Return how the merchant's hour, day and all-time rollups differ from a recount."""
    recounted: dict[str, Counter] = defaultdict(Counter)
    read = 0
    for payment in payments.each_payment(user_id):
        deltas = rollup_deltas(None, payment)
        for key in rollup_keys(user_id, store_time(payment.created_at), payment.currency):
            recounted[key["sk"]].update(deltas)
        read += 1
        if progress:
            progress.update(1)
    stored = {r.sk: _stored_counters(r) for r in rollups.every_rollup(user_id)}
    differences = []
    for sk in sorted(set(recounted) | set(stored)):
        want, have = recounted.get(sk, Counter()), stored.get(sk, Counter())
        deltas = {name: want[name] - have[name] for name in set(want) | set(have)}
        deltas = {name: value for name, value in sorted(deltas.items()) if value}
        if deltas:
            differences.append(RollupDifference(user_id, sk, deltas))
    return Recount(read, differences)
