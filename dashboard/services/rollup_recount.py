"""Recounting the statistics rollups from the payments themselves, to repair or backfill them."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from dashboard.core.progress import Progress
from dashboard.domain.payments import PaymentStatus
from dashboard.store.index_items import rollup_deltas
from dashboard.store.payments import PaymentRepository
from dashboard.store.rollups import Rollup, RollupRepository


@dataclass(frozen=True)
class RollupDifference:
    """How one rollup differed from the recount (recount − stored, per counter)."""

    user_id: str
    day: str
    currency: str
    deltas: dict[str, int]


def _stored_counters(rollup: Rollup) -> Counter:
    counters: Counter = Counter()
    for status in PaymentStatus:
        counters[f"n_{status.value}"] = rollup.counts.get(status, 0)
        counters[f"m_{status.value}"] = rollup.amounts_minor.get(status, 0)
    counters["attempts"] = rollup.attempts
    counters["attemptsSucceeded"] = rollup.attempts_succeeded
    return counters


def recount_rollups(
    payments: PaymentRepository,
    rollups: RollupRepository,
    user_id: str,
    progress: Progress | None = None,
) -> list[RollupDifference]:
    """Return how the merchant's stored rollups differ from a recount of its payments."""
    recounted: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for payment in payments.each_payment(user_id):
        deltas = rollup_deltas(None, payment)
        day = payment.created_at.date().isoformat()
        recounted[(day, payment.currency)].update(deltas)
        recounted[("all", payment.currency)].update(deltas)
        if progress:
            progress.update(1)
    stored = {(r.day, r.currency): _stored_counters(r) for r in rollups.every_rollup(user_id)}
    differences = []
    for key in sorted(set(recounted) | set(stored)):
        want, have = recounted.get(key, Counter()), stored.get(key, Counter())
        deltas = {name: want[name] - have[name] for name in set(want) | set(have)}
        deltas = {name: value for name, value in sorted(deltas.items()) if value}
        if deltas:
            differences.append(RollupDifference(user_id, key[0], key[1], deltas))
    return differences
