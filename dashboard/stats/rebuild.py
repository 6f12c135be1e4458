"""``flask --app app rebuild-stats``: recount the rollups from the payments and repair them.

How a deployment backfills rollups (for payments stored before they existed) or repairs them.
It adds the difference between the recount and what is stored, with atomic ADD updates, so the
live app may keep writing meanwhile; a payment that changes during the run may leave a small
difference, which a second run repairs.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

import click
from flask import current_app
from flask.cli import with_appcontext

from dashboard.payments.model import PaymentStatus
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
    payments: PaymentRepository, rollups: RollupRepository, user_id: str, progress=None
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


@click.command("rebuild-stats")
@with_appcontext
@click.option("--user", "user_id", default=None, help="One merchant (default: every merchant).")
@click.option("--dry-run", is_flag=True, help="Report differences without repairing them.")
def rebuild_stats_command(user_id: str | None, dry_run: bool) -> None:
    """Recompute the statistics rollups from the payments, report and repair differences."""
    store = current_app.extensions["store"]
    merchants = [user_id] if user_id else store.rollups.merchants()
    repaired = 0
    for merchant in merchants:
        with click.progressbar(length=0, label=f"Recounting {merchant}", show_pos=True) as bar:
            differences = recount_rollups(store.payments, store.rollups, merchant, bar)
        for difference in differences:
            click.echo(f"  {difference.day} {difference.currency}: {difference.deltas}")
            if not dry_run:
                store.rollups.add_to(
                    merchant, difference.day, difference.currency, difference.deltas
                )
                repaired += 1
        if not differences:
            click.echo(f"  {merchant}: rollups match the payments")
    action = "would repair" if dry_run else "repaired"
    click.echo(f"{len(merchants)} merchant(s) checked; {action} {repaired} rollup(s).")
