"""``flask --app app rebuild-stats``: recount the rollups from the payments and repair them.

How a deployment backfills rollups (the per-UTC-hour ones, for payments stored while rollups
were kept per UTC day only) or repairs them. For each merchant, in id order, it recounts the
payments into hour, day and all-time rollups and adds the difference between the recount and
what is stored with atomic ADD updates (so the live app may keep writing meanwhile; a payment
that changes during the run may leave a small difference, which a second run repairs). The day
items stay: a local day is read as UTC days plus or minus a few hours.

Resumable: every step compares with what is stored, so a run stopped anywhere is finished by
running it again; ``--from-merchant ID`` skips the merchants before ``ID`` (each finished
merchant's line names the next one).

``--orders`` does the same for the order rollups (the Orders list's tiles), from the orders, and
gives orders stored before the currency indexes the key those index them by.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from dashboard.services.order_rollup_recount import recount_order_rollups
from dashboard.services.rollup_recount import recount_rollups
from dashboard.store.database import Store


@click.command("rebuild-stats")
@with_appcontext
@click.option("--user", "user_id", default=None, help="One merchant (default: every merchant).")
@click.option(
    "--from-merchant",
    "from_merchant",
    default=None,
    metavar="ID",
    help="Resume: start at merchant ID (merchants run in id order; each line names the next).",
)
@click.option("--dry-run", is_flag=True, help="Report differences; write and delete nothing.")
@click.option("--orders", is_flag=True, help="The order rollups, recounted from the orders.")
def rebuild_stats_command(
    user_id: str | None, from_merchant: str | None, dry_run: bool, orders: bool
) -> None:
    """Backfill the hour rollups from the payments and repair every rollup that differs.

    Safe to interrupt and run again; --from-merchant skips merchants already done.
    """
    store: Store = current_app.extensions["store"]
    merchants = [user_id] if user_id else sorted(store.rollups.merchants())
    if from_merchant:
        merchants = [m for m in merchants if m >= from_merchant]
    if orders:
        _rebuild_order_rollups(store, merchants, dry_run)
        return
    totals = {"payments": 0, "hours": 0, "days": 0, "all": 0}
    for position, merchant in enumerate(merchants):
        try:
            counts = _rebuild_merchant(store, merchant, dry_run)
        except BaseException:
            click.echo(f"Stopped at {merchant}: resume with --from-merchant {merchant}", err=True)
            raise
        for name, value in counts.items():
            totals[name] += value
        following = merchants[position + 1] if position + 1 < len(merchants) else None
        resume = f"; resume with --from-merchant {following}" if following else ""
        click.echo(
            f"  {merchant}: {counts['payments']} payment(s) read, {counts['hours']} hour, "
            f"{counts['days']} day and {counts['all']} all-time rollup(s) "
            f"{'to repair' if dry_run else 'written or repaired'}{resume}"
        )
    verb = "would write or repair" if dry_run else "wrote or repaired"
    click.echo(
        f"{len(merchants)} merchant(s) checked, {totals['payments']} payment(s) read; {verb} "
        f"{totals['hours']} hour, {totals['days']} day and {totals['all']} all-time rollup(s)."
    )


def _rebuild_merchant(store: Store, merchant: str, dry_run: bool) -> dict[str, int]:
    """Recount one merchant and repair its rollups; return how many of each kind differed."""
    with click.progressbar(length=0, label=f"Recounting {merchant}", show_pos=True) as bar:
        recount = recount_rollups(store.payments, store.rollups, merchant, bar)
    for difference in recount.differences:
        click.echo(f"  {difference.sk.removeprefix('r#')}: {difference.deltas}")
        if not dry_run:
            store.rollups.add_to(merchant, difference.sk, difference.deltas)
    hours = sum(1 for d in recount.differences if d.is_hour)
    days = sum(1 for d in recount.differences if d.is_day)
    return {
        "payments": recount.payments_read,
        "hours": hours,
        "days": days,
        "all": len(recount.differences) - hours - days,
    }


def _rebuild_order_rollups(store: Store, merchants: list[str], dry_run: bool) -> None:
    """Recount each account's order rollups from its orders; repair with atomic ADDs."""
    repaired = indexed = 0
    for merchant in merchants:
        with click.progressbar(length=0, label=f"Recounting {merchant}", show_pos=True) as bar:
            recount = recount_order_rollups(store.orders, merchant, bar)
        for difference in recount.differences:
            click.echo(f"  {difference.hour} {difference.currency}: {difference.deltas}")
            repaired += 1
            if not dry_run:
                store.orders.rollups.add_to(
                    merchant, difference.hour, difference.currency, difference.deltas
                )
        if recount.missing_currency_key:
            click.echo(
                f"  {merchant}: {len(recount.missing_currency_key)} order(s) "
                "not yet in the currency indexes"
            )
            indexed += len(recount.missing_currency_key)
            if not dry_run:
                for order in recount.missing_currency_key:
                    store.orders.add_currency_key(order)
        if not recount.differences:
            click.echo(f"  {merchant}: {recount.orders} order(s); rollups match the orders")
    action = "would repair" if dry_run else "repaired"
    click.echo(
        f"{len(merchants)} account(s) checked; {action} {repaired} order rollup(s); "
        f"{action} {indexed} order(s) in the currency indexes."
    )
